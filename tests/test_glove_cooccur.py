"""Co-occurrence counts: a hand-computed example, a brute-force counter, bounded memory, the cache."""

from __future__ import annotations

import shutil
from collections import defaultdict

import numpy as np
import pytest

from base.errors import InputError
from glove.config import GloveConfig
from glove.cooccur import (Cooccurrence, cache_path, cooccurrence, cooccurrence_key, count_pairs,
                           dense_layout, load_cooccurrence)

PAD, UNK, EOS = 0, 1, 2


def as_dict(rows, cols, values) -> dict:
    return {(int(r), int(c)): float(v) for r, c, v in zip(rows, cols, values)}


def brute_force(ids, window: int, harmonic: bool = True) -> dict:
    """Python reference: documents end at <eos>, <pad>/<unk> are dropped, both directions counted."""
    counts: dict = defaultdict(float)
    docs, doc = [], []
    for t in ids:
        if t == EOS:
            docs.append(doc)
            doc = []
        elif t not in (PAD, UNK):
            doc.append(int(t))
    docs.append(doc)
    for doc in docs:
        for j in range(len(doc)):
            for k in range(max(0, j - window), j):
                w = 1.0 / (j - k) if harmonic else 1.0
                counts[doc[k], doc[j]] += w
                counts[doc[j], doc[k]] += w
    return dict(counts)


def test_hand_computed_example():
    # doc 1: a b c ; doc 2: a <unk> b <pad> (the specials are dropped, so a and b are adjacent)
    a, b, c = 3, 4, 5
    ids = np.array([a, b, c, EOS, a, UNK, b, PAD, EOS], dtype=np.int32)
    got = as_dict(*count_pairs(ids, 6, window=2))
    assert got == {(a, b): 2.0, (b, a): 2.0, (b, c): 1.0, (c, b): 1.0, (a, c): 0.5, (c, a): 0.5}
    got = as_dict(*count_pairs(ids, 6, window=2, distance_weighting="uniform"))
    assert got[(a, c)] == 1.0 and got[(a, b)] == 2.0
    got = as_dict(*count_pairs(ids, 6, window=1))
    assert (a, c) not in got and got[(a, b)] == 2.0
    # a word next to itself lands on the diagonal, once per direction
    assert as_dict(*count_pairs(np.array([a, a], dtype=np.int32), 6, window=3)) == {(a, a): 2.0}


@pytest.mark.parametrize("memory_gb", [2e-6, 1e-4, 1.0])  # tiny budgets force overflow flushes and merges
@pytest.mark.parametrize("threads", [1, 3])
def test_matches_brute_force_on_random_ids(memory_gb, threads):
    rng = np.random.default_rng(7)
    for trial in range(3):
        vocab = int(rng.integers(5, 80))
        ids = rng.integers(0, vocab, int(rng.integers(3000, 9000))).astype(np.int32)
        window = int(rng.integers(1, 9))
        rows, cols, values = count_pairs(ids, vocab, window=window, memory_gb=memory_gb, threads=threads)
        expected = brute_force(ids, window)
        got = as_dict(rows, cols, values)
        assert got.keys() == expected.keys()
        assert np.allclose([got[k] for k in expected], list(expected.values()), rtol=1e-12)
        keys = rows.astype(np.int64) * vocab + cols
        assert np.all(np.diff(keys) > 0)  # sorted by (row, col), no duplicates
        assert rows.dtype == cols.dtype == np.int32 and values.dtype == np.float64


def test_dense_layout_fits_budget():
    lookup, limit = dense_layout(1000, 50_000)
    assert lookup[-1] <= 50_000 and lookup[-1] > 40_000
    widths = np.diff(lookup)
    assert np.all(widths == limit - np.arange(1000)) and limit[0] == 1000  # the upper triangle, row by row
    assert np.all(np.diff(widths) <= 0)  # frequent rows are widest
    # by hand, V = 6 and at most 12 cells: P = 11 keeps b < 11 // (a + 1) in row a, so row 0 keeps its 6
    # columns, row 1 columns 1-4, row 2 column 2: 11 cells (P = 12 would need 13); rows 3-5 keep none
    lookup, limit = dense_layout(6, 12)
    assert limit.tolist() == [6, 5, 3, 3, 4, 5] and lookup.tolist() == [0, 6, 10, 11, 11, 11, 11]
    lookup, limit = dense_layout(100, 10**9)
    assert lookup[-1] == 100 * 101 // 2  # the whole triangle when it fits


def test_bad_input():
    with pytest.raises(InputError, match="window"):
        count_pairs(np.array([3, 4], dtype=np.int32), 5, window=0)
    with pytest.raises(InputError, match="outside the vocabulary"):
        count_pairs(np.array([3, 4, 9], dtype=np.int32), 5, window=2)
    with pytest.raises(InputError, match="outside the vocabulary"):
        count_pairs(np.array([3, -1, 4] * 2000, dtype=np.int32), 5, window=2, threads=2)
    with pytest.raises(InputError, match="window"):
        GloveConfig(window=0)


def test_corpus_counts_symmetric_and_thread_independent(lee_corpus):
    ids = np.asarray(lee_corpus.train_ids)
    one = count_pairs(ids, len(lee_corpus.vocab), window=5, threads=1)
    two = count_pairs(ids, len(lee_corpus.vocab), window=5, threads=2, memory_gb=1e-3)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert np.allclose(one[2], two[2], rtol=1e-12)
    specials = {lee_corpus.vocab.pad_id, lee_corpus.vocab.unk_id, lee_corpus.vocab.eos_id}
    assert not specials & set(np.unique(one[0]).tolist())
    co = Cooccurrence(*one, len(lee_corpus.vocab))
    csr = co.to_csr()
    assert abs(csr - csr.T).max() < 1e-9
    assert co.nonzeros == csr.nnz


def test_cache_reuse_key_change_and_corruption(lee_corpus, tmp_path):
    corpus_dir = tmp_path / "corpus"
    shutil.copytree(lee_corpus.path, corpus_dir, ignore=shutil.ignore_patterns("cooccurrence-*"))
    from corpus import PreparedCorpus

    prepared = PreparedCorpus.open(corpus_dir)
    config = GloveConfig(window=3)
    first = cooccurrence(prepared, config)
    path = cache_path(prepared, config)
    assert path.exists() and path.name == f"cooccurrence-{first.meta['key']}.npz"
    assert first.meta["cached"] is False and first.meta["count_seconds"] > 0
    second = cooccurrence(prepared, config)
    assert second.meta["cached"] is True
    assert np.array_equal(first.rows, second.rows) and np.array_equal(first.values, second.values)
    # threads and memory do not change the key; window and weighting do
    assert cache_path(prepared, GloveConfig(window=3, threads=2, memory_gb=0.5)) == path
    other = GloveConfig(window=4)
    assert cache_path(prepared, other) != path
    assert cooccurrence_key(prepared.content_hash, len(prepared.vocab), GloveConfig(
        window=3, distance_weighting="uniform")) != first.meta["key"]
    assert cooccurrence(prepared, other).meta["cached"] is False
    assert len(list(corpus_dir.glob("cooccurrence-*.npz"))) == 2
    # a cache under the wrong key name is refused, not trusted
    shutil.copy(path, cache_path(prepared, GloveConfig(window=7)))
    with pytest.raises(InputError, match="other settings"):
        cooccurrence(prepared, GloveConfig(window=7))
    # a corrupt cache is an InputError naming the file (it is never silently replaced)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputError, match="corrupt co-occurrence cache"):
        cooccurrence(prepared, config)
    with pytest.raises(InputError, match="not found"):
        load_cooccurrence(tmp_path / "missing.npz")
    assert not list(corpus_dir.glob(".*tmp*"))  # nothing half-written left behind
