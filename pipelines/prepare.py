"""``python -m pipelines.prepare``: text -> a prepared corpus in ``<run-dir>/corpus/``.

Same inputs and config: nothing is recomputed. Bad input: one line on stderr, exit 2, and nothing is
written to the run directory.
"""

from __future__ import annotations

from pathlib import Path

import click

from base.layout import RunLayout
from base.locks import run_lock
from corpus.prepared import PreparedCorpus
from pipelines.common import handle_errors, main_entry, run_dir_option
from pipelines.options import describe, prepare_from_options, prepare_options


@click.command()
@run_dir_option
@prepare_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--verify", is_flag=True, help="Only verify the run's prepared corpus against its manifest (content "
                                            "hash, counts, ids in the vocabulary) and exit: 0 intact, 2 not.")
@handle_errors
def cli(run_dir: Path, quiet: bool, verify: bool, **options) -> None:
    """Tokenize a corpus, build its vocabulary and write train/val/test token ids."""
    if verify:
        prepared = PreparedCorpus.open(RunLayout(run_dir).corpus)
        prepared.verify()
        click.echo(f"intact: {prepared.path} ({describe(prepared)})")
        return
    with run_lock(run_dir):
        prepared, built = prepare_from_options(run_dir, quiet=quiet, **options)
    verb = "prepared" if built else "up to date"
    click.echo(f"{verb}: {prepared.path} ({describe(prepared)})")


if __name__ == "__main__":
    main_entry(cli)
