"""The compare study: the same small GPT with each token embedding, several seeds, one summary.

Every variant (:mod:`study.variants`) gets the same token budget and, per seed, the same batches and the
same init of every weight but the token embedding; seed k of every table variant uses the tables
pretrained with seed k, so the intervals cover the tables' randomness too. Finished runs are skipped and
interrupted ones resume, so rerunning the study only does what is missing.
"""

from __future__ import annotations

from pathlib import Path

from corpus.prepared import PreparedCorpus
from study.plan import check_cells, compare_cells, plan, write_plan
from study.scheduler import StudyClock, train_planned
from study.table_files import cache_files, resolve_arms
from study.tables import ensure_tables
from study.variants import file_arms, position_variants, token_variants

DEFAULT_TOKENS = 400_000  # per run: about 0.65 epochs of the default corpus


def run_compare(settings, positions: bool = False, controls: bool = False,
                plan_file: Path | None = None) -> dict | None:
    """Tables, runs and summary of one study (:class:`study.settings.StudySettings`; the caller holds the
    run's lock); returns the summary, or None after writing ``plan_file`` instead of training.
    ``positions``: the position variants instead of the token embeddings; ``controls``: add the controls."""
    from study.compare_summary import write_summary

    layout, log, clock = settings.layout, settings.log, StudyClock()
    prepared = PreparedCorpus.open(layout.corpus)
    files = () if positions else settings.tables.files
    variants = position_variants() if positions else token_variants(controls) + file_arms(files)
    variants, files = resolve_arms(settings, prepared, variants)
    cells = compare_cells(variants, settings.seeds, settings.base)
    check_cells(settings, cells)  # before any table is trained
    described = cache_files(settings, prepared, files)  # a bad file: one line, nothing written
    with clock.part("table pretraining"):
        reports = {} if positions else ensure_tables(settings, prepared, variants)
    planned = plan(settings, prepared, cells)
    if plan_file is not None:
        write_plan(settings, planned, plan_file)
        return None
    results: dict[str, list[dict]] = {v.name: [] for v in variants}
    with clock.part("GPT runs"):
        trained = train_planned(planned, settings)
    for (cell, _), result in zip(planned, trained):
        results[cell.arm].append(result)
    out = layout.compare_positions if positions else layout.compare
    summary = write_summary(settings, out, variants, results, reports, described)
    log(f"summary: {out / 'summary.md'}")
    for name, row in summary["variants"].items():
        verdict = row["verdict"] or "baseline"
        log(f"  {name:16s} test loss {row['test_loss']['mean']:.4f}  {verdict}")
    log(clock.line())
    return summary
