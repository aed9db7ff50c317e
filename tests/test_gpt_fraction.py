"""The data size as a run setting: a seeded, nested choice of whole train documents (--fraction), the test
loss of the best val evaluation (--keep-best), and default runs (and their records) as before."""

from __future__ import annotations

import csv
import dataclasses
import math
import shutil
from collections import Counter

import numpy as np
import pytest

from base.errors import InputError
from corpus import PreparedCorpus
from gpt.checkpoint import read_checkpoint
from gpt.config import GPTConfig, config_flags
from corpus.fraction import fraction_ids
from gpt.train import RunFiles
from study.variants import variant_name
from tests.conftest import train_run
from tests.conftest import assert_one_line_error, run_cli

# 32 steps of 4 x 16 tokens (2048 tokens), 4 evaluations after step 0.
TINY = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=2048, evals=4,
                 eval_windows=4, lr=2e-2, frequent_words=100)

# GPTConfig's fields before fraction and keep_best: a default config's dict (a run's record) holds these alone
OLD_KEYS = ["d_model", "n_layer", "n_head", "context", "dropout", "bias", "init_std", "embedding", "table",
            "table_seed", "rescale", "project", "position", "rope_base", "tokens", "batch_size", "lr",
            "min_lr_ratio", "warmup_fraction", "weight_decay", "beta1", "beta2", "grad_clip", "evals",
            "eval_windows", "checkpoint_interval", "frequent_words", "seed"]


def quiet_train(run_dir, config=TINY, **kwargs):
    return train_run(run_dir, config, log=lambda message: None, **kwargs)


def copy_run(run_dir, tmp_path, name):
    other = tmp_path / name
    shutil.copytree(run_dir / "corpus", other / "corpus")
    return other


def documents(ids: np.ndarray, eos: int) -> list[tuple[int, ...]]:
    ends = np.flatnonzero(ids == eos) + 1
    return [tuple(doc) for doc in np.split(np.asarray(ids), ends)[:-1]]


def val_losses(files: RunFiles) -> list[tuple[int, float]]:
    with open(files.curve, newline="") as handle:
        return [(int(r["step"]), float(r["val_loss"])) for r in csv.DictReader(handle)]


def test_a_default_config_records_exactly_the_old_keys():
    assert list(GPTConfig().to_dict()) == OLD_KEYS
    assert [f.name for f in dataclasses.fields(GPTConfig)] == OLD_KEYS + ["fraction", "keep_best", "table_data",
                                                                        "precision"]
    assert GPTConfig.from_dict(GPTConfig().to_dict()) == GPTConfig()  # absent: the defaults
    assert GPTConfig(fraction=1.0).to_dict() == GPTConfig().to_dict()
    changed = GPTConfig(fraction=0.25, keep_best=True)
    assert changed.to_dict()["fraction"] == 0.25 and changed.to_dict()["keep_best"] is True
    assert GPTConfig.from_dict(changed.to_dict()) == changed
    assert "--fraction" not in config_flags(GPTConfig()) and "--keep-best" not in config_flags(GPTConfig())


@pytest.mark.parametrize("fraction", [0, 0.0, -0.5, 1.5, float("nan"), float("inf")])
def test_bad_fractions_are_refused(fraction):
    with pytest.raises(InputError, match="fraction") as info:
        GPTConfig(fraction=fraction)
    assert "\n" not in str(info.value)


def test_a_bad_fraction_on_the_command_line_is_one_line(run_dir):
    result = run_cli("pipelines.train_gpt", "--run-dir", str(run_dir), "--fraction", "0", "--quiet")
    assert_one_line_error(result)
    assert "fraction" in result.stderr


def test_fractions_are_nested_whole_documents_fixed_by_the_seed():
    # 301 documents of 1 to 5 ids, document k made of the id k + 1 alone, each ended by <eos> (0)
    ids = np.concatenate([[k + 1] * (k % 5 + 1) + [0] for k in range(301)]).astype(np.int32)
    assert fraction_ids(ids, 0, 1.0, 0) is ids  # the very array: a full-data run is as before
    chosen = {}
    for f in (1 / 8, 1 / 4, 1 / 2, 0.7, 0.99):
        part = fraction_ids(ids, 0, f, 0)
        assert part.dtype == ids.dtype and part[-1] == 0  # every chosen document ends with <eos>
        docs = documents(part, 0)
        assert sum(map(len, docs)) == len(part)
        places = [doc[0] - 1 for doc in docs]
        assert all(doc == (k + 1,) * (k % 5 + 1) + (0,) for k, doc in zip(places, docs))  # whole documents
        assert places == sorted(set(places))  # corpus order, each once
        assert len(docs) == math.ceil(f * 301)
        assert np.array_equal(part, fraction_ids(ids.copy(), 0, f, 0))  # the seed and the corpus alone
        chosen[f] = set(places)
    assert chosen[1 / 8] < chosen[1 / 4] < chosen[1 / 2] < chosen[0.7] < chosen[0.99]
    assert chosen[1 / 4] != {doc[0] - 1 for doc in documents(fraction_ids(ids, 0, 1 / 4, 1), 0)}  # seed 1
    assert len(documents(fraction_ids(ids, 0, 1e-6, 0), 0)) == 1  # at least one document


def test_a_fraction_of_the_corpus_is_some_of_its_documents(lee_corpus):
    ids, eos = lee_corpus.train_ids, lee_corpus.vocab.eos_id
    assert fraction_ids(ids, eos, 1.0, 3) is ids
    all_docs = Counter(documents(ids, eos))
    previous = Counter()
    for f in (1 / 8, 1 / 4, 1 / 2):
        part = fraction_ids(ids, eos, f, 3)
        docs = Counter(documents(part, eos))
        assert part[-1] == eos and sum(len(d) * n for d, n in docs.items()) == len(part)  # whole documents
        assert docs.total() == math.ceil(f * all_docs.total())
        assert previous <= docs <= all_docs  # nested
        previous = docs


def test_a_fraction_is_the_same_for_every_arm_of_a_seed(run_dir, tmp_path):
    half = TINY.replace(fraction=0.5)
    learned = quiet_train(run_dir, half)
    rope = quiet_train(run_dir, half.replace(position="rope"))
    prepared = PreparedCorpus.open(run_dir / "corpus")
    expected = len(fraction_ids(prepared.train_ids, prepared.vocab.eos_id, 0.5, 0))
    assert learned["train_tokens"] == rope["train_tokens"] == expected < len(prepared.train_ids)
    assert learned["fraction"] == 0.5 and learned["record"]["config"]["fraction"] == 0.5
    assert 0 < learned["rare_in_fraction_share"] < 1 and math.isfinite(learned["test_loss_rare_in_fraction"])
    assert "test_loss_best_val" not in learned  # no keep_best, no extra test pass


def test_the_default_config_trains_as_before(run_dir, tmp_path):
    default = quiet_train(run_dir)
    explicit = quiet_train(copy_run(run_dir, tmp_path, "explicit"), TINY.replace(fraction=1.0))
    assert explicit["test_loss"] == default["test_loss"] and explicit["curve"] == default["curve"]
    assert list(default["record"]["config"]) == OLD_KEYS
    assert default["train_tokens"] == len(PreparedCorpus.open(run_dir / "corpus").train_ids)
    assert default["fraction"] == 1.0
    for key in ("test_loss_best_val", "best_val_step", "best_val_loss", "test_loss_rare_in_fraction",
                "rare_in_fraction_share"):
        assert key not in default


def test_keep_best_reports_the_best_evaluation(run_dir):
    result = quiet_train(run_dir, TINY.replace(keep_best=True))
    files = RunFiles.of(run_dir, "learned", 0)
    curve = val_losses(files)
    best = int(np.argmin([loss for _, loss in curve]))
    assert result["best_val_step"] == curve[best][0]
    assert result["best_val_loss"] == pytest.approx(curve[best][1], rel=1e-5)
    assert best == len(curve) - 1  # this run improves to the end: its best is the final model,
    assert result["test_loss_best_val"] == result["test_loss"]  # so the same test loss, exactly
    saved = read_checkpoint(files.checkpoint)["best"]
    assert saved["step"] == result["best_val_step"] and saved["model"].keys() == read_checkpoint(
        files.checkpoint)["model"].keys()


# A hot constant lr on 1/32 of the documents (about 2.5k ids) for 160 steps: the val loss is lowest at step 40
# (evaluations at 0 1 2 3 4 6 10 16 25 40 64 101 160) and rises after it.
OVERFIT = TINY.replace(fraction=1 / 32, keep_best=True, lr=0.1, warmup_fraction=0.0, min_lr_ratio=1.0,
                       tokens=64 * 160, evals=12)


def test_keep_best_finds_an_earlier_best_when_the_run_overfits(run_dir):
    result = quiet_train(run_dir, OVERFIT)
    curve = val_losses(RunFiles.of(run_dir, variant_name(OVERFIT), OVERFIT.seed))  # gpt/learned-frac0.03125/seed0
    best = int(np.argmin([loss for _, loss in curve]))
    assert best < len(curve) - 1  # an earlier evaluation
    assert result["best_val_step"] == curve[best][0]
    assert result["best_val_loss"] == pytest.approx(curve[best][1], rel=1e-5) and result["best_val_loss"] < \
        curve[-1][1]
    assert result["test_loss_best_val"] < result["test_loss"]  # the overfit final model tests worse


def test_a_resumed_keep_best_run_finds_the_same_best(run_dir, tmp_path):
    full = quiet_train(run_dir, OVERFIT)
    other = copy_run(run_dir, tmp_path, "other")
    assert quiet_train(other, OVERFIT, stop_after=50) is None  # "killed" after step 50, past the best
    saved = read_checkpoint(RunFiles.of(other, variant_name(OVERFIT), OVERFIT.seed).checkpoint)["best"]
    assert saved["step"] == full["best_val_step"]  # the best is in the checkpoint, not only in memory
    resumed = quiet_train(other, OVERFIT)
    for key in ("test_loss_best_val", "best_val_step", "best_val_loss", "test_loss", "train_tokens"):
        assert resumed[key] == full[key], key
