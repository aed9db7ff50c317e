"""``python -m pipelines.pretrain``: prepare the corpus when needed, then train every asked-for table.

Each method writes ``<run-dir>/embeddings/<method>.npz`` (native), ``<method>.txt`` (word2vec text) and
``<method>.json`` (the report); with ``--seed k`` other than 0 into ``embeddings/seed<k>/``, so the tables of
several seeds live side by side (``compare`` pairs GPT seed k with tables of seed k). A method whose report
shows the same config on the same corpus is skipped; an interrupted one resumes from its per-epoch checkpoint.
The training itself is :mod:`study.tables`.
"""

from __future__ import annotations

from pathlib import Path

import click

from base.cores import available_cores
from base.locks import run_lock
from pipelines.common import COUNT, DEVICES, SEED, handle_errors, main_entry, run_dir_option, show_progress
from pipelines.options import PREPARE_PARAMS, open_or_prepare, parse_methods, prepare_options
from study.table_configs import METHODS, TRAINER_DEFAULTS, build_config, table_device
from study.tables import train_tables


@click.command()
@run_dir_option
@prepare_options(seed_flag="--split-seed")
@click.option("--methods", default=",".join(METHODS), show_default=True, help="Comma list of methods to train.")
@click.option("--dim", type=COUNT, default=TRAINER_DEFAULTS["dim"], show_default=True,
              help="Vector size (the GPT's d_model).")
@click.option("--window", type=COUNT, default=TRAINER_DEFAULTS["window"],
              help="Context window [word2vec 5, GloVe 10].")
@click.option("--negative", type=COUNT, default=TRAINER_DEFAULTS["negative"], show_default=True,
              help="Negative samples per target (word2vec).")
@click.option("--noise", type=click.Choice(["pair", "window"]), default=TRAINER_DEFAULTS["noise"],
              help="Skip-gram noise words: fresh per (context, centre) pair as gensim [pair], or shared across a "
                   "centre's window (Ji et al. 2016; faster).")
@click.option("--sample", type=float, default=TRAINER_DEFAULTS["sample"], show_default=True,
              help="Subsampling threshold (word2vec).")
@click.option("--epochs", type=COUNT, default=TRAINER_DEFAULTS["epochs"],
              help="Passes over the train split [word2vec 5, GloVe 15].")
@click.option("--alpha", type=float, default=TRAINER_DEFAULTS["alpha"],
              help="Initial learning rate [skip-gram 0.025, CBOW 0.05, GloVe 0.05].")
@click.option("--threads", type=COUNT, default=TRAINER_DEFAULTS["threads"],
              help="Worker threads [all cores]; 1 is bit-reproducible.")
@click.option("--seed", type=SEED, default=TRAINER_DEFAULTS["seed"], show_default=True,
              help="Seed of the trainers; tables of a seed k > 0 go to embeddings/seed<k>/.")
@click.option("--export-vectors", type=click.Choice(["in", "out", "sum"]),
              default=TRAINER_DEFAULTS["export_vectors"],
              help="Which vectors form the table [word2vec in, GloVe sum (W + W~)].")
@click.option("--x-max", type=float, default=TRAINER_DEFAULTS["x_max"], show_default=True,
              help="GloVe weighting cap x_max in f(x) = min(1, (x/x_max)^0.75): 100 for large corpora; 10 suits "
                   "small ones (a few million tokens) such as the default corpus.")
@click.option("--memory-gb", type=float, default=TRAINER_DEFAULTS["memory_gb"], show_default=True,
              help="Working memory for GloVe co-occurrence counting (dense block + overflow buffers).")
@click.option("--device", type=click.Choice(DEVICES), default=TRAINER_DEFAULTS["device"], show_default=True,
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
    prepare_args = {k: options.pop(k) for k in list(options) if k in PREPARE_PARAMS}
    chosen = parse_methods(methods)
    options["threads"] = options["threads"] or available_cores()
    options["device"] = table_device(device)
    for method in chosen:
        build_config(method, options)  # bad option values fail before anything is written
    with run_lock(run_dir):
        prepared = open_or_prepare(ctx, run_dir, prepare_args, quiet)
        train_tables(run_dir, prepared, chosen, options, force=force, progress=show_progress(quiet),
                     log=click.echo)


if __name__ == "__main__":
    main_entry(cli)
