"""Byte-pair-encoding subwords over the word tokenizer's words (Hugging Face ``tokenizers``).

The BPE model is trained on the train split's word counts. A token that closes a word carries the suffix
``</w>``, so ``cat</w>`` is the whole word "cat" while ``cat`` alone starts a longer word: intrinsic word
benchmarks use the whole-word tokens only.
"""

from __future__ import annotations

import numpy as np

from corpus.vocab import SPECIALS, UNK

WORD_END = "</w>"


def train_bpe(word_counts: dict[str, int], vocab_size: int):
    """A BPE ``tokenizers.Tokenizer`` with at most ``vocab_size`` tokens (specials included)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=UNK, end_of_word_suffix=WORD_END))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS),
                                  end_of_word_suffix=WORD_END, show_progress=False)

    def repeated_words():
        # The trainer counts words itself; each word is fed as often as it occurs, in bounded pieces.
        for word, count in word_counts.items():
            while count > 0:
                step = min(count, 4096)
                yield " ".join([word] * step)
                count -= step

    tokenizer.train_from_iterator(repeated_words(), trainer)
    return tokenizer


def word_pieces(tokenizer, words: list[str]) -> list[list[str]]:
    """The BPE token strings of each word."""
    if not words:
        return []
    return [e.tokens for e in tokenizer.encode_batch([[w] for w in words], is_pretokenized=True)]


def load_tokenizer(path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(path))


def join_pieces(tokens: list[str]) -> list[str]:
    """BPE tokens -> words: pieces accumulate until one ends with ``</w>``; specials stand alone."""
    words, current = [], ""
    for token in tokens:
        if token in SPECIALS:
            if current:
                words.append(current)
                current = ""
            words.append(token)
        elif token.endswith(WORD_END):
            words.append(current + token[: -len(WORD_END)])
            current = ""
        else:
            current += token
    if current:
        words.append(current)
    return words


class PieceTable:
    """Provisional word id -> its final token ids, stored flat (CSR) for vectorised expansion."""

    def __init__(self, pieces: list[np.ndarray]) -> None:
        self.lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.flat = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, np.int32)

    def expand(self, ids: np.ndarray) -> np.ndarray:
        """Concatenated token ids of a run of provisional word ids."""
        lengths = self.lengths[ids]
        total = int(lengths.sum())
        # Position k of the output reads flat[starts[word] + (k - first output slot of that word)].
        firsts = np.cumsum(lengths) - lengths
        offsets = np.repeat(self.starts[ids] - firsts, lengths)
        return self.flat[offsets + np.arange(total)]
