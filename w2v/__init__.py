"""CBOW and skip-gram with negative sampling, trained on a prepared corpus (``w2v.train.train``).

Modules: ``config`` (settings), ``sampling`` (subsampling, noise distribution, random streams), ``kernels``
(numba CPU engine), ``batched`` (torch engine, CPU or CUDA), ``heldout`` (the held-out loss) and ``train`` (epochs,
checkpoints, export); what it shares with glove/ is in :mod:`tabletrain`.
"""

from w2v.config import ExportVectors, Method, NoiseSharing, Word2VecConfig

__all__ = ["ExportVectors", "Method", "NoiseSharing", "Word2VecConfig"]
