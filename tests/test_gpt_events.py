"""TensorBoard events beside curve.csv: the same numbers read back, and a resumed run logs each row once."""

from __future__ import annotations

import csv

import pytest

from conftest import train_run
from gpt.config import GPTConfig

pytest.importorskip("tensorboard")

CONFIG = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=4096, evals=6,
                   eval_windows=2, checkpoint_interval=16, seed=2)


def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _curve(folder):
    with open(folder / "curve.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_events_hold_the_curve(run_dir):
    train_run(run_dir, CONFIG, variant="tb")
    folder = run_dir / "gpt" / "tb" / "seed2"
    events, rows = _events(folder), _curve(folder)
    assert set(events) == {"loss/val", "loss/train", "lr", "tokens_per_second"}
    assert [s for s, _ in events["loss/val"]] == [int(r["tokens"]) for r in rows]
    assert [v for _, v in events["loss/val"]] == pytest.approx([float(r["val_loss"]) for r in rows], rel=1e-5)
    assert [v for _, v in events["lr"]] == pytest.approx([float(r["lr"]) for r in rows], rel=1e-5)
    trained = [r for r in rows if r["train_loss"]]
    assert [v for _, v in events["loss/train"]] == pytest.approx([float(r["train_loss"]) for r in trained], rel=1e-5)
    assert len(events["tokens_per_second"]) == len(rows) - 1 and all(v > 0 for _, v in events["tokens_per_second"])


def test_a_run_killed_between_checkpoints_logs_each_row_once(run_dir):
    """Rows logged after the last checkpoint of a killed run are logged again when it resumes; the older
    copies are purged, so the events equal those of an uninterrupted run."""
    import shutil

    whole = run_dir / "whole"
    shutil.copytree(run_dir / "corpus", whole / "corpus")
    train_run(whole, CONFIG, variant="tb")
    evals = CONFIG.eval_steps()
    e = evals[-2]  # an evaluation before the last step
    folder = run_dir / "gpt" / "tb" / "seed2"
    assert train_run(run_dir, CONFIG, variant="tb", stop_after=e - 1) is None  # checkpoint at e - 1
    saved = (folder / "checkpoint.pt").read_bytes()
    assert train_run(run_dir, CONFIG, variant="tb", stop_after=e) is None  # logs the evaluation at e
    (folder / "checkpoint.pt").write_bytes(saved)  # as if killed after e, before the next checkpoint
    train_run(run_dir, CONFIG, variant="tb")
    ours, theirs = _events(folder), _events(whole / "gpt" / "tb" / "seed2")
    for tag in ("loss/val", "loss/train", "lr"):
        assert [s for s, _ in ours[tag]] == [s for s, _ in theirs[tag]], tag
        assert [v for _, v in ours[tag]] == pytest.approx([v for _, v in theirs[tag]], rel=1e-5), tag


def test_a_fresh_start_drops_the_old_events(run_dir):
    from gpt.events import RunEvents

    folder = run_dir / "gpt" / "x"
    folder.mkdir(parents=True)
    first = RunEvents(folder)
    first.row(0, 3.0, None, 0.1, 0.0)
    first.close()
    second = RunEvents(folder)
    second.row(64, 2.0, 2.5, 0.1, 1.0)
    second.close()
    assert _events(folder)["loss/val"] == [(64, 2.0)]
    silent = RunEvents(run_dir / "gpt" / "y", enabled=False)  # tensorboard absent: nothing written
    silent.row(0, 3.0, None, 0.1, 0.0)
    silent.close()
    assert not (run_dir / "gpt" / "y").exists()
