"""tabletrain.files: which trained matrix becomes a table's rows (untrained rows drawn at the trained rows'
scale), and the per-epoch checkpoint files (round trip, no pickle, refusals naming the file)."""

import json
import zipfile

import numpy as np
import pytest

from base.errors import InputError
from tabletrain.config import ExportVectors
from tabletrain.files import CHECKPOINT_FORMAT_VERSION, export_matrix, read_checkpoint, save_checkpoint

WORD = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
CONTEXT = np.array([[0.5, -1.0], [0.0, 0.25], [-5.0, 1.0]], dtype=np.float32)
ALL = np.ones(3, dtype=bool)


# ------------------------------------------------------------------------------------------------ export_matrix
@pytest.mark.parametrize("choice, expected", [
    (ExportVectors.IN, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    (ExportVectors.OUT, [[0.5, -1.0], [0.0, 0.25], [-5.0, 1.0]]),
    (ExportVectors.SUM, [[1.5, 1.0], [3.0, 4.25], [0.0, 7.0]]),
])
def test_export_choices_by_hand(choice, expected):
    word, context = WORD.copy(), CONTEXT.copy()
    matrix, missing = export_matrix(word, context, choice, ALL, seed=0)
    assert missing == 0
    assert matrix.dtype == np.float32 and matrix.shape == (3, 2)
    np.testing.assert_array_equal(matrix, np.array(expected, dtype=np.float32))
    np.testing.assert_array_equal(word, WORD)  # the trainer's arrays are not touched
    np.testing.assert_array_equal(context, CONTEXT)
    matrix[:] = 99.0
    np.testing.assert_array_equal(word, WORD)  # and not aliased
    np.testing.assert_array_equal(context, CONTEXT)


def test_float64_parameters_give_float32_rows():
    matrix, _ = export_matrix(WORD.astype(np.float64) + 0.1, CONTEXT.astype(np.float64), ExportVectors.IN, ALL, 0)
    assert matrix.dtype == np.float32
    np.testing.assert_allclose(matrix, WORD + 0.1, rtol=1e-6)


def test_untrained_rows_are_drawn_at_the_trained_rows_scale():
    rng = np.random.default_rng(0)
    word = rng.normal(0.0, 2.0, size=(4000, 8)).astype(np.float32)
    trained = np.zeros(4000, dtype=bool)
    trained[:2000] = True
    std = float(word[:2000].std())
    matrix, missing = export_matrix(word, word * 0, ExportVectors.IN, trained, seed=5)
    assert missing == 2000
    np.testing.assert_array_equal(matrix[:2000], word[:2000])  # trained rows kept as they are
    drawn = matrix[2000:]
    assert not np.any(np.all(drawn == word[2000:], axis=1))  # every untrained row replaced
    assert abs(float(drawn.mean())) < 0.05  # mean 0 (16,000 draws of std 2: se 0.016)
    assert float(drawn.std()) == pytest.approx(std, rel=0.03)


def test_untrained_rows_are_seeded():
    trained = np.array([True, False, True])
    a, _ = export_matrix(WORD, CONTEXT, ExportVectors.SUM, trained, seed=3)
    b, _ = export_matrix(WORD, CONTEXT, ExportVectors.SUM, trained, seed=3)
    c, _ = export_matrix(WORD, CONTEXT, ExportVectors.SUM, trained, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[1], c[1])
    np.testing.assert_array_equal(a[[0, 2]], c[[0, 2]])


@pytest.mark.parametrize("trained_rows", ["none", "constant"])
def test_without_a_trained_spread_the_scale_is_one_over_dim(trained_rows):
    dim = 4
    word = np.zeros((5000, dim), dtype=np.float32)
    trained = np.zeros(5000, dtype=bool)
    if trained_rows == "constant":
        trained[:10] = True  # trained rows all equal: std 0, which would draw zeros
    matrix, missing = export_matrix(word, word, ExportVectors.OUT, trained, seed=1)
    assert missing == 5000 - int(trained.sum())
    assert float(matrix[~trained].std()) == pytest.approx(1.0 / dim, rel=0.03)
    np.testing.assert_array_equal(matrix[trained], 0.0)


# ------------------------------------------------------------------------------------------------ checkpoints
def _params():
    return {"syn0": np.arange(6, dtype=np.float32).reshape(3, 2), "syn1": np.array([[-1.5, 2.5]], np.float32),
            "counts": np.array([3, 1, 4], dtype=np.int64)}


def test_checkpoint_round_trip(tmp_path):
    path = tmp_path / "new" / ".checkpoints" / "cbow" / "checkpoint.npz"
    state = {"epoch": 2, "loss_per_epoch": [1.25, 0.75], "seed": 7}
    save_checkpoint(path, "word2vec", _params(), state)
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.npz"]  # no temporary left
    found = read_checkpoint(path, "word2vec", ("syn0", "syn1", "counts"), "word2vec")
    assert found is not None
    params, read_state = found
    assert set(params) == {"syn0", "syn1", "counts"}
    for name, array in _params().items():
        np.testing.assert_array_equal(params[name], array)
        assert params[name].dtype == array.dtype
    assert read_state == {"epoch": 2, "loss_per_epoch": [1.25, 0.75], "seed": 7, "kind": "word2vec",
                          "format_version": CHECKPOINT_FORMAT_VERSION}
    assert state == {"epoch": 2, "loss_per_epoch": [1.25, 0.75], "seed": 7}  # the caller's dict untouched


def test_a_checkpoint_is_a_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "glove", _params(), {"epoch": 1})
    assert zipfile.is_zipfile(path)
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["counts", "meta", "syn0", "syn1"]
        assert json.loads(str(data["meta"])) == {"epoch": 1, "kind": "glove", "format_version": 1}


def test_reading_only_some_arrays(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "glove", _params(), {})
    params, _ = read_checkpoint(path, "glove", ("syn1",), "GloVe")
    assert list(params) == ["syn1"]


def test_no_checkpoint_is_none(tmp_path):
    assert read_checkpoint(tmp_path / "absent.npz", "word2vec", ("syn0",), "word2vec") is None


def test_a_later_save_replaces_the_earlier(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "word2vec", _params(), {"epoch": 1})
    save_checkpoint(path, "word2vec", {"syn0": np.zeros((1, 1), np.float32)}, {"epoch": 2})
    params, state = read_checkpoint(path, "word2vec", ("syn0",), "word2vec")
    assert state["epoch"] == 2 and params["syn0"].shape == (1, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "word2vec", _params(), {"epoch": 1})
    before = path.read_bytes()

    def broken(handle, **arrays):
        handle.write(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError):
        save_checkpoint(path, "word2vec", _params(), {"epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing array", "meta not json", "meta not a dict"])
def test_a_corrupt_checkpoint_is_input_error_naming_the_file(tmp_path, damage):
    path = tmp_path / "c.npz"
    save_checkpoint(path, "word2vec", _params(), {"epoch": 1})
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "missing array":
        np.savez(path, meta=np.array(json.dumps({"kind": "word2vec", "format_version": 1})))
    elif damage == "meta not json":
        np.savez(path, meta=np.array("{oops"), syn0=np.zeros(2))
    else:
        np.savez(path, meta=np.array(json.dumps([1, 2])), syn0=np.zeros(2))
    with pytest.raises(InputError) as caught:
        read_checkpoint(path, "word2vec", ("syn0",), "word2vec")
    message = str(caught.value)
    assert message.startswith(str(path) + ": ")
    assert "word2vec checkpoint" in message and "delete it to start over" in message


@pytest.mark.parametrize("meta", [
    {"kind": "glove", "format_version": CHECKPOINT_FORMAT_VERSION},  # another trainer's
    {"kind": "word2vec", "format_version": CHECKPOINT_FORMAT_VERSION + 1},  # another format
    {"kind": "word2vec"},  # no format at all
])
def test_a_checkpoint_of_another_kind_or_format_is_refused(tmp_path, meta):
    path = tmp_path / "c.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), syn0=np.zeros(2))
    with pytest.raises(InputError, match=r"not a word2vec checkpoint of format 1 \(delete it to start over\)"):
        read_checkpoint(path, "word2vec", ("syn0",), "word2vec")


def test_a_pickled_array_is_refused(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, meta=np.array(json.dumps({"kind": "word2vec", "format_version": 1})),
             syn0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match="corrupt word2vec checkpoint"):
        read_checkpoint(path, "word2vec", ("syn0",), "word2vec")
