"""A prepared corpus on disk, opened without copying: vocabulary, manifest and memory-mapped id arrays.

Directory layout (see docs/conventions.md): ``manifest.json``, ``vocab.tsv``, ``train.ids``, ``val.ids``,
``test.ids``. Each split is the documents' token ids with ``<eos>`` after every document.

Opening checks what is cheap (about 0.5 ms per million ids from the page cache): the manifest's own
checksum (an edited config or content hash is caught), every file's header and size against the manifest,
and every id inside the vocabulary (a corrupt id would crash a trainer or silently index the wrong row).
:meth:`verify` recomputes the content hash and the train counts from the files as well; ``prepare`` runs
it before calling a corpus up to date, and ``prepare --verify`` on demand.
"""

from __future__ import annotations

import hashlib
import json
import re
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from base.errors import InputError
from corpus.idsfile import open_ids
from corpus.vocab import Vocab

MANIFEST_FORMAT_VERSION = 1
MANIFEST_KIND = "w2v-gpt prepared corpus"
SPLITS = ("train", "val", "test")


def read_manifest(directory: str | os.PathLike) -> dict:
    """The manifest of a prepared corpus; InputError when it is missing, unreadable or of another format."""
    path = Path(directory) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no prepared corpus at {Path(directory)} (run pipelines.prepare first)") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path}: corrupt manifest") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise InputError(f"{path}: not a w2v-gpt corpus manifest")
    if manifest.get("format_version") != MANIFEST_FORMAT_VERSION:
        raise InputError(f"{path}: corpus format {manifest.get('format_version')} is not supported")
    recorded = manifest.get("manifest_sha256")
    if recorded is not None and recorded != manifest_checksum(manifest):
        raise InputError(f"{path}: the manifest was edited or is corrupt (its checksum does not match); "
                         "prepare the corpus again")
    return manifest


def remedy(path: Path) -> str:
    """How a damaged corpus at ``path`` is prepared again (the command replaces it by itself)."""
    if path.parent.name == "table-corpus":
        return "prepare it again: rerun the data sweep with its --table-corpus (and the options that read it)"
    return (f"prepare it again: `python -m pipelines.prepare --run-dir {path.parent}` with the options it was "
            "prepared with")


def manifest_checksum(manifest: dict) -> str:
    """sha256 of the manifest's canonical JSON without its own ``manifest_sha256`` entry."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


class PreparedCorpus:
    """Read-only view of a prepared corpus directory; opening checks every file's header and size."""

    def __init__(self, path: Path, manifest: dict, vocab: Vocab, ids: dict[str, np.ndarray]) -> None:
        self.path = path
        self.manifest = manifest
        self.vocab = vocab
        self._ids = ids

    @classmethod
    def open(cls, directory: str | os.PathLike) -> "PreparedCorpus":
        """Open a prepared corpus, checking every file; InputError naming what is damaged and the command
        that prepares the corpus again (which replaces a damaged corpus by itself)."""
        path = Path(directory)
        try:
            return cls._open(path)
        except InputError as exc:
            message = str(exc)
            if message.startswith("no prepared corpus"):
                raise
            message = re.sub(r"[;,] prepare (it|the corpus) again$", "", message)
            raise InputError(f"{message}; {remedy(path)}") from None

    @classmethod
    def _open(cls, path: Path) -> "PreparedCorpus":
        manifest = read_manifest(path)
        vocab = Vocab.load(path / "vocab.tsv")
        ids = {split: open_ids(path / f"{split}.ids") for split in SPLITS}
        for split, array in ids.items():
            expected = manifest.get("counts", {}).get("tokens", {}).get(split)
            if expected != len(array):
                raise InputError(f"{path}/{split}.ids holds {len(array)} ids, the manifest says {expected}")
        if len(vocab) != manifest.get("counts", {}).get("vocab_size"):
            raise InputError(f"{path}/vocab.tsv does not match the manifest's vocabulary size")
        for split, array in ids.items():
            if len(array) and (int(array.min()) < 0 or int(array.max()) >= len(vocab)):
                bad = int(np.flatnonzero((array < 0) | (array >= len(vocab)))[0])
                raise InputError(f"{path}/{split}.ids: id {int(array[bad])} at position {bad} is outside the "
                                 f"vocabulary of {len(vocab)}; the corpus is corrupt, prepare it again")
        return cls(path, manifest, vocab, ids)

    def verify(self) -> None:
        """Recompute the content hash (vocab.tsv and every id file) and the train counts, and compare them
        with the manifest and the vocabulary; InputError naming what differs."""
        content = hashlib.sha256((self.path / "vocab.tsv").read_bytes())
        for split in SPLITS:
            content.update(hashlib.sha256(np.ascontiguousarray(self._ids[split]).tobytes()).digest())
        if content.hexdigest() != self.content_hash:
            raise InputError(f"{self.path}: the vocabulary or id files do not match the manifest's content hash; "
                             "the corpus is corrupt or was edited, prepare it again")
        counts = np.bincount(self.train_ids, minlength=len(self.vocab))
        if not np.array_equal(counts, np.asarray(self.vocab.counts)):
            raise InputError(f"{self.path}: vocab.tsv counts differ from the train split's ids; prepare it again")

    @property
    def train_ids(self) -> np.ndarray:
        return self._ids["train"]

    @property
    def val_ids(self) -> np.ndarray:
        return self._ids["val"]

    @property
    def test_ids(self) -> np.ndarray:
        return self._ids["test"]

    def ids(self, split: str) -> np.ndarray:
        """The id array of ``split`` (train, val or test)."""
        if split not in self._ids:
            raise InputError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
        return self._ids[split]

    @property
    def content_hash(self) -> str:
        """sha256 of the vocabulary and id files: identifies this corpus in every downstream artifact."""
        return self.manifest["content_hash"]

    @property
    def config(self) -> dict:
        return self.manifest["config"]

    @property
    def tokenizer_name(self) -> str:
        """``word``, ``bpe`` or ``file`` (a Hugging Face tokenizers file's vocabulary)."""
        return self.config.get("tokenizer", "word")

    @property
    def is_subword(self) -> bool:
        return self.tokenizer_name != "word"

    @cached_property
    def _bpe(self):
        from corpus.bpe import load_tokenizer

        path = self.path / "tokenizer.json"
        if not path.exists():
            raise InputError(f"{path} is missing: this BPE corpus cannot encode text")
        return load_tokenizer(path)

    @cached_property
    def tokenizer_file(self):
        """The corpus's own copy of its tokenizer file (:class:`corpus.tokenizer_file.TokenizerFile`)."""
        from corpus.tokenizer_file import TokenizerFile

        return TokenizerFile.load(self.path / "tokenizer.json", self.config.get("eos_token"))

    def tokens_of(self, text: str) -> list[str]:
        """Text -> this corpus's tokens (same tokenizer and case folding as at preparation)."""
        from corpus.tokenize import tokenize

        if self.tokenizer_name == "file":
            return self.tokenizer_file.tokenizer.encode(text, add_special_tokens=False).tokens
        words = tokenize(text, lowercase=self.config.get("lowercase", True))
        if self.tokenizer_name == "bpe":
            from corpus.bpe import word_pieces

            words = [piece for pieces in word_pieces(self._bpe, words) for piece in pieces]
        return words

    def encode_text(self, text: str) -> np.ndarray:
        """Text -> int32 ids of this corpus (unknown tokens become ``<unk>``)."""
        if self.tokenizer_name == "file":
            return np.asarray(self.tokenizer_file.tokenizer.encode(text, add_special_tokens=False).ids, np.int32)
        return self.vocab.encode(self.tokens_of(text))

    def decode_text(self, ids) -> str:
        """Ids -> readable text (BPE pieces joined into words, punctuation spacing restored)."""
        from corpus.tokenize import detokenize

        if self.tokenizer_name == "file":
            return self.tokenizer_file.decode(ids)
        tokens = self.vocab.decode(ids)
        if self.tokenizer_name == "bpe":
            from corpus.bpe import join_pieces

            tokens = join_pieces(tokens)
        return detokenize(tokens)

    def word_list(self) -> tuple[list[str], np.ndarray]:
        """A subword corpus's words of the train split (seen ``--min-count`` times) and their counts."""
        from corpus.vocab import WORD_LIST, load_word_list

        if not self.is_subword:
            raise InputError(f"{self.path} is a word-level corpus: its vocabulary is its word list")
        return load_word_list(self.path / WORD_LIST)

    def word_pieces(self, words: list[str]) -> list[np.ndarray]:
        """Each word's token ids in this subword vocabulary, as the word stands inside text."""
        if self.tokenizer_name == "file":
            return self.tokenizer_file.pieces(words)
        from corpus.bpe import word_pieces

        return [self.vocab.encode(p) for p in word_pieces(self._bpe, words)]

    def whole_words(self) -> dict[int, str]:
        """The tokens of a subword vocabulary that are whole words (a word of the word list encoded as that
        token alone), token id -> word; the most frequent word wins when several encode to one token."""
        words, _ = self.word_list()
        found: dict[int, str] = {}
        for word, pieces in zip(words, self.word_pieces(words)):
            if len(pieces) == 1:
                found.setdefault(int(pieces[0]), word)
        return found

    def __repr__(self) -> str:
        tokens = {s: len(a) for s, a in self._ids.items()}
        return f"PreparedCorpus({str(self.path)!r}, vocab={len(self.vocab)}, tokens={tokens})"
