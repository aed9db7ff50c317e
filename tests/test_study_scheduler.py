"""The study scheduler: --jobs N|auto, a failing run, a killed worker or parent, and concurrent runs."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from base.errors import InputError
from tests.conftest import REPO, assert_one_line_error, run_cli, run_module

TIMING = {"train_seconds", "eval_seconds", "tokens_per_second"}
# two learned runs of 500 tiny steps each, checkpointed every 50 steps: a few seconds each
SWEEP = ["--arms", "learned", "--budgets", "32k", "--seeds", "2", "--dim", "16", "--layers", "1", "--heads", "2",
         "--context", "16", "--batch-size", "4", "--evals", "6", "--checkpoint-interval", "50",
         "--threads-per-run", "1", "--jobs", "2", "--quiet", "--device", "cpu"]


def _results(run_dir: Path) -> dict:
    return {str(p.relative_to(run_dir)): {k: v for k, v in json.loads(p.read_text()).items() if k not in TIMING}
            for p in sorted((run_dir / "gpt").rglob("result.json"))}


def _start(run_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    # SIGINT as a terminal leaves it: a shell's background job (`make test &`) inherits it ignored, and the
    # study would then never see the signal this test sends
    return subprocess.Popen([sys.executable, "-m", "pipelines.sweep", "--run-dir", str(run_dir), *SWEEP],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _workers(parent: int) -> list[int]:
    """The pids of the parent's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _wait_for_checkpoint(run_dir: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not list((run_dir / "gpt").rglob("checkpoint.pt")):
        assert process.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


def _sigterm_pending(pid: int) -> bool:
    """Whether SIGTERM waits on a (stopped) process, for it or its threads."""
    status = Path(f"/proc/{pid}/status").read_text()
    masks = [int(line.split()[1], 16) for line in status.splitlines() if line.startswith(("SigPnd:", "ShdPnd:"))]
    return any(mask & (1 << (signal.SIGTERM - 1)) for mask in masks)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def reference(lee_corpus, tmp_path_factory):
    """The same sweep, never interrupted."""
    other = tmp_path_factory.mktemp("reference")
    shutil.copytree(lee_corpus.path, other / "corpus")
    done = run_module("pipelines.sweep", "--run-dir", str(other), *SWEEP)
    assert done.returncode == 0, done.stderr
    return _results(other)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to find the workers")
def test_a_killed_worker_stops_the_study_with_one_line_and_a_rerun_resumes_it_exactly(run_dir, reference):
    process = _start(run_dir)
    _wait_for_checkpoint(run_dir, process)
    victim = _workers(process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "worker process died" in lines[0] and "rerun" in lines[0], stderr
    again = run_module("pipelines.sweep", "--run-dir", str(run_dir), *SWEEP)
    assert again.returncode == 0, again.stderr
    assert _results(run_dir) == reference  # resumed from the checkpoints: the same numbers, bit for bit


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to find the workers")
def test_workers_end_with_a_killed_parent_and_a_rerun_resumes_exactly(run_dir, reference):
    process = _start(run_dir)
    _wait_for_checkpoint(run_dir, process)
    workers = _workers(process.pid)
    assert len(workers) == 2
    process.kill()
    process.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers):  # orphans would race the rerun over the same runs
        assert time.monotonic() < deadline, "the workers outlived the study's process"
        time.sleep(0.05)
    again = run_module("pipelines.sweep", "--run-dir", str(run_dir), *SWEEP)
    assert again.returncode == 0, again.stderr
    assert _results(run_dir) == reference


def test_a_failing_run_stops_the_study_with_its_error_and_the_finished_runs_are_kept(run_dir):
    from corpus import PreparedCorpus
    from gpt.config import GPTConfig
    from gpt.runs import finished_result
    from study.plan import Cell, resolve_run
    from study.scheduler import train_planned
    from study.settings import StudySettings

    prepared = PreparedCorpus.open(run_dir / "corpus")
    tiny = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=4096, evals=3)
    configs = [("fine", tiny), ("diverging", tiny.replace(seed=1, lr=1e30))]
    planned = [(Cell(label, config.seed, config), resolve_run(run_dir, config, label, prepared, log=lambda m: None))
               for label, config in configs]
    lines = []
    settings = StudySettings(run_dir, tiny, jobs=2, threads=1, log=lines.append)
    with pytest.raises(InputError, match="training diverged"):
        train_planned(planned, settings)
    fine, diverging = (run for _, run in planned)
    assert finished_result(fine.files, fine.record) is not None  # it was training alongside, and is kept
    assert finished_result(diverging.files, diverging.record) is None


def test_jobs_takes_a_count_or_auto_and_nothing_else(run_dir):
    for bad in ("0", "two", "-1"):
        result = run_cli("pipelines.sweep", "--run-dir", str(run_dir), "--jobs", bad, "--arms", "learned")
        assert_one_line_error(result)
        assert "--jobs" in result.stderr


def test_jobs_auto_uses_the_bench_record_of_this_machine_and_else_says_what_it_chose(tmp_path, monkeypatch):
    from study import scheduler

    monkeypatch.setenv(scheduler.JOBS_RECORD_ENV, str(tmp_path / "jobs.json"))
    monkeypatch.setattr(scheduler, "available_cores", lambda: 4)
    assert scheduler.resolve_jobs(3, "cpu") == (3, "as given")
    jobs, why = scheduler.resolve_jobs("auto", "cpu")
    assert jobs == 2 and "no make bench record" in why
    assert scheduler.resolve_jobs("auto", "cuda")[0] == 1
    path = scheduler.write_jobs_record(3, "cpu", {"1": 5000.0, "2": 8000.0, "3": 9000.0}, "2026-11-30")
    assert path == tmp_path / "jobs.json"
    record = json.loads(path.read_text())
    assert record["machine"] == {"host": socket.gethostname(), "cores": 4, "device": "cpu"}
    assert record["best_jobs"] == 3 and record["tokens_per_second"]["3"] == 9000.0
    jobs, why = scheduler.resolve_jobs("auto", "cpu")
    assert jobs == 3 and "2026-11-30" in why and str(path) in why
    assert scheduler.resolve_jobs("auto", "cuda")[0] == 1  # the record was made on the CPU
    # Another machine (2 cores, not the record's 4): the record's 3 is not used, the rule's 2 is.
    monkeypatch.setattr(scheduler, "available_cores", lambda: 2)
    jobs, why = scheduler.resolve_jobs("auto", "cpu")
    assert jobs == 2 and "no make bench record" in why and "2 or more cores" in why
    monkeypatch.setattr(scheduler, "available_cores", lambda: 1)  # the rule on a single core: one job
    jobs, why = scheduler.resolve_jobs("auto", "cpu")
    assert jobs == 1 and "no make bench record" in why and "single core" in why
    monkeypatch.setattr(scheduler, "available_cores", lambda: 4)  # the record's machine again, but the
    path.write_text("{not json", encoding="utf-8")                 # record unreadable: the rule
    jobs, why = scheduler.resolve_jobs("auto", "cpu")
    assert jobs == 2 and "no make bench record" in why


def test_each_run_is_reported_as_it_ends_not_when_the_study_does(run_dir):
    """Three runs on two workers: the first line of a trained run comes while another is still training."""
    at = SWEEP.index("--seeds") + 1
    args = SWEEP[:at] + ["3"] + SWEEP[at + 1:]
    at = args.index("--budgets") + 1  # 250 steps: the third run starts as the first ends, and takes seconds
    args[at] = "16k"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "pipelines.sweep", "--run-dir", str(run_dir), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    first = process.stdout.readline()
    while first and not first.startswith("["):  # the line that says how many train at once comes first
        first = process.stdout.readline()
    finished_then = len(list((run_dir / "gpt").rglob("result.json")))
    rest, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert first.startswith("[1/3] learned seed ") and "ETA" in first, first
    assert finished_then < 3  # the third run was still training when the first line came
    assert len([line for line in rest.splitlines() if line.startswith("[")]) == 2


def test_sigint_to_the_study_alone_stops_its_runs_in_flight_and_a_rerun_resumes_exactly(run_dir, reference):
    process = _start(run_dir)
    _wait_for_checkpoint(run_dir, process)
    workers = _workers(process.pid)
    # Freeze the workers, so a busy machine cannot let the runs finish before the signal lands: a stopped
    # worker keeps the SIGTERM the study sends it pending until it is continued.
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    process.send_signal(signal.SIGINT)  # the study's process only, as `kill -INT pid` does; not its workers
    deadline = time.monotonic() + 60
    while not all(_sigterm_pending(pid) for pid in workers):
        assert process.poll() is None and time.monotonic() < deadline, "the study did not stop its workers"
        time.sleep(0.02)
    for pid in workers:
        os.kill(pid, signal.SIGCONT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and stderr.strip().splitlines()[-1] == "interrupted", stderr
    assert not list((run_dir / "gpt").rglob("result.json"))  # the runs in flight were stopped, not awaited
    assert not any(_alive(pid) for pid in workers)
    again = run_module("pipelines.sweep", "--run-dir", str(run_dir), *SWEEP)
    assert again.returncode == 0, again.stderr
    assert _results(run_dir) == reference


def test_tables_a_study_pretrains_follow_its_threads_per_run(pretrained, tmp_path):
    """Seed 0's tables made on every core (as `make pretrain` does); the seed-1 tables a sweep trains itself
    use its --threads-per-run, so at 1 the sweep is the same at --jobs 1 and --jobs 2, tables included."""
    from vectors import EmbeddingTable

    first = tmp_path / "jobs1"
    shutil.copytree(pretrained, first)
    made = run_module("pipelines.pretrain", "--run-dir", str(first), "--dim", "16", "--epochs", "1", "--threads",
                      "2", "--x-max", "10", "--methods", "glove", "--force", "--quiet")
    assert made.returncode == 0, made.stderr
    second = tmp_path / "jobs2"
    shutil.copytree(first, second)
    args = ["--arms", "glove-init", "--budgets", "2k", *SWEEP[4:SWEEP.index("--jobs")]]
    for run, jobs in ((first, "1"), (second, "2")):
        done = run_module("pipelines.sweep", "--run-dir", str(run), *args, "--jobs", jobs)
        assert done.returncode == 0, done.stderr
    reports = [json.loads((run / "embeddings" / "seed1" / "glove.json").read_text()) for run in (first, second)]
    assert [r["config"]["threads"] for r in reports] == [1, 1]
    tables = [EmbeddingTable.load(run / "embeddings" / "seed1" / "glove.npz").matrix for run in (first, second)]
    assert (tables[0] == tables[1]).all()

    def numbers(run: Path) -> dict:  # a table file's sha256 covers its report's seconds: not compared
        results = _results(run)
        for result in results.values():
            (result["record"].get("table") or {}).pop("file_sha256", None)
        return results

    assert numbers(first) == numbers(second)


def test_the_time_split_shares_out_the_workers_time_by_what_the_runs_record():
    from study import scheduler

    # two workers for 10 s: 20 worker-seconds; two runs of 8 and 9 s in train(), of which 6 + 5 s were
    # training steps and 1 + 2 s val evaluations: 11/20, 3/20, the runs' other 3 s, and 3 s outside them
    runs = [({"train_seconds": 6.0, "eval_seconds": 1.0}, 8.0), ({"train_seconds": 5.0, "eval_seconds": 2.0}, 9.0)]
    split = scheduler.time_split(10.0, 2, runs)
    assert split == pytest.approx({"wall_seconds": 10.0, "jobs": 2, "runs": 2, "training_steps": 0.55,
                                   "val_evaluations": 0.15, "test_and_files": 0.15, "start_up_and_idle": 0.15})
    line = scheduler.describe_split(split)
    assert line.startswith("2 run(s) trained in 10 s (2 at a time): training steps 55%, val evaluations 15%")


def test_the_study_clock_adds_up_each_part_and_names_the_rest(monkeypatch):
    from study import scheduler

    now = iter([100.0, 101.0, 111.0, 112.0, 142.0, 150.0])  # start; tables 101-111; runs 112-142; end 150
    monkeypatch.setattr(scheduler.time, "perf_counter", lambda: next(now))
    clock = scheduler.StudyClock()
    with clock.part("table pretraining"):
        pass
    with clock.part("GPT runs"):
        pass
    assert clock.line() == ("time: 50 s in all: table pretraining 10 s (20%), GPT runs 30 s (60%), checks, "
                            "planning and summaries 10 s (20%)")
