"""EmbeddingTable: validation, index, native .npz round trip, corrupt and foreign files."""

import zipfile

import numpy as np
import pytest

from base.errors import InputError
from vectors import EmbeddingTable
from vectors.table import FORMAT_VERSION


def make_table(n=5, dim=3, seed=0, meta=None):
    rng = np.random.default_rng(seed)
    words = ["the", "Ünïcode", "日本", "two words", "<pad>", "emoji🙂", "x"][:n]
    return EmbeddingTable(words, rng.standard_normal((n, dim)).astype(np.float32), meta or {})


def test_basic_api():
    t = make_table()
    assert len(t) == 5 and t.dim == 3
    assert t.index == {w: i for i, w in enumerate(t.words)}
    assert "日本" in t and "nope" not in t
    np.testing.assert_array_equal(t.vector("two words"), t.matrix[3])
    with pytest.raises(KeyError):
        t.vector("nope")
    with pytest.raises(ValueError):
        t.vector("the")[0] = 1.0  # read-only view
    assert t.matrix.dtype == np.float32 and t.matrix.flags.c_contiguous
    assert "5 words x 3" in repr(t)


def test_float64_and_fortran_input_become_float32_c_order():
    m = np.asfortranarray(np.arange(6, dtype=np.float64).reshape(3, 2))
    t = EmbeddingTable(["a", "b", "c"], m)
    assert t.matrix.dtype == np.float32 and t.matrix.flags.c_contiguous
    np.testing.assert_array_equal(t.matrix, m)


@pytest.mark.parametrize("words,matrix,needle", [
    (["a", "b"], np.zeros((3, 2)), "2 words but 3"),
    (["a"], np.zeros(3), "2-D"),
    ([], np.zeros((0, 2)), "at least one word"),
    (["a"], np.zeros((1, 0)), "at least one dimension"),
    (["a", "a"], np.zeros((2, 2)), "duplicate word 'a' at rows 0 and 1"),
    (["a", ""], np.zeros((2, 2)), "non-empty string"),
    (["a", 3], np.zeros((2, 2)), "non-empty string"),
    (["a", "b"], np.array([[0, 1], [np.nan, 0]]), "non-finite value in the row of 'b'"),
    (["a", "b"], np.array([[0, np.inf], [1, 0]]), "row 0"),
    (["a"], np.array([["x", "y"]]), "real numbers"),
])
def test_validation(words, matrix, needle):
    with pytest.raises(InputError, match=needle):
        EmbeddingTable(words, matrix)


def test_meta_must_be_a_dict():
    with pytest.raises(InputError, match="meta must be a dict"):
        EmbeddingTable(["a"], np.zeros((1, 2)), meta=[1])


def test_save_load_round_trip(tmp_path):
    meta = {"method": "skipgram", "config": {"dim": 3, "window": 5}, "loss_per_epoch": [2.5, 2.25],
            "corpus_hash": "ab" * 32, "note": "ünïcode ✓"}
    t = make_table(7, 4, meta=meta)
    path = tmp_path / "sub" / "t.npz"
    t.save(path)
    back = EmbeddingTable.load(path)
    assert back.words == t.words
    np.testing.assert_array_equal(back.matrix, t.matrix)
    assert back.matrix.dtype == np.float32
    assert back.meta == meta
    assert sorted(p.name for p in path.parent.iterdir()) == ["t.npz"]  # no temp file left behind
    with np.load(path, allow_pickle=False) as z:  # readable without pickle, versioned
        assert str(z["format"]) == "w2v-gpt/embedding-table" and int(z["version"]) == FORMAT_VERSION


def test_save_to_a_name_without_npz_suffix_keeps_the_name(tmp_path):
    make_table().save(tmp_path / "table.vectors")
    assert [p.name for p in tmp_path.iterdir()] == ["table.vectors"]
    assert EmbeddingTable.load(tmp_path / "table.vectors").words == make_table().words


def test_save_rejects_meta_that_is_not_json(tmp_path):
    t = make_table(meta={"bad": object()})
    with pytest.raises(InputError, match="JSON"):
        t.save(tmp_path / "t.npz")
    with pytest.raises(InputError, match="JSON"):
        make_table(meta={"loss": float("nan")}).save(tmp_path / "t.npz")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "t.npz"
    make_table(seed=1).save(path)
    before = path.read_bytes()
    with pytest.raises(InputError):
        make_table(meta={"bad": {1, 2}}).save(path)
    assert path.read_bytes() == before


def test_load_missing_corrupt_and_foreign(tmp_path):
    with pytest.raises(InputError, match="no embedding table"):
        EmbeddingTable.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="corrupt"):
        EmbeddingTable.load(junk)
    good = tmp_path / "good.npz"
    make_table().save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(InputError, match="truncated.npz"):
        EmbeddingTable.load(truncated)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(InputError, match="not a w2v-gpt embedding table"):
        EmbeddingTable.load(other)


def _rewrite(src, dst, **changes):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    np.savez(dst, **arrays)


def test_load_rejects_other_versions_and_inconsistent_arrays(tmp_path):
    good = tmp_path / "good.npz"
    make_table().save(good)
    _rewrite(good, tmp_path / "v2.npz", version=np.array(FORMAT_VERSION + 1))
    with pytest.raises(InputError, match="version 2"):
        EmbeddingTable.load(tmp_path / "v2.npz")
    _rewrite(good, tmp_path / "fmt.npz", format=np.array("something-else"))
    with pytest.raises(InputError, match="not a w2v-gpt"):
        EmbeddingTable.load(tmp_path / "fmt.npz")
    _rewrite(good, tmp_path / "rows.npz", matrix=np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(InputError, match="inconsistent"):
        EmbeddingTable.load(tmp_path / "rows.npz")
    _rewrite(good, tmp_path / "f64.npz", matrix=np.zeros((5, 3)))
    with pytest.raises(InputError, match="inconsistent"):
        EmbeddingTable.load(tmp_path / "f64.npz")
    _rewrite(good, tmp_path / "meta.npz", meta=np.array("{not json"))
    with pytest.raises(InputError, match="corrupt"):
        EmbeddingTable.load(tmp_path / "meta.npz")
    with np.load(good) as z:
        offsets = z["word_offsets"].copy()
    offsets[-1] += 1
    _rewrite(good, tmp_path / "off.npz", word_offsets=offsets)
    with pytest.raises(InputError, match="offsets"):
        EmbeddingTable.load(tmp_path / "off.npz")
    with zipfile.ZipFile(tmp_path / "pickled.npz", "w") as zf:  # an object array needs pickle: refused
        import io
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        zf.writestr("format.npy", buf.getvalue())
    with pytest.raises(InputError):
        EmbeddingTable.load(tmp_path / "pickled.npz")


def test_load_rejects_nan_written_by_someone_else(tmp_path):
    good = tmp_path / "good.npz"
    make_table().save(good)
    m = np.zeros((5, 3), dtype=np.float32)
    m[2, 1] = np.nan
    _rewrite(good, tmp_path / "nan.npz", matrix=m)
    with pytest.raises(InputError, match="nan.npz: non-finite"):
        EmbeddingTable.load(tmp_path / "nan.npz")


def test_the_trained_mask_round_trips_and_follows_a_subset(tmp_path):
    words = ["<pad>", "cat", "dog", "emu"]
    matrix = np.arange(8, dtype=np.float32).reshape(4, 2)
    table = EmbeddingTable(words, matrix, {"method": "m"}, trained=np.array([0, 1, 1, 0]))
    assert table.trained.dtype == bool and table.trained.tolist() == [False, True, True, False]
    table.save(tmp_path / "t.npz")
    back = EmbeddingTable.load(tmp_path / "t.npz")
    assert back.trained.tolist() == [False, True, True, False]
    np.testing.assert_array_equal(back.matrix, matrix)
    sub = back.subset([3, 1], words=["x", "y"], meta={"method": "sub"})
    assert sub.words == ["x", "y"] and sub.trained.tolist() == [False, True] and sub.meta == {"method": "sub"}
    np.testing.assert_array_equal(sub.matrix, matrix[[3, 1]])
    plain = EmbeddingTable(words, matrix)  # no mask (a word2vec file): every row counts as trained
    plain.save(tmp_path / "plain.npz")
    assert EmbeddingTable.load(tmp_path / "plain.npz").trained is None and plain.trained_mask.all()
    with pytest.raises(InputError, match="one flag per word"):
        EmbeddingTable(words, matrix, trained=np.ones(3, dtype=bool))
