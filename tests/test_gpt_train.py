"""The trainer: schedule, batches, files, skip, exact resume, divergence, bad tables and checkpoints."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from base.errors import InputError
from corpus import PreparedCorpus
from gpt.checkpoint import load_model, read_checkpoint
from gpt.config import GPTConfig
from gpt.data import batch_offsets, eval_windows, frequent_ids, get_batch
from gpt.embedding import align_table
from gpt.train import CURVE_COLUMNS, RunFiles, lr_at
from tests.conftest import train_run
from vectors import EmbeddingTable

# 24 steps of 8 x 16 tokens; 8 evaluations after step 0, geometrically spaced.
TINY = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=8, tokens=8 * 16 * 24, evals=8,
                 eval_windows=8, warmup_fraction=0.1, lr=2e-2, frequent_words=100, dropout=0.1)


def quiet_train(run_dir, config=TINY, **kwargs):
    return train_run(run_dir, config, log=lambda message: None, **kwargs)


def read_curve(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_warmup_then_cosine():
    config = GPTConfig(tokens=100 * 4096, batch_size=32, warmup_fraction=0.1, lr=1e-3, min_lr_ratio=0.1)
    lrs = [lr_at(config, s) for s in range(config.steps)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(lrs[:9], lrs[1:10]))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] == pytest.approx(1e-4, rel=0.01)


def test_batches_are_seeded_windows():
    ids = np.arange(1000, dtype=np.int32)
    a = batch_offsets(5, 3, len(ids), 16, 8)
    assert np.array_equal(a, batch_offsets(5, 3, len(ids), 16, 8))
    assert not np.array_equal(a, batch_offsets(5, 4, len(ids), 16, 8))
    assert not np.array_equal(a, batch_offsets(6, 3, len(ids), 16, 8))
    assert a.min() >= 0 and a.max() + 16 < len(ids)
    x, y = get_batch(ids, a, 16, "cpu")
    assert x.shape == y.shape == (8, 16) and torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(x[:, 0], torch.from_numpy(a))
    with pytest.raises(InputError, match="fewer than context"):
        batch_offsets(0, 0, 10, 16, 8)


def test_eval_windows_cover_the_split_once():
    ids = np.arange(100)
    windows = eval_windows(ids, 16)
    targets = windows[:, 1:].ravel()
    assert len(set(targets.tolist())) == len(targets)  # no target twice
    assert windows.shape[1] == 17 and targets.min() == 1
    assert len(eval_windows(ids, 16, max_windows=2)) == 2
    assert eval_windows(np.arange(5), 16).shape == (1, 5)  # a tiny split: one short window
    mask = frequent_ids(np.array([5, 9, 1, 9]), 2)
    assert mask.tolist() == [False, True, False, True]


def test_training_writes_its_files_and_skips_when_up_to_date(run_dir):
    result = quiet_train(run_dir)
    files = RunFiles.of(run_dir, "learned", 0)
    rows = read_curve(files.curve)
    assert rows[0][:3] == ["tokens", "step", "val_loss"] and tuple(rows[0]) == CURVE_COLUMNS
    assert [int(r[1]) for r in rows[1:]] == TINY.eval_steps() == [0, 1, 2, 3, 5, 7, 11, 16, 24]
    assert [int(r[0]) for r in rows[1:]] == [128 * step for step in TINY.eval_steps()]
    assert float(rows[-1][2]) < float(rows[1][2]) - 1.0  # it learns
    record = json.loads(files.config.read_text())
    assert record["config"] == TINY.to_dict() and record["head"] == "tied"
    for key in ("test_loss", "test_ppl", "train_seconds", "eval_seconds", "tokens", "trainable_parameters",
                "test_loss_frequent", "test_loss_rare"):
        assert result[key] is not None, key
    assert result["trainable_token_rows"] == record["vocab_size"]
    assert json.loads(files.result.read_text())["test_loss"] == result["test_loss"]
    # The test loss is the saved weights' mean cross-entropy over the targets of the whole test split:
    # recomputed here from the model's logits by torch's cross_entropy (not the model's chunked loss).
    model, _ = load_model(files.checkpoint)
    prepared = PreparedCorpus.open(run_dir / "corpus")
    windows = eval_windows(np.asarray(prepared.test_ids), TINY.context)
    targets = torch.from_numpy(windows[:, 1:])
    with torch.no_grad():
        logits = model(torch.from_numpy(windows[:, :-1]))
    losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").double()
    frequent = torch.from_numpy(frequent_ids(np.asarray(prepared.vocab.counts), TINY.frequent_words))[targets]
    assert len(prepared.test_ids) == 3546  # 221 windows of 16 targets; the last 9 tokens fill no window
    assert result["test_tokens"] == targets.numel() == 221 * 16
    assert result["test_loss"] == pytest.approx(losses.mean().item(), rel=1e-5)
    assert result["test_ppl"] == pytest.approx(np.exp(losses.mean().item()), rel=1e-5)
    assert result["test_loss_frequent"] == pytest.approx(losses[frequent.flatten()].mean().item(), rel=1e-5)
    assert result["test_loss_rare"] == pytest.approx(losses[~frequent.flatten()].mean().item(), rel=1e-5)
    stamp = files.checkpoint.stat().st_mtime_ns
    messages = []
    again = train_run(run_dir, TINY, log=messages.append)
    assert again["test_loss"] == result["test_loss"] and "up to date" in messages[0]
    assert files.checkpoint.stat().st_mtime_ns == stamp
    model, record = load_model(files.checkpoint)
    assert not model.training and record["variant"] == "learned"


def test_resume_after_a_kill_gives_the_same_run(run_dir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(run_dir / "corpus", other / "corpus")
    full = quiet_train(run_dir)
    assert quiet_train(other, stop_after=11) is None  # "killed" after step 11 (between evaluations)
    assert read_checkpoint(RunFiles.of(other, "learned", 0).checkpoint)["step"] == 11
    assert not RunFiles.of(other, "learned", 0).result.exists()
    resumed = quiet_train(other)
    a, b = RunFiles.of(run_dir, "learned", 0), RunFiles.of(other, "learned", 0)
    curve_a = [row[:-1] for row in read_curve(a.curve)]  # all but the wall-clock seconds
    curve_b = [row[:-1] for row in read_curve(b.curve)]
    assert curve_a == curve_b
    state_a, state_b = read_checkpoint(a.checkpoint)["model"], read_checkpoint(b.checkpoint)["model"]
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    assert full["test_loss"] == resumed["test_loss"]


def test_a_frozen_table_comes_out_of_training_unchanged(run_dir, lee_corpus):
    words = [w for w in lee_corpus.vocab.tokens[3:] if not w.startswith("a")]  # some rows stay trainable
    matrix = np.random.default_rng(0).normal(size=(len(words), 16)).astype(np.float32)
    table = EmbeddingTable(words, matrix, {"method": "test"})
    table.save(run_dir / "embeddings" / "test.npz")
    config = TINY.replace(embedding="frozen", table="test", tokens=8 * 16 * 4)
    result = quiet_train(run_dir, config)
    assert result["variant"] == "test-frozen" and result["head"] == "untied"
    state = read_checkpoint(RunFiles.of(run_dir, "test-frozen", 0).checkpoint)
    aligned = align_table(table, lee_corpus.vocab.tokens, config)
    found = torch.from_numpy(aligned.found)
    assert torch.equal(state["model"]["tok.frozen"][found], torch.from_numpy(aligned.matrix[aligned.found]))
    assert state["record"]["table"]["sha256"] == aligned.sha256


def test_a_projected_table_trains(run_dir, lee_corpus):
    words = lee_corpus.vocab.tokens[3:]
    table = EmbeddingTable(words, np.random.default_rng(0).normal(size=(len(words), 8)), {"method": "narrow"})
    table.save(run_dir / "embeddings" / "narrow.npz")
    config = TINY.replace(embedding="init", table="narrow", project=True, tokens=8 * 16 * 4)
    result = quiet_train(run_dir, config)
    assert result["variant"] == "narrow-init-proj" and result["head"] == "tied"
    record = json.loads(RunFiles.of(run_dir, "narrow-init-proj", 0).config.read_text())
    assert record["table"]["dim"] == 8 and record["config"]["project"] is True


def test_divergence_stops_with_one_clear_line(run_dir):
    with pytest.raises(InputError, match="training diverged") as info:
        quiet_train(run_dir, TINY.replace(lr=1e30, warmup_fraction=0.0, grad_clip=0.0))
    assert "\n" not in str(info.value)


def test_a_table_from_another_corpus_is_refused(run_dir, tmp_path):
    table = EmbeddingTable(["zyzzyva", "quux"], np.ones((2, 16), dtype=np.float32), {})
    path = tmp_path / "other.npz"
    table.save(path)
    with pytest.raises(InputError):
        quiet_train(run_dir, TINY.replace(embedding="init", table=str(path)))
    with pytest.raises(InputError, match="no table"):
        quiet_train(run_dir, TINY.replace(embedding="init", table="cbow"))


def test_a_corrupt_checkpoint_is_bad_input(run_dir):
    files = RunFiles.of(run_dir, "learned", 0)
    files.directory.mkdir(parents=True)
    files.checkpoint.write_bytes(b"not a checkpoint at all")
    with pytest.raises(InputError, match="corrupt"):
        quiet_train(run_dir)
    with pytest.raises(InputError, match="corrupt"):
        load_model(files.checkpoint)
    torch.save({"format_version": 1}, files.checkpoint)
    with pytest.raises(InputError, match="not a w2v-gpt checkpoint"):
        load_model(files.checkpoint)


def test_a_frozen_pretrained_table_trains_exactly_its_specials_and_untrained_rows(pretrained_run, lee_corpus):
    """A real skip-gram table of the run (rows for every vocabulary entry, specials untrained): the frozen
    run updates the specials and the rows the trainer never trained, and nothing else of the embedding."""
    from gpt.model import GPT

    run_dir = pretrained_run  # its skip-gram table: pipelines.pretrain at dim 16, one epoch, seed 0
    table = EmbeddingTable.load(run_dir / "embeddings" / "skipgram.npz")
    vocab = lee_corpus.vocab
    assert table.words == list(vocab.tokens) and table.trained is not None
    assert not table.trained[[vocab.id_of(s) for s in vocab.specials]].any()
    expected = sorted(set(np.flatnonzero(~table.trained)) | {vocab.id_of(s) for s in vocab.specials})

    config = TINY.replace(embedding="frozen", table="skipgram", dropout=0.0)
    result = quiet_train(run_dir, config)
    assert result["trainable_token_rows"] == len(expected)
    aligned = align_table(table, vocab.tokens, config, vocab.specials)
    before = GPT(config, len(vocab), aligned.dim, torch.from_numpy(aligned.trainable))
    before.init_weights(aligned)
    model, record = load_model(RunFiles.of(run_dir, "skipgram-frozen", 0).checkpoint)
    assert record["table"]["trainable_rows"] == len(expected)
    assert model.tok.trainable_ids.tolist() == expected
    rows_before, rows_after = before.tok.rows().detach(), model.tok.rows().detach()
    changed = set(np.flatnonzero((rows_before != rows_after).any(dim=1).numpy()))
    assert changed <= set(expected)  # nothing of the table moved
    ids = np.asarray(lee_corpus.train_ids)
    inputs = set()  # every id the run's batches fed in: each of those trainable rows got a gradient
    for step in range(config.steps):
        offsets = batch_offsets(config.seed, step, len(ids), config.context, config.batch_size)
        inputs |= set(get_batch(ids, offsets, config.context, "cpu")[0].unique().tolist())
    assert vocab.eos_id in changed and changed == {i for i in expected if i in inputs}


def test_the_evaluation_schedule_is_dense_early_and_resolved_at_every_budget():
    from gpt.config import eval_schedule

    default = GPTConfig(tokens=400_000)  # the compare budget: 391 steps
    steps = default.eval_steps()
    assert steps[0] == 0 and steps[-1] == default.steps == 391 and len(steps) >= 20
    assert all(a < b for a, b in zip(steps, steps[1:]))
    gaps = np.diff(steps[1:]) / np.asarray(steps[1:-1])  # relative spacing: geometric, at most ~30%
    assert gaps[5:].max() < 0.35 and steps[1:6] == [1, 2, 3, 4, 5]
    assert eval_schedule(5, 24) == [0, 1, 2, 3, 4, 5]  # fewer steps than evaluations: every step
    assert eval_schedule(100, 1) == [0, 100]
    assert eval_schedule(24, 8) == [0, 1, 2, 3, 5, 7, 11, 16, 24]  # worked by hand: ratio 24^(1/8)


def test_target_groups_report_their_own_test_loss(run_dir):
    """A caller's target groups: every target (the whole test loss again), no target (None), and the
    frequent words (the same as test_loss_frequent, computed by the trainer's own split)."""
    import dataclasses

    from gpt.data import frequent_ids
    from gpt.runs import plan_run
    from gpt.train import TrainOptions, train

    prepared = PreparedCorpus.open(run_dir / "corpus")
    config = TINY.replace(tokens=8 * 16 * 4)
    run = plan_run(run_dir, config, "learned", prepared=prepared, log=lambda m: None)
    vocab = len(prepared.vocab)
    groups = {"all": np.ones(vocab, dtype=bool), "none": np.zeros(vocab, dtype=bool),
              "top": frequent_ids(np.asarray(prepared.vocab.counts), config.frequent_words)}
    result = train(dataclasses.replace(run, target_groups=groups), TrainOptions(log=lambda m: None))
    assert result["test_loss_all"] == pytest.approx(result["test_loss"], rel=1e-12) and result["all_share"] == 1.0
    assert result["test_loss_none"] is None and result["none_share"] == 0.0
    assert result["test_loss_top"] == pytest.approx(result["test_loss_frequent"], rel=1e-12)
    assert result["top_share"] == pytest.approx(result["frequent_fraction"])


def test_a_run_with_a_table_must_be_handed_it(run_dir):
    from gpt.runs import plan_run

    with pytest.raises(ValueError, match="without a table"):
        plan_run(run_dir, TINY.replace(embedding="init", table="glove"), "glove-init", log=lambda m: None)


def test_a_changed_field_left_out_at_its_default_is_named(tmp_path):
    """A run recorded with --keep-best, asked without it (the field is then left out of the record): the
    refusal names keep_best (before: "another format")."""
    from base.atomic import write_json
    from gpt.runs import other_settings

    files = RunFiles(tmp_path / "gpt" / "learned" / "seed0")
    theirs = {"config": TINY.replace(keep_best=True).to_dict(), "variant": "learned"}
    write_json(files.config, theirs)
    ours = {"config": TINY.to_dict(), "variant": "learned"}
    assert "keep_best" not in ours["config"]
    assert other_settings(files, ours) == "keep_best True there, False asked"
