"""``python -m pipelines.datasweep``: the compare study across the GPT's data size: how much text is a
pretrained table worth to a GPT that has less of it?

Runs of ``<arm>@frac<F>`` under ``gpt/``; with ``--table-corpus SRC`` the transfer tables' corpus is prepared
in ``runs/<name>/table-corpus/``; output in ``runs/<name>/datasweep/`` (summary.json with key ``fractions``
and an ``effective_data`` per arm and fraction, summary.md, datasweep.png). The study itself is
:mod:`study.datasweep`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from base.errors import InputError
from base.locks import run_lock
from pipelines.common import POSITIVE, handle_errors, main_entry, run_dir_option
from pipelines.options import (READING_PARAMS, parse_fractions, plan_option, prepare_table_corpus,
                               resolve_table_corpus, study_options, study_settings, table_corpus_options,
                               table_file_options)
from study.datasweep import (ARM_FRACTIONS_UP_TO, DATASWEEP_EVALS, DEFAULT_ARMS, DEFAULT_EPOCHS,
                             DEFAULT_FRACTIONS, DataSweep, check_datasweep, run_datasweep)
from study.datasweep import arm_fractions as study_fractions
from study.sources import TableSource
from study.variants import arm_source, datasweep_arms, file_arms, parse_arms


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
@table_corpus_options
@click.option("--epochs", type=POSITIVE, default=DEFAULT_EPOCHS, show_default=True,
              help="Each run trains this many epochs of its own fraction and reports the test loss at its best "
                   f"val evaluation ({DATASWEEP_EVALS} evaluations unless --evals is given). At 4, make datasweep "
                   "took 41 minutes on an idle 2-core CPU (2026-12-01, the README's run); a run that overfits "
                   "before its last epoch is measured at its best state, not penalised.")
@study_options
@table_file_options
@plan_option
@handle_errors
def cli(run_dir: Path, fractions: str, arms: str, arm_fractions: str | None, table_corpus: str | None,
        epochs: float, plan_file: Path | None, **options) -> None:
    """How the paired difference from the learned embedding moves with the GPT's data size, and what a
    table is worth in GPT text (effective data)."""
    fraction_list = parse_fractions(fractions)
    table_fractions = None if arm_fractions is None else parse_fractions(arm_fractions, "--arm-fractions")
    reading = {name: options.pop(name) for name in READING_PARAMS}
    given = click.get_current_context().get_parameter_source
    if table_corpus is None and any(given(name) != click.core.ParameterSource.DEFAULT for name in READING_PARAMS):
        raise InputError("--min-count, --encoding-errors, --documents, --format and --text-field read the "
                         "--table-corpus; there is none")
    evals = options.pop("evals") or DATASWEEP_EVALS
    settings = study_settings(run_dir, options, keep_best=True, evals=evals)
    arm_list = parse_arms(arms, {**datasweep_arms(), **{a.name: a for a in file_arms(settings.tables.files)}})
    study_fractions(arm_list, fraction_list, table_fractions)  # checked before anything is written
    if table_corpus is not None and not any(arm_source(arm) is TableSource.TABLE_CORPUS for arm in arm_list):
        raise InputError("--table-corpus gives the tables of the transfer arms (e.g. glove-init-transfer); "
                         "--arms names none")
    sources = None if table_corpus is None else resolve_table_corpus(table_corpus, reading, settings.progress)
    sweep = DataSweep(arm_list, fraction_list, table_fractions, epochs, None, table_corpus)
    with run_lock(run_dir):
        if sources is not None:
            check_datasweep(settings, sweep, True)  # before the table corpus is prepared (run_datasweep checks
            # again; without a table corpus its check is the first thing it does, so it is not made twice)
            prepared_tables = prepare_table_corpus(Path(run_dir), table_corpus, sources, reading, settings)
            sweep = dataclasses.replace(sweep, table_corpus=prepared_tables)
        run_datasweep(settings, sweep, plan_file)


if __name__ == "__main__":
    main_entry(cli)
