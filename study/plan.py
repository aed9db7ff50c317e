"""Planning a study: every GPT run resolved and checked before any trains, and the plan written out as
commands for a cluster.

A study wants :class:`Cell` s: an arm, a seed, a size (the budget of a sweep, the fraction of a data sweep)
and the config that makes them. :func:`plan` turns each into a :class:`gpt.runs.PlannedRun` (its table
found through :mod:`study.sources`, its target groups from :mod:`study.measures`), writing nothing; the
checks refuse a finished run of other settings before anything is trained.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from base.atomic import atomic_file
from base.errors import other_settings_error
from base.layout import fraction_label
from base.parse import exact_number
from gpt.config import GPTConfig
from gpt.runs import PlannedRun, RunFiles, _stderr, check_run_directory, finished_result, other_config, plan_run
from study.measures import target_groups
from study.sources import load_table


@dataclass(frozen=True)
class Cell:
    """One run a study wants: its ``arm``, ``seed`` and ``size`` (the token budget of a sweep, the fraction
    of a data sweep, None in compare), the config that makes it, and the variant folder it trains in
    (``folder``, default the arm's name).

    ``reuse`` names another variant folder whose finished run of the very same record is taken instead of
    training (the sweep reuses compare's runs at compare's budget)."""

    arm: str
    seed: int
    config: GPTConfig
    size: int | float | None = None
    folder: str | None = None
    reuse: str | None = None

    @property
    def variant(self) -> str:
        return self.folder or self.arm

    @property
    def label(self) -> str:
        """The run's name in the study's progress lines."""
        if self.size is None:
            return f"{self.arm} seed {self.seed}"
        if isinstance(self.size, float):
            return f"{self.arm} seed {self.seed} at fraction {exact_number(self.size)}"
        return f"{self.arm} seed {self.seed} at {budget_label(self.size)} tokens"


def compare_cells(variants: list, seeds: int, base: GPTConfig) -> list[Cell]:
    """Every (seed, variant) of a compare study, seed-major so that a partial study is balanced."""
    return [Cell(v.name, seed, base.replace(seed=seed, **v.fields)) for seed in range(seeds) for v in variants]


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
    return [Cell(arm.name, seed, base.replace(tokens=budget, seed=seed, **arm.fields), budget,
                 f"{arm.name}@{budget_label(budget)}", reuse=arm.name)
            for budget in budgets for seed in range(seeds) for arm in arms]


def datasweep_cells(arms: list, fractions: dict, seeds: int, base: GPTConfig, tokens: dict,
                    table_corpus: bool) -> list[Cell]:
    """Every (fraction, seed, arm) of a data sweep, smallest fraction first: arm ``a`` trains at the fractions
    ``fractions[a.name]``, in ``<arm>@frac<F>``, for ``tokens[(fraction, seed)]`` tokens (its epochs of that
    fraction's documents), keeping its best val state."""
    from study.variants import datasweep_fields

    every = sorted({f for fs in fractions.values() for f in fs})
    return [Cell(arm.name, seed, base.replace(seed=seed, tokens=tokens[(fraction, seed)], keep_best=True,
                                              **datasweep_fields(arm, fraction, table_corpus)),
                 float(fraction), f"{arm.name}@{fraction_label(fraction)}")
            for fraction in every for seed in range(seeds) for arm in arms if fraction in fractions[arm.name]]


def check_cells(settings, cells: list[Cell]) -> None:
    """InputError, before any table is trained or anything written, when a cell's folder holds a run
    (finished or begun) of another config, unless ``fresh``; :func:`plan` checks the whole record (the
    table's digest too) once the tables exist."""
    if settings.fresh:
        return
    for cell in cells:
        files = RunFiles.of(settings.run_dir, cell.variant, cell.seed)
        difference = other_config(files, cell.config)
        if difference:
            raise other_settings_error(files.directory, "a run", difference, "another --run-dir")


def resolve_run(run_dir: Path, config: GPTConfig, variant: str, prepared=None, log=print,
                warn=_stderr) -> PlannedRun:
    """One run as the study makes it, writing nothing: its table found and checked (:func:`study.sources.
    load_table`), aligned and recorded, and its target groups (:func:`study.measures.target_groups`).
    Every way a run is trained (a study, its workers, a plan line, ``train_gpt``) plans it here."""
    run = plan_run(run_dir, config, variant, load_table(Path(run_dir), config), prepared, log=log, warn=warn)
    return dataclasses.replace(run, target_groups=target_groups(run.prepared, config))


def plan(settings, prepared, cells: list[Cell], table_lines: bool = True) -> list[tuple[Cell, PlannedRun]]:
    """(cell, planned run) for every cell, in order: tables found and aligned, and no finished run of other
    settings in the way (unless ``fresh``), all checked before the caller trains any. ``table_lines``: log
    each run's table coverage line and warn on stderr (a sweep, whose sizes repeat them, turns the lines off
    and logs its warnings)."""
    log = settings.log if table_lines else (lambda message: None)
    warn = _stderr if table_lines else settings.log
    planned = []
    for cell in cells:
        run = None
        if cell.reuse is not None and not settings.fresh:
            run = resolve_run(settings.run_dir, cell.config, cell.reuse, prepared, log, warn)
            if finished_result(run.files, run.record) is None:
                run = None
        if run is None:
            run = resolve_run(settings.run_dir, cell.config, cell.variant, prepared, log, warn)
            check_run_directory(run.files, run.record, settings.fresh)
        planned.append((cell, run))
    return planned


def plan_commands(planned: list[tuple[Cell, PlannedRun]], device: str, threads: int,
                  fresh: bool = False) -> list[str]:
    """One self-contained ``python -m pipelines.train_gpt`` command per run still to train: the very run a
    worker would train (same record, and ``threads`` torch threads, so the very same numbers), idempotent (a
    finished run is skipped, a begun one resumes), for a cluster scheduler to run anywhere the project is
    installed and the run directory is shared; the commands may run at once (each holds only its own run's
    lock)."""
    import shlex

    from gpt.config import config_flags

    commands = []
    for _, run in planned:
        if not fresh and finished_result(run.files, run.record) is not None:
            continue
        args = ["python", "-m", "pipelines.train_gpt", "--run-dir", str(run.files.layout.root.resolve()),
                "--variant", run.record["variant"], *config_flags(run.config), "--device", device,
                "--threads", str(threads), "--quiet"]
        commands.append(" ".join(shlex.quote(a) for a in args + (["--fresh"] if fresh else [])))
    return commands


def write_plan(settings, planned: list, plan_file: Path) -> None:
    """Write one self-contained train_gpt command per run still to train into ``plan_file``, each with the
    torch threads a run of this study gets in process (:func:`study.scheduler.run_threads`)."""
    from study.scheduler import run_threads

    commands = plan_commands(planned, settings.device, run_threads(settings), settings.fresh)
    with atomic_file(plan_file, "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in commands))
    settings.log(f"plan: {len(commands)} run(s) to train, one command per line, in {plan_file}; rerun this "
                 "command without --plan once they are done, to summarize")
