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

from base.cores import torch_threads
from base.errors import InputError
from base.locks import run_lock
from gpt.config import GPTConfig, parse_embedding, resolve_precision
from pipelines.common import (COUNT, device_option, handle_errors, main_entry, resolve_device, run_dir_option,
                              show_progress)
from pipelines.options import gpt_options


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
@gpt_options
@click.option("--variant", default=None, help="Directory name of the run [derived: learned, skipgram-init, "
                                              "glove-frozen, pos-rope, ...].")
@device_option
@click.option("--threads", type=COUNT, default=None,
              help="Torch threads of this process [torch's default: the available cores]; a run is "
                   "bit-reproducible at a fixed value (a study's --threads-per-run).")
@click.option("--compile", "compile_model", is_flag=True, help="torch.compile the training step's model (inductor, CPU or CUDA); its compile time "
                   "counts once per run.")
@click.option("--fresh", is_flag=True, help="Start over, ignoring a checkpoint or finished run.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--stop-after", type=click.IntRange(min=1), default=None, metavar="STEPS",
              help="Pause after this many optimizer steps, leaving a checkpoint; run again to resume.")
@handle_errors
@rank0_reports
def cli(run_dir: Path, variant: str | None, device: str, threads: int | None, compile_model: bool, fresh: bool,
        quiet: bool, stop_after: int | None, embedding: str, **fields) -> None:
    """Train a small GPT with a learned, table-initialized or frozen token embedding.

    Under torchrun, data-parallel across its processes (--batch-size is the global batch).
    """
    from gpt import distributed
    from gpt.runs import RunFiles, _stderr
    from gpt.train import TrainOptions, train
    from study.plan import resolve_run
    from study.sources import check_config
    from study.variants import variant_name

    mode, table = parse_embedding(embedding)
    device = resolve_device(device)
    fields["precision"] = resolve_precision(fields["precision"], device)
    config = GPTConfig(embedding=mode, table=table, **fields)
    check_config(config)
    distributed.check_batch(config.batch_size, distributed.env_context().world_size)  # before any rendezvous
    main = distributed.env_context().rank == 0
    log = click.echo if main and not quiet else (lambda message: None)
    warn = _stderr if main else (lambda message: None)  # rank 0 speaks for every process
    variant = variant or variant_name(config)
    # rank 0 holds the lock of this run's own directory for every process of the run (they write nothing
    # themselves), so runs of one run directory can train at once (a cluster array over a --plan file)
    lock = run_lock(RunFiles.of(run_dir, variant, config.seed).directory) if main else contextlib.nullcontext()
    with lock, torch_threads(threads), distributed.process_group(device) as (context, device):
        run = resolve_run(run_dir, config, variant, log=log, warn=warn)
        options = TrainOptions(device=device, compile=compile_model, progress=show_progress(quiet),
                               stop_after=stop_after, fresh=fresh, log=log)
        result = train(run, options)
    if not context.is_main:
        return
    if result is None:
        click.echo(f"paused after step {stop_after}; run the same command again to resume")
        return
    speed = f"{result['tokens_per_second']:,.0f} tok/s" if result.get("tokens_per_second") else "n/a"
    click.echo(f"{result['variant']} seed {config.seed}: test loss {result['test_loss']:.4f} "
               f"(ppl {result['test_ppl']:.1f}), val loss {result['val_loss']:.4f}; "
               f"{result['tokens']:,} tokens in {result['train_seconds']:.0f} s ({speed})")


if __name__ == "__main__":
    main_entry(cli)
