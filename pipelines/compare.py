"""``python -m pipelines.compare``: the same small GPT with each token embedding, several seeds, one summary.

Variants (docs/conventions.md): ``learned`` (the baseline), ``<method>-init`` and ``<method>-frozen`` for
cbow, skipgram and glove; ``--controls`` adds ``shuffled-init`` and ``glove-init-raw``; ``--positions``
compares position embeddings with learned tokens instead. The study itself is :mod:`study.compare`.
"""

from __future__ import annotations

from pathlib import Path

import click

from base.errors import InputError
from base.locks import run_lock
from pipelines.common import TokenCount, handle_errors, main_entry, run_dir_option
from pipelines.options import plan_option, study_options, study_settings, table_file_options
from study.compare import DEFAULT_TOKENS, run_compare


@click.command()
@run_dir_option
@click.option("--tokens", type=TokenCount(), default=DEFAULT_TOKENS, show_default=True,
              help="Training tokens per run (400000, 400k and 4e5 all work).")
@click.option("--positions", is_flag=True, help="Compare position embeddings (learned tokens) instead.")
@click.option("--controls", is_flag=True, help="Add shuffled-init and glove-init-raw.")
@study_options
@table_file_options
@plan_option
@handle_errors
def cli(run_dir: Path, tokens: int, positions: bool, controls: bool, plan_file: Path | None, **options) -> None:
    """Pretrained tables (init or frozen) against the jointly learned embedding, at equal budgets."""
    if positions and (controls or options["table_file"]):
        raise InputError("--controls and --table-file belong to the token-embedding study, not --positions")
    settings = study_settings(run_dir, options, tokens=tokens)
    with run_lock(run_dir):
        run_compare(settings, positions, controls, plan_file)


if __name__ == "__main__":
    main_entry(cli)
