"""Reading and writing embedding tables in the formats people publish them in.

- ``native``: our versioned ``.npz`` (see :mod:`vectors.table`).
- ``word2vec``: text, a header line ``"<rows> <dim>"`` then ``word v1 v2 ...`` per line.
- ``word2vec-binary``: the same header, then per row ``word`` + one space + dim little-endian float32.
- ``glove``: text rows like word2vec's, without the header line.

Writers produce the bytes gensim's ``KeyedVectors.save_word2vec_format`` produces (values as numpy's
shortest float32 repr, no newline after binary rows); readers parse numbers as gensim does (decimal ->
float64 -> float32), so a table survives a round trip through gensim in either direction. Inputs may be
gzip-, bzip2- or xz-compressed (detected from the first bytes). Malformed input raises InputError naming the
file and line (entry for binary files) and nothing is returned half-loaded.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

import numpy as np

from base.atomic import atomic_file
from base.errors import InputError
from vectors.table import EmbeddingTable

FORMATS = ("auto", "native", "word2vec", "word2vec-binary", "glove")
_BINARY_CHUNK = 1 << 20
_BLOCK_ROWS = 1 << 16


def open_binary(path: str | os.PathLike, what: str = "vector file"):
    """Open ``path`` for reading bytes, decompressing gzip, bzip2 or xz (sniffed from the magic bytes)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such {what}: {path}")
    with open(path, "rb") as handle:
        magic = handle.read(3)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if magic == b"BZh":
        return bz2.open(path, "rb")
    if magic == b"\xfd7z":
        return lzma.open(path, "rb")
    return open(path, "rb")


def _plain_name(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".gz", ".bz2", ".xz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _parse_header(line: bytes) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


MAX_DIM = 65_536  # a header declaring wider vectors is taken for a damaged one (rows are read block by block)


def _read_header(handle, where: str) -> tuple[int, int, int]:
    """``(rows, dim, length of the line)`` of a word2vec header line read from ``handle``; InputError at
    ``where`` otherwise."""
    header = handle.readline()
    if not header.strip():
        raise InputError(f"{where}: empty file or header line")
    parsed = _parse_header(header)
    if parsed is None:
        raise InputError(f"{where}: expected a '<rows> <dim>' header line, got {header[:30]!r}")
    if parsed[1] > MAX_DIM:
        raise InputError(f"{where}: the header declares dimension {parsed[1]:,}, above {MAX_DIM:,}: a damaged header?")
    return (*parsed, len(header))


def detect_format(path: str | os.PathLike) -> str:
    """Guess a file's format: ``.npz`` -> native, ``.bin`` -> word2vec-binary, else by its first line(s)."""
    path = Path(path)
    name = _plain_name(path)
    if name.endswith(".npz"):
        return "native"
    if name.endswith(".bin"):
        return "word2vec-binary"
    with open_binary(path) as handle:
        first = handle.readline()
        if _parse_header(first) is None:
            return "glove"
        second = handle.readline(1 << 16)
    try:
        text = second.decode("utf-8").rstrip()
    except UnicodeDecodeError:
        return "word2vec-binary"
    dim = _parse_header(first)[1]
    return "word2vec" if len(text.split(" ")) == dim + 1 else "word2vec-binary"


def load_vectors(path: str | os.PathLike, format: str = "auto", unicode_errors: str = "strict",
                 keep=None) -> EmbeddingTable:
    """Load a table from ``path`` in ``format`` (one of FORMATS); meta records the source.

    ``keep``: a ``word -> bool`` filter applied while streaming (text and binary formats): only the rows it
    keeps are stored and parsed, so memory follows the kept rows, never the file; every row's shape is still
    checked, meta's ``rows_scanned`` counts them, and a file none of whose words is kept is an InputError."""
    path = Path(path)
    if format not in FORMATS:
        raise InputError(f"unknown vector format {format!r}; choose one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise InputError(f"no such vector file: {path}")
    guessed_binary = False
    if format == "auto":
        format = detect_format(path)
    elif format == "word2vec" and detect_format(path) == "word2vec-binary":
        # "word2vec" names the family (gensim's `binary=` flag picks text or binary): the file tells which,
        # and a text file with a bad byte still gets the text reader's message if it does not read as binary.
        format, guessed_binary = "word2vec-binary", True
    if format == "native":
        table = EmbeddingTable.load(path)
        if keep is None:
            return table
        rows = [i for i, word in enumerate(table.words) if keep(word)]
        return table.subset(rows, meta=dict(table.meta, rows_scanned=len(table)))
    reading = _Reading(path, unicode_errors, keep)
    with open_binary(path) as handle:
        if format == "word2vec-binary":
            try:
                words, matrix = _read_binary(handle, reading)
            except InputError:
                if not guessed_binary:
                    raise
                format, reading = "word2vec", _Reading(path, unicode_errors, keep)
                with open_binary(path) as text:
                    words, matrix = _read_text(text, reading, True)
        else:
            words, matrix = _read_text(handle, reading, format == "word2vec")
    meta = {"source": str(path), "source_format": format}
    if keep is not None:
        meta["rows_scanned"] = reading.scanned
        if not words:
            raise InputError(f"{path}: none of its {reading.scanned:,} words is in the vocabulary")
    try:
        return EmbeddingTable(words, matrix, meta)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


class _Reading:
    """One pass over a vector file: where it is, how bad UTF-8 is treated, which rows are kept, how many
    rows were read."""

    def __init__(self, path: Path, unicode_errors: str, keep) -> None:
        self.path, self.unicode_errors, self.keep, self.scanned = path, unicode_errors, keep, 0

    def kept(self, word: str) -> bool:
        self.scanned += 1
        return self.keep is None or bool(self.keep(word))


def _check_duplicates(words: list[str], path, line_of) -> None:
    seen: dict[str, int] = {}
    for row, word in enumerate(words):
        if word in seen:
            raise InputError(f"{path}:{line_of(row)}: duplicate word {word!r} (first at line {line_of(seen[word])})")
        seen[word] = row


def _read_text(handle, reading: _Reading, has_header: bool) -> tuple[list[str], np.ndarray]:
    """Parse word2vec text (header) or GloVe (no header) rows: ``word`` then ``dim`` numbers, space-separated;
    only the rows ``reading`` keeps are stored (their numbers parsed; every row's shape is checked)."""
    path, unicode_errors = reading.path, reading.unicode_errors
    expected_rows, dim, first_line = None, None, 1
    if has_header:
        expected_rows, dim, _ = _read_header(handle, f"{path}:1")
        if dim < 1:
            raise InputError(f"{path}:1: the header declares dimension {dim}")
        first_line = 2
    words: list[str] = []
    blocks: list[np.ndarray] = []
    line_no = first_line - 1
    trailing_blank = None
    while True:
        raw_lines = handle.readlines(1 << 22)
        if not raw_lines:
            break
        tokens: list[str] = []
        kept_lines: list[bytes] = []
        for raw in raw_lines:
            line_no += 1
            try:
                line = raw.decode("utf-8", errors=unicode_errors).rstrip()
            except UnicodeDecodeError:
                raise InputError(f"{path}:{line_no}: not valid UTF-8") from None
            if not line:
                trailing_blank = trailing_blank or line_no
                continue
            if trailing_blank is not None:
                raise InputError(f"{path}:{trailing_blank}: empty line")
            parts = line.split(" ")
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise InputError(f"{path}:{line_no}: expected a word and its numbers, got {line[:60]!r}")
            if len(parts) != dim + 1:
                raise InputError(f"{path}:{line_no}: expected a word and {dim} numbers, got {len(parts) - 1} fields")
            if expected_rows is not None and reading.scanned >= expected_rows:
                raise InputError(f"{path}:{line_no}: more rows than the {expected_rows} the header declares")
            if not parts[0]:
                raise InputError(f"{path}:{line_no}: empty word")
            if reading.kept(parts[0]):
                words.append(parts[0])
                tokens.extend(parts[1:])
                kept_lines.append(raw)
        if tokens:
            values = _parse_numbers(tokens, kept_lines if reading.keep else raw_lines, path,
                                    line_no - len(raw_lines) + 1)
            blocks.append(values.reshape(-1, dim))
    if not reading.scanned:
        raise InputError(f"{path}: no vectors in the file")
    if expected_rows is not None and reading.scanned != expected_rows:
        raise InputError(f"{path}: the header declares {expected_rows} rows, the file has {reading.scanned}")
    if not words:
        return words, np.zeros((0, dim), dtype=np.float32)
    _check_duplicates(words, path, lambda row: row + first_line)
    return words, np.concatenate(blocks)


def _parse_numbers(tokens: list[str], raw_lines: list[bytes], path, first_line_no: int) -> np.ndarray:
    """Decimal strings -> float32 via float64 (as gensim's np.float32(str) does); errors name the line."""
    try:
        with np.errstate(over="ignore"):
            values = np.array(tokens, dtype=np.float64).astype(np.float32)
        if np.isfinite(values).all():
            return values
    except ValueError:
        pass
    # find the offending line and say what is wrong with it
    for offset, raw in enumerate(raw_lines):
        line = raw.decode("utf-8", errors="replace").rstrip()
        for token in line.split(" ")[1:] if line else []:
            try:
                number = np.float64(token)
            except ValueError:
                raise InputError(f"{path}:{first_line_no + offset}: {token[:30]!r} is not a number") from None
            with np.errstate(over="ignore"):
                finite = np.isfinite(number.astype(np.float32))
            if not finite:
                raise InputError(f"{path}:{first_line_no + offset}: {token[:30]!r} is not a finite float32")
    raise InputError(f"{path}: unparseable numbers near line {first_line_no}")


def _read_binary(handle, reading: _Reading) -> tuple[list[str], np.ndarray]:
    """Parse word2vec binary rows: ``word`` + b' ' + dim float32 (an optional b'\\n' may precede a word);
    only the rows ``reading`` keeps are stored."""
    path, unicode_errors = reading.path, reading.unicode_errors
    rows, dim, offset = _read_header(handle, str(path))
    if rows < 1 or dim < 1:
        raise InputError(f"{path}: the header declares {rows} rows of dimension {dim}")
    row_bytes = 4 * dim
    blocks: list[np.ndarray] = []  # filled block by block: a corrupt header cannot claim all memory
    words: list[str] = []
    buffer, start, eof = b"", 0, False
    # offset: the byte offset of buffer[0] in the (decompressed) file
    while reading.scanned < rows:
        space = buffer.find(b" ", start)
        if space == -1 or len(buffer) - (space + 1) < row_bytes:
            if eof:
                raise InputError(
                    f"{path}: truncated at entry {reading.scanned + 1} of {rows} (byte {offset + start}); file "
                    "damaged?"
                )
            offset += start
            chunk = handle.read(_BINARY_CHUNK)
            eof = len(chunk) < _BINARY_CHUNK
            buffer, start = buffer[start:] + chunk, 0
            continue
        raw_word = buffer[start:space].lstrip(b"\n")
        try:
            word = raw_word.decode("utf-8", errors=unicode_errors)
        except UnicodeDecodeError:
            raise InputError(f"{path}: entry {reading.scanned + 1}: word is not valid UTF-8 ({raw_word[:40]!r})") \
                from None
        if not word or b"\n" in raw_word:
            raise InputError(f"{path}: entry {reading.scanned + 1} (byte {offset + start}): malformed word "
                             f"{raw_word[:40]!r}")
        if reading.kept(word):
            row = len(words) % _BLOCK_ROWS
            if row == 0:
                blocks.append(np.empty((min(_BLOCK_ROWS, rows - len(words)), dim), dtype=np.float32))
            blocks[-1][row] = np.frombuffer(buffer, dtype="<f4", count=dim, offset=space + 1)
            words.append(word)
        start = space + 1 + row_bytes
    rest = buffer[start:] + handle.read(_BINARY_CHUNK)
    if rest.strip():
        raise InputError(f"{path}: data after the {rows} entries the header declares")
    matrix = np.concatenate(blocks)[: len(words)] if blocks else np.zeros((0, dim), dtype=np.float32)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        raise InputError(f"{path}: entry {int(np.flatnonzero(bad)[0]) + 1}: non-finite value")
    _check_duplicates(words, path, lambda row: f"entry {row + 1}")
    return words, matrix


# --------------------------------------------------------------------------------------------------
def _check_writable_words(table: EmbeddingTable, fmt: str) -> None:
    for word in table.words:
        if " " in word or "\n" in word:
            raise InputError(f"word {word!r} holds a space or newline; the {fmt} format cannot store it")


def _open_output(path: Path, handle):
    """Wrap an atomic handle in a compressor when ``path`` ends in .gz or .bz2."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=handle, mode="wb", mtime=0)
    if name.endswith(".bz2"):
        return bz2.BZ2File(handle, mode="wb")
    return None


def _write_rows(path, table: EmbeddingTable, header: bool, binary: bool) -> None:
    path = Path(path)
    with atomic_file(path, "wb") as raw:
        wrapped = _open_output(path, raw)
        out = wrapped if wrapped is not None else raw
        if header:
            out.write(f"{len(table)} {table.dim}\n".encode("utf-8"))
        for word, row in zip(table.words, table.matrix):
            if binary:
                out.write(f"{word} ".encode("utf-8") + row.astype("<f4").tobytes())
            else:
                out.write(f"{word} {' '.join(map(str, row))}\n".encode("utf-8"))
        out.flush()
        if wrapped is not None:
            wrapped.close()


def save_word2vec(table: EmbeddingTable, path: str | os.PathLike, binary: bool = False) -> None:
    """Write ``table`` in word2vec text (default) or binary format, atomically, as gensim writes it."""
    _check_writable_words(table, "word2vec")
    _write_rows(path, table, header=True, binary=binary)


def save_glove(table: EmbeddingTable, path: str | os.PathLike) -> None:
    """Write ``table`` as GloVe text: word2vec text rows without the header line, atomically."""
    _check_writable_words(table, "GloVe")
    _write_rows(path, table, header=False, binary=False)


def save_vectors(table: EmbeddingTable, path: str | os.PathLike, format: str) -> None:
    """Write ``table`` in any of the named formats (``auto`` is not one)."""
    if format == "native":
        table.save(path)
    elif format in ("word2vec", "word2vec-binary"):
        save_word2vec(table, path, binary=format == "word2vec-binary")
    elif format == "glove":
        save_glove(table, path)
    else:
        raise InputError(f"cannot write vector format {format!r}")


def to_keyed_vectors(table: EmbeddingTable):
    """The table as a gensim KeyedVectors (same rows, same order)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(table.dim, count=0, dtype=np.float32)
    kv.add_vectors(table.words, table.matrix)
    return kv


def from_keyed_vectors(kv, meta: dict | None = None) -> EmbeddingTable:
    """An EmbeddingTable with a gensim KeyedVectors' keys (as str) and vectors, in index order."""
    return EmbeddingTable([str(k) for k in kv.index_to_key], np.asarray(kv.vectors, dtype=np.float32), meta or {})
