"""``python -m pipelines.prepare``: text -> a prepared corpus in ``<run-dir>/corpus/``.

Same inputs and config: nothing is recomputed. Bad input: one line on stderr, exit 2, and nothing is
written to the run directory.
"""

from __future__ import annotations

from pathlib import Path

import click

from corpus.prepare import PrepareConfig, ensure_prepared
from corpus.prepared import PreparedCorpus
from corpus.sources import resolve_sources
from pipelines.common import handle_errors, main_entry, run_dir_option, show_progress


def prepare_options(func):
    """The options that decide a prepared corpus; ``pretrain`` takes them too."""
    options = [
        click.option("--corpus", "corpus_spec", default="default", show_default=True, metavar="SRC",
                     help="'default' (gensim's Wikipedia sample + Lee news), or a FILE, DIR or GLOB of "
                          "text files (plain, .gz, .bz2 or .xz)."),
        click.option("--min-count", type=int, default=5, show_default=True,
                     help="Drop words seen fewer times in the train split (they become <unk>)."),
        click.option("--max-vocab", type=int, default=None, help="At most this many entries, specials included."),
        click.option("--no-lowercase", is_flag=True, help="Keep case (default: lowercase everything)."),
        click.option("--val-fraction", type=float, default=0.01, show_default=True),
        click.option("--test-fraction", type=float, default=0.01, show_default=True),
        click.option("--encoding-errors", type=click.Choice(["strict", "replace"]), default="strict",
                     show_default=True, help="strict: invalid UTF-8 is an error; replace: substitute U+FFFD."),
        click.option("--documents", type=click.Choice(["paragraphs", "lines"]), default="paragraphs",
                     show_default=True, help="What one document of a text file is."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the document split."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def prepare_from_options(run_dir: Path, corpus_spec: str, min_count: int, max_vocab: int | None,
                         no_lowercase: bool, val_fraction: float, test_fraction: float,
                         encoding_errors: str, documents: str, seed: int, quiet: bool = False
                         ) -> tuple[PreparedCorpus, bool]:
    """Prepare (or reuse) ``<run_dir>/corpus`` from command-line option values."""
    config = PrepareConfig(min_count=min_count, max_vocab=max_vocab, lowercase=not no_lowercase,
                           val_fraction=val_fraction, test_fraction=test_fraction,
                           encoding_errors=encoding_errors, documents=documents, seed=seed)
    config.validate()
    sources = resolve_sources(corpus_spec, documents=documents, encoding_errors=encoding_errors)
    return ensure_prepared(sources, Path(run_dir) / "corpus", config, progress=show_progress(quiet))


def describe(prepared: PreparedCorpus) -> str:
    counts = prepared.manifest["counts"]
    tokens, docs = counts["tokens"], counts["documents"]
    return (f"vocab {counts['vocab_size']:,}; tokens train {tokens['train']:,} / val {tokens['val']:,} / "
            f"test {tokens['test']:,}; documents {docs['train']:,} / {docs['val']:,} / {docs['test']:,}")


@click.command()
@run_dir_option
@prepare_options
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def cli(run_dir: Path, quiet: bool, **options) -> None:
    """Tokenize a corpus, build its vocabulary and write train/val/test token ids."""
    prepared, built = prepare_from_options(run_dir, quiet=quiet, **options)
    verb = "prepared" if built else "up to date"
    click.echo(f"{verb}: {prepared.path} ({describe(prepared)})")


if __name__ == "__main__":
    main_entry(cli)
