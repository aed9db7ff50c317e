"""EmbeddingTable: the contract between the embedding trainers and the GPT.

A table is a list of words, a float32 matrix with one row per word (same order), a metadata dict
(method, config, corpus hash, loss per epoch, rescaling applied, ...) and optionally a per-row ``trained``
mask: the trainers export a row for every vocabulary entry, but the specials and words never seen in a
window only hold random draws, and a user of the table (a frozen GPT embedding) must know which rows those
are. Files of other formats carry no mask: every row they hold counts as trained.

The native file is a NumPy ``.npz`` archive read with ``allow_pickle=False``:

    format        str    "w2v-gpt/embedding-table"
    version       int64  FORMAT_VERSION
    words_utf8    uint8  the words, UTF-8 encoded and concatenated
    word_offsets  int64  (n + 1,) byte offsets of each word in words_utf8
    matrix        float32 (n, dim)
    meta          str    the metadata as JSON
    trained       bool   (n,) optional: which rows a trainer actually trained (absent: every row)

Words are stored as bytes plus offsets rather than a NumPy unicode array, so one long word does not
blow every row up to its width, and any string survives the round trip.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from base.atomic import atomic_path
from base.errors import InputError

FORMAT_NAME = "w2v-gpt/embedding-table"
FORMAT_VERSION = 1
_KEYS = {"format", "version", "words_utf8", "word_offsets", "matrix", "meta"}


@dataclass(eq=False)
class EmbeddingTable:
    """Word vectors: ``words[i]`` owns ``matrix[i]``.

    The matrix is converted to a C-contiguous float32 array on construction. Raises InputError for a
    matrix that is not 2-D, a row count that differs from the word count, an empty table, a word that
    is not a non-empty string, duplicate words and non-finite values. Treat a table as immutable:
    ``index`` is computed once and cached.
    """

    words: list[str]
    matrix: np.ndarray  # (n, dim) float32
    meta: dict = field(default_factory=dict)
    trained: np.ndarray | None = None  # (n,) bool; None: every row was trained

    def __post_init__(self):
        self.words = list(self.words)
        matrix = np.asarray(self.matrix)
        if matrix.ndim != 2:
            raise InputError(f"an embedding matrix must be 2-D (rows x dim), got shape {matrix.shape}")
        if not (np.issubdtype(matrix.dtype, np.floating) or np.issubdtype(matrix.dtype, np.integer)):
            raise InputError(f"an embedding matrix must hold real numbers, got dtype {matrix.dtype}")
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        if self.matrix.shape[0] != len(self.words):
            raise InputError(f"{len(self.words)} words but {self.matrix.shape[0]} matrix rows")
        if not self.words:
            raise InputError("an embedding table needs at least one word")
        if self.matrix.shape[1] == 0:
            raise InputError("an embedding table needs at least one dimension")
        for row, word in enumerate(self.words):
            if not isinstance(word, str) or not word:
                raise InputError(f"word {row} is {word!r}; every word must be a non-empty string")
        if len(set(self.words)) != len(self.words):
            seen: dict[str, int] = {}
            for row, word in enumerate(self.words):
                if word in seen:
                    raise InputError(f"duplicate word {word!r} at rows {seen[word]} and {row}")
                seen[word] = row
        if not np.isfinite(self.matrix).all():
            bad = int(np.flatnonzero(~np.isfinite(self.matrix).all(axis=1))[0])
            raise InputError(f"non-finite value in the row of {self.words[bad]!r} (row {bad})")
        if not isinstance(self.meta, dict):
            raise InputError(f"table meta must be a dict, got {type(self.meta).__name__}")
        if self.trained is not None:
            trained = np.asarray(self.trained)
            if trained.shape != (len(self.words),) or trained.dtype.kind not in "bui":
                raise InputError(f"the trained-rows mask must hold one flag per word ({len(self.words)}), "
                                 f"got shape {trained.shape}")
            self.trained = trained.astype(bool)
        self._index: dict[str, int] | None = None

    # ----------------------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Number of columns (the embedding dimension)."""
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    @property
    def trained_mask(self) -> np.ndarray:
        """(n,) bool: the rows a trainer trained (all True for a table without a mask)."""
        return np.ones(len(self.words), dtype=bool) if self.trained is None else self.trained

    def subset(self, rows, words: list[str] | None = None, meta: dict | None = None) -> "EmbeddingTable":
        """A new table of the given rows (in that order), their trained flags kept; ``words`` renames them."""
        rows = np.asarray(rows, dtype=np.int64)
        return EmbeddingTable([self.words[i] for i in rows] if words is None else words, self.matrix[rows],
                              dict(self.meta) if meta is None else meta,
                              None if self.trained is None else self.trained[rows])

    @property
    def index(self) -> dict[str, int]:
        """word -> row, built on first use and cached."""
        if self._index is None:
            self._index = {word: row for row, word in enumerate(self.words)}
        return self._index

    def __contains__(self, word) -> bool:
        return word in self.index

    def vector(self, word: str) -> np.ndarray:
        """The row of ``word`` (a read-only view, shape (dim,)); KeyError if absent."""
        row = self.matrix[self.index[word]]
        row.flags.writeable = False
        return row

    def __repr__(self) -> str:
        method = self.meta.get("method")
        extra = f", method={method!r}" if method else ""
        return f"EmbeddingTable({len(self)} words x {self.dim}{extra})"

    # ----------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the native ``.npz`` file atomically (temp name, then rename)."""
        try:
            meta_json = json.dumps(self.meta, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"table meta is not JSON-serialisable: {exc}") from None
        encoded = [word.encode("utf-8", errors="surrogatepass") for word in self.words]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(b) for b in encoded])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        optional = {} if self.trained is None else {"trained": self.trained}
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    format=np.array(FORMAT_NAME),
                    version=np.array(FORMAT_VERSION, dtype=np.int64),
                    words_utf8=blob,
                    word_offsets=offsets,
                    matrix=self.matrix,
                    meta=np.array(meta_json),
                    **optional,
                )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "EmbeddingTable":
        """Read a native ``.npz`` table; InputError if it is missing, corrupt or of another version."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"no embedding table at {path}")
        try:
            _check_claimed_sizes(path)
            with np.load(path, allow_pickle=False) as archive:
                missing = _KEYS - set(archive.files)
                if missing:
                    raise InputError(f"{path}: not a w2v-gpt embedding table (missing {sorted(missing)})")
                if str(archive["format"]) != FORMAT_NAME:
                    raise InputError(f"{path}: not a w2v-gpt embedding table (format {archive['format']})")
                version = int(archive["version"])
                if version != FORMAT_VERSION:
                    raise InputError(
                        f"{path}: embedding table format version {version}, this code reads {FORMAT_VERSION}"
                    )
                blob = archive["words_utf8"].tobytes()
                offsets = archive["word_offsets"]
                matrix = archive["matrix"]
                meta = json.loads(str(archive["meta"]))
                trained = archive["trained"] if "trained" in archive.files else None
        except InputError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: corrupt embedding table ({type(exc).__name__}: {exc})") from None
        if matrix.dtype != np.float32 or offsets.ndim != 1 or len(offsets) != len(matrix) + 1:
            raise InputError(f"{path}: corrupt embedding table (inconsistent arrays)")
        if offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) < 0):
            raise InputError(f"{path}: corrupt embedding table (bad word offsets)")
        try:
            words = [blob[a:b].decode("utf-8", errors="surrogatepass") for a, b in zip(offsets[:-1], offsets[1:])]
        except UnicodeDecodeError:
            raise InputError(f"{path}: corrupt embedding table (words are not UTF-8)") from None
        if not isinstance(meta, dict):
            raise InputError(f"{path}: corrupt embedding table (meta is not an object)")
        try:
            return cls(words, matrix, meta, trained)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None


def whole_word_view(table, whole: dict[str, str] | None = None):
    """A subword table as a table of its whole-word tokens only, each named by its word, and how many there
    are: ``whole`` maps token -> word (a tokenizer file's, :meth:`corpus.prepared.PreparedCorpus.whole_words`);
    without it, tokens ending in ``</w>`` (this project's BPE) have the marker stripped. Any other table is
    returned as it is, with None."""
    from corpus.bpe import WORD_END

    if whole is not None:
        rows = [i for i, word in enumerate(table.words) if word in whole]
        words = [whole[table.words[i]] for i in rows]
    else:
        rows = [i for i, word in enumerate(table.words) if word.endswith(WORD_END)]
        words = [table.words[i][: -len(WORD_END)] for i in rows]
    if not rows:
        return table, None
    meta = dict(table.meta, whole_words_of=len(table))
    view = table.subset(rows, words=words, meta=meta)
    return view, {"whole_words": len(rows), "tokens": len(table)}


def _check_claimed_sizes(path: Path) -> None:
    """InputError when an array's header in the archive claims more bytes than the archive stores for it
    (a damaged or forged file), before anything of that size is allocated."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                               np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(member)
                claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
                stored = info.file_size - member.tell()
            if claimed != stored:
                raise InputError(f"{path}: damaged embedding table ({info.filename[:-4]} claims shape {shape}, "
                                 f"{claimed:,} bytes, but the file holds {stored:,})")
