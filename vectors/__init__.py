"""Embedding tables and their uses: storage, word2vec/GloVe interop, alignment, evaluation."""

from vectors.table import EmbeddingTable

__all__ = ["EmbeddingTable"]
