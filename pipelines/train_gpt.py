"""``python -m pipelines.train_gpt``: train one GPT variant on the run's prepared corpus.

Writes ``<run-dir>/gpt/<variant>/seed<k>/`` (config.json, checkpoint.pt, curve.csv, result.json). A finished
run with the same config, corpus and table is skipped; an interrupted one resumes from its checkpoint.

Data-parallel: ``torchrun --nproc_per_node N -m pipelines.train_gpt ...`` trains one run in N processes
(gloo on the CPU, nccl with one GPU each); ``--batch-size`` stays the global batch, split evenly across
them, so the run is the single-process run up to float rounding. Rank 0 writes the files and prints; an
error is one line from rank 0 (every process exits 2).
"""

from __future__ import annotations

import contextlib
import functools
import time
from pathlib import Path

import click

from corpus.errors import InputError
from corpus.lock import run_lock
from gpt.config import POSITIONS, GPTConfig, parse_embedding
from pipelines.common import (COUNT, TokenCount, device_option, handle_errors, main_entry, resolve_device,
                              run_dir_option, show_progress)

DEFAULTS = GPTConfig()


REPORT_GRACE_SECONDS = 5.0


def rank0_reports(func):
    """Inside :func:`handle_errors`: under torchrun, bad input is reported by rank 0 alone.

    Every process reads the same options and run directory, so they fail alike: the others wait a moment
    (torchrun ends them once rank 0 has exited) and report only an error of their own that rank 0 did not
    share.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from gpt.distributed import env_context

        try:
            return func(*args, **kwargs)
        except (InputError, FileNotFoundError, IsADirectoryError, PermissionError):
            try:
                rank = env_context().rank
            except InputError:
                rank = 0
            if rank != 0:
                time.sleep(REPORT_GRACE_SECONDS)
            raise

    return wrapper


@click.command()
@run_dir_option
@click.option("--embedding", default="learned", show_default=True, metavar="learned|init:TABLE|frozen:TABLE",
              help="Token embedding: learned from scratch, initialized from TABLE, or TABLE frozen. TABLE is a "
                   "method of the run (cbow, skipgram, glove) or a vector file (word2vec text/binary, GloVe).")
@click.option("--position", type=click.Choice(POSITIONS), default=DEFAULTS.position, show_default=True)
@click.option("--tokens", type=TokenCount(), default=DEFAULTS.tokens, show_default=True,
              help="Training budget in tokens (200000, 200k and 2e5 all work).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the init, batches and dropout.")
@click.option("--table-seed", type=click.IntRange(min=0), default=None,
              help="Use the run's table trained with this seed (embeddings/seed<k>/ for k > 0) [--seed]: a study "
                   "pairs GPT seed k with tables of seed k.")
@click.option("--variant", default=None, help="Directory name of the run [derived: learned, skipgram-init, "
                                              "glove-frozen, pos-rope, ...].")
@click.option("--no-rescale", is_flag=True, help="Use the table's rows at their own scale (default: rescale "
                                                 "them to the init std).")
@click.option("--project", is_flag=True, help="A learned projection from the table's dim to --d-model.")
@click.option("--d-model", type=COUNT, default=DEFAULTS.d_model, show_default=True)
@click.option("--layers", type=COUNT, default=DEFAULTS.n_layer, show_default=True)
@click.option("--heads", type=COUNT, default=DEFAULTS.n_head, show_default=True)
@click.option("--context", type=COUNT, default=DEFAULTS.context, show_default=True, help="Tokens per window.")
@click.option("--dropout", type=float, default=DEFAULTS.dropout, show_default=True)
@click.option("--batch-size", type=COUNT, default=DEFAULTS.batch_size, show_default=True)
@click.option("--lr", type=float, default=DEFAULTS.lr, show_default=True, help="Peak learning rate.")
@click.option("--warmup-fraction", type=float, default=DEFAULTS.warmup_fraction, show_default=True,
              help="Fraction of the steps spent warming the learning rate up.")
@click.option("--weight-decay", type=float, default=DEFAULTS.weight_decay, show_default=True)
@click.option("--evals", type=COUNT, default=DEFAULTS.evals, show_default=True,
              help="Val evaluations after step 0, spaced geometrically up to the last step.")
@click.option("--eval-windows", type=COUNT, default=DEFAULTS.eval_windows, show_default=True,
              help="Windows of the val split in the fixed val sample.")
@click.option("--checkpoint-interval", type=COUNT, default=DEFAULTS.checkpoint_interval, show_default=True,
              help="Steps between checkpoints.")
@device_option
@click.option("--compile", "compile_model", is_flag=True, help="torch.compile the model (CUDA only).")
@click.option("--fresh", is_flag=True, help="Start over, ignoring a checkpoint or finished run.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--stop-after", type=click.IntRange(min=1), default=None, metavar="STEPS",
              help="Pause after this many optimizer steps, leaving a checkpoint; run again to resume.")
@handle_errors
@rank0_reports
def cli(run_dir: Path, embedding: str, position: str, tokens: int, seed: int, table_seed: int | None,
        variant: str | None,
        no_rescale: bool, project: bool, d_model: int, layers: int, heads: int, context: int, dropout: float,
        batch_size: int, lr: float, warmup_fraction: float, weight_decay: float, evals: int, eval_windows: int,
        checkpoint_interval: int, device: str,
        compile_model: bool, fresh: bool, quiet: bool, stop_after: int | None) -> None:
    """Train a small GPT with a learned, table-initialized or frozen token embedding.

    Under torchrun, data-parallel across its processes (--batch-size is the global batch).
    """
    from gpt import distributed
    from gpt.runs import run_files
    from gpt.train import train_variant

    mode, table = parse_embedding(embedding)
    config = GPTConfig(d_model=d_model, n_layer=layers, n_head=heads, context=context, dropout=dropout,
                       embedding=mode, table=table, table_seed=table_seed, rescale=not no_rescale,
                       project=project, position=position,
                       tokens=tokens, batch_size=batch_size, lr=lr, warmup_fraction=warmup_fraction,
                       weight_decay=weight_decay, evals=evals, eval_windows=eval_windows,
                       checkpoint_interval=checkpoint_interval, seed=seed)
    distributed.check_batch(config.batch_size, distributed.env_context().world_size)  # before any rendezvous
    device = resolve_device(device)
    log = (lambda message: None) if quiet else click.echo
    # rank 0 holds the lock of this run's own directory for every process of the run (they write nothing
    # themselves), so runs of one run directory can train at once (a cluster array over a --plan file)
    directory = run_files(run_dir, config, variant).directory
    lock = run_lock(directory) if distributed.env_context().rank == 0 else contextlib.nullcontext()
    with lock, distributed.process_group(device) as (context, device):
        result = train_variant(run_dir, config, variant=variant, device=device, compile=compile_model,
                               quiet=not show_progress(quiet), stop_after=stop_after, fresh=fresh, log=log)
    if not context.is_main:
        return
    if result is None:
        click.echo(f"paused after step {stop_after}; run the same command again to resume")
        return
    speed = f"{result['tokens_per_second']:,.0f} tok/s" if result.get("tokens_per_second") else "n/a"
    click.echo(f"{result['variant']} seed {seed}: test loss {result['test_loss']:.4f} "
               f"(ppl {result['test_ppl']:.1f}), val loss {result['val_loss']:.4f}; "
               f"{result['tokens']:,} tokens in {result['train_seconds']:.0f} s ({speed})")


if __name__ == "__main__":
    main_entry(cli)
