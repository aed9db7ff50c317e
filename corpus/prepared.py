"""A prepared corpus on disk, opened without copying: vocabulary, manifest and memory-mapped id arrays.

Directory layout (see ARCHITECTURE.md): ``manifest.json``, ``vocab.tsv``, ``train.ids``, ``val.ids``,
``test.ids``. Each split is the documents' token ids with ``<eos>`` after every document.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from corpus.errors import InputError
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
    return manifest


class PreparedCorpus:
    """Read-only view of a prepared corpus directory; opening checks every file's header and size."""

    def __init__(self, path: Path, manifest: dict, vocab: Vocab, ids: dict[str, np.ndarray]) -> None:
        self.path = path
        self.manifest = manifest
        self.vocab = vocab
        self._ids = ids

    @classmethod
    def open(cls, directory: str | os.PathLike) -> "PreparedCorpus":
        path = Path(directory)
        manifest = read_manifest(path)
        vocab = Vocab.load(path / "vocab.tsv")
        ids = {split: open_ids(path / f"{split}.ids") for split in SPLITS}
        for split, array in ids.items():
            expected = manifest.get("counts", {}).get("tokens", {}).get(split)
            if expected != len(array):
                raise InputError(f"{path}/{split}.ids holds {len(array)} ids, the manifest says {expected}")
        if len(vocab) != manifest.get("counts", {}).get("vocab_size"):
            raise InputError(f"{path}/vocab.tsv does not match the manifest's vocabulary size")
        return cls(path, manifest, vocab, ids)

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
        """``word`` or ``bpe``."""
        return self.config.get("tokenizer", "word")

    @cached_property
    def _bpe(self):
        from corpus.bpe import load_tokenizer

        path = self.path / "tokenizer.json"
        if not path.exists():
            raise InputError(f"{path} is missing: this BPE corpus cannot encode text")
        return load_tokenizer(path)

    def encode_text(self, text: str) -> np.ndarray:
        """Text -> int32 ids of this corpus (same tokenizer and case folding as at preparation)."""
        from corpus.tokenize import tokenize

        words = tokenize(text, lowercase=self.config.get("lowercase", True))
        if self.tokenizer_name == "bpe":
            from corpus.bpe import word_pieces

            words = [piece for pieces in word_pieces(self._bpe, words) for piece in pieces]
        return self.vocab.encode(words)

    def decode_text(self, ids) -> str:
        """Ids -> readable text (BPE pieces joined into words, punctuation spacing restored)."""
        from corpus.tokenize import detokenize

        tokens = self.vocab.decode(ids)
        if self.tokenizer_name == "bpe":
            from corpus.bpe import join_pieces

            tokens = join_pieces(tokens)
        return detokenize(tokens)

    @cached_property
    def max_id_check(self) -> bool:
        """True when every id is inside the vocabulary (scans the arrays once; used by tests and checks)."""
        size = len(self.vocab)
        return all(int(a.max(initial=0)) < size and int(a.min(initial=0)) >= 0 for a in self._ids.values())

    def __repr__(self) -> str:
        tokens = {s: len(a) for s, a in self._ids.items()}
        return f"PreparedCorpus({str(self.path)!r}, vocab={len(self.vocab)}, tokens={tokens})"
