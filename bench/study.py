"""Throughput of a study (several GPT runs) at each ``--jobs``: what ``--jobs auto`` chooses from.

The runs are real study runs: the default corpus, the default GPT, the scheduler compare and sweep use
(:func:`study.scheduler.train_planned`), timed from the first run's start to the last run's end, so
worker start-up, evaluation and test passes count as they do in a study.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from base.cores import available_cores
from base.layout import RunLayout
from bench.timing import interleave

DEFAULT_RUNS = 4
DEFAULT_TOKENS = 100_000  # per run: long enough that start-up is a few percent, as in a real study
DEFAULT_EVALS = 6  # val evaluations cost about 5% of training here, as the 24 of a 400k-token run do


def bench_study(work: Path, jobs_options=(1, 2), runs: int = DEFAULT_RUNS, tokens: int = DEFAULT_TOKENS,
                device: str = "cpu", repeats: int = 1, log=print) -> dict:
    """Train ``runs`` learned GPT runs (seeds 0..runs-1) at each ``--jobs`` in ``jobs_options``, each time
    from scratch, the jobs in turn for ``repeats`` rounds; return every tokens/s per jobs, the jobs of the
    highest median and the settings."""
    from corpus.prepare import PrepareConfig, ensure_prepared
    from corpus.sources import DEFAULT_CORPUS, resolve_sources
    from gpt.config import GPTConfig
    from study.plan import compare_cells, plan
    from study.scheduler import describe_split, train_planned
    from study.settings import StudySettings
    from study.variants import token_variants

    work = Path(work)
    prepared, _ = ensure_prepared(resolve_sources(DEFAULT_CORPUS), work / "corpus", PrepareConfig())
    config = GPTConfig(tokens=tokens, evals=DEFAULT_EVALS)
    learned = [v for v in token_variants(controls=False) if v.name == "learned"]

    shares: dict[str, list[dict]] = {str(jobs): [] for jobs in jobs_options}

    def measure(jobs: int) -> float:
        run_dir = work / f"jobs{jobs}"
        run_dir.mkdir(parents=True, exist_ok=True)
        if not RunLayout(run_dir).corpus.exists():
            RunLayout(run_dir).corpus.symlink_to((work / "corpus").resolve(), target_is_directory=True)
        settings = StudySettings(run_dir=run_dir, base=config, seeds=runs, device=device, jobs=jobs, fresh=True,
                                 log=lambda message: None)
        started, timing = time.perf_counter(), {}
        train_planned(plan(settings, prepared, compare_cells(learned, runs, config)), settings, timing)
        seconds = time.perf_counter() - started
        shares[str(jobs)].append(timing)
        log(f"  --jobs {jobs}: {runs * config.trained_tokens / seconds:,.0f} tokens/s ({runs} runs of "
            f"{config.trained_tokens:,} tokens in {seconds:.0f} s, {max(1, available_cores() // jobs)} thread(s) "
            f"each); {describe_split(timing)}")
        return runs * config.trained_tokens / seconds

    measured = interleave({str(jobs): (lambda _, j=jobs: measure(j)) for jobs in jobs_options}, repeats)
    best = max(measured, key=lambda jobs: statistics.median(measured[jobs]))
    return {"tokens_per_second": measured, "best_jobs": int(best), "runs": runs, "time_shares": shares,
            "tokens_per_run": config.trained_tokens, "config": config.to_dict(), "device": device,
            "cores": available_cores(), "corpus": "default", "train_tokens": len(prepared.train_ids)}
