"""Throughput of a study (several GPT runs) at each ``--jobs``: what ``--jobs auto`` chooses from.

The runs are real study runs: the default corpus, the default GPT, the scheduler compare and sweep use
(:func:`study.scheduler.train_planned`), timed from the first run's start to the last run's end, so
worker start-up, evaluation and test passes count as they do in a study.
"""

from __future__ import annotations

import time
from pathlib import Path

from base.cores import available_cores
from base.layout import RunLayout

DEFAULT_RUNS = 4
DEFAULT_TOKENS = 100_000  # per run: long enough that start-up is a few percent, as in a real study
DEFAULT_EVALS = 6  # val evaluations cost about 5% of training here, as the 24 of a 400k-token run do


def bench_study(work: Path, jobs_options=(1, 2), runs: int = DEFAULT_RUNS, tokens: int = DEFAULT_TOKENS,
                device: str = "cpu", log=print) -> dict:
    """Train ``runs`` learned GPT runs (seeds 0..runs-1) at each ``--jobs`` in ``jobs_options``, each time
    from scratch; return tokens/s per jobs, the fastest jobs and the settings."""
    from corpus.prepare import PrepareConfig, ensure_prepared
    from corpus.sources import DEFAULT_CORPUS, resolve_sources
    from gpt.config import GPTConfig
    from study.plan import compare_cells, plan
    from study.scheduler import train_planned
    from study.variants import token_variants

    work = Path(work)
    prepared, _ = ensure_prepared(resolve_sources(DEFAULT_CORPUS), work / "corpus", PrepareConfig())
    config = GPTConfig(tokens=tokens, evals=DEFAULT_EVALS)
    measured = {}
    for jobs in jobs_options:
        run_dir = work / f"jobs{jobs}"
        run_dir.mkdir(parents=True, exist_ok=True)
        if not RunLayout(run_dir).corpus.exists():
            RunLayout(run_dir).corpus.symlink_to((work / "corpus").resolve(), target_is_directory=True)
        learned = [v for v in token_variants(controls=False) if v.name == "learned"]
        planned = plan(run_dir, prepared, compare_cells(learned, runs, config), fresh=True, log=lambda m: None)
        started = time.perf_counter()
        train_planned(planned, device, True, True, lambda m: None, jobs)
        seconds = time.perf_counter() - started
        measured[str(jobs)] = runs * config.trained_tokens / seconds
        log(f"  --jobs {jobs}: {measured[str(jobs)]:,.0f} tokens/s ({runs} runs of {config.trained_tokens:,} "
            f"tokens in {seconds:.0f} s, {max(1, available_cores() // jobs)} thread(s) each)")
    best = max(measured, key=measured.get)
    return {"tokens_per_second": measured, "best_jobs": int(best), "runs": runs,
            "tokens_per_run": config.trained_tokens, "config": config.to_dict(), "device": device,
            "cores": available_cores(), "corpus": "default", "train_tokens": len(prepared.train_ids)}
