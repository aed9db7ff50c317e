"""Word vectors onto a subword vocabulary (BPE, WordPiece, unigram): one row per token, by a stated rule.

WECHSEL (Minixhofer et al., NAACL 2022) and FOCUS (Dobler & de Melo, EMNLP 2023) start a transformer's new
subword embeddings as weighted combinations of embeddings it already has, weighting by similarity in an
auxiliary static space. A published word file gives no such space for word pieces, but the GPT's own train
text says which words each piece lives in and how often, so the rule here weights by that:

- **whole word**: a token that is a word on its own (the tokenizer encodes the word, as it stands inside
  text, as that one token) takes the word's row; when several words encode to one token the most frequent
  word's row wins;
- **combined** (``combine``): every other token takes a combination of the rows of the words whose
  tokenization contains it. Each occurrence of a word ``w`` in the train split (count ``c_w``) is split
  evenly over its ``k_w`` tokens, so a token ``t`` occurring ``n_t(w)`` times in it gets weight
  ``c_w * n_t(w) / k_w`` from ``w``: a piece that is most of a frequent word carries most of its meaning.
  The row's direction is the weighted mean of those rows, and its length the weighted mean of their lengths
  (a mean of many directions is shorter than any of them; a piece should not look like a rare, short row);
- **random**: tokens no word with a row contains, the specials, and (with ``random``) every token that is
  not a whole word keep the GPT's own random init and train, as rows a table lacks always do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUBWORD_RULES = ("combine", "random")


@dataclass(frozen=True)
class SubwordRows:
    """A row per vocabulary token: ``matrix`` (V, C), ``rule`` (V,) 0 random, 1 whole word, 2 combined."""

    matrix: np.ndarray
    rule: np.ndarray

    @property
    def found(self) -> np.ndarray:
        return self.rule > 0

    def counts(self) -> dict:
        """How many rows each rule gave."""
        return {"whole_word": int((self.rule == 1).sum()), "combined": int((self.rule == 2).sum()),
                "random": int((self.rule == 0).sum())}


def subword_rows(vocab_size: int, pieces: list[np.ndarray], counts: np.ndarray, rows: np.ndarray,
                 has_row: np.ndarray, rule: str = "combine", specials=()) -> SubwordRows:
    """The rows of a ``vocab_size``-token vocabulary from word rows (see the module doc).

    ``pieces[i]``: word i's token ids; ``counts[i]``: its train count; ``rows[i]`` (C,) its row, used when
    ``has_row[i]``; words are expected most frequent first (ties: the first wins). ``specials``: token ids
    that always stay random.
    """
    from scipy import sparse

    if rule not in SUBWORD_RULES:
        raise ValueError(f"subword rule must be one of {', '.join(SUBWORD_RULES)}, not {rule!r}")
    dim = rows.shape[1]
    matrix = np.zeros((vocab_size, dim), dtype=np.float32)  # (V, C)
    source = np.zeros(vocab_size, dtype=np.int8)
    closed = np.zeros(vocab_size, dtype=bool)
    closed[list(specials)] = True
    for i in np.flatnonzero(has_row):
        if len(pieces[i]) == 1 and not closed[pieces[i][0]]:
            token = int(pieces[i][0])
            matrix[token], source[token], closed[token] = rows[i], 1, True
    if rule == "combine":
        words = [i for i in np.flatnonzero(has_row) if len(pieces[i]) > 1]
        if words:
            tokens = np.concatenate([pieces[i] for i in words]).astype(np.int64)
            owner = np.repeat(np.arange(len(words)), [len(pieces[i]) for i in words])
            weight = np.repeat([counts[i] / len(pieces[i]) for i in words], [len(pieces[i]) for i in words])
            # (V, W) weights; repeated (token, word) pairs add up, which is the n_t(w) factor
            w = sparse.csr_matrix((weight.astype(np.float64), (tokens, owner)), shape=(vocab_size, len(words)))
            word_rows = rows[words].astype(np.float64)  # (W, C)
            mean = w @ word_rows  # (V, C), unnormalised
            total = np.asarray(w.sum(axis=1)).ravel()  # (V,)
            length = w @ np.linalg.norm(word_rows, axis=1)  # (V,) unnormalised mean length
            take = (total > 0) & ~closed
            direction = mean[take] / np.maximum(np.linalg.norm(mean[take], axis=1, keepdims=True), 1e-300)
            matrix[take] = (direction * (length[take] / total[take])[:, None]).astype(np.float32)
            source[take] = 2
    return SubwordRows(matrix, source)
