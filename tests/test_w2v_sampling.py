"""Subsampling, the noise distribution, reduced windows and sentence boundaries, as the kernels use them."""

from __future__ import annotations

import numpy as np
import pytest

from w2v.kernels import draw_many, train_blocks
from w2v.sampling import (alias_probabilities, alias_table, keep_probabilities, keep_thresholds,
                          noise_distribution, trainable_mask)
from w2v.train import line_rows

PAD, UNK, EOS = 0, 1, 2


def test_keep_probabilities_are_gensims(lee_corpus):
    """word2vec's formula, as gensim 4.4 computes it for the same words and counts."""
    from gensim.models import Word2Vec

    vocab = lee_corpus.vocab
    trainable = trainable_mask(vocab.counts, [PAD, UNK, EOS])
    ours = keep_probabilities(vocab.counts, trainable, 1e-3)
    model = Word2Vec(min_count=1, sample=1e-3)
    model.build_vocab_from_freq({w: int(c) for w, c in zip(vocab.tokens, vocab.counts) if c > 0
                                 and w not in vocab.specials})
    theirs = np.array([model.wv.get_vecattr(w, "sample_int") for w in vocab.tokens[3:]]) / (2 ** 32 - 1)
    np.testing.assert_allclose(ours[3:], theirs, atol=1e-6)
    assert ours[:3].tolist() == [0.0, 0.0, 0.0]  # specials never train
    assert ours.min(initial=1.0, where=trainable) < 0.5 and ours.max() == 1.0
    assert keep_probabilities(vocab.counts, trainable, 0.0)[trainable].min() == 1.0  # sample 0 keeps all


def test_draws_follow_windows_keep_bars_and_noise_distribution():
    counts = np.array([0, 40, 7, 1000, 30, 0, 5, 200, 1, 60])
    trainable = trainable_mask(counts, [PAD, UNK, EOS])
    probs = keep_probabilities(counts, trainable, 0.01)
    noise = noise_distribution(counts, trainable)
    bars, alias = alias_table(noise)
    np.testing.assert_allclose(alias_probabilities(bars, alias), noise, atol=1e-9)
    expected_noise = np.where(trainable, counts, 0) ** 0.75
    np.testing.assert_allclose(noise, expected_noise / expected_noise.sum())

    n, window = 400_000, 5
    windows, kept, drawn = draw_many(3, n, window, keep_thresholds(probs), bars, alias)
    freq = np.bincount(windows, minlength=window + 1)[1:] / n
    assert windows.min() == 1 and windows.max() == window
    np.testing.assert_allclose(freq, 1 / window, atol=5 * np.sqrt(0.2 * 0.8 / n))  # uniform reduced windows
    for word in range(len(counts)):  # kept[i] is a draw for word i % V
        share = kept[word::len(counts)].mean()
        assert share == pytest.approx(probs[word], abs=5 * np.sqrt(0.25 / (n / len(counts))) + 1e-12)
    got = np.bincount(drawn, minlength=len(counts)) / n
    assert got[~trainable].sum() == 0  # never a special or an unseen word
    assert np.all(np.abs(got - noise) <= 5 * np.sqrt(noise * (1 - noise) / n) + 1e-12)


def run_kernel(ids, vocab_size=20, window=5, skipgram=True, share=False, block_len=10_000, dim=4, seed=0,
               lines=False):
    """One epoch of the kernel without subsampling; returns (loss, updates, kept, syn0, syn1, syn0 before).
    With ``lines`` it trains on rows padded to cache lines (as the trainer does) and returns them whole."""
    ids = np.asarray(ids, dtype=np.int32)
    counts = np.bincount(ids, minlength=vocab_size)
    trainable = trainable_mask(counts, [PAD, UNK, EOS])
    keep = keep_thresholds(keep_probabilities(counts, trainable, 0.0))
    bars, alias = alias_table(noise_distribution(counts, trainable))
    rng = np.random.default_rng(seed)
    syn0 = rng.uniform(-0.1, 0.1, (vocab_size, dim)).astype(np.float32)
    before = syn0.copy()
    syn1 = np.zeros((vocab_size, dim), np.float32)
    if lines:
        syn0, syn1 = line_rows(syn0), line_rows(syn1)
    blocks = -(-len(ids) // block_len)
    loss, updates, kept = train_blocks(ids, 0, blocks, block_len, EOS, seed, 0, keep, bars, alias, syn0, syn1,
                                       skipgram, share, window, 3, 0.025, 0.0001, 0.0, float(len(ids)))
    return loss, updates, kept, syn0, syn1, before


@pytest.mark.parametrize("dim", [1, 16, 100, 300])
def test_line_rows_start_cache_lines_and_hold_the_table(dim):
    matrix = np.random.default_rng(dim).standard_normal((7, dim)).astype(np.float32)
    rows = line_rows(matrix)
    assert rows.flags.c_contiguous and rows.ctypes.data % 64 == 0 and rows.strides[0] % 64 == 0
    assert rows.shape[1] - 16 < dim <= rows.shape[1]
    assert np.array_equal(rows[:, :dim], matrix) and not rows[:, dim:].any()


@pytest.mark.parametrize("skipgram, share", [(True, False), (True, True), (False, False)])
def test_padded_rows_train_the_table_and_their_padding_stays_zero(skipgram, share):
    """The kernels run over the padded width: the zero columns add nothing to a logit and stay zero, so
    the table is the unpadded run's up to the order of float32 sums."""
    ids = np.random.default_rng(1).integers(3, 20, 3000)
    ids[::37] = EOS
    plain = run_kernel(ids, skipgram=skipgram, share=share, dim=20)
    padded = run_kernel(ids, skipgram=skipgram, share=share, dim=20, lines=True)
    assert padded[3].shape == padded[4].shape == (20, 32)
    assert padded[1:3] == plain[1:3]  # the same updates and kept words
    assert padded[0] == pytest.approx(plain[0], rel=1e-5)
    for whole, table in zip(padded[3:5], plain[3:5]):
        np.testing.assert_allclose(whole[:, :20], table, rtol=1e-4, atol=1e-6)
        assert not whole[:, 20:].any()
    assert np.abs(plain[3] - plain[5]).max() > 1e-3  # the vectors did move


def expected_pairs(length: int, window: int) -> float:
    """Mean number of (context, centre) pairs in a sentence when each centre's reach is uniform 1..window."""
    reaches = np.arange(1, window + 1)
    return sum(np.mean(np.minimum(i, reaches) + np.minimum(length - 1 - i, reaches)) for i in range(length))


@pytest.mark.parametrize("share", [False, True])
def test_reduced_windows_give_the_expected_pair_count(share):
    length, sentences, window = 40, 500, 5
    rng = np.random.default_rng(1)
    ids = np.concatenate([np.append(rng.integers(3, 20, length), EOS) for _ in range(sentences)])
    _, updates, kept, *_ = run_kernel(ids, window=window, share=share)
    assert kept == length * sentences
    mean = expected_pairs(length, window)
    # each centre's pair count has variance at most window^2 / 4: a loose 6-sigma band on the total
    assert abs(updates - sentences * mean) < 6 * np.sqrt(sentences * length * window ** 2 / 4)
    assert updates < sentences * 2 * window * length
    _, cbow_updates, *_ = run_kernel(ids, window=window, skipgram=False)
    assert cbow_updates == length * sentences  # one update per centre


def test_windows_stop_at_eos_and_block_ends_and_skip_unk():
    # one-word sentences: no pair can form unless a window crosses <eos>
    loss, updates, kept, syn0, syn1, before = run_kernel([3, EOS, 4, EOS] * 50)
    assert (updates, kept, loss) == (0, 100, 0.0)
    # blocks of one token: every block is a one-word sentence
    assert run_kernel([3, 4, 5, 6] * 25, block_len=1)[1] == 0
    # blocks of two tokens: exactly one pair each way per block, whatever the windows
    assert run_kernel([3, 4, 5, 6] * 25, block_len=2)[1] == 100
    # <unk> is dropped before windowing: with window 1, "3 <unk> 4" still pairs 3 and 4
    loss, updates, kept, syn0, syn1, before = run_kernel([3, UNK, 4, EOS] * 50, window=1)
    assert (updates, kept) == (100, 100) and loss > 0
    np.testing.assert_array_equal(syn0[[PAD, UNK, EOS]], before[[PAD, UNK, EOS]])  # specials never train
    assert not syn1[[PAD, UNK, EOS]].any()
