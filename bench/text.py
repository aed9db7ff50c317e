"""The text ``make bench`` measures on, its prepared corpus, and the train split as words for the peers.

The text is any file a user names, or the default corpus repeated. A fresh clone has the default corpus (it
ships inside gensim), so the bench needs nothing beside the repository: the default corpus's documents are
written out again and again until the text holds at least ``min_tokens`` tokens of our tokenizer. Either
way the bench gets one plain UTF-8 text file, blank lines between documents, which every system under test
(ours, gensim, Stanford GloVe) reads. The peers then get the very tokens ours trains on:
:func:`train_sentences` decodes the prepared train split back to words.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import numpy as np

from base.errors import InputError

DEFAULT_MIN_TOKENS = 5_000_000


def check_bench_corpus(source: str | Path | None) -> None:
    """InputError when ``source`` is given but is not a readable file (None: the default corpus)."""
    if source is not None and not Path(source).is_file():
        raise InputError(f"bench corpus not found: {source} (BENCH_CORPUS takes a text file, .gz/.bz2/.xz "
                         "allowed; leave it unset to use the default corpus repeated)")


def _documents_of(source: Path) -> str:
    """``paragraphs`` when the file's first lines hold a blank line, else ``lines`` (one document a line,
    as in the Lee corpus): either way the bench text gets many documents to split."""
    from corpus.sources import TextFileSource

    for count, line in enumerate(TextFileSource(source).lines()):
        if not line.strip():
            return "paragraphs"
        if count >= 10_000:
            break
    return "lines"


def write_bench_text(out: Path, source: Path | None = None, min_tokens: int = DEFAULT_MIN_TOKENS) -> dict:
    """Write the bench text to ``out``; return ``{"source", "tokens", "repeats", "path"}``.

    ``source``: a text file (.gz/.bz2/.xz allowed), copied whole once; None: the default corpus repeated
    to at least ``min_tokens`` tokens. InputError when ``source`` is not a readable file.
    """
    from corpus.sources import DefaultSource, TextFileSource
    from corpus.tokenize import tokenize

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    if source is not None:
        check_bench_corpus(source)
        source = Path(source)
        name, repeats, tokens = str(source), 1, 0
        with open(part, "w", encoding="utf-8") as handle:  # streamed: a user's corpus may be large
            for document in TextFileSource(source, _documents_of(source)):
                tokens += len(tokenize(document))
                handle.write(document.strip() + "\n\n")
    else:
        name = "default corpus (gensim's Wikipedia sample + Lee news), repeated"
        documents = list(DefaultSource())
        once = sum(len(tokenize(d)) for d in documents)
        repeats = -(-min_tokens // max(once, 1))
        tokens = once * repeats
        with open(part, "w", encoding="utf-8") as handle:
            for _ in range(repeats):
                handle.writelines(document.strip() + "\n\n" for document in documents)
    if tokens == 0:
        part.unlink()
        raise InputError(f"bench corpus {name} holds no tokens")
    shutil.move(part, out)
    return {"source": name, "tokens": tokens, "repeats": repeats, "path": str(out)}


def prepare_bench_corpus(text: str | Path, out_dir: str | Path, min_count: int = 5):
    """Prepare the text file ``text`` (.gz/.bz2/.xz allowed) in ``out_dir`` (word tokenizer, ``min_count``,
    else the default settings); reuses a corpus already prepared there from the same file and settings."""
    from corpus.prepare import PrepareConfig, ensure_prepared
    from corpus.sources import resolve_sources

    prepared, _ = ensure_prepared(resolve_sources(str(text)), Path(out_dir), PrepareConfig(min_count=min_count))
    return prepared


def train_sentences(prepared, max_sentence: int | None = None) -> Iterator[list[str]]:
    """The train split as words: a list per document (cut at ``<eos>``, which is dropped) and, with
    ``max_sentence``, every ``max_sentence`` tokens as well; ``<unk>`` and ``<pad>`` dropped, empty pieces
    skipped."""
    vocab = prepared.vocab
    ids = np.asarray(prepared.train_ids)
    tokens = np.array(vocab.tokens, dtype=object)
    cuts = np.flatnonzero(ids == vocab.eos_id)
    cuts = np.union1d(cuts, np.arange(0, len(ids), max_sentence) if max_sentence else [0])
    drop = [vocab.unk_id, vocab.pad_id, vocab.eos_id]
    for start, stop in zip(cuts, np.append(cuts[1:], len(ids))):
        piece = ids[start:stop]
        piece = piece[~np.isin(piece, drop)]
        if len(piece):
            yield tokens[piece].tolist()


WARMUP_TOKENS = 100_000  # a warm-up run's train ids: enough to call every kernel once


class _Head:
    """A prepared corpus with only the first ``tokens`` of its train ids, under a content hash of its own
    (so that what is cached of it, such as GloVe's counts, is never taken for the whole corpus's)."""

    def __init__(self, prepared, tokens: int):
        self._prepared, self.train_ids = prepared, prepared.train_ids[:tokens]
        self.content_hash = f"{prepared.content_hash}-head{tokens}"

    def __getattr__(self, name: str):
        return getattr(self._prepared, name)


def head_of(prepared, tokens: int = WARMUP_TOKENS):
    """``prepared`` seen through its first ``tokens`` train ids (vocabulary, val and test as they are): what
    a warm-up run trains on."""
    return _Head(prepared, tokens)
