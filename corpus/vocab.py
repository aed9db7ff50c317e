"""Vocabulary: id <-> token, train-split counts, special tokens, and its ``vocab.tsv`` file.

Row order is stable: the specials first, then words by descending count, ties broken by the token itself,
so the same counts always give the same ids.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from base.atomic import atomic_file
from base.errors import InputError

PAD, UNK, EOS = "<pad>", "<unk>", "<eos>"
SPECIALS = (PAD, UNK, EOS)
VOCAB_FORMAT_VERSION = 1
_HEADER = f"# w2v-gpt vocab format {VOCAB_FORMAT_VERSION}"


@dataclass
class Vocab:
    """Tokens in id order with their counts on the train split; the first entries are the specials."""

    tokens: list[str]
    counts: np.ndarray
    specials: list[str] = field(default_factory=lambda: list(SPECIALS))

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if len(self.tokens) != len(self.counts):
            raise ValueError("tokens and counts differ in length")
        if list(self.tokens[: len(self.specials)]) != list(self.specials):
            raise ValueError("the specials must come first")
        self._index = {token: i for i, token in enumerate(self.tokens)}
        if len(self._index) != len(self.tokens):
            raise ValueError("duplicate tokens in vocabulary")

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    @property
    def pad_id(self) -> int:
        return self._index[PAD]

    @property
    def unk_id(self) -> int:
        return self._index[UNK]

    @property
    def eos_id(self) -> int:
        return self._index[EOS]

    @property
    def index(self) -> dict[str, int]:
        """token -> id (read-only by convention)."""
        return self._index

    def id_of(self, token: str) -> int:
        """The id of ``token``, or the ``<unk>`` id when it is not in the vocabulary."""
        return self._index.get(token, self.unk_id)

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Token strings -> int32 ids (unknown tokens map to ``<unk>``)."""
        unk = self.unk_id
        return np.fromiter((self._index.get(t, unk) for t in tokens), dtype=np.int32, count=len(tokens))

    def decode(self, ids) -> list[str]:
        """Ids -> token strings."""
        return [self.tokens[int(i)] for i in ids]

    @classmethod
    def build(cls, counts: dict[str, int], min_count: int = 5, max_vocab: int | None = None,
              special_counts: dict[str, int] | None = None) -> "Vocab":
        """Keep words seen at least ``min_count`` times, the most frequent first, at most ``max_vocab``
        entries in all (specials included)."""
        words = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
                       key=lambda w: (-counts[w], w))
        if max_vocab is not None:
            words = words[: max(0, max_vocab - len(SPECIALS))]
        special_counts = special_counts or {}
        tokens = list(SPECIALS) + words
        values = [special_counts.get(s, 0) for s in SPECIALS] + [counts[w] for w in words]
        return cls(tokens, np.array(values, dtype=np.int64))

    def save(self, path: str | os.PathLike) -> None:
        """Write ``vocab.tsv``: a version line, a column line, then ``id<TAB>token<TAB>count`` rows."""
        with atomic_file(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(_HEADER + "\n# id\ttoken\tcount\n")
            for i, (token, count) in enumerate(zip(self.tokens, self.counts.tolist())):
                handle.write(f"{i}\t{token}\t{count}\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """Read a ``vocab.tsv`` written by :meth:`save`; InputError on any malformed line."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except FileNotFoundError:
            raise InputError(f"vocabulary file not found: {path}") from None
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 at byte {exc.start}") from None
        if not lines or lines[0] != _HEADER:
            raise InputError(f"{path}: not a w2v-gpt vocab file of format {VOCAB_FORMAT_VERSION}")
        tokens, counts = [], []
        for lineno, line in enumerate(lines[2:], start=3):
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) != len(tokens):
                raise InputError(f"{path}:{lineno}: malformed vocabulary row")
            try:
                counts.append(int(parts[2]))
            except ValueError:
                raise InputError(f"{path}:{lineno}: count is not an integer") from None
            tokens.append(parts[1])
        try:
            return cls(tokens, np.array(counts, dtype=np.int64))
        except ValueError as exc:
            raise InputError(f"{path}: {exc}") from None
