"""The compare study: the same small GPT with each token embedding, several seeds, one summary.

Every variant (:mod:`study.variants`) gets the same token budget and, per seed, the same batches and the
same init of every weight but the token embedding; seed k of every table variant uses the tables
pretrained with seed k, so the intervals cover the tables' randomness too. Finished runs are skipped and
interrupted ones resume, so rerunning the study only does what is missing.
"""

from __future__ import annotations

from pathlib import Path

from base.atomic import atomic_file
from base.layout import RunLayout
from corpus.prepared import PreparedCorpus
from study.plan import compare_cells, plan, plan_commands
from study.scheduler import train_planned
from study.stats import DEFAULT_MARGIN
from study.tables import ensure_tables
from study.variants import position_variants, token_variants

DEFAULT_TOKENS = 400_000  # per run: about 0.65 epochs of the default corpus


def write_plan(plan_file: Path, planned: list, device: str, fresh: bool, log) -> None:
    """Write one self-contained train_gpt command per run still to train into ``plan_file``."""
    commands = plan_commands(planned, device, fresh)
    with atomic_file(plan_file, "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in commands))
    log(f"plan: {len(commands)} run(s) to train, one command per line, in {plan_file}; rerun this "
        "command without --plan once they are done, to summarize")


def run_compare(run_dir: Path, base, seeds: int, positions: bool, controls: bool, x_max: float | None,
                device: str, fresh: bool, quiet: bool, jobs: int | str = 1, threads: int | None = None,
                plan_file: Path | None = None, log=print, margin: float = DEFAULT_MARGIN) -> dict | None:
    """Tables, runs and summary of one study (the caller holds the run's lock); returns the summary, or
    None after writing ``plan_file`` instead of training. ``quiet``: no progress bars."""
    from study.compare_summary import write_summary

    layout = RunLayout(run_dir)
    prepared = PreparedCorpus.open(layout.corpus)
    variants = position_variants() if positions else token_variants(controls)
    reports = {} if positions else ensure_tables(run_dir, prepared, variants, seeds, base.d_model, x_max, log,
                                                 threads, fresh)
    planned = plan(run_dir, prepared, compare_cells(variants, seeds, base), fresh, log=log)
    if plan_file is not None:
        write_plan(plan_file, planned, device, fresh, log)
        return None
    results: dict[str, list[dict]] = {v.name: [] for v in variants}
    for (_, run), result in zip(planned, train_planned(planned, device, quiet, fresh, log, jobs, threads)):
        results[run.record["variant"]].append(result)
    out = layout.compare_positions if positions else layout.compare
    summary = write_summary(out, run_dir, variants, results, reports, base, seeds, device, margin)
    log(f"summary: {out / 'summary.md'}")
    for name, row in summary["variants"].items():
        verdict = row["verdict"] or "baseline"
        log(f"  {name:16s} test loss {row['test_loss']['mean']:.4f}  {verdict}")
    return summary
