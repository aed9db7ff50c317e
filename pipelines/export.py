"""``python -m pipelines.export``: a trained GPT run as a folder ``transformers`` loads offline."""

from __future__ import annotations

from pathlib import Path

import click

from pipelines.common import handle_errors, main_entry, run_dir_option


def parse_run(value: str) -> tuple[str, int]:
    """``<variant>/seed<k>`` -> (variant, k); click's usage error otherwise."""
    variant, _, seed = value.rstrip("/").rpartition("/")
    if not variant or not seed.startswith("seed") or not seed[4:].isdigit():
        raise click.BadParameter(f"{value!r} is not <variant>/seed<k> (e.g. skipgram-init/seed1)")
    return variant, int(seed[4:])


@click.command()
@run_dir_option
@click.option("--run", "run_name", required=True,
              help="The GPT run to export: <variant>/seed<k>, a folder under RUN_DIR/gpt (e.g. learned/seed1).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder to write (absent, empty, or an earlier export of the same run).")
@handle_errors
def cli(run_dir: Path, run_name: str, out: Path) -> None:
    """Write the run's model and tokenizer for transformers' AutoModelForCausalLM and AutoTokenizer
    (GPT-2 for learned, sinusoidal and no positions; GPT-NeoX for rope; alibi does not export)."""
    from base.errors import InputError
    from base.layout import RunFiles, RunLayout
    from corpus import PreparedCorpus
    from gpt.export import require_transformers, write_export

    variant, seed = parse_run(run_name)
    require_transformers()
    checkpoint = RunFiles.of(run_dir, variant, seed).checkpoint
    if not checkpoint.is_file():
        raise InputError(f"no trained run {run_name} in {RunLayout(run_dir).gpt} (no {checkpoint.name} there)")
    prepared = PreparedCorpus.open(RunLayout(run_dir).corpus)
    write_export(checkpoint, prepared, out, log=click.echo, warn=lambda m: click.echo(m, err=True))


if __name__ == "__main__":
    main_entry(cli)
