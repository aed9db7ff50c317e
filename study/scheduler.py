"""How a study's planned GPT runs get trained: one after another, several at once in worker processes
(``--jobs``), or written out as commands for a cluster (``--plan``).

A run's result does not depend on how many run at once: each run's numbers are fixed by its config, its
seed and its torch thread count (``--threads-per-run``), never by its neighbours. Each run holds the lock of
its own folder while it trains (:func:`base.locks.run_lock`), so no two processes ever write one run, and
a worker exits when the study's process dies (kill -9 included), so a rerun never races an orphan.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path

from base.locks import run_lock
from base.cores import available_cores

AUTO = "auto"
JOBS_RECORD_ENV = "W2V_GPT_JOBS_RECORD"  # where make bench records the --jobs it measured fastest


def jobs_record_path() -> Path:
    """The file ``make bench`` records this machine's fastest ``--jobs`` in (``$W2V_GPT_JOBS_RECORD``, else
    ``$XDG_CACHE_HOME/w2v-gpt/jobs.json``, else ``~/.cache/w2v-gpt/jobs.json``)."""
    if os.environ.get(JOBS_RECORD_ENV):
        return Path(os.environ[JOBS_RECORD_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "w2v-gpt" / "jobs.json"


def machine_key(device: str) -> dict:
    """What a jobs measurement is valid for: this host, its usable cores and the device kind."""
    return {"host": socket.gethostname(), "cores": available_cores(), "device": device.split(":")[0]}


def resolve_jobs(jobs: int | str, device: str) -> tuple[int, str]:
    """``(jobs, why)``: a count as given; ``auto`` from the bench's record for this machine, else the rule
    in ``--help`` (two single-threaded runs out-trained one two-threaded run on the project's 2-core CPU)."""
    if jobs != AUTO:
        return int(jobs), "as given"
    path = jobs_record_path()
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and record.get("machine") == machine_key(device) and \
            isinstance(record.get("best_jobs"), int) and record["best_jobs"] >= 1:
        return record["best_jobs"], f"measured fastest by make bench on {record.get('date', '?')} ({path})"
    if device.startswith("cuda") or available_cores() < 2:
        return 1, "no make bench record for this machine; one job on CUDA or a single core"
    return 2, "no make bench record for this machine; two jobs on a CPU with 2 or more cores"


def write_jobs_record(best_jobs: int, device: str, measured: dict, date: str) -> Path:
    """Record the fastest ``--jobs`` that the bench measured here, for ``--jobs auto``."""
    from base.atomic import atomic_file

    path = jobs_record_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w", encoding="utf-8") as handle:
        json.dump({"machine": machine_key(device), "best_jobs": best_jobs, "tokens_per_second": measured,
                   "date": date}, handle, indent=2)
    return path


def run_threads(settings, jobs: int | None = None) -> int:
    """The torch threads of each run of a study: ``--threads-per-run``, else the available cores shared out
    among its ``jobs`` (resolved from the settings when not given). A run's numbers depend on this count."""
    if settings.threads:
        return settings.threads
    jobs = jobs if jobs is not None else resolve_jobs(settings.jobs, settings.device)[0]
    return max(1, available_cores() // jobs)


class StudyClock:
    """The wall time of a study's parts (table pretraining, GPT runs), for the line that closes the study."""

    def __init__(self):
        self.started, self.parts = time.perf_counter(), {}

    @contextlib.contextmanager
    def part(self, name: str):
        began = time.perf_counter()
        try:
            yield
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - began

    def line(self) -> str:
        """``time: W s in all: table pretraining T s (t%), GPT runs R s (r%), ...``."""
        wall = max(time.perf_counter() - self.started, 1e-9)
        rest = max(0.0, wall - sum(self.parts.values()))
        parts = [f"{name} {seconds:,.0f} s ({seconds / wall:.0%})" for name, seconds in self.parts.items()]
        return (f"time: {wall:,.0f} s in all: " + ", ".join(parts + [f"checks, planning and summaries "
                                                                     f"{rest:,.0f} s ({rest / wall:.0%})"]))


def time_split(wall: float, jobs: int, runs: list[tuple[dict, float]]) -> dict:
    """Where the time of the runs a study trained went, as shares of its workers' time (``wall`` x ``jobs``):
    ``runs`` holds each run's result and its seconds in ``gpt.train.train``. Training steps and val
    evaluations are what the results record; ``test_and_files`` the rest of a run's seconds (building the
    model, the test pass, checkpoints); ``start_up_and_idle`` what is left (a worker starting and planning
    its run, a worker with nothing left to train)."""
    worker = max(wall * jobs, 1e-9)
    steps = sum(result["train_seconds"] for result, _ in runs)
    evals = sum(result["eval_seconds"] for result, _ in runs)
    in_runs = sum(seconds for _, seconds in runs)
    return {"wall_seconds": wall, "jobs": jobs, "runs": len(runs), "training_steps": steps / worker,
            "val_evaluations": evals / worker, "test_and_files": max(0.0, in_runs - steps - evals) / worker,
            "start_up_and_idle": max(0.0, worker - in_runs) / worker}


def describe_split(split: dict) -> str:
    """One line of :func:`time_split`."""
    return (f"{split['runs']} run(s) trained in {split['wall_seconds']:,.0f} s ({split['jobs']} at a time): "
            f"training steps {split['training_steps']:.0%}, val evaluations {split['val_evaluations']:.0%}, "
            f"model, test pass and checkpoints {split['test_and_files']:.0%}, worker start-up and idle "
            f"{split['start_up_and_idle']:.0%} of the workers' time")


def train_planned(planned: list[tuple[object, object]], settings, timing: dict | None = None) -> list[dict]:
    """Train (or find finished) each ``(cell, planned run)`` (:func:`study.plan.plan`) and return their results
    in plan order, with the study's :class:`study.settings.StudySettings` (device, jobs, threads, fresh,
    progress, log).

    ``jobs`` runs train at once (``auto``: :func:`resolve_jobs`), each in a worker process of its own with
    ``threads`` torch threads (default: the available cores shared out); a run's result does not depend on
    ``jobs`` at a fixed ``threads``. One line per run as it ends, ``[7/21] glove-init seed 1: test loss
    5.3200, 54 s, ETA 9 min``, the ETA from the tokens still to train at the pace so far (a finished run
    says "done before"). A failing run stops the study with its own error, after the runs already training
    finish (they are kept); a worker that dies stops it with one line; a rerun resumes what is left. At the
    end one line says where the time of the runs trained went (:func:`time_split`, also put in ``timing``).
    """
    from gpt.runs import finished_result

    jobs, why = resolve_jobs(settings.jobs, settings.device)
    threads = run_threads(settings, jobs)
    finished = [None if settings.fresh else finished_result(run.files, run.record) for _, run in planned]
    pending = [i for i, result in enumerate(finished) if result is None]
    if pending and jobs > 1:
        settings.log(f"training {len(pending)} run(s), {jobs} at a time ({why}), {threads} thread(s) each")
    progress = _Progress(len(planned), sum(planned[i][1].config.trained_tokens for i in pending), settings.log)
    results: list = list(finished)
    for i, result in enumerate(finished):
        if result is not None:
            progress.report(planned[i][0].label, result, None, 0)
    started = time.perf_counter()
    if jobs == 1 or len(pending) < 2:
        import torch

        torch.set_num_threads(threads)
        jobs = 1
        for i in pending:
            cell, run = planned[i]
            results[i], seconds = _train_locked(run, settings.device, settings.progress, settings.fresh)
            progress.report(cell.label, results[i], seconds, run.config.trained_tokens)
    else:
        _train_in_pool(planned, pending, results, settings, (jobs, threads, progress))
    if pending:
        split = time_split(time.perf_counter() - started, jobs, [(results[i], progress.seconds[planned[i][0].label])
                                                                 for i in pending])
        settings.log("time: " + describe_split(split))
        if timing is not None:
            timing.update(split)
    return results


def _train_in_pool(planned: list, pending: list[int], results: list, settings, how: tuple) -> None:
    """Train the ``pending`` runs of ``planned`` in ``jobs`` worker processes of ``threads`` threads each
    (``how``: jobs, threads and the progress reporter), filling ``results`` as each run ends."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    jobs, threads, progress = how
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch thread pools
    _quiet_resource_tracker()
    queue, running = list(pending), {}
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                               initargs=(threads, os.getpid()))
    try:
        while queue or running:
            while queue and len(running) < jobs:  # only as many in flight as train: a failure stops the rest
                i = queue.pop(0)
                _, run = planned[i]
                running[pool.submit(_train_in_worker, run.files.layout.root, run.config.to_dict(),
                                    run.record["variant"], settings.device, settings.fresh)] = i
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                error = future.exception()
                if error is not None:
                    queue.clear()
                    pool.shutdown(wait=True)  # the runs already training finish and are kept
                    raise error
                results[i], seconds = future.result()
                progress.report(planned[i][0].label, results[i], seconds, planned[i][1].config.trained_tokens)
    except BrokenProcessPool:
        raise ChildProcessError("a worker process died (killed, or out of memory?); finished runs are kept: rerun "
                                "the same command to resume the rest") from None
    except KeyboardInterrupt:
        _stop_workers(pool)  # Ctrl-C (or SIGINT to this process alone): the runs in flight resume on a rerun
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool) -> None:
    """End the pool's worker processes now: an interrupted study does not wait for its runs in flight,
    which keep their last checkpoint and resume when the study is run again."""
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()


def _quiet_resource_tracker() -> None:
    """A worker killed while it holds the pool's queue lock leaves a semaphore that multiprocessing's
    resource tracker (started with the pool, from this environment) reports in a warning at exit; the one
    line that says a worker died is the message that matters, so that warning is silenced."""
    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    current = os.environ.get("PYTHONWARNINGS", "")
    if quiet not in current:
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [current, quiet]))


def _train_locked(run, device: str, progress: bool, fresh: bool) -> tuple[dict, float]:
    """Train one planned run while holding its folder's lock; returns (result, seconds)."""
    from gpt.train import TrainOptions, train

    began = time.perf_counter()
    options = TrainOptions(device=device, progress=progress, fresh=fresh, log=lambda message: None)
    with run_lock(run.files.directory):
        result = train(run, options)
    return result, time.perf_counter() - began


class _Progress:
    """The study's one line per finished run, with an ETA from the tokens trained so far."""

    def __init__(self, total: int, todo: int, log):
        self.total, self.todo, self.log = total, todo, log
        self.count, self.done, self.started = 0, 0, time.perf_counter()
        self.seconds: dict[str, float] = {}  # of each run trained, by its label

    def report(self, label: str, result: dict, seconds: float | None, tokens: int) -> None:
        self.count += 1
        if seconds is not None:
            self.seconds[label] = seconds
        self.done += tokens
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.done * (self.todo - self.done) if self.done else 0.0
        how = "done before" if seconds is None else f"{seconds:.0f} s"
        best = result.get("test_loss_best_val")
        best = "" if best is None else f" (at its best val evaluation {best:.4f})"
        self.log(f"[{self.count}/{self.total}] {label}: test loss {result['test_loss']:.4f}{best}, {how}, "
                 f"ETA {eta / 60:.0f} min")


def _init_worker(threads: int, parent: int) -> None:
    import torch

    torch.set_num_threads(threads)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """End this worker once the study's process is gone (its pid is no longer our parent): an orphan would
    go on writing a run that a rerun of the study resumes at the same time."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _train_in_worker(run_dir: Path, config: dict, variant: str, device: str, fresh: bool) -> tuple[dict, float]:
    """One run in a worker process: planned again from its config (nothing large crosses processes)."""
    from gpt.config import GPTConfig
    from study.plan import resolve_run

    silent = lambda message: None  # noqa: E731
    run = resolve_run(run_dir, GPTConfig.from_dict(config), variant, log=silent, warn=silent)
    return _train_locked(run, device, False, fresh)
