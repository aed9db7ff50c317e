"""``python -m pipelines.prepare``: text -> a prepared corpus in ``<run-dir>/corpus/``.

Same inputs and config: nothing is recomputed. Bad input: one line on stderr, exit 2, and nothing is
written to the run directory.
"""

from __future__ import annotations

from pathlib import Path

import click

from corpus.lock import run_lock
from corpus.prepare import PrepareConfig, ensure_prepared
from corpus.prepared import PreparedCorpus
from corpus.sources import resolve_sources
from pipelines.common import COUNT, handle_errors, main_entry, run_dir_option, show_progress


def prepare_options(func=None, *, seed_flag: str = "--seed"):
    """The options that decide a prepared corpus; ``pretrain`` takes them too.

    ``pretrain`` has a ``--seed`` of its own (the trainers'), so there the split seed is ``--split-seed``.
    """
    if func is None:
        return lambda f: prepare_options(f, seed_flag=seed_flag)
    options = [
        click.option("--corpus", "corpus_spec", default="default", show_default=True, metavar="SRC",
                     help="'default' (gensim's Wikipedia sample + Lee news), 'tinystories' or 'text8' "
                          "(downloaded once), or a FILE, DIR or GLOB of text or JSONL files (plain, .gz, "
                          ".bz2 or .xz)."),
        click.option("--min-count", type=COUNT, default=5, show_default=True,
                     help="Drop words seen fewer times in the train split (they become <unk>)."),
        click.option("--max-vocab", type=COUNT, default=None, help="At most this many entries, specials included."),
        click.option("--no-lowercase", is_flag=True, help="Keep case (default: lowercase everything)."),
        click.option("--val-fraction", type=float, default=0.01, show_default=True),
        click.option("--test-fraction", type=float, default=0.01, show_default=True),
        click.option("--encoding-errors", type=click.Choice(["strict", "replace"]), default="strict",
                     show_default=True, help="strict: invalid UTF-8 is an error; replace: substitute U+FFFD."),
        click.option("--documents", type=click.Choice(["paragraphs", "lines"]), default="paragraphs",
                     show_default=True, help="What one document of a text file is (<|endoftext|> always "
                                             "ends one)."),
        click.option("--format", "fmt", type=click.Choice(["auto", "text", "jsonl", "text8"]), default="auto",
                     show_default=True, help="How to read local files; auto: .jsonl -> jsonl, text8[.zip] -> "
                                             "text8, else text."),
        click.option("--text-field", default="text", show_default=True, help="JSONL field holding the text."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Where downloaded corpora (tinystories, text8) are kept [~/.cache/w2v-gpt]."),
        click.option("--tokenizer", type=click.Choice(["word", "bpe"]), default="word", show_default=True,
                     help="Word-level tokens, or BPE subwords trained on the train split."),
        click.option("--vocab-size", type=COUNT, default=None, help="BPE vocabulary size (with --tokenizer bpe)."),
        click.option(seed_flag, "split_seed", type=int, default=0, show_default=True,
                     help="Seed of the document split."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def prepare_from_options(run_dir: Path, corpus_spec: str, min_count: int, max_vocab: int | None,
                         no_lowercase: bool, val_fraction: float, test_fraction: float,
                         encoding_errors: str, documents: str, fmt: str, text_field: str,
                         cache_dir: Path | None, tokenizer: str, vocab_size: int | None, split_seed: int,
                         quiet: bool = False) -> tuple[PreparedCorpus, bool]:
    """Prepare (or reuse) ``<run_dir>/corpus`` from command-line option values."""
    config = PrepareConfig(min_count=min_count, max_vocab=max_vocab, lowercase=not no_lowercase,
                           val_fraction=val_fraction, test_fraction=test_fraction,
                           encoding_errors=encoding_errors, documents=documents, format=fmt,
                           text_field=text_field, tokenizer=tokenizer, vocab_size=vocab_size, seed=split_seed)
    config.validate()
    sources = resolve_sources(corpus_spec, documents=documents, encoding_errors=encoding_errors, fmt=fmt,
                              text_field=text_field, cache_dir=cache_dir, progress=show_progress(quiet))
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
@click.option("--verify", is_flag=True, help="Only verify the run's prepared corpus against its manifest (content "
                                            "hash, counts, ids in the vocabulary) and exit: 0 intact, 2 not.")
@handle_errors
def cli(run_dir: Path, quiet: bool, verify: bool, **options) -> None:
    """Tokenize a corpus, build its vocabulary and write train/val/test token ids."""
    if verify:
        prepared = PreparedCorpus.open(Path(run_dir) / "corpus")
        prepared.verify()
        click.echo(f"intact: {prepared.path} ({describe(prepared)})")
        return
    with run_lock(run_dir):
        prepared, built = prepare_from_options(run_dir, quiet=quiet, **options)
    verb = "prepared" if built else "up to date"
    click.echo(f"{verb}: {prepared.path} ({describe(prepared)})")


if __name__ == "__main__":
    main_entry(cli)
