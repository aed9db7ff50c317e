"""The bench's study part: real study runs at --jobs 1 and 2 in turn, and where their time went."""

from __future__ import annotations

import pytest

from bench.study import bench_study, time_shares


def test_time_shares_split_the_workers_time_by_what_the_results_record():
    results = [{"train_seconds": 6.0, "eval_seconds": 1.0}, {"train_seconds": 5.0, "eval_seconds": 2.0}]
    shares = time_shares(10.0, 2, results)  # two workers for 10 s: 20 worker-seconds, 11 training, 3 evaluating
    assert shares["training_steps"] == pytest.approx(0.55) and shares["val_evaluations"] == pytest.approx(0.15)
    assert shares["other"] == pytest.approx(0.30) and shares["wall_seconds"] == 10.0


def test_the_study_part_times_each_jobs_count_in_turn_and_keeps_every_timing(tmp_path):
    lines = []
    r = bench_study(tmp_path, runs=2, tokens=2048, repeats=2, log=lines.append)
    assert set(r["tokens_per_second"]) == {"1", "2"} and all(len(v) == 2 for v in r["tokens_per_second"].values())
    assert r["best_jobs"] in (1, 2) and len(r["time_shares"]["2"]) == 2
    assert [line.split(":")[0].strip() for line in lines] == ["--jobs 1", "--jobs 2", "--jobs 1", "--jobs 2"]
    share = r["time_shares"]["1"][0]
    assert 0 < share["training_steps"] < 1 and share["training_steps"] + share["val_evaluations"] <= 1
