"""align_to_vocab (order, fill rules, case fallback, coverage) and rescale."""

import numpy as np
import pytest

from base.errors import InputError
from vectors import EmbeddingTable
from vectors.align import align_to_vocab, rescale


def table():
    rng = np.random.default_rng(0)
    words = ["cat", "Paris", "dog", "berlin", "Berlin", "the"]
    matrix = (rng.standard_normal((6, 4)) * [1, 2, 3, 4] + [10, 0, -5, 1]).astype(np.float32)
    return EmbeddingTable(words, matrix)


def test_rows_follow_the_vocabulary_and_coverage_is_reported():
    t = table()
    vocab = ["<pad>", "the", "dog", "cat", "unicorn"]
    a = align_to_vocab(t, vocab, fill="zero")
    assert a.matrix.shape == (5, 4) and a.matrix.dtype == np.float32
    for i, w in enumerate(vocab):
        if w in t:
            np.testing.assert_array_equal(a.matrix[i], t.vector(w))
    assert a.found.tolist() == [False, True, True, True, False]
    assert a.coverage == pytest.approx(3 / 5) and a.missing == 2 and a.fill == "zero"
    np.testing.assert_array_equal(a.matrix[[0, 4]], 0)
    assert a.summary() == {"rows": 5, "found": 3, "coverage": 0.6, "lowercase_matches": 0, "fill": "zero"}


def test_lowercase_fallback_prefers_exact_then_lowercase_then_first_cased_row():
    t = table()
    a = align_to_vocab(t, ["paris", "Berlin", "BERLIN", "Dog"], fill="zero")
    np.testing.assert_array_equal(a.matrix[0], t.vector("Paris"))  # only a cased row exists
    np.testing.assert_array_equal(a.matrix[1], t.vector("Berlin"))  # exact match wins
    np.testing.assert_array_equal(a.matrix[2], t.vector("berlin"))  # lower-case form exists
    np.testing.assert_array_equal(a.matrix[3], t.vector("dog"))
    assert a.found.all() and a.lowercase_matches == 3
    b = align_to_vocab(t, ["paris", "cat"], fill="zero", lowercase_fallback=False)
    assert b.found.tolist() == [False, True]


def test_mean_fill_is_the_mean_row():
    t = table()
    a = align_to_vocab(t, ["x", "cat", "y"], fill="mean")
    mean = t.matrix.astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(a.matrix[0], mean, rtol=1e-6)
    np.testing.assert_array_equal(a.matrix[0], a.matrix[2])


def test_random_fill_is_seeded_and_matches_the_per_dimension_statistics():
    rng = np.random.default_rng(1)
    t = EmbeddingTable([f"w{i}" for i in range(500)],
                       (rng.standard_normal((500, 3)) * [0.5, 2.0, 8.0] + [3.0, 0.0, -1.0]))
    vocab = ["w0"] + [f"new{i}" for i in range(20000)]
    a = align_to_vocab(t, vocab, fill="random", seed=7)
    b = align_to_vocab(t, vocab, fill="random", seed=7)
    c = align_to_vocab(t, vocab, fill="random", seed=8)
    np.testing.assert_array_equal(a.matrix, b.matrix)
    assert not np.array_equal(a.matrix, c.matrix)
    filled = a.matrix[1:].astype(np.float64)
    table64 = t.matrix.astype(np.float64)
    np.testing.assert_allclose(filled.std(axis=0), table64.std(axis=0), rtol=0.03)
    np.testing.assert_allclose(filled.mean(axis=0), table64.mean(axis=0), atol=0.03 * table64.std(axis=0).max())


def test_bad_calls():
    t = table()
    with pytest.raises(InputError, match="unknown fill rule"):
        align_to_vocab(t, ["cat"], fill="gaussian")
    with pytest.raises(InputError, match="empty vocabulary"):
        align_to_vocab(t, [])
    with pytest.raises(InputError, match="none of the 2 vocabulary words"):
        align_to_vocab(t, ["zebra", "yak"])


def test_aligned_matrix_is_frozen():
    a = align_to_vocab(table(), ["cat"])
    with pytest.raises(AttributeError):
        a.fill = "zero"


def test_rescale_sets_the_global_std_and_returns_the_factor():
    rng = np.random.default_rng(2)
    m = (rng.standard_normal((300, 16)) * 0.4 + 0.1).astype(np.float32)
    original = m.copy()
    new, factor = rescale(m, 0.02)
    assert new.dtype == np.float32 and new.shape == m.shape
    assert float(new.astype(np.float64).std()) == pytest.approx(0.02, rel=1e-5)
    assert factor == pytest.approx(0.02 / m.astype(np.float64).std())
    np.testing.assert_allclose(new, m * factor, rtol=1e-6)  # one global factor, not centred
    assert np.array_equal(m, original)  # input untouched


@pytest.mark.parametrize("target", [0.0, -1.0, float("nan"), float("inf")])
def test_rescale_rejects_bad_targets(target):
    with pytest.raises(InputError, match="positive"):
        rescale(np.ones((2, 2)) * [1, 2], target)


def test_rescale_rejects_a_constant_matrix():
    with pytest.raises(InputError, match="standard deviation is 0"):
        rescale(np.ones((3, 3)), 0.02)


def test_rows_the_table_marks_untrained_count_as_missing():
    t = EmbeddingTable(["cat", "dog", "emu"], np.array([[1.0, 0], [0, 1], [1, 1]], dtype=np.float32),
                       trained=np.array([True, False, True]))
    a = align_to_vocab(t, ["dog", "cat", "emu", "yak"], fill="zero")
    assert a.found.tolist() == [False, True, True, False]
    assert not a.matrix[0].any()  # dog's random row is not copied
    with pytest.raises(InputError):
        align_to_vocab(t, ["dog", "yak"])  # only an untrained row: the table knows none of these words
