"""``python -m pipelines.pretrain``: prepare the corpus when needed, then train every asked-for table.

Each method writes ``<run-dir>/embeddings/<method>.npz`` (native), ``<method>.txt`` (word2vec text) and
``<method>.json`` (the report); with ``--seed k`` other than 0 into ``embeddings/seed<k>/``, so the tables of
several seeds live side by side (``compare`` pairs GPT seed k with tables of seed k). A method whose report
shows the same config on the same corpus is skipped; an interrupted one resumes from its per-epoch checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from corpus.errors import InputError
from corpus.lock import run_lock
from corpus.prepared import PreparedCorpus
from pipelines.common import COUNT, handle_errors, main_entry, resolve_device, run_dir_option, show_progress
from pipelines.methods import METHODS, build_config, train_method
from pipelines.prepare import describe, prepare_from_options, prepare_options
from vectors.trainer import available_cores, table_dir


def open_or_prepare(ctx: click.Context, run_dir: Path, prepare_args: dict, quiet: bool) -> PreparedCorpus:
    """Use the run's prepared corpus as it is unless a prepare option was given; else prepare it."""
    given = [name for name in prepare_args
             if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT]
    corpus_dir = Path(run_dir) / "corpus"
    if not given and (corpus_dir / "manifest.json").exists():
        return PreparedCorpus.open(corpus_dir)
    prepared, built = prepare_from_options(run_dir, quiet=quiet, **prepare_args)
    if built:
        click.echo(f"prepared: {prepared.path} ({describe(prepared)})")
    return prepared


UP_TO_DATE_IGNORES = ("threads",)  # the same algorithm on another core count: not a reason to retrain


def is_up_to_date(directory: Path, method: str, config_dict: dict, corpus_hash: str) -> bool:
    """True when ``<method>.json`` reports this config (the thread count aside) on this corpus and its table
    file is there."""
    report_path = directory / f"{method}.json"
    if not report_path.exists() or not (directory / f"{method}.npz").exists():
        return False
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    def settings(config: dict) -> dict:
        return {k: v for k, v in config.items() if k not in UP_TO_DATE_IGNORES}

    reported = report.get("config")
    return isinstance(reported, dict) and settings(reported) == settings(config_dict) and \
        report.get("corpus_hash") == corpus_hash


def parse_methods(value: str) -> list[str]:
    methods = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise InputError(f"--methods takes a comma list of {', '.join(METHODS)}; got {value!r}")
    return list(dict.fromkeys(methods))


@click.command()
@run_dir_option
@prepare_options(seed_flag="--split-seed")
@click.option("--methods", default=",".join(METHODS), show_default=True, help="Comma list of methods to train.")
@click.option("--dim", type=COUNT, default=128, show_default=True, help="Vector size (the GPT's d_model).")
@click.option("--window", type=COUNT, default=None, help="Context window [word2vec 5, GloVe 10].")
@click.option("--negative", type=COUNT, default=5, show_default=True, help="Negative samples per target (word2vec).")
@click.option("--noise", type=click.Choice(["pair", "window"]), default=None,
              help="Skip-gram noise words: fresh per (context, centre) pair as gensim [pair], or shared across a "
                   "centre's window (Ji et al. 2016; faster).")
@click.option("--sample", type=float, default=1e-3, show_default=True, help="Subsampling threshold (word2vec).")
@click.option("--epochs", type=COUNT, default=None, help="Passes over the train split [word2vec 5, GloVe 15].")
@click.option("--alpha", type=float, default=None,
              help="Initial learning rate [skip-gram 0.025, CBOW 0.05, GloVe 0.05].")
@click.option("--threads", type=COUNT, default=None, help="Worker threads [all cores]; 1 is bit-reproducible.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the trainers; tables of a seed k > 0 go to embeddings/seed<k>/.")
@click.option("--export-vectors", type=click.Choice(["in", "out", "sum"]), default=None,
              help="Which vectors form the table [word2vec in, GloVe sum (W + W~)].")
@click.option("--x-max", type=float, default=100.0, show_default=True,
              help="GloVe weighting cap x_max in f(x) = min(1, (x/x_max)^0.75): 100 for large corpora; 10 suits "
                   "small ones (a few million tokens) such as the default corpus.")
@click.option("--memory-gb", type=float, default=2.0, show_default=True,
              help="Working memory for GloVe co-occurrence counting (dense block + overflow buffers).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Trainer engine: auto and cpu train with the compiled CPU kernels (the reference algorithm, "
                   "bit-reproducible with --threads 1) whether or not a GPU is present; cuda trains batched "
                   "torch steps on the GPU, a different algorithm.")
@click.option("--force", is_flag=True, help="Retrain from scratch even when a table is up to date.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
@handle_errors
def cli(ctx: click.Context, run_dir: Path, methods: str, device: str, force: bool, quiet: bool,
        **options) -> None:
    """Train CBOW, skip-gram and GloVe tables on the run's prepared corpus."""
    prepare_args = {k: options.pop(k) for k in list(options) if k in _PREPARE_PARAMS}
    chosen = parse_methods(methods)
    options["threads"] = options["threads"] or available_cores()
    options["device"] = table_device(device)
    for method in chosen:
        build_config(method, options)  # bad option values fail before anything is written
    with run_lock(run_dir):
        prepared = open_or_prepare(ctx, run_dir, prepare_args, quiet)
        train_tables(run_dir, prepared, chosen, options, force=force, progress=show_progress(quiet))


def table_device(name: str) -> str:
    """The table trainers' device: ``auto`` means the CPU kernels, so a table does not depend on whether a
    GPU happens to be present; ``cuda`` must be asked for."""
    return "cpu" if name == "auto" else resolve_device(name)


def trainer_defaults() -> dict:
    """The trainer options of ``pretrain`` at their command-line defaults (for ``compare``)."""
    skip = _PREPARE_PARAMS | {"run_dir", "methods", "force", "quiet"}
    options = {p.name: p.default for p in cli.params if p.name not in skip}
    options["threads"] = available_cores()
    options["device"] = table_device(options["device"])
    return options


def train_tables(run_dir: Path, prepared: PreparedCorpus, methods: list[str], options: dict,
                 force: bool = False, progress: bool = False, log=click.echo) -> dict[str, dict]:
    """Train (or find up to date) each method's table with the options' seed; return the reports."""
    return {method: train_table(run_dir, prepared, method, build_config(method, options), force, progress, log)
            for method in methods}


def train_table(run_dir: Path, prepared: PreparedCorpus, method: str, config, force: bool = False,
                progress: bool = False, log=click.echo) -> dict:
    """Train (or find up to date) one table of ``config`` into the run's directory for ``config.seed``
    (:func:`vectors.trainer.table_dir`): .npz, .txt and .json; return its report."""
    from corpus.atomic import write_json
    from vectors.formats import save_word2vec

    out = table_dir(run_dir, config.seed)
    config_dict = config.to_dict()
    if not force and is_up_to_date(out, method, config_dict, prepared.content_hash):
        log(f"{method}: up to date ({out / method}.npz)")
        return json.loads((out / f"{method}.json").read_text(encoding="utf-8"))
    checkpoints = out / ".checkpoints" / method
    if force:
        shutil.rmtree(checkpoints, ignore_errors=True)  # --force trains from scratch, not from the last epoch
    table = train_method(method, prepared, config, checkpoint_dir=checkpoints, progress=progress)
    table.save(out / f"{method}.npz")
    save_word2vec(table, out / f"{method}.txt")
    write_json(out / f"{method}.json", table.meta)
    meta = table.meta
    heldout = [x for x in meta.get("heldout_loss_per_epoch", []) if x is not None]
    log(f"{method}: {len(table):,} x {table.dim} in {meta['train_seconds']:.1f}s "
        f"({meta['words_per_second']:,.0f} words/s), loss per epoch "
        + " ".join(f"{x:.4f}" for x in meta["loss_per_epoch"])
        + (", held-out " + " ".join(f"{x:.4f}" for x in heldout) if heldout else "") + f" -> {out / method}.npz")
    return meta


_PREPARE_PARAMS = {"corpus_spec", "min_count", "max_vocab", "no_lowercase", "val_fraction", "test_fraction",
                   "encoding_errors", "documents", "fmt", "text_field", "cache_dir", "tokenizer", "vocab_size",
                   "split_seed"}

if __name__ == "__main__":
    main_entry(cli)
