"""The bench's study part: real study runs at --jobs 1 and 2 in turn, and where their time went."""

from __future__ import annotations

import pytest

from bench.study import bench_study


def test_the_study_part_times_each_jobs_count_in_turn_and_keeps_every_timing(tmp_path):
    lines = []
    r = bench_study(tmp_path, runs=2, tokens=2048, repeats=2, log=lines.append)
    assert set(r["tokens_per_second"]) == {"1", "2"} and all(len(v) == 2 for v in r["tokens_per_second"].values())
    assert r["best_jobs"] in (1, 2) and len(r["time_shares"]["2"]) == 2
    assert [line.split(":")[0].strip() for line in lines] == ["--jobs 1", "--jobs 2", "--jobs 1", "--jobs 2"]
    split = r["time_shares"]["2"][0]
    assert split["jobs"] == 2 and split["runs"] == 2
    shares = [split[k] for k in ("training_steps", "val_evaluations", "test_and_files", "start_up_and_idle")]
    assert all(0 <= x <= 1 for x in shares) and sum(shares) == pytest.approx(1.0)
