"""``python -m pipelines.sweep``: the compare study across token budgets, to find where an advantage ends.

Runs of ``<arm>@<budget>`` under ``gpt/``, compare's runs reused where they match; output in
``runs/<name>/sweep/`` (summary.json with key ``budgets`` and a ``crossover`` per arm, summary.md,
sweep.png). The study itself is :mod:`study.sweep`.
"""

from __future__ import annotations

from pathlib import Path

import click

from base.locks import run_lock
from pipelines.common import handle_errors, main_entry, run_dir_option
from pipelines.options import parse_budgets, study_options, study_settings, table_file_options
from study.sweep import DEFAULT_ARMS, DEFAULT_BUDGETS, run_sweep
from study.variants import file_arms, known_arms, parse_arms


@click.command()
@run_dir_option
@click.option("--budgets", default=DEFAULT_BUDGETS, show_default=True,
              help="Comma list of token budgets per run (200000, 200k, 2e5 and 3.2M all work).")
@click.option("--arms", default=DEFAULT_ARMS, show_default=True,
              help="Comma list of variant names of compare (controls and pos-* included); learned is always "
                   "trained as the baseline. The default arm is glove-init, the init arm with the largest mean "
                   "gain in make compare on the default corpus. A frozen arm (glove-frozen) answers the other "
                   "half of the question but is not in the default: each arm costs seeds x the summed budgets in "
                   "training tokens (3 x 4.4M at the defaults, the 400k column reused from make compare), and "
                   "three arms take over 90 minutes on 2 CPU cores; add it, or cbow-*/skipgram-* arms, when "
                   "there is time for the full picture.")
@study_options
@table_file_options
@handle_errors
def cli(run_dir: Path, budgets: str, arms: str, **options) -> None:
    """How the paired difference from the learned embedding moves with the token budget."""
    budget_list = parse_budgets(budgets)
    settings = study_settings(run_dir, options, tokens=budget_list[0])
    arm_list = parse_arms(arms, {**known_arms(), **{a.name: a for a in file_arms(settings.tables.files)}})
    for budget in budget_list:
        settings.base.replace(tokens=budget)  # every budget is a valid config
    with run_lock(run_dir):
        run_sweep(settings, arm_list, budget_list)


if __name__ == "__main__":
    main_entry(cli)
