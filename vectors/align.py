"""Fit a table to a vocabulary (rows in vocabulary order) and rescale it.

``align_to_vocab`` looks every vocabulary word up in the table: first exactly, then (with
``lowercase_fallback``) as ``word.lower()``, then as the first table word whose lower-case form equals
``word.lower()`` (so a lower-cased corpus vocabulary still finds ``Paris`` in a cased table such as
GoogleNews). A row the table marks as never trained (its ``trained`` mask: the random rows a trainer exports
for specials and unseen words) counts as missing. Words still missing get a row by the ``fill`` rule:

- ``random``: each coordinate drawn from a normal with that dimension's mean and standard deviation over
  the table's rows (the rows look like table rows, dimension by dimension); seeded, so the same call gives
  the same matrix.
- ``mean``: the mean row of the table.
- ``zero``: zeros.

``rescale`` multiplies a matrix by one global factor so that the standard deviation of all its values
becomes ``target_std`` (Kim et al. 2024: raw GloVe tables hurt transformers unless rescaled to the
model's init scale). It does not centre: the mean is scaled by the same factor. Callers record the factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from base.errors import InputError
from vectors.table import EmbeddingTable

FILL_RULES = ("random", "mean", "zero")


@dataclass(frozen=True)
class AlignedMatrix:
    """A table fitted to a word list: ``matrix[i]`` belongs to ``words[i]`` of the call."""

    matrix: np.ndarray  # (len(words), dim) float32
    found: np.ndarray  # (len(words),) bool: row came from the table
    coverage: float  # found.mean()
    fill: str  # the rule used for the other rows
    lowercase_matches: int = 0  # rows found only through the lower-case fallback

    @property
    def missing(self) -> int:
        """Number of rows filled by the rule."""
        return int((~self.found).sum())

    def summary(self) -> dict:
        """JSON-friendly description, for a caller's metadata."""
        return {
            "rows": int(len(self.found)),
            "found": int(self.found.sum()),
            "coverage": float(self.coverage),
            "lowercase_matches": int(self.lowercase_matches),
            "fill": self.fill,
        }


def align_to_vocab(
    table: EmbeddingTable,
    words: Sequence[str],
    fill: str = "random",
    seed: int = 0,
    lowercase_fallback: bool = True,
) -> AlignedMatrix:
    """Rows of ``table`` in the order of ``words``; rows for words it lacks filled by ``fill``.

    InputError for an unknown fill rule, an empty word list, or a table that holds none of the words
    (that is a mismatched vocabulary, not something to paper over with random rows).
    """
    if fill not in FILL_RULES:
        raise InputError(f"unknown fill rule {fill!r}; choose one of {', '.join(FILL_RULES)}")
    words = list(words)
    if not words:
        raise InputError("cannot align a table to an empty vocabulary")
    index = table.index
    folded: dict[str, int] = {}
    if lowercase_fallback:
        for row, word in enumerate(table.words):
            folded.setdefault(word.lower(), row)
    rows = np.full(len(words), -1, dtype=np.int64)
    lowercase_matches = 0
    for i, word in enumerate(words):
        row = index.get(word, -1)
        if row < 0 and lowercase_fallback:
            low = word.lower()
            row = index.get(low, folded.get(low, -1))
            lowercase_matches += row >= 0
        rows[i] = row
    found = rows >= 0
    found[found] = table.trained_mask[rows[found]]  # an untrained row is no information about its word
    if not found.any():
        raise InputError(
            f"none of the {len(words)} vocabulary words is in the table ({len(table)} words); "
            "wrong table or a case mismatch?"
        )
    matrix = np.empty((len(words), table.dim), dtype=np.float32)  # (V, C)
    matrix[found] = table.matrix[rows[found]]
    n_missing = int((~found).sum())
    if n_missing:
        matrix[~found] = _fill_rows(table.matrix, n_missing, fill, seed)
    return AlignedMatrix(matrix, found, float(found.mean()), fill, int(lowercase_matches))


def _fill_rows(source: np.ndarray, n: int, fill: str, seed: int) -> np.ndarray:
    """``n`` rows (n, C) for words the table lacks, by the named rule."""
    data = source.astype(np.float64)
    if fill == "zero":
        return np.zeros((n, source.shape[1]), dtype=np.float32)
    mean = data.mean(axis=0)  # (C,)
    if fill == "mean":
        return np.broadcast_to(mean, (n, source.shape[1])).astype(np.float32)
    std = data.std(axis=0)  # (C,)
    rng = np.random.default_rng(seed)
    return (mean + std * rng.standard_normal((n, source.shape[1]))).astype(np.float32)


def rescale(matrix: np.ndarray, target_std: float) -> tuple[np.ndarray, float]:
    """Scale ``matrix`` by one factor so the std of all its values is ``target_std``; returns (new, factor).

    InputError for a target that is not a positive finite number or a constant matrix (std 0).
    """
    target_std = float(target_std)
    if not np.isfinite(target_std) or target_std <= 0:
        raise InputError(f"rescale target std must be a positive number, got {target_std}")
    current = float(np.asarray(matrix, dtype=np.float64).std())
    if not np.isfinite(current) or current == 0.0:
        raise InputError(f"cannot rescale a matrix whose standard deviation is {current}")
    factor = target_std / current
    return (np.asarray(matrix, dtype=np.float64) * factor).astype(np.float32), factor


def load_for_vocab(path, vocab_words: Sequence[str], format: str = "auto") -> EmbeddingTable:
    """The rows of the vector file ``path`` that ``vocab_words`` need, read in one streaming pass (memory
    follows the vocabulary, never the file), as a table whose words are vocabulary words.

    Casing rule (the one :func:`align_to_vocab` applies): a vocabulary word takes the file's row of the very
    same word; failing that, the row of the first word in the file whose lower-case form is the word's
    lower-case form (files list words by falling frequency, so that is the most frequent casing: ``Paris`` for
    a lower-cased corpus's ``paris``, and ``paris`` in an uncased file for a cased word list's ``Paris``).
    Meta gains ``rows_scanned``, ``exact`` and ``case_folded`` (how many rows each rule gave).
    """
    from vectors.formats import load_vectors

    wanted = set(vocab_words)
    lowered = {w.lower() for w in wanted}
    table = load_vectors(path, format=format, keep=lambda w: w in wanted or w.lower() in lowered)
    exact, folded = {}, {}
    for row, word in enumerate(table.words):
        if word in wanted:
            exact[word] = row
        folded.setdefault(word.lower(), row)
    chosen = [(w, exact[w] if w in exact else folded[w.lower()]) for w in vocab_words
              if w in exact or w.lower() in folded]
    meta = dict(table.meta, exact=sum(w in exact for w, _ in chosen),
                case_folded=sum(w not in exact for w, _ in chosen))
    return table.subset([row for _, row in chosen], words=[w for w, _ in chosen], meta=meta)
