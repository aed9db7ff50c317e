"""GloVe: co-occurrence counting on a prepared corpus's train split and the weighted least-squares fit.

    from glove import GloveConfig, train
    table = train(prepared, GloveConfig(dim=128, x_max=10.0))   # -> vectors.EmbeddingTable
"""

from glove.config import Backend, Device, DistanceWeighting, ExportVectors, GloveConfig
from glove.train import train

__all__ = ["Backend", "Device", "DistanceWeighting", "ExportVectors", "GloveConfig", "train"]
