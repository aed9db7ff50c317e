"""The budget sweep: the compare study across token budgets, to find where an advantage ends.

Each arm (a variant name of ``compare``; ``learned`` always included) is trained for every seed at every
budget, each run with the warmup and cosine schedule of its own budget (independent runs, the shape
``compare`` uses). A budget's run lives in ``gpt/<arm>@<budget>/seed<k>/``, except that a finished run of
``compare`` (``gpt/<arm>/seed<k>/``) with the very same settings is reused rather than trained again. Seed k
of a table arm uses tables pretrained with seed k, as in ``compare``. Every run is planned and checked
before any trains; finished runs are skipped and an interrupted one resumes from its checkpoint, so a
killed sweep rerun with the same command does only what is missing.

Output: ``runs/<name>/sweep/`` ``summary.json`` (key ``budgets``; per arm a ``crossover``), ``summary.md``
and ``sweep.png`` (see :mod:`study.sweep_summary`).
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.prepared import PreparedCorpus
from study.plan import budget_label, check_cells, plan, sweep_cells
from study.scheduler import StudyClock, train_planned
from study.table_files import cache_files, resolve_arms
from study.tables import ensure_tables

DEFAULT_BUDGETS = "400k,1.2M,3.2M"  # 0.65, 1.9 and 5.2 epochs of the default corpus's 620k train tokens;
# 400k is compare's budget, so a `make compare` run before the sweep supplies that column
DEFAULT_ARMS = "learned,glove-init"  # see the sweep command's --help for why


def _say_what_is_replaced(path: Path, arms: list, budgets: list[int], log) -> None:
    """One line when this sweep's summary will replace the summary of another sweep (other arms, budgets or
    seeds); the other sweep's runs stay under gpt/, and rerunning it writes its summary again."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        old_arms, old_budgets = list(old["arms"]), list(old["budgets"])
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        log(f"note: {path} is damaged; this sweep writes it anew")
        return
    if old_arms != [a.name for a in arms] or old_budgets != budgets:
        log(f"note: {path} holds another sweep (arms {','.join(old_arms)}, budgets "
            f"{','.join(map(budget_label, old_budgets))}); this one replaces it (its runs stay under gpt/)")


def run_sweep(settings, arms: list, budgets: list[int]) -> dict:
    """Tables, runs and summary of the sweep (:class:`study.settings.StudySettings`; the caller holds the
    run's lock); returns the summary."""
    from study.sweep_summary import write_sweep

    layout, log, clock = settings.layout, settings.log, StudyClock()
    prepared = PreparedCorpus.open(layout.corpus)
    arms, files = resolve_arms(settings, prepared, arms)
    cells = sweep_cells(arms, budgets, settings.seeds, settings.base)
    check_cells(settings, cells)  # before any table is trained
    described = cache_files(settings, prepared, files)
    if any(arm.table for arm in arms):
        with clock.part("table pretraining"):
            ensure_tables(settings, prepared, arms)
    planned = plan(settings, prepared, cells, table_lines=False)
    _say_what_is_replaced(layout.sweep / "summary.json", arms, budgets, log)
    results: dict = {}
    with clock.part("GPT runs"):
        trained = train_planned(planned, settings)
    for (cell, _), result in zip(planned, trained):
        results.setdefault(cell.arm, {}).setdefault(cell.size, []).append(result)
    summary = write_sweep(settings, arms, budgets, results, {"train_tokens": len(prepared.train_ids),
                                                            "table_files": described})
    log(f"summary: {layout.sweep / 'summary.md'}")
    for arm, row in summary["arms"].items():
        if arm != summary["baseline"]:
            crossover = row["crossover"]
            where = "none within the budgets" if crossover is None else f"{crossover:,} tokens"
            log(f"  {arm:16s} crossover: {where}")
    log(clock.line())
    return summary
