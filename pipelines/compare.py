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
from pipelines.common import TokenCount, handle_errors, main_entry, resolve_device, run_dir_option, show_progress
from pipelines.options import given, plan_option, study_options
from study.compare import DEFAULT_TOKENS, run_compare


@click.command()
@run_dir_option
@click.option("--tokens", type=TokenCount(), default=DEFAULT_TOKENS, show_default=True,
              help="Training tokens per run (400000, 400k and 4e5 all work).")
@click.option("--positions", is_flag=True, help="Compare position embeddings (learned tokens) instead.")
@click.option("--controls", is_flag=True, help="Add shuffled-init and glove-init-raw.")
@study_options
@plan_option
@handle_errors
def cli(run_dir: Path, seeds: int, tokens: int, positions: bool, controls: bool, dim: int, x_max: float | None,
        device: str, fresh: bool, jobs: int | str, threads_per_run: int | None, plan_file: Path | None,
        quiet: bool, margin: float, **gpt) -> None:
    """Pretrained tables (init or frozen) against the jointly learned embedding, at equal budgets."""
    from gpt.config import GPTConfig

    if positions and controls:
        raise InputError("--controls belongs to the token-embedding study, not --positions")
    base = GPTConfig(d_model=dim, tokens=tokens, **given(gpt))
    device = resolve_device(device)
    with run_lock(run_dir):
        run_compare(Path(run_dir), base, seeds, positions, controls, x_max, device, fresh,
                    not show_progress(quiet), jobs, threads_per_run, plan_file, log=click.echo, margin=margin)


if __name__ == "__main__":
    main_entry(cli)
