"""The GloVe trainer: table contract, quality on planted structure, determinism, resume, bad input."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from corpus import PreparedCorpus
from base.errors import InputError
from corpus.prepare import PrepareConfig, prepare_corpus
from corpus.sources import resolve_sources
from glove.config import GloveConfig
from glove.train import CHECKPOINT_NAME, train

REPORT_KEYS = {"format_version", "method", "config", "corpus_hash", "tokens", "epochs", "train_seconds",
               "words_per_second", "loss_per_epoch", "count_seconds", "count_tokens_per_second", "nonzeros",
               "entries_per_second"}
GROUPS, PER_GROUP = 6, 8


@pytest.fixture(scope="module")
def topics(tmp_path_factory):
    """A corpus with planted structure: each document draws its words from one of six topics."""
    rng = np.random.default_rng(0)
    docs = []
    for _ in range(240):
        group = rng.integers(GROUPS)
        words = ["bcdfgh"[group] + "o" + "klmnprst"[rng.integers(PER_GROUP)] for _ in range(25)]
        docs.append(" ".join(words))
    root = tmp_path_factory.mktemp("topics")
    (root / "topics.txt").write_text("\n".join(docs) + "\n", encoding="utf-8")
    config = PrepareConfig(min_count=1, documents="lines", val_fraction=0.02, test_fraction=0.02)
    sources = resolve_sources(str(root / "topics.txt"), documents="lines")
    return prepare_corpus(sources, root / "corpus", config)


def fresh_copy(prepared, tmp_path) -> PreparedCorpus:
    """A private copy, so cache files written by a test stay out of the shared fixture."""
    shutil.copytree(prepared.path, tmp_path / "corpus", ignore=shutil.ignore_patterns("cooccurrence-*"))
    return PreparedCorpus.open(tmp_path / "corpus")


def neighbour_precision(table) -> float:
    """Share of each topic word's 5 nearest neighbours (cosine) that belong to its topic (first letter)."""
    words = [w for w in table.words if not w.startswith("<")]
    assert len(words) == GROUPS * PER_GROUP
    m = np.stack([table.vector(w) for w in words])
    m = m / np.linalg.norm(m, axis=1, keepdims=True)
    sims = m @ m.T
    np.fill_diagonal(sims, -np.inf)
    hits = [sum(words[j][0] == w[0] for j in np.argsort(-sims[i])[:5]) for i, w in enumerate(words)]
    return sum(hits) / (5 * len(words))


FAST = dict(dim=16, window=5, x_max=10.0, epochs=15, threads=1)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_table_contract_and_planted_structure(topics, backend):
    config = GloveConfig(**FAST, backend=backend, device="cpu", batch_size=256)
    table = train(topics, config, progress=False)
    assert table.words == topics.vocab.tokens and table.matrix.shape == (len(topics.vocab), 16)
    assert table.matrix.dtype == np.float32 and np.isfinite(table.matrix).all()
    meta = table.meta
    assert REPORT_KEYS <= set(meta) and meta["method"] == "glove" and meta["format_version"] == 1
    assert meta["config"] == config.to_dict() and GloveConfig.from_dict(meta["config"]) == config
    assert meta["corpus_hash"] == topics.content_hash and meta["tokens"] == len(topics.train_ids)
    assert len(meta["loss_per_epoch"]) == 15 and meta["loss_per_epoch"][-1] < 0.5 * meta["loss_per_epoch"][0]
    assert meta["entries_per_second"] == pytest.approx(meta["nonzeros"] * 15 / meta["train_seconds"])
    assert meta["words_per_second"] == pytest.approx(meta["tokens"] * 15 / meta["train_seconds"])
    assert meta["backend"] == backend and meta["export_vectors"] == "sum"
    # the specials have no co-occurrences: filled rows, on the scale of the trained ones
    assert meta["untrained_rows"] == 3
    scale = table.matrix[3:].std()
    assert 0.3 * scale < table.matrix[:3].std() < 3 * scale
    precision = neighbour_precision(table)
    assert precision > 0.9, precision  # chance is 7/47


def test_fixed_seed_is_bit_identical_with_one_thread(lee_corpus, tmp_path):
    config = GloveConfig(dim=8, window=4, epochs=2, threads=1, seed=5)
    a = train(lee_corpus, config, progress=False)
    b = train(lee_corpus, config, progress=False)
    assert np.array_equal(a.matrix, b.matrix) and a.meta["loss_per_epoch"] == b.meta["loss_per_epoch"]
    assert b.meta["cooccurrence_cached"] is True
    c = train(lee_corpus, GloveConfig(dim=8, window=4, epochs=2, threads=1, seed=6), progress=False)
    assert not np.array_equal(a.matrix, c.matrix)
    torch_cfg = GloveConfig(dim=8, window=4, epochs=1, seed=5, backend="torch", device="cpu", batch_size=512,
                            threads=1)
    assert np.array_equal(train(lee_corpus, torch_cfg, progress=False).matrix,
                          train(lee_corpus, torch_cfg, progress=False).matrix)


def test_resume_matches_an_uninterrupted_run(topics, tmp_path):
    base = dict(FAST, epochs=4)
    straight = train(topics, GloveConfig(**base), progress=False)
    ckpt = tmp_path / "ckpt"
    first = train(topics, GloveConfig(**dict(base, epochs=2)), checkpoint_dir=ckpt, progress=False)
    assert (ckpt / CHECKPOINT_NAME).exists() and first.meta["resumed_from_epoch"] == 0
    resumed = train(topics, GloveConfig(**base), checkpoint_dir=ckpt, progress=False)
    assert resumed.meta["resumed_from_epoch"] == 2
    assert np.array_equal(resumed.matrix, straight.matrix)
    assert resumed.meta["loss_per_epoch"] == straight.meta["loss_per_epoch"]
    # a finished run exports another way without training; in + out = sum on the trained rows
    inner = train(topics, GloveConfig(**base, export_vectors="in"), checkpoint_dir=ckpt, progress=False)
    outer = train(topics, GloveConfig(**base, export_vectors="out"), checkpoint_dir=ckpt, progress=False)
    assert inner.meta["resumed_from_epoch"] == 4
    assert np.allclose(inner.matrix[3:] + outer.matrix[3:], straight.matrix[3:], atol=1e-6)
    # other training settings do not resume from it
    other = train(topics, GloveConfig(**dict(base, lr=0.04, epochs=1)), checkpoint_dir=ckpt, progress=False)
    assert other.meta["resumed_from_epoch"] == 0
    (ckpt / CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="corrupt GloVe checkpoint"):
        train(topics, GloveConfig(**base), checkpoint_dir=ckpt, progress=False)


def test_nan_loss_is_input_error(topics):
    config = GloveConfig(**dict(FAST, epochs=3), lr=1e38, grad_clip=1e38)
    with pytest.raises(InputError, match="NaN at epoch 1"):
        train(topics, config, progress=False)


def test_config_validation_and_round_trip():
    config = GloveConfig(export_vectors="out", distance_weighting="uniform", threads=2)
    assert GloveConfig.from_dict(config.to_dict()) == config
    assert config.to_dict()["export_vectors"] == "out"
    for bad in (dict(window=0), dict(window=-3), dict(dim=0), dict(epochs=0), dict(x_max=0.0),
                dict(alpha=float("nan")), dict(lr=-1.0), dict(threads=0), dict(memory_gb=0),
                dict(export_vectors="both"), dict(device="tpu"), dict(seed=-1), dict(window=2.5)):
        with pytest.raises(InputError):
            GloveConfig(**bad)
    with pytest.raises(InputError, match="unknown"):
        GloveConfig.from_dict({"windows": 3})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_a_device_is_input_error(topics):
    with pytest.raises(InputError, match="cuda"):
        train(topics, GloveConfig(**FAST, device="cuda"), progress=False)
    with pytest.raises(InputError, match="numba GloVe trainer runs on the CPU only"):
        train(topics, GloveConfig(**FAST, device="cuda", backend="numba"), progress=False)


@pytest.mark.slow
def test_default_corpus_table_beats_random_vectors(tmp_path):
    from bench.quality import evaluate
    from vectors.table import EmbeddingTable

    prepared = prepare_corpus(resolve_sources(None), tmp_path / "corpus", PrepareConfig())
    table = train(prepared, GloveConfig(dim=50, x_max=10.0, threads=2), progress=False)
    rng = np.random.default_rng(0)
    ours = evaluate(table)
    chance = evaluate(EmbeddingTable(table.words, rng.normal(0, table.matrix.std(), table.matrix.shape)))
    print(ours, chance)
    assert ours["ws353"] > 0.12 and ours["ws353"] > chance["ws353"] + 0.08
    assert ours["simlex999"] > 0.04 and ours["simlex999"] > chance["simlex999"] + 0.04
    assert ours["google"] > 0.005 and ours["google"] > 5 * chance["google"]


def test_checkpoint_with_wrong_shapes_is_refused(topics, tmp_path):
    ckpt = tmp_path / "ckpt"
    train(topics, GloveConfig(**dict(FAST, epochs=1)), checkpoint_dir=ckpt, progress=False)
    with np.load(ckpt / CHECKPOINT_NAME) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["W"] = arrays["W"][:-1]
    np.savez(ckpt / CHECKPOINT_NAME, **arrays)
    with pytest.raises(InputError, match="corrupt GloVe checkpoint"):
        train(topics, GloveConfig(**dict(FAST, epochs=2)), checkpoint_dir=ckpt, progress=False)
