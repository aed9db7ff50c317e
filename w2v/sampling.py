"""The random parts of word2vec: which words train, subsampling, the noise distribution, reduced windows.

Per-word tables are computed once from the vocabulary counts of the train split; the kernels read them
with a cheap counter-based generator (splitmix64, in :mod:`w2v.kernels` so that numba's cache sees every
edit of the compiled code in one file), seeded per block of tokens so that a block's random stream does
not depend on which thread runs it or on how the epoch is cut into jobs.

Which words train: every vocabulary word with a positive train count except the specials. ``<eos>`` is a
boundary (windows never cross it); ``<unk>`` and ``<pad>`` are dropped before windowing, as gensim drops
out-of-vocabulary words, so they neither train nor serve as context. Their rows are filled at export.
"""

from __future__ import annotations

import numpy as np
from numba import njit

ONE32 = 1 << 32  # probability 1 as a 32-bit threshold


# ------------------------------------------------------------------------------------------------ tables
def trainable_mask(counts: np.ndarray, special_ids) -> np.ndarray:
    """(V,) bool: words that train and serve as context (positive count, not a special token)."""
    mask = np.asarray(counts) > 0
    mask[list(special_ids)] = False
    return mask


def keep_probabilities(counts: np.ndarray, trainable: np.ndarray, sample: float) -> np.ndarray:
    """(V,) float64 probability of keeping each occurrence, word2vec's formula (as gensim computes it).

    With total = the summed count of trainable words and t = sample * total, a word seen c times is kept
    with probability min(1, (sqrt(c / t) + 1) * t / c); sample 0 keeps all. Untrainable words get 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.zeros(len(counts), dtype=np.float64)
    if sample <= 0:
        probs[trainable] = 1.0
        return probs
    threshold = sample * counts[trainable].sum()
    c = counts[trainable]
    probs[trainable] = np.minimum(1.0, (np.sqrt(c / threshold) + 1.0) * threshold / c)
    return probs


def keep_thresholds(probs: np.ndarray) -> np.ndarray:
    """Probabilities as uint64 bars on 32 random bits (keep when bits < bar; 2**32 always keeps)."""
    return np.round(np.asarray(probs, dtype=np.float64) * ONE32).astype(np.uint64)


def noise_distribution(counts: np.ndarray, trainable: np.ndarray, power: float = 0.75) -> np.ndarray:
    """(V,) float64 negative-sampling distribution: count ** power over trainable words, normalised."""
    weights = np.where(trainable, np.asarray(counts, dtype=np.float64), 0.0) ** power
    total = weights.sum()
    if total <= 0:
        raise ValueError("no trainable word: the noise distribution is empty")
    return weights / total


def alias_table(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table of ``probs``: (bars uint64 on 32 bits, alias int32), O(1) exact sampling.

    Slot i (chosen uniformly) yields i with probability bars[i] / 2**32, else alias[i]. A slot of
    probability 0 never yields itself.
    """
    probs = np.asarray(probs, dtype=np.float64)
    bars, alias = _vose(probs * len(probs))
    zero = probs <= 0
    bars[zero] = 0.0
    stuck = zero & (alias == np.arange(len(probs)))  # a rounding leftover: point it at the likeliest word
    alias[stuck] = int(np.argmax(probs))
    return keep_thresholds(np.clip(bars, 0.0, 1.0)), alias


@njit(cache=True, nogil=True, inline="always")
def _stack(i, scaled, small, large, ns, nl):
    """Vose's rule: index ``i`` goes on the small stack when its scaled probability is below 1, else on the
    large one; returns the stacks' new heights."""
    if scaled[i] < 1.0:
        small[ns] = i
        return ns + 1, nl
    large[nl] = i
    return ns, nl + 1


@njit(cache=True, nogil=True)
def _vose(scaled):
    n = scaled.shape[0]
    scaled = scaled.copy()
    bars = np.ones(n, dtype=np.float64)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = nl = 0
    for i in range(n):
        ns, nl = _stack(i, scaled, small, large, ns, nl)
    while ns > 0 and nl > 0:
        ns -= 1
        nl -= 1
        s, g = small[ns], large[nl]
        bars[s] = scaled[s]
        alias[s] = g
        scaled[g] -= 1.0 - scaled[s]
        ns, nl = _stack(g, scaled, small, large, ns, nl)
    return bars, alias


def alias_probabilities(bars: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """The distribution an alias table samples from (to check one)."""
    n = len(bars)
    keep = bars.astype(np.float64) / ONE32
    probs = keep.copy()
    np.add.at(probs, alias, 1.0 - keep)
    return probs / n
