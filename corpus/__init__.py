"""Text files -> tokens -> Vocab -> token-id arrays on disk (train/val/test)."""

from base.errors import InputError
from corpus.prepared import PreparedCorpus
from corpus.vocab import Vocab

__all__ = ["InputError", "PreparedCorpus", "Vocab"]
