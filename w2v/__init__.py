"""CBOW and skip-gram with negative sampling, trained on a prepared corpus (``w2v.train.train``).

Modules: ``config`` (settings), ``sampling`` (subsampling, noise distribution, random streams), ``kernels``
(numba CPU engine), ``batched`` (torch engine, CPU or CUDA), ``train`` (epochs, checkpoints, export) and
``bench`` (quality and speed against gensim).
"""

from w2v.config import ExportVectors, Method, NoiseSharing, Word2VecConfig

__all__ = ["ExportVectors", "Method", "NoiseSharing", "Word2VecConfig"]
