"""Planning a study: every GPT run resolved and checked before any trains, and the plan written out as
commands for a cluster.

A planned run (:class:`gpt.runs.PlannedRun`) knows its corpus, files, record and aligned table. Planning
writes nothing; the checks refuse a finished run of other settings before anything is trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gpt.config import GPTConfig
from gpt.runs import PlannedRun


@dataclass(frozen=True)
class Cell:
    """One run a study wants: its progress label, the variant folder it trains in, and its config.

    ``reuse`` names another variant folder whose finished run of the very same record is taken instead of
    training (the sweep reuses compare's runs at compare's budget)."""

    label: str
    variant: str
    config: GPTConfig
    reuse: str | None = None


def compare_cells(variants: list, seeds: int, base: GPTConfig) -> list[Cell]:
    """Every (seed, variant) of a compare study, seed-major so that a partial study is balanced."""
    return [Cell(f"{v.name} seed {seed}", v.name, base.replace(seed=seed, **v.fields))
            for seed in range(seeds) for v in variants]


def budget_label(tokens: int) -> str:
    """A short, exact name for a budget: 200k, 3200k, 4M, 123456."""
    if tokens % 1_000_000 == 0:
        return f"{tokens // 1_000_000}M"
    if tokens % 1_000 == 0:
        return f"{tokens // 1_000}k"
    return str(tokens)


def sweep_cells(arms: list, budgets: list[int], seeds: int, base: GPTConfig) -> list[Cell]:
    """Every (budget, seed, arm), smallest budget first: a budget's run trains in ``<arm>@<budget>`` unless
    compare's folder ``<arm>`` holds the very same run finished."""
    return [Cell(f"{arm.name} seed {seed} at {budget_label(budget)} tokens", f"{arm.name}@{budget_label(budget)}",
                 base.replace(tokens=budget, seed=seed, **arm.fields), reuse=arm.name)
            for budget in budgets for seed in range(seeds) for arm in arms]


def datasweep_cells(arms: list, fractions: dict, seeds: int, base: GPTConfig, tokens: dict,
                    table_corpus: bool) -> list[Cell]:
    """Every (fraction, seed, arm) of a data sweep, smallest fraction first: arm ``a`` trains at the fractions
    ``fractions[a.name]``, in ``<arm>@frac<F>``, for ``tokens[(fraction, seed)]`` tokens (its epochs of that
    fraction's documents), keeping its best val state."""
    from base.layout import fraction_label
    from study.variants import datasweep_fields

    every = sorted({f for fs in fractions.values() for f in fs})
    return [Cell(f"{arm.name} seed {seed} at fraction {fraction:g}", f"{arm.name}@{fraction_label(fraction)}",
                 base.replace(seed=seed, tokens=tokens[(fraction, seed)], keep_best=True,
                              **datasweep_fields(arm, fraction, table_corpus)))
            for fraction in every for seed in range(seeds) for arm in arms if fraction in fractions[arm.name]]


def plan(run_dir: Path, prepared, cells: list[Cell], fresh: bool = False, log=print, warn=None,
         table_lines: bool = True) -> list[tuple[str, PlannedRun]]:
    """(label, planned run) for every cell, in order: tables found and aligned, and no finished run of other
    settings in the way (unless ``fresh``), all checked before the caller trains any. ``table_lines``: log
    each run's table coverage line (a sweep, whose budgets repeat them, turns them off)."""
    from gpt.runs import _stderr, check_run_directory, finished_result, plan_run

    warn = warn or _stderr
    table_log = log if table_lines else (lambda message: None)
    planned = []
    for cell in cells:
        run = None
        if cell.reuse is not None and not fresh:
            run = plan_run(run_dir, cell.config, cell.reuse, prepared=prepared, log=table_log, warn=warn)
            if finished_result(run.files, run.record) is None:
                run = None
        if run is None:
            run = plan_run(run_dir, cell.config, cell.variant, prepared=prepared, log=table_log, warn=warn)
            check_run_directory(run.files, run.record, fresh)
        planned.append((cell.label, run))
    return planned


def plan_commands(planned: list[tuple[str, object]], device: str, fresh: bool = False) -> list[str]:
    """One self-contained ``python -m pipelines.train_gpt`` command per run still to train: the very run a
    worker would train (same record), idempotent (a finished run is skipped, a begun one resumes), for a
    cluster scheduler to run anywhere the project is installed and the run directory is shared; the
    commands may run at once (each holds only its own run's lock)."""
    import shlex

    from gpt.config import config_flags
    from gpt.runs import finished_result

    commands = []
    for _, run in planned:
        if not fresh and finished_result(run.files, run.record) is not None:
            continue
        args = ["python", "-m", "pipelines.train_gpt", "--run-dir", str(run.files.layout.root.resolve()),
                "--variant", run.record["variant"], *config_flags(run.config), "--device", device, "--quiet"]
        commands.append(" ".join(shlex.quote(a) for a in args + (["--fresh"] if fresh else [])))
    return commands
