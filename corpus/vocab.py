"""Vocabulary: id <-> token, train-split counts, special tokens, and its ``vocab.tsv`` file.

Row order is stable: the specials first, then words by descending count, ties broken by the token itself,
so the same counts always give the same ids. A vocabulary taken from a tokenizer file keeps that file's ids
instead: its specials sit where the file puts them, and ``roles`` says which of them ends a document
(``eos``), stands for an unknown token (``unk``) and pads (``pad``); the last two may be absent (id -1).
Such a vocabulary is saved in format 2, which records the specials and roles and escapes ``\\``, tab and
newline inside tokens; every other vocabulary is saved in format 1, byte for byte as before.
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
ROLES = ("pad", "unk", "eos")
DEFAULT_ROLES = {"pad": PAD, "unk": UNK, "eos": EOS}
VOCAB_FORMAT_VERSION = 1
_HEADER = f"# w2v-gpt vocab format {VOCAB_FORMAT_VERSION}"
_HEADER_2 = "# w2v-gpt vocab format 2"
WORD_LIST = "words.tsv"
_WORDS_HEADER = "# w2v-gpt word list 1"
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


@dataclass
class Vocab:
    """Tokens in id order with their counts on the train split; the first entries are the specials."""

    tokens: list[str]
    counts: np.ndarray
    specials: list[str] = field(default_factory=lambda: list(SPECIALS))
    roles: dict = field(default_factory=lambda: dict(DEFAULT_ROLES))  # role -> special token, or None

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if len(self.tokens) != len(self.counts):
            raise ValueError("tokens and counts differ in length")
        self._index = {token: i for i, token in enumerate(self.tokens)}
        if len(self._index) != len(self.tokens):
            raise ValueError("duplicate tokens in vocabulary")
        if self.is_default_layout:
            return
        if set(self.roles) != set(ROLES) or self.roles["eos"] is None:
            raise ValueError("roles must name pad, unk and eos (eos a token, the others a token or None)")
        if any(s not in self._index for s in self.specials):
            raise ValueError("every special must be a token of the vocabulary")
        if any(t is not None and t not in self.specials for t in self.roles.values()):
            raise ValueError("a role's token must be one of the specials")

    @property
    def is_default_layout(self) -> bool:
        """The project's own layout: ``<pad>``, ``<unk>``, ``<eos>`` as ids 0, 1, 2 (ValueError when the
        default specials are given anywhere else)."""
        if list(self.specials) != list(SPECIALS) or self.roles != DEFAULT_ROLES:
            return False
        if list(self.tokens[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError("the specials must come first")
        return True

    def with_counts(self, counts) -> "Vocab":
        """The same tokens, specials and roles with other counts (a fraction's, say)."""
        return Vocab(list(self.tokens), counts, list(self.specials), dict(self.roles))

    def _role_id(self, role: str) -> int:
        token = self.roles[role]
        return -1 if token is None else self._index[token]

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    @property
    def pad_id(self) -> int:
        """The padding token's id; -1 when the vocabulary has none."""
        return self._role_id("pad")

    @property
    def unk_id(self) -> int:
        """The unknown token's id; -1 when the vocabulary has none (a byte-level BPE needs none)."""
        return self._role_id("unk")

    @property
    def eos_id(self) -> int:
        return self._role_id("eos")

    @property
    def index(self) -> dict[str, int]:
        """token -> id (read-only by convention)."""
        return self._index

    def id_of(self, token: str) -> int:
        """The id of ``token``, or the ``<unk>`` id when it is not in the vocabulary (InputError when the
        vocabulary has no unknown token)."""
        found = self._index.get(token, self.unk_id)
        if found < 0:
            raise InputError(f"{token!r} is not in the vocabulary, which has no unknown token")
        return found

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Token strings -> int32 ids (unknown tokens map to ``<unk>``)."""
        return np.fromiter((self.id_of(t) for t in tokens), dtype=np.int32, count=len(tokens))

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
        """Write ``vocab.tsv``: a version line, a column line, then ``id<TAB>token<TAB>count`` rows; in format 2
        a line of the specials' ids and the roles comes second and tokens are escaped."""
        escape = not self.is_default_layout or any(c in t for t in self.tokens for c in _ESCAPES)
        with atomic_file(path, "w", encoding="utf-8", newline="\n") as handle:
            if escape:
                ids = ",".join(str(self._index[s]) for s in self.specials)
                roles = "\t".join(f"{r}={self._role_id(r)}" for r in ROLES)
                handle.write(f"{_HEADER_2}\n# specials\t{ids}\t{roles}\n")
            else:
                handle.write(_HEADER + "\n")
            handle.write("# id\ttoken\tcount\n")
            for i, (token, count) in enumerate(zip(self.tokens, self.counts.tolist())):
                handle.write(f"{i}\t{_escape(token) if escape else token}\t{count}\n")

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
        if not lines or lines[0] not in (_HEADER, _HEADER_2):
            raise InputError(f"{path}: not a w2v-gpt vocab file of format {VOCAB_FORMAT_VERSION} or 2")
        escaped = lines[0] == _HEADER_2
        first = 3 if escaped else 2
        tokens, counts = [], []
        for lineno, line in enumerate(lines[first:], start=first + 1):
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) != len(tokens):
                raise InputError(f"{path}:{lineno}: malformed vocabulary row")
            try:
                counts.append(int(parts[2]))
            except ValueError:
                raise InputError(f"{path}:{lineno}: count is not an integer") from None
            tokens.append(_unescape(parts[1]) if escaped else parts[1])
        try:
            if not escaped:
                return cls(tokens, np.array(counts, dtype=np.int64))
            specials, roles = _read_specials(lines[1], tokens)
            return cls(tokens, np.array(counts, dtype=np.int64), specials, roles)
        except (ValueError, IndexError) as exc:
            raise InputError(f"{path}: {exc or 'bad specials line'}") from None


def _escape(token: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in token)


def _unescape(token: str) -> str:
    if "\\" not in token:
        return token
    back = {v[1]: k for k, v in _ESCAPES.items()}  # "\\t" -> tab: the letter after the backslash
    out, chars = [], iter(token)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            if nxt not in back:
                raise ValueError(f"bad escape in token {token!r}")
            c = back[nxt]
        out.append(c)
    return "".join(out)


def _read_specials(line: str, tokens: list[str]) -> tuple[list[str], dict]:
    """The format-2 line ``# specials<TAB>ids<TAB>pad=<id><TAB>unk=<id><TAB>eos=<id>`` read back."""
    parts = line.split("\t")
    if len(parts) != 2 + len(ROLES) or parts[0] != "# specials":
        raise ValueError("bad specials line")
    specials = [tokens[int(i)] for i in parts[1].split(",") if i]
    roles = {}
    for part in parts[2:]:
        role, _, value = part.partition("=")
        roles[role] = None if int(value) < 0 else tokens[int(value)]
    return specials, roles


def save_word_list(path: str | os.PathLike, words: list[str], counts: np.ndarray, min_count: int) -> None:
    """Write a subword corpus's ``words.tsv``: the word tokenizer's words of the train split seen at least
    ``min_count`` times, with their counts, the most frequent first (ties by the word)."""
    counts = np.asarray(counts)
    kept = sorted((i for i in range(len(words)) if counts[i] >= min_count), key=lambda i: (-int(counts[i]), words[i]))
    with atomic_file(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(_WORDS_HEADER + "\n")
        for i in kept:
            handle.write(f"{words[i]}\t{int(counts[i])}\n")


def load_word_list(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """The words and train counts of a ``words.tsv`` (:func:`save_word_list`); InputError when malformed."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise InputError(f"{path} is missing: the corpus was prepared before subword corpora kept their words; "
                         f"delete {path.parent} and prepare it again") from None
    if lines[0] != _WORDS_HEADER:
        raise InputError(f"{path}: not a w2v-gpt word list")
    words, counts = [], []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        word, _, count = line.partition("\t")
        if not word or not count.isdigit():
            raise InputError(f"{path}:{lineno}: malformed word-list row")
        words.append(word)
        counts.append(int(count))
    return words, np.asarray(counts, dtype=np.int64)
