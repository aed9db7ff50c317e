"""A Hugging Face ``tokenizers`` file (``tokenizer.json``: byte-level BPE as GPT-2 and GPT-Neo, WordPiece,
unigram) as the GPT's vocabulary.

The text goes through that tokenizer alone (its normalizer, pre-tokenizer and model; no special tokens are
added around a document), and the vocabulary is the file's, id for id, so a model trained on the corpus
speaks that tokenizer. A document ends with the file's own end-of-text token: the one named with
``--eos-token``, else the first of :data:`EOS_CANDIDATES` the file holds. The unknown token is the model's
own (a byte-level BPE has none) and the padding token the first of :data:`PAD_CANDIDATES` present, if any.

A token **is the whole word** ``w`` when the tokenizer encodes ``w`` as it stands inside text (after a
space) as that one token: ``Ġcat`` for GPT-2, ``cat`` for BERT's WordPiece, ``▁cat`` for a SentencePiece
unigram, ``cat</w>`` for this project's own BPE. :meth:`TokenizerFile.pieces` gives every word's tokens in
that position; word tables reach the subword vocabulary through it (:mod:`vectors.subword`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from base.errors import InputError

EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "[SEP]", "<|eot_id|>")
PAD_CANDIDATES = ("<pad>", "[PAD]", "<|pad|>", "<|padding|>")
_BATCH = 256  # documents per encode_batch call


@dataclass(frozen=True)
class TokenizerFile:
    """A loaded tokenizer file: the ``tokenizers.Tokenizer``, its tokens in id order, specials and roles."""

    path: Path
    tokenizer: object
    tokens: list
    specials: list
    roles: dict  # pad / unk / eos -> token or None

    @classmethod
    def load(cls, path, eos_token: str | None = None) -> "TokenizerFile":
        """Read and check ``path``; InputError (one line) when it does not parse, has gaps in its ids, or has
        no end-of-text token."""
        from tokenizers import Tokenizer

        path = Path(path)
        if not path.is_file():
            raise InputError(f"--tokenizer: no such file {path} (give word, bpe or a tokenizers .json file)")
        try:
            tokenizer = Tokenizer.from_file(str(path))
            model = json.loads(tokenizer.to_str()).get("model", {})
        except Exception as exc:  # tokenizers raises plain Exception subclasses with long messages
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"--tokenizer {path}: not a Hugging Face tokenizers file ({first[:200]})") from None
        by_id = {i: t for t, i in tokenizer.get_vocab(with_added_tokens=True).items()}
        if not by_id or sorted(by_id) != list(range(len(by_id))):
            raise InputError(f"--tokenizer {path}: its ids are not 0..{len(by_id) - 1} without gaps")
        tokens = [by_id[i] for i in range(len(by_id))]
        specials = [t.content for _, t in sorted(tokenizer.get_added_tokens_decoder().items()) if t.special]
        roles = {"pad": next((t for t in PAD_CANDIDATES if t in specials), None),
                 "unk": _unk_token(model, tokens), "eos": _eos_token(path, specials, tokens, eos_token)}
        specials = specials + [t for t in roles.values() if t is not None and t not in specials]
        return cls(path, tokenizer, tokens, specials, roles)

    def encode_documents(self, documents: list[str]) -> list[list[int]]:
        """Each document's ids, with no special token added around it."""
        out = []
        for start in range(0, len(documents), _BATCH):
            batch = self.tokenizer.encode_batch(documents[start:start + _BATCH], add_special_tokens=False)
            out.extend(e.ids for e in batch)
        return out

    def pieces(self, words: list[str]) -> list[np.ndarray]:
        """Each word's token ids as it stands inside text: after a space. Punctuation mostly hugs the word
        before it, so for a word without a letter or digit a leading token that is only the space's marker
        (``Ġ``, ``▁``) is dropped; a word keeps it (``Ġ`` + ``raft`` is not the whole word ``raft``)."""
        encoded = self.tokenizer.encode_batch([" " + w for w in words], add_special_tokens=False)
        out = []
        for word, e in zip(words, encoded):
            ids = list(e.ids)
            while len(ids) > 1 and not any(c.isalnum() for c in word) and not self.tokens[ids[0]].strip(" Ġ▁"):
                ids.pop(0)
            out.append(np.asarray(ids, dtype=np.int32))
        return out

    def decode(self, ids) -> str:
        """Ids -> text; the end-of-text token starts a new paragraph."""
        ids = [int(i) for i in ids]
        eos = self.tokens.index(self.roles["eos"])
        parts, current = [], []
        for i in ids + [eos]:
            if i == eos:
                parts.append(self.tokenizer.decode(current, skip_special_tokens=False).strip())
                current = []
            else:
                current.append(i)
        return "\n\n".join(p for p in parts if p) if len(parts) > 1 else parts[0]


def _unk_token(model: dict, tokens: list[str]) -> str | None:
    """The model's unknown token: ``unk_token`` (BPE, WordPiece) or ``unk_id`` (unigram)."""
    unk = model.get("unk_token")
    if unk is None and isinstance(model.get("unk_id"), int) and 0 <= model["unk_id"] < len(tokens):
        unk = tokens[model["unk_id"]]
    return unk if unk in tokens else None


def _eos_token(path: Path, specials: list[str], tokens: list[str], named: str | None) -> str:
    if named is not None:
        if named not in tokens:
            raise InputError(f"--eos-token {named!r} is not a token of {path}")
        return named
    for candidate in EOS_CANDIDATES:
        if candidate in tokens:
            return candidate
    shown = ", ".join(specials[:8]) or "none"
    raise InputError(f"--tokenizer {path} has no end-of-text token among {', '.join(EOS_CANDIDATES)} "
                     f"(its special tokens: {shown}); name one with --eos-token")
