"""Where text comes from: the built-in default corpus, or the user's files, as a stream of documents.

A source yields documents (strings). Every source also has a ``fingerprint`` (paths, sizes, mtimes) that
tells ``prepare`` whether its inputs changed since the last run.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import json
import lzma
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from base.errors import InputError

DEFAULT_CORPUS = "default"
DOCUMENT_MODES = ("paragraphs", "lines")
FORMATS = ("auto", "text", "jsonl", "text8")
END_OF_TEXT = "<|endoftext|>"  # TinyStories' separator: always ends a document in text files
TEXT8_WORDS_PER_DOCUMENT = 10_000
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_SNIFF_BYTES = 8192


def _open_binary(path: Path):
    opener = _OPENERS.get(path.suffix.lower(), open)
    return opener(path, "rb")


def _fingerprint(path: Path) -> dict:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass(frozen=True)
class TextFileSource:
    """A plain text file (optionally .gz/.bz2/.xz); documents are paragraphs or lines."""

    path: Path
    documents: str = "paragraphs"
    encoding_errors: str = "strict"

    def fingerprint(self) -> list[dict]:
        return [_fingerprint(self.path)]

    def lines(self) -> Iterator[str]:
        """Decoded lines; invalid UTF-8 names the file and byte offset unless errors are replaced."""
        offset = 0
        try:
            with _open_binary(self.path) as handle:
                head = handle.read(_SNIFF_BYTES)
                if b"\0" in head:
                    raise InputError(f"{self.path}: looks like a binary file (NUL byte), not text")
                pending = head
                for raw in _binary_lines(handle, pending):
                    try:
                        yield raw.decode("utf-8", errors=self.encoding_errors)
                    except UnicodeDecodeError as exc:
                        raise InputError(
                            f"{self.path}: invalid UTF-8 at byte offset {offset + exc.start}"
                            " (use --encoding-errors replace to let it through)") from None
                    offset += len(raw)
        except (OSError, EOFError, lzma.LZMAError) as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise InputError(f"cannot read {self.path}: {exc.strerror}") from None
            raise InputError(f"{self.path}: cannot decompress or read ({exc})") from None

    def __iter__(self) -> Iterator[str]:
        """Documents: paragraphs (or lines); ``<|endoftext|>`` always ends one."""
        paragraph: list[str] = []
        for line in self.lines():
            pieces = line.split(END_OF_TEXT)
            for i, piece in enumerate(pieces):
                if i > 0 or (self.documents == "lines" or not piece.strip()):
                    # A separator, a new line in line mode, or a blank line: close the document.
                    if paragraph:
                        yield "\n".join(paragraph)
                        paragraph = []
                if piece.strip():
                    paragraph.append(piece.strip())
        if paragraph:
            yield "\n".join(paragraph)


@dataclass(frozen=True)
class JsonlSource:
    """JSON Lines: one document per line, its text in ``text_field``."""

    path: Path
    text_field: str = "text"
    encoding_errors: str = "strict"

    def fingerprint(self) -> list[dict]:
        return [_fingerprint(self.path)]

    def __iter__(self) -> Iterator[str]:
        for lineno, line in enumerate(TextFileSource(self.path, encoding_errors=self.encoding_errors).lines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(f"{self.path}:{lineno}: not valid JSON") from None
            if not isinstance(record, dict) or self.text_field not in record:
                raise InputError(f"{self.path}:{lineno}: no field {self.text_field!r} (see --text-field)")
            text = record[self.text_field]
            if not isinstance(text, str):
                raise InputError(f"{self.path}:{lineno}: field {self.text_field!r} is not a string")
            if text.strip():
                yield text


@dataclass(frozen=True)
class Text8Source:
    """text8: one line of lowercase words (optionally inside ``text8.zip``), cut into documents of
    ``TEXT8_WORDS_PER_DOCUMENT`` words so that the corpus can be split by document."""

    path: Path
    words_per_document: int = TEXT8_WORDS_PER_DOCUMENT

    def fingerprint(self) -> list[dict]:
        return [_fingerprint(self.path)]

    def _open(self):
        if self.path.suffix.lower() == ".zip":
            archive = zipfile.ZipFile(self.path)
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise InputError(f"{self.path}: expected one file inside the zip, found {len(names)}")
            return archive.open(names[0])
        return _open_binary(self.path)

    def __iter__(self) -> Iterator[str]:
        words: list[str] = []
        carry = b""
        try:
            with self._open() as handle:
                while True:
                    block = handle.read(1 << 20)
                    if not block:
                        break
                    if b"\0" in block:
                        raise InputError(f"{self.path}: looks like a binary file (NUL byte), not text8")
                    parts = (carry + block).split()
                    carry = parts.pop() if parts and not block[-1:].isspace() else b""
                    words.extend(p.decode("utf-8", errors="replace") for p in parts)
                    while len(words) >= self.words_per_document:
                        yield " ".join(words[: self.words_per_document])
                        del words[: self.words_per_document]
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read {self.path}: {exc}") from None
        words.extend(p.decode("utf-8", errors="replace") for p in carry.split())
        if words:
            yield " ".join(words)


def _binary_lines(handle, head: bytes) -> Iterator[bytes]:
    """Lines of a binary stream (newline kept), starting with bytes already read."""
    buffer = head
    while True:
        cut = buffer.rfind(b"\n")
        if cut >= 0:
            yield from buffer[: cut + 1].splitlines(keepends=True)
            buffer = buffer[cut + 1:]
        chunk = handle.read(1 << 20)
        if not chunk:
            break
        buffer += chunk
    if buffer:
        yield buffer


# --- the default corpus: gensim's Wikipedia sample and the Lee news corpus -------------------------------

_WIKI_FILE = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
_LEE_FILE = "lee_background.cor"
_HEADING = re.compile(r"^=+\s*(.*?)\s*=+\s*$")
_LIST_MARK = re.compile(r"^[*#:;]+\s*")
_EMPHASIS = re.compile(r"'{2,}")
_SPACES = re.compile(r"[ \t]+")


def clean_wiki_text(text: str) -> str:
    """Plain prose from ``filter_wiki`` output: headings as lines, no emphasis quotes or list marks."""
    lines = []
    for line in _EMPHASIS.sub("", text).splitlines():
        heading = _HEADING.match(line)
        line = heading.group(1) if heading else _LIST_MARK.sub("", line)
        line = _SPACES.sub(" ", line).strip()
        if line and any(ch.isalnum() for ch in line):
            lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class DefaultSource:
    """105 Wikipedia articles plus 300 Lee news texts, shipped inside gensim: no network needed."""

    def _paths(self) -> tuple[Path, Path]:
        from gensim.test.utils import datapath

        return Path(datapath(_WIKI_FILE)), Path(datapath(_LEE_FILE))

    def fingerprint(self) -> list[dict]:
        return [_fingerprint(p) for p in self._paths()]

    def __iter__(self) -> Iterator[str]:
        from gensim.corpora.wikicorpus import extract_pages, filter_wiki

        wiki, lee = self._paths()
        with bz2.open(wiki, "rb") as handle:
            for _title, text, _pageid in extract_pages(handle, filter_namespaces=("0",)):
                if text.lstrip().lower().startswith("#redirect"):
                    continue
                document = clean_wiki_text(filter_wiki(text))
                if document:
                    yield document
        yield from TextFileSource(lee, documents="lines")


def detect_format(path: Path) -> str:
    """``jsonl`` for .jsonl/.ndjson (also compressed), ``text8`` for a file named text8[.zip], else text."""
    name = path.name.lower()
    for suffix in _OPENERS:
        name = name.removesuffix(suffix)
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name in ("text8", "text8.zip"):
        return "text8"
    return "text"


def _file_source(path: Path, fmt: str, documents: str, encoding_errors: str, text_field: str):
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "jsonl":
        return JsonlSource(path, text_field, encoding_errors)
    if fmt == "text8":
        return Text8Source(path)
    return TextFileSource(path, documents, encoding_errors)


def resolve_sources(spec: str | None, documents: str = "paragraphs", encoding_errors: str = "strict",
                    fmt: str = "auto", text_field: str = "text", cache_dir: str | os.PathLike | None = None,
                    progress: bool = False) -> list:
    """Turn ``--corpus`` into sources: ``default``, a named dataset (``tinystories``, ``text8``: downloaded
    once into the cache), or a FILE, DIR or GLOB of local files read as ``fmt``."""
    from corpus.download import DATASETS, fetch

    if documents not in DOCUMENT_MODES:
        raise InputError(f"--documents must be one of {', '.join(DOCUMENT_MODES)}, not {documents!r}")
    if encoding_errors not in ("strict", "replace"):
        raise InputError(f"--encoding-errors must be strict or replace, not {encoding_errors!r}")
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if spec is None or spec == "" or (spec == DEFAULT_CORPUS and not os.path.exists(spec)):
        return [DefaultSource()]
    if spec in DATASETS and not os.path.exists(spec):
        dataset = DATASETS[spec]
        path = fetch(dataset, cache_dir, progress=progress)
        return [_file_source(path, dataset.format, documents, encoding_errors, text_field)]
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise InputError(f"corpus directory has no files: {path}")
    elif path.is_file():
        files = [path]
    elif glob.has_magic(spec):
        files = sorted(Path(p) for p in glob.glob(os.path.expanduser(spec), recursive=True)
                       if os.path.isfile(p))
        if not files:
            raise InputError(f"no corpus file matches {spec}")
    else:
        raise InputError(f"corpus not found: {spec} (give a file, directory, glob, 'default', "
                         f"or one of {', '.join(DATASETS)})")
    return [_file_source(f, fmt, documents, encoding_errors, text_field) for f in files]
