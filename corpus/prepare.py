"""Build a prepared corpus: tokenize every document once, split by document, count, write ids.

One pass over the text maps tokens to provisional ids on disk; the vocabulary is then built from the
train split's counts alone (nothing of val or test leaks into it), and the provisional ids are remapped
chunk by chunk. Memory stays bounded by the number of distinct tokens plus one chunk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.atomic import atomic_directory, write_json
from corpus.bpe import PieceTable, train_bpe, word_pieces
from base.errors import InputError
from corpus.idsfile import IdsWriter
from corpus.prepared import (MANIFEST_FORMAT_VERSION, MANIFEST_KIND, SPLITS, PreparedCorpus, manifest_checksum,
                             read_manifest)
from corpus.tokenize import tokenize
from corpus.tokenizer_file import TokenizerFile
from corpus.vocab import EOS, UNK, WORD_LIST, Vocab, save_word_list

_CHUNK_TOKENS = 1 << 20  # ids remapped per step in the second pass
TOKENIZERS = ("word", "bpe", "file")
_FILE_FIELDS = ("tokenizer_file", "tokenizer_sha256", "eos_token")  # left out of a fingerprint when unset


@dataclass(frozen=True)
class PrepareConfig:
    """Everything that decides the prepared corpus, apart from the input text itself."""

    min_count: int = 5
    max_vocab: int | None = None
    lowercase: bool = True
    val_fraction: float = 0.01
    test_fraction: float = 0.01
    encoding_errors: str = "strict"
    documents: str = "paragraphs"
    format: str = "auto"
    text_field: str = "text"
    tokenizer: str = "word"
    vocab_size: int | None = None
    seed: int = 0
    # with tokenizer "file": the tokenizers file, its sha256 and the end-of-text token named for it (None:
    # the first of corpus.tokenizer_file.EOS_CANDIDATES it holds)
    tokenizer_file: str | None = None
    tokenizer_sha256: str | None = None
    eos_token: str | None = None

    def validate(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise InputError(f"--tokenizer must be word, bpe or a tokenizers .json file, not {self.tokenizer!r}")
        if (self.tokenizer == "file") != (self.tokenizer_file is not None):
            raise InputError("a tokenizer file goes with --tokenizer FILE.json alone")
        if self.eos_token is not None and self.tokenizer != "file":
            raise InputError("--eos-token names the end-of-text token of a --tokenizer FILE.json")
        if self.tokenizer == "file" and (self.vocab_size is not None or self.max_vocab is not None):
            raise InputError("a tokenizer file brings its own vocabulary: drop --vocab-size and --max-vocab")
        if self.tokenizer == "file" and self.lowercase:
            raise InputError("a tokenizer file reads the text as it is (its own normalizer decides the case)")
        if self.tokenizer == "bpe" and (self.vocab_size is None or self.vocab_size < 64):
            raise InputError("--tokenizer bpe needs --vocab-size N with N >= 64")
        if self.tokenizer == "word" and self.vocab_size is not None:
            raise InputError("--vocab-size applies to --tokenizer bpe; cap a word vocabulary with --max-vocab")
        if self.min_count < 1:
            raise InputError(f"--min-count must be at least 1, not {self.min_count}")
        if self.max_vocab is not None and self.max_vocab <= len(Vocab.build({}).tokens):
            raise InputError(f"--max-vocab must leave room for words beyond the specials, not {self.max_vocab}")
        for name, value in (("val", self.val_fraction), ("test", self.test_fraction)):
            if not 0.0 < value < 0.5:
                raise InputError(f"--{name}-fraction must be in (0, 0.5), not {value}")


def config_fields(config: PrepareConfig) -> dict:
    """The config as the manifest records it: the tokenizer file's fields only when one is used, so a word or
    BPE corpus keeps the fingerprint and manifest it had before they existed."""
    return {k: v for k, v in dataclasses.asdict(config).items() if not (k in _FILE_FIELDS and v is None)}


def input_fingerprint(sources, config: PrepareConfig) -> str:
    """sha256 of the sources' paths, sizes and mtimes plus the config: equal means nothing to redo."""
    described = {"sources": [fp for s in sources for fp in s.fingerprint()],
                 "config": config_fields(config), "format_version": MANIFEST_FORMAT_VERSION}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def ensure_prepared(sources, out_dir: str | os.PathLike, config: PrepareConfig,
                    progress: bool = False) -> tuple[PreparedCorpus, bool]:
    """Open ``out_dir`` when it was prepared from the same inputs and config, else prepare it.

    Returns the corpus and whether it was (re)built.
    """
    config.validate()
    fingerprint = input_fingerprint(sources, config)
    manifest_path = Path(out_dir) / "manifest.json"
    if manifest_path.exists():
        try:
            if read_manifest(out_dir).get("input_fingerprint") == fingerprint:
                prepared = PreparedCorpus.open(out_dir)
                prepared.verify()  # the files still are what the manifest says
                return prepared, False
        except InputError:
            pass  # a corrupt, edited or foreign corpus is rebuilt from scratch
    return prepare_corpus(sources, out_dir, config, progress=progress, fingerprint=fingerprint), True


def choose_splits(doc_lengths: np.ndarray, config: PrepareConfig) -> np.ndarray:
    """Label each document 0 (train), 1 (val) or 2 (test), seeded, by whole documents.

    Documents are visited in a seeded random order; one joins val (then test) while that split is under
    its share of tokens and would not overshoot it by half again, so one huge document cannot swallow a
    split. A split that got nothing takes the smallest remaining document.
    """
    n = len(doc_lengths)
    if n < 3:
        raise InputError(f"corpus too small for train/val/test splits: {n} document(s), need at least 3 "
                         "(for one document per line, pass --documents lines)")
    labels = np.zeros(n, dtype=np.int8)
    order = np.random.default_rng(config.seed).permutation(n)
    total = int(doc_lengths.sum())
    for label, fraction in ((1, config.val_fraction), (2, config.test_fraction)):
        target, taken = fraction * total, 0
        for doc in order:
            if labels[doc] != 0 or taken >= target:
                continue
            if taken + doc_lengths[doc] <= 1.5 * target:
                labels[doc] = label
                taken += int(doc_lengths[doc])
        if taken == 0:
            free = np.flatnonzero(labels == 0)
            labels[free[np.argmin(doc_lengths[free])]] = label
    if not (labels == 0).any():
        raise InputError("corpus too small: no document is left for the train split")
    return labels


def _tokenize_to_disk(sources, config: PrepareConfig, path: Path, progress: bool):
    """First pass: documents -> provisional ids (first-seen order) in a raw int32 file."""
    from tqdm import tqdm

    index: dict[str, int] = {}
    lengths: list[int] = []
    buffer: list[int] = []
    with open(path, "wb") as handle, tqdm(unit=" tok", unit_scale=True, disable=not progress,
                                          desc="tokenize", leave=False) as bar:
        for source in sources:
            for document in source:
                tokens = tokenize(document, lowercase=config.lowercase)
                if not tokens:
                    continue
                setdefault = index.setdefault
                buffer.extend([setdefault(t, len(index)) for t in tokens])
                lengths.append(len(tokens))
                if len(buffer) >= _CHUNK_TOKENS:
                    handle.write(np.asarray(buffer, dtype=np.int32).tobytes())
                    bar.update(len(buffer))
                    buffer = []
        handle.write(np.asarray(buffer, dtype=np.int32).tobytes())
        bar.update(len(buffer))
    _check_not_empty(sources, lengths)
    return list(index), np.asarray(lengths, dtype=np.int64)


def _check_not_empty(sources, lengths: list[int]) -> None:
    if not lengths:
        names = ", ".join(str(getattr(s, "path", "the default corpus")) for s in sources)
        raise InputError(f"corpus is empty: no text in {names}")


def _encode_to_disk(sources, config: PrepareConfig, tokenizer, path: Path, words_path: Path, progress: bool):
    """First pass with a tokenizer file: documents -> the file's ids in a raw int32 file, and (for the word
    list that word tables reach the vocabulary through) their words' provisional ids in another."""
    from tqdm import tqdm

    index: dict[str, int] = {}
    lengths: list[int] = []
    word_lengths: list[int] = []
    with open(path, "wb") as handle, open(words_path, "wb") as words_handle, \
            tqdm(unit=" doc", unit_scale=True, disable=not progress, desc="tokenize", leave=False) as bar:

        def flush(documents: list[str]) -> None:
            for document, ids in zip(documents, tokenizer.encode_documents(documents)):
                if not ids:
                    continue
                words = tokenize(document, lowercase=False)
                setdefault = index.setdefault
                handle.write(np.asarray(ids, dtype=np.int32).tobytes())
                words_handle.write(np.asarray([setdefault(w, len(index)) for w in words], dtype=np.int32).tobytes())
                lengths.append(len(ids))
                word_lengths.append(len(words))
            bar.update(len(documents))

        batch: list[str] = []
        for source in sources:
            for document in source:
                batch.append(document)
                if len(batch) >= 256:
                    flush(batch)
                    batch = []
        flush(batch)
    _check_not_empty(sources, lengths)
    return list(index), np.asarray(lengths, dtype=np.int64), np.asarray(word_lengths, dtype=np.int64)


def _train_counts(raw_path: Path, lengths: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """How often each of ``size`` ids occurs in the train documents of a raw int32 file."""
    counts = np.zeros(size, dtype=np.int64)
    with open(raw_path, "rb") as handle:
        for first, end, offset in _doc_chunks(lengths):
            chunk_labels = np.repeat(labels[first:end], lengths[first:end])
            handle.seek(offset * 4)
            chunk = np.fromfile(handle, dtype=np.int32, count=len(chunk_labels))
            counts += np.bincount(chunk[chunk_labels == 0], minlength=size)
    return counts


def _doc_chunks(lengths: np.ndarray):
    """Consecutive runs of documents holding about ``_CHUNK_TOKENS`` tokens: (first doc, end doc, offset)."""
    starts = np.concatenate([[0], np.cumsum(lengths)])
    first = 0
    while first < len(lengths):
        end = int(np.searchsorted(starts, starts[first] + _CHUNK_TOKENS, side="right")) - 1
        end = max(end, first + 1)
        yield first, end, int(starts[first])
        first = end


def _word_vocab(tokens: list[str], train_counts: np.ndarray, n_train_docs: int, config: PrepareConfig):
    """Word vocabulary from train counts, and the provisional-id -> final-id map (rare words -> <unk>)."""
    counts = dict(zip(tokens, train_counts.tolist()))
    vocab = Vocab.build(counts, config.min_count, config.max_vocab)
    if len(vocab) == len(vocab.specials):
        raise InputError(f"vocabulary is empty: no word occurs --min-count {config.min_count} times "
                         "in the train split")
    remap = np.fromiter((vocab.id_of(t) for t in tokens), dtype=np.int32, count=len(tokens))
    special_counts = {EOS: n_train_docs, UNK: int(train_counts[remap == vocab.unk_id].sum())}
    return Vocab.build(counts, config.min_count, config.max_vocab, special_counts), remap


def _bpe_vocab(tokens: list[str], train_counts: np.ndarray, n_train_docs: int, config: PrepareConfig,
               work: Path):
    """BPE vocabulary trained on the train words (saved as ``tokenizer.json``) and each word's pieces."""
    seen = {t: c for t, c in zip(tokens, train_counts.tolist()) if c > 0}
    tokenizer = train_bpe(seen, config.vocab_size)
    tokenizer.save(str(work / "tokenizer.json"))
    save_word_list(work / WORD_LIST, tokens, train_counts, config.min_count)
    split_words = word_pieces(tokenizer, tokens)
    counts = dict.fromkeys(tokenizer.get_vocab(), 0)
    for word_pieces_, count in zip(split_words, train_counts.tolist()):
        for piece in word_pieces_:
            counts[piece] += count
    special_counts = {EOS: n_train_docs, UNK: counts.get(UNK, 0)}
    vocab = Vocab.build(counts, min_count=0, special_counts=special_counts)
    pieces = PieceTable([np.array([vocab.id_of(p) for p in ps], dtype=np.int32) for ps in split_words])
    return vocab, pieces


def _file_vocab(tokenizer, train_counts: np.ndarray, n_train_docs: int) -> Vocab:
    """The tokenizer file's vocabulary, id for id, with the train counts (every document's end-of-text)."""
    counts = train_counts.copy()
    counts[tokenizer.tokens.index(tokenizer.roles["eos"])] += n_train_docs
    return Vocab(list(tokenizer.tokens), counts, list(tokenizer.specials), dict(tokenizer.roles))


def prepare_corpus(sources, out_dir: str | os.PathLike, config: PrepareConfig, progress: bool = False,
                   fingerprint: str | None = None, staging_dir: str | os.PathLike | None = None
                   ) -> PreparedCorpus:
    """Tokenize, split, count and write a prepared corpus to ``out_dir`` atomically; return it opened.

    Nothing appears at ``out_dir`` unless every step succeeds. The working files live in ``staging_dir``
    (default: the run directory holding ``out_dir``, whose lock makes a killed run's leftovers safe to sweep;
    see :mod:`base.locks`).
    """
    config.validate()
    out_dir = Path(out_dir)
    fingerprint = fingerprint or input_fingerprint(sources, config)
    staging = Path(staging_dir) if staging_dir else out_dir.parent
    with atomic_directory(out_dir, staging=staging) as work:
        raw_path = work / "provisional.raw"
        if config.tokenizer == "file":
            tokenizer = TokenizerFile.load(config.tokenizer_file, config.eos_token)
            words_path = work / "words.raw"
            words, lengths, word_lengths = _encode_to_disk(sources, config, tokenizer, raw_path, words_path, progress)
            tokens = tokenizer.tokens
        else:
            tokens, lengths = _tokenize_to_disk(sources, config, raw_path, progress)
        labels = choose_splits(lengths, config)
        train_counts = _train_counts(raw_path, lengths, labels, len(tokens))  # on train documents only
        n_train_docs = int((labels == 0).sum())
        pieces = remap = None
        if config.tokenizer == "file":
            save_word_list(work / WORD_LIST, words, _train_counts(words_path, word_lengths, labels, len(words)),
                           config.min_count)
            words_path.unlink()
            shutil.copyfile(config.tokenizer_file, work / "tokenizer.json")
            vocab, remap = _file_vocab(tokenizer, train_counts, n_train_docs), np.arange(len(tokens), dtype=np.int32)
        elif config.tokenizer == "bpe":
            vocab, pieces = _bpe_vocab(tokens, train_counts, n_train_docs, config, work)
        else:
            vocab, remap = _word_vocab(tokens, train_counts, n_train_docs, config)
        # Plain reads, not a memory map: mapped pages would count towards the resident set as they are read.
        with open(raw_path, "rb") as raw_handle:

            def raw(offset: int, count: int) -> np.ndarray:
                raw_handle.seek(offset * 4)
                return np.fromfile(raw_handle, dtype=np.int32, count=count)

            # Second pass: map to final ids, put <eos> after every document, route each document to its split.
            handles = {s: open(work / f"{s}.ids", "wb") for s in SPLITS}
            try:
                writers = {s: IdsWriter(h) for s, h in handles.items()}
                unk = dict.fromkeys(SPLITS, 0)
                for first, end, offset in _doc_chunks(lengths):
                    doc_lengths = lengths[first:end]
                    words = raw(offset, int(doc_lengths.sum()))
                    if pieces is None:
                        ids = remap[words]
                    else:
                        ids = pieces.expand(words)
                        starts = np.concatenate([[0], np.cumsum(doc_lengths)[:-1]])
                        doc_lengths = np.add.reduceat(pieces.lengths[words], starts)
                    ends = np.cumsum(doc_lengths + 1) - 1             # eos slots in the chunk's output
                    with_eos = np.empty(len(ids) + len(doc_lengths), dtype=np.int32)
                    is_eos = np.zeros(len(with_eos), dtype=bool)
                    is_eos[ends] = True
                    with_eos[is_eos] = vocab.eos_id
                    with_eos[~is_eos] = ids
                    token_labels = np.repeat(labels[first:end], doc_lengths + 1)
                    for label, split in enumerate(SPLITS):
                        part = with_eos[token_labels == label]
                        writers[split].write(part)
                        unk[split] += int((part == vocab.unk_id).sum())
                for writer in writers.values():
                    writer.close()
            finally:
                for handle in handles.values():
                    handle.close()
        raw_path.unlink()

        vocab.save(work / "vocab.tsv")
        content = hashlib.sha256((work / "vocab.tsv").read_bytes())
        for split in SPLITS:
            content.update(writers[split].sha256.digest())
        manifest = {
            "format_version": MANIFEST_FORMAT_VERSION,
            "kind": MANIFEST_KIND,
            "config": config_fields(config),
            "sources": [fp for s in sources for fp in s.fingerprint()],
            "input_fingerprint": fingerprint,
            "content_hash": content.hexdigest(),
            "counts": {
                "vocab_size": len(vocab),
                "distinct_tokens": len(tokens),
                "documents": {s: int((labels == i).sum()) for i, s in enumerate(SPLITS)},
                "tokens": {s: writers[s].count for s in SPLITS},
                "unk_tokens": unk,
            },
        }
        if (work / WORD_LIST).exists():  # a subword corpus's words, for word tables to reach its vocabulary
            manifest["word_list"] = {"file": WORD_LIST, "sha256": hashlib.sha256((work / WORD_LIST).read_bytes()).hexdigest(),
                                     "min_count": config.min_count}
        manifest["manifest_sha256"] = manifest_checksum(manifest)
        write_json(work / "manifest.json", manifest)
    return PreparedCorpus.open(out_dir)
