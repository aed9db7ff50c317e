"""A prepared corpus's tokenizer as one Hugging Face ``tokenizers.Tokenizer`` whose ids are the corpus's ids.

What a model trained on the corpus needs to be used elsewhere (``transformers``' fast tokenizers load it):

- ``word``: a word-level model over the vocabulary; the text lowercased when the corpus was, split on
  whitespace and then by the word tokenizer's own pattern (:data:`corpus.tokenize.TOKEN_PATTERN`), words
  outside the vocabulary read as ``<unk>``.
- ``bpe``: the corpus's BPE model (its merges and ``</w>`` word ends) before the same word split, its
  vocabulary renumbered to the corpus's ids (the corpus holds every BPE token, in count order).
- ``file``: the user's own tokenizer file, whose ids are the corpus's already.

The specials are added as special tokens, so they are never split and decode drops them on request.
"""

from __future__ import annotations

import json

from base.errors import InputError
from corpus.tokenize import TOKEN_PATTERN


def _word_split(lowercase: bool):
    """(normalizer, pre-tokenizer) of the word tokenizer: lowercase, whitespace, then the token pattern."""
    from tokenizers import Regex, normalizers, pre_tokenizers

    normalizer = normalizers.Lowercase() if lowercase else None
    split = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                     pre_tokenizers.Split(Regex(TOKEN_PATTERN.pattern), behavior="isolated")])
    return normalizer, split


def _bpe_model(prepared):
    """The corpus's BPE model with its vocabulary renumbered to the corpus's ids."""
    from tokenizers import Tokenizer

    spec = json.loads(prepared._bpe.to_str())
    theirs = spec["model"]["vocab"]
    ours = prepared.vocab.index
    if set(theirs) != set(ours):
        raise InputError(f"{prepared.path}: the BPE tokenizer and the vocabulary hold different tokens; "
                         "prepare the corpus again")
    spec["model"]["vocab"] = {token: ours[token] for token in theirs}
    spec["added_tokens"] = []  # added again below, with the corpus's ids
    spec["normalizer"] = spec["pre_tokenizer"] = spec["post_processor"] = spec["decoder"] = None
    return Tokenizer.from_str(json.dumps(spec))


def fast_tokenizer(prepared):
    """The corpus's tokenizer as a ``tokenizers.Tokenizer`` giving the corpus's ids (see the module)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models

    name = prepared.tokenizer_name
    if name == "file":
        return Tokenizer.from_str(prepared.tokenizer_file.tokenizer.to_str())
    vocab = prepared.vocab
    if name == "bpe":
        tokenizer = _bpe_model(prepared)
        tokenizer.decoder = decoders.BPEDecoder(suffix="</w>")
    else:
        unk = vocab.roles.get("unk")
        tokenizer = Tokenizer(models.WordLevel(dict(vocab.index), unk_token=unk))  # decodes words joined by spaces
    normalizer, split = _word_split(prepared.config.get("lowercase", True))
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = split
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in vocab.specials])
    for special in vocab.specials:
        if tokenizer.token_to_id(special) != vocab.index[special]:
            raise InputError(f"{prepared.path}: special {special!r} has another id in the tokenizer")
    return tokenizer
