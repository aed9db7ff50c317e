"""Where text comes from: the built-in default corpus, or the user's files, as a stream of documents.

A source yields documents (strings). Every source also has a ``fingerprint`` (paths, sizes, mtimes) that
tells ``prepare`` whether its inputs changed since the last run.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import lzma
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from corpus.errors import InputError

DEFAULT_CORPUS = "default"
DOCUMENT_MODES = ("paragraphs", "lines")
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
        if self.documents == "lines":
            for line in self.lines():
                if line.strip():
                    yield line.strip()
            return
        paragraph: list[str] = []
        for line in self.lines():
            if line.strip():
                paragraph.append(line.rstrip("\r\n"))
            elif paragraph:
                yield "\n".join(paragraph)
                paragraph = []
        if paragraph:
            yield "\n".join(paragraph)


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


def resolve_sources(spec: str | None, documents: str = "paragraphs",
                    encoding_errors: str = "strict") -> list:
    """Turn ``--corpus`` (``default``, a FILE, a DIR or a GLOB) into a list of sources."""
    if documents not in DOCUMENT_MODES:
        raise InputError(f"--documents must be one of {', '.join(DOCUMENT_MODES)}, not {documents!r}")
    if encoding_errors not in ("strict", "replace"):
        raise InputError(f"--encoding-errors must be strict or replace, not {encoding_errors!r}")
    if spec is None or spec == "" or (spec == DEFAULT_CORPUS and not os.path.exists(spec)):
        return [DefaultSource()]
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
        raise InputError(f"corpus not found: {spec}")
    return [TextFileSource(f, documents, encoding_errors) for f in files]
