"""The word2vec trainer: table contract, determinism, resume after a kill, bad input, quality vs random."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

import w2v.train as w2v_train
from base.errors import InputError
from corpus.prepare import PrepareConfig, prepare_corpus
from corpus.sources import resolve_sources
from corpus.vocab import Vocab
from vectors.table import EmbeddingTable
from w2v.config import Word2VecConfig
from w2v.train import CHECKPOINT_NAME, train

REPORT_KEYS = {"format_version", "method", "config", "corpus_hash", "tokens", "epochs", "train_seconds",
               "words_per_second", "loss_per_epoch"}
SMALL = dict(dim=16, epochs=3, threads=1, seed=3)


def small(method="skipgram", **overrides) -> Word2VecConfig:
    return Word2VecConfig(**dict(SMALL, method=method, **overrides))


@pytest.mark.parametrize("method", ["skipgram", "cbow"])
def test_table_holds_every_vocabulary_row_and_the_report_keys(lee_corpus, method):
    table = train(lee_corpus, small(method), progress=False)
    vocab = lee_corpus.vocab
    assert table.words == vocab.tokens and table.matrix.shape == (len(vocab), 16)
    assert table.matrix.dtype == np.float32 and np.isfinite(table.matrix).all()
    meta = table.meta
    assert REPORT_KEYS <= set(meta) and meta["format_version"] == 1 and meta["method"] == method
    assert meta["config"] == small(method).to_dict() and meta["corpus_hash"] == lee_corpus.content_hash
    assert meta["tokens"] == len(lee_corpus.train_ids) and meta["epochs"] == 3
    assert meta["words_per_second"] == pytest.approx(meta["tokens"] * 3 / meta["train_seconds"])
    losses = meta["loss_per_epoch"]
    assert len(losses) == 3 and all(0 < x < 10 for x in losses) and losses[-1] < losses[0]
    # the specials never train; their rows are random draws at the scale of the trained rows
    assert meta["untrained_rows"] == 3
    special_norms = np.linalg.norm(table.matrix[:3], axis=1)
    assert special_norms.min() > 0.2 * np.linalg.norm(table.matrix[3:], axis=1).mean()


@pytest.mark.parametrize("overrides", [dict(method="skipgram"), dict(method="cbow"),
                                       dict(method="skipgram", noise="window")])
def test_same_seed_one_thread_is_bit_identical(lee_corpus, overrides):
    a = train(lee_corpus, small(**overrides), progress=False)
    b = train(lee_corpus, small(**overrides), progress=False)
    assert np.array_equal(a.matrix, b.matrix) and a.meta["loss_per_epoch"] == b.meta["loss_per_epoch"]
    c = train(lee_corpus, small(**dict(overrides, seed=4)), progress=False)
    assert not np.array_equal(a.matrix, c.matrix)


def test_two_threads_train_the_same_amount(lee_corpus):
    one = train(lee_corpus, small(), progress=False)
    two = train(lee_corpus, small(threads=2), progress=False)
    assert two.meta["threads"] == 2 and np.isfinite(two.matrix).all()
    # hogwild changes the last digits, not the work: the same sentences, windows and noise words
    assert two.meta["updates_per_epoch"] == one.meta["updates_per_epoch"]
    assert two.meta["loss_per_epoch"] == pytest.approx(one.meta["loss_per_epoch"], rel=0.03)


def test_resume_after_a_kill_equals_an_uninterrupted_run(lee_corpus, tmp_path, monkeypatch):
    config = small(method="cbow", epochs=4)
    whole = train(lee_corpus, config, progress=False)
    real_epoch = w2v_train._epoch_numba

    def killed_in_epoch_three(ids, tables, params, config, epoch, threads, bar):
        if epoch == 2:
            raise KeyboardInterrupt  # as a kill would, after the checkpoints of epochs 1 and 2
        return real_epoch(ids, tables, params, config, epoch, threads, bar)

    monkeypatch.setattr(w2v_train, "_epoch_numba", killed_in_epoch_three)
    with pytest.raises(KeyboardInterrupt):
        train(lee_corpus, config, checkpoint_dir=tmp_path, progress=False)
    assert (tmp_path / CHECKPOINT_NAME).exists()
    monkeypatch.setattr(w2v_train, "_epoch_numba", real_epoch)
    resumed = train(lee_corpus, config, checkpoint_dir=tmp_path, progress=False)
    assert resumed.meta["resumed_from_epoch"] == 2
    assert np.array_equal(resumed.matrix, whole.matrix)
    assert resumed.meta["loss_per_epoch"] == whole.meta["loss_per_epoch"]
    # a finished checkpoint returns at once; other export settings reuse it
    again = train(lee_corpus, small(method="cbow", epochs=4, export_vectors="sum"), checkpoint_dir=tmp_path,
                  progress=False)
    assert again.meta["resumed_from_epoch"] == 4
    # another seed is another run: the checkpoint is not resumed
    other = train(lee_corpus, small(method="cbow", epochs=4, seed=9), checkpoint_dir=tmp_path, progress=False)
    assert other.meta["resumed_from_epoch"] == 0


def test_corrupt_checkpoint_is_input_error(lee_corpus, tmp_path):
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"not an npz")
    with pytest.raises(InputError, match="corrupt word2vec checkpoint"):
        train(lee_corpus, small(), checkpoint_dir=tmp_path, progress=False)


def test_export_in_out_sum(lee_corpus):
    tables = {e: train(lee_corpus, small(export_vectors=e), progress=False) for e in ("in", "out", "sum")}
    rows = slice(3, None)  # trained rows; the specials are random fills
    np.testing.assert_allclose(tables["sum"].matrix[rows], tables["in"].matrix[rows] + tables["out"].matrix[rows],
                               rtol=1e-6, atol=1e-6)
    assert not np.allclose(tables["in"].matrix[rows], tables["out"].matrix[rows])
    assert all(t.meta["export_vectors"] == e for e, t in tables.items())


def test_non_finite_loss_and_bad_input_are_input_errors(lee_corpus):
    with pytest.raises(InputError, match="NaN at epoch 1"):
        train(lee_corpus, small(alpha=1e30, epochs=1), progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="cuda"):
            train(lee_corpus, small(device="cuda"), progress=False)
    with pytest.raises(InputError, match="numba"):
        w2v_train.resolve_engine(Word2VecConfig(device="cuda", backend="numba"))
    with pytest.raises(InputError, match="noise pair"):
        w2v_train.resolve_engine(Word2VecConfig(backend="torch", noise="window"))
    vocab = Vocab(["<pad>", "<unk>", "<eos>", "word"], np.array([0, 4, 2, 0]))
    only_unknown = types.SimpleNamespace(vocab=vocab, train_ids=np.array([1, 1, 2, 1, 1, 2], np.int32),
                                         content_hash="x")
    with pytest.raises(InputError, match="nothing to train"):
        train(only_unknown, small(), progress=False)


@pytest.mark.parametrize("method", ["skipgram", "cbow"])
def test_torch_engine_trains_like_the_kernels(lee_corpus, method):
    ref = train(lee_corpus, small(method), progress=False)
    batched = train(lee_corpus, small(method, backend="torch", batch_size=128), progress=False)
    assert batched.meta["backend"] == "torch" and batched.meta["device"] == "cpu"
    assert np.isfinite(batched.matrix).all() and batched.matrix.shape == ref.matrix.shape
    # same samplers and update rules: the same amount of work and nearly the same loss curve
    assert batched.meta["updates_per_epoch"][0] == pytest.approx(ref.meta["updates_per_epoch"][0], rel=0.02)
    assert batched.meta["loss_per_epoch"] == pytest.approx(ref.meta["loss_per_epoch"], rel=0.05)
    again = train(lee_corpus, small(method, backend="torch", batch_size=128), progress=False)
    assert np.array_equal(again.matrix, batched.matrix)


@pytest.fixture(scope="module")
def default_corpus(tmp_path_factory):
    """The project's default corpus (gensim's Wikipedia sample + Lee news, about 620k train tokens)."""
    return prepare_corpus(resolve_sources(None), tmp_path_factory.mktemp("default") / "corpus", PrepareConfig())


@pytest.mark.parametrize("method", ["skipgram", "cbow"])
def test_default_corpus_tables_beat_random_vectors(default_corpus, method):
    from bench.quality import evaluate

    table = train(default_corpus, Word2VecConfig(method=method, dim=64, threads=2), progress=False)
    rng = np.random.default_rng(0)
    chance = evaluate(EmbeddingTable(table.words, rng.normal(0, 1, table.matrix.shape)))
    ours = evaluate(table)
    # random tables score 0.006 +- 0.053 on WS353 and 0.025 +- 0.046 on SimLex here (20 draws), 0 on analogies
    assert ours["ws353"] > 0.18 and ours["ws353"] > chance["ws353"] + 0.1
    assert ours["simlex999"] > 0.05
    assert ours["google"] > 0.005 and ours["google"] > 5 * chance["google"]


def test_the_held_out_loss_falls_every_epoch_where_the_running_loss_need_not(lee_corpus):
    """The reported running loss carries a discount that grows with the learning rate; the held-out loss of
    each epoch's final vectors (fixed val windows and noise words) is the one that tracks the vectors."""
    from w2v.heldout import HeldOutWindows

    config = small(method="skipgram", epochs=5)
    table = train(lee_corpus, config, progress=False)
    heldout = table.meta["heldout_loss_per_epoch"]
    assert len(heldout) == 5 and all(b < a for a, b in zip(heldout, heldout[1:])), heldout
    # by hand for one window: skip-gram averages over (context, centre) pairs, CBOW over centres
    rng = np.random.default_rng(0)
    syn0, syn1 = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    windows = HeldOutWindows.__new__(HeldOutWindows)
    windows.centres, windows.contexts, windows.noise = np.array([2]), np.array([[1, -1, 3, 4]]), np.array([[5]])
    softplus = lambda z: np.log1p(np.exp(z))  # noqa: E731
    pairs = [softplus(-syn0[c] @ syn1[2]) + softplus(syn0[c] @ syn1[5]) for c in (1, 3, 4)]
    assert windows.loss(syn0, syn1, skipgram=True) == pytest.approx(np.mean(pairs))
    h = syn0[[1, 3, 4]].mean(axis=0)
    assert windows.loss(syn0, syn1, skipgram=False) == pytest.approx(softplus(-h @ syn1[2]) + softplus(h @ syn1[5]))
