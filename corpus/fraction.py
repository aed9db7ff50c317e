"""A fraction of a prepared corpus's train split: a seeded, nested choice of whole documents, and a view of
the corpus that trains on it.

A GPT run with ``--fraction`` trains on :func:`fraction_ids`; the tables pretrained on "the same text" as such
a run are trained on :func:`fraction_view` of the same fraction and seed, whose vocabulary counts are the
fraction's own (so subsampling, noise words and GloVe's counts see only that text) while the vocabulary
itself, its ids and the val and test splits stay the corpus's.
"""

from __future__ import annotations

import hashlib
import math
from functools import cached_property

import numpy as np

from base.errors import InputError
from corpus.vocab import Vocab

RARE_IN_FRACTION = 10  # a test target seen fewer times in a run's train ids (its fraction) is rare in it
FRACTION_STREAM = 0x66726163  # "frac": keeps the document choice's stream apart from the batches'


def fraction_ids(train_ids: np.ndarray, eos_id: int, fraction: float, seed: int) -> np.ndarray:
    """The train ids of a run that trains on ``fraction`` of the train split's documents.

    The split is cut into documents at ``<eos>`` (which ends every document); their indices are permuted by a
    generator seeded by ``(seed, FRACTION_STREAM)`` and the first ``ceil(fraction x documents)`` of that
    permutation are kept, in corpus order, whole (each with its ``<eos>``). The choice depends on the seed and
    the corpus alone, so every arm of one seed trains on the same documents, and a smaller fraction's documents
    are a prefix of the permutation, hence inside a larger one's. ``fraction == 1`` returns ``train_ids``
    itself (the very array object), so a full-data run is the run it was before fractions existed.
    """
    if fraction == 1.0:
        return train_ids
    check_fraction(fraction)
    ids = np.asarray(train_ids)
    ends = np.flatnonzero(ids == eos_id) + 1  # one past each document's <eos>
    if len(ends) == 0 or ends[-1] != len(ids):
        ends = np.append(ends, len(ids))  # trailing ids without an <eos>: a last document all the same
    lengths = np.diff(ends, prepend=0)
    n_docs = len(ends)
    keep = max(1, math.ceil(round(fraction * n_docs, 9)))  # round: 0.07 x 100 is 7, not 7.000000000000001
    chosen = np.zeros(n_docs, dtype=bool)
    chosen[np.random.default_rng([seed, FRACTION_STREAM]).permutation(n_docs)[:keep]] = True
    return ids[np.repeat(chosen, lengths)]


def check_fraction(fraction) -> float:
    """``fraction`` as a float in (0, 1]; InputError otherwise."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not math.isfinite(fraction) \
            or not 0.0 < fraction <= 1.0:
        raise InputError(f"fraction must be a finite number in (0, 1], got {fraction}")
    return float(fraction)


class FractionView:
    """A prepared corpus as the tables of one (fraction, seed) see it: ``train_ids`` are
    :func:`fraction_ids`, ``vocab`` has the same tokens with the fraction's counts, ``content_hash``
    identifies the corpus, the fraction and the seed; the val and test splits, the manifest and ``path``
    (where GloVe caches its counts, under their own key) are the corpus's."""

    def __init__(self, prepared, fraction: float, seed: int) -> None:
        if check_fraction(fraction) == 1.0:
            raise InputError("a fraction view is of a fraction below 1; the whole train split is the corpus itself")
        self.prepared, self.fraction, self.seed = prepared, float(fraction), int(seed)
        self.path, self.manifest = prepared.path, prepared.manifest
        self.val_ids, self.test_ids = prepared.val_ids, prepared.test_ids

    @cached_property
    def train_ids(self) -> np.ndarray:
        return fraction_ids(self.prepared.train_ids, self.prepared.vocab.eos_id, self.fraction, self.seed)

    @cached_property
    def vocab(self) -> Vocab:
        base = self.prepared.vocab
        counts = np.bincount(self.train_ids, minlength=len(base))
        return base.with_counts(counts)

    @property
    def content_hash(self) -> str:
        described = f"{self.prepared.content_hash}|fraction {self.fraction!r}|seed {self.seed}|stream {FRACTION_STREAM}"
        return hashlib.sha256(described.encode("utf-8")).hexdigest()

    @property
    def config(self) -> dict:
        return self.prepared.config

    def ids(self, split: str) -> np.ndarray:
        return self.train_ids if split == "train" else self.prepared.ids(split)


def fraction_view(prepared, fraction: float, seed: int):
    """The corpus the tables of ``fraction`` and ``seed`` train on: ``prepared`` itself at fraction 1."""
    return prepared if check_fraction(fraction) == 1.0 else FractionView(prepared, fraction, seed)
