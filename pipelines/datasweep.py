"""``python -m pipelines.datasweep``: the compare study across the GPT's data size: how much text is a
pretrained table worth to a GPT that has less of it?

Runs of ``<arm>@frac<F>`` under ``gpt/``; with ``--table-corpus SRC`` the transfer tables' corpus is prepared
in ``runs/<name>/table-corpus/``; output in ``runs/<name>/datasweep/`` (summary.json with key ``fractions``
and an ``effective_data`` per arm and fraction, summary.md, datasweep.png). The study itself is
:mod:`study.datasweep`.
"""

from __future__ import annotations

from pathlib import Path

import click

from base.errors import InputError
from base.locks import run_lock
from pipelines.common import handle_errors, main_entry, resolve_device, run_dir_option, show_progress
from pipelines.options import given, parse_fractions, plan_option, prepare_table_corpus, study_options
from study.datasweep import (ARM_FRACTIONS_UP_TO, DATASWEEP_EVALS, DEFAULT_ARMS, DEFAULT_EPOCHS,
                             DEFAULT_FRACTIONS, run_datasweep)
from study.datasweep import arm_fractions as study_fractions
from study.variants import TRANSFER, datasweep_arms, parse_arms


@click.command()
@run_dir_option
@click.option("--fractions", default=DEFAULT_FRACTIONS, show_default=True,
              help="Comma list of fractions of the train split's documents (1/16, 0.0625 both work); learned "
                   "trains at every one. A fraction is a seeded choice of whole documents, the same for every "
                   "arm of one seed and nested (a smaller fraction's documents are inside a larger one's).")
@click.option("--arms", default=DEFAULT_ARMS, show_default=True,
              help="Comma list of arms: learned (always trained), <method>-init and <method>-frozen (tables "
                   "pretrained on the GPT's own fraction: same text), <method>-init-transfer and "
                   "<method>-frozen-transfer (tables from the whole train split, or from --table-corpus); "
                   "method: cbow, skipgram, glove.")
@click.option("--arm-fractions", default=None,
              help=f"The fractions the arms other than learned train at, among --fractions [those up to "
                   f"{ARM_FRACTIONS_UP_TO:g}, where a table has the most to add].")
@click.option("--table-corpus", default=None, metavar="SRC",
              help="The transfer arms' tables are pretrained on this corpus (as prepare's --corpus: a FILE, DIR "
                   "or GLOB, 'default', 'tinystories', 'text8'), prepared once in <run>/table-corpus/ with its own "
                   "vocabulary and aligned to the GPT's by word [the run's whole train split].")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_EPOCHS, show_default=True,
              help="Each run trains this many epochs of its own fraction and reports the test loss at its best "
                   f"val evaluation ({DATASWEEP_EVALS} evaluations unless --evals is given). At 4, make datasweep "
                   "took 41 minutes on an idle 2-core CPU (2026-12-01, the README's run); a run that overfits "
                   "before its last epoch is measured at its best state, not penalised.")
@study_options
@plan_option
@handle_errors
def cli(run_dir: Path, fractions: str, arms: str, arm_fractions: str | None, table_corpus: str | None,
        epochs: float, seeds: int, dim: int, x_max: float | None, device: str, fresh: bool, jobs: int | str,
        threads_per_run: int | None, quiet: bool, margin: float, plan_file: Path | None, **gpt) -> None:
    """How the paired difference from the learned embedding moves with the GPT's data size, and what a
    table is worth in GPT text (effective data)."""
    from corpus.sources import resolve_sources
    from gpt.config import GPTConfig

    fraction_list = parse_fractions(fractions)
    table_fractions = None if arm_fractions is None else parse_fractions(arm_fractions, "--arm-fractions")
    arm_list = parse_arms(arms, datasweep_arms())
    study_fractions(arm_list, fraction_list, table_fractions)  # checked before anything is written
    if table_corpus is not None and not any(arm.fields.get("table_data") == TRANSFER for arm in arm_list):
        raise InputError("--table-corpus gives the tables of the transfer arms (e.g. glove-init-transfer); "
                         "--arms names none")
    options = given(gpt)
    options.setdefault("evals", DATASWEEP_EVALS)
    base = GPTConfig(d_model=dim, keep_best=True, **options)
    device = resolve_device(device)
    sources = None if table_corpus is None else resolve_sources(table_corpus, progress=show_progress(quiet))
    with run_lock(run_dir):
        prepared_tables = None
        if sources is not None:
            prepared_tables = prepare_table_corpus(Path(run_dir), table_corpus, sources, fresh, quiet)
        run_datasweep(Path(run_dir), arm_list, fraction_list, table_fractions, seeds, base, epochs, x_max, device,
                      fresh, not show_progress(quiet), jobs, threads_per_run, plan_file, prepared_tables,
                      table_corpus, log=click.echo, margin=margin)


if __name__ == "__main__":
    main_entry(cli)
