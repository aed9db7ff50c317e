"""Training a GPT variant on a prepared corpus: AdamW, warmup + cosine, clipping, val curve, exact resume.

Files of one run, under ``runs/<name>/gpt/<variant>/seed<k>/``:
``config.json`` (the run's record), ``checkpoint.pt`` (state every ``checkpoint_interval`` steps; the final
weights once done), ``curve.csv`` (``tokens,step,val_loss,val_ppl,train_loss,lr,seconds`` at step 0 and at
geometrically spaced steps, :meth:`GPTConfig.eval_steps`) and ``result.json`` (test loss and perplexity, also
split by frequent and rare target words; ``train_seconds``, the time spent in training steps, and
``eval_seconds``, in the curve's evaluations; tokens; parameters; ``trainable_token_rows``; ``fraction`` and
``train_tokens``, the share of the train split's documents trained on (:func:`corpus.fraction.fraction_ids`)
and their ids; under a fraction or with ``keep_best``, the test loss on targets rare in those ids; with
``keep_best``, the test loss of the state at the best val evaluation, which the checkpoint keeps; for a table
not pretrained on the whole train split, ``table_corpus``: what it was pretrained on).
A finished run with the same record is skipped; an unfinished one resumes from its checkpoint, seeing the
same batches and dropout masks it would have seen without the interruption.

Under torchrun (see :mod:`gpt.distributed`) every process trains on its shard of each global batch inside
DistributedDataParallel; rank 0 alone evaluates, logs and writes these files, and the run's curve equals the
single-process run's with the same global batch and seed up to float rounding.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from base.atomic import atomic_file, write_json
from base.errors import InputError
from corpus.fraction import RARE_IN_FRACTION, fraction_ids
from gpt import distributed
from gpt.checkpoint import read_checkpoint, save_checkpoint
from gpt.config import FORMAT_VERSION, GPTConfig
from gpt.data import batch_offsets, eval_windows, frequent_ids, get_batch
from gpt.embedding import AlignedTable
from gpt.model import GPT, seeded_generator
from gpt.runs import RunFiles, _stderr, check_run_directory, curve_digest, finished_result, plan_run

CURVE_COLUMNS = ("tokens", "step", "val_loss", "val_ppl", "train_loss", "lr", "seconds")
EVAL_BATCH = 16  # windows per forward pass when evaluating (16 x 128 x 10k logits: 84 MB)


def lr_at(config: GPTConfig, step: int) -> float:
    """Learning rate of ``step``: linear warmup to ``lr``, then cosine decay to ``lr * min_lr_ratio``."""
    warmup = round(config.warmup_fraction * config.steps)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.steps - warmup)
    min_lr = config.lr * config.min_lr_ratio
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))) * (config.lr - min_lr)


def autocast_for(device: str):
    """bf16 autocast on CUDA; nothing (fp32) on the CPU."""
    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def token_losses(model: GPT, windows: np.ndarray, batch_size: int, device: str) -> torch.Tensor:
    """Per-token cross-entropy ``(n, T)`` of windows ``(n, T + 1)``, in eval mode (float32, on the CPU)."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(windows), batch_size):
        chunk = torch.from_numpy(windows[start : start + batch_size]).to(device)
        with autocast_for(device):
            out.append(model(chunk[:, :-1], chunk[:, 1:], reduction="none").float().cpu())
    model.train(was_training)
    return torch.cat(out)


def write_curve(path: Path, rows: list[list]) -> None:
    with atomic_file(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(CURVE_COLUMNS) + "\n")
        for row in rows:
            handle.write(",".join("" if v is None else (str(v) if isinstance(v, int) else f"{v:.6g}")
                                  for v in row) + "\n")


def make_optimizer(model: GPT, config: GPTConfig) -> torch.optim.Optimizer:
    groups = model.param_groups(config.weight_decay)
    betas = (config.beta1, config.beta2)
    try:
        return torch.optim.AdamW(groups, lr=config.lr, betas=betas, fused=True)
    except (RuntimeError, TypeError):  # a device or build without the fused kernel
        return torch.optim.AdamW(groups, lr=config.lr, betas=betas)


def train_step(step_model, model: GPT, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               lr: float, grad_clip: float, device: str, context: distributed.Context | None = None) -> float:
    """One optimizer step on batch ``(x, y)``; returns the loss (no update when it is not finite).

    ``step_model`` is ``model`` or its compiled or DistributedDataParallel version. Across processes
    (``context``) the returned loss is the mean over every shard, so all of them agree on its finiteness.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    with autocast_for(device):
        loss = step_model(x, y)
    loss_value = distributed.mean_loss(loss, context or distributed.Context())
    if not math.isfinite(loss_value):
        return loss_value
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return loss_value


def resume_state(files: RunFiles, record: dict, fresh: bool, log) -> dict | None:
    """The checkpoint to resume from: one of this very run (same record), else None.

    A corrupt checkpoint is an InputError (delete it or pass ``fresh``): it is never silently replaced.
    """
    if fresh or not files.checkpoint.is_file():
        return None
    state = read_checkpoint(files.checkpoint)
    if state["record"] != record or state.get("optimizer") is None:
        log(f"{files.directory}: the checkpoint is of another config; starting over")
        return None
    return state


def restore_rng(state: dict, context: distributed.Context, device: str) -> None:
    """The dropout generators of this process as the checkpoint left them (per rank across processes)."""
    ranks = state.get("rng_ranks")
    cpu, cuda = (ranks[context.rank] if ranks and len(ranks) == context.world_size
                 else (state["torch_rng"], state["cuda_rng"]))
    torch.set_rng_state(cpu)
    if cuda is not None and device.startswith("cuda"):
        torch.cuda.set_rng_state(cuda)


def train(prepared, config: GPTConfig, files: RunFiles, record: dict, table: AlignedTable | None = None,
          device: str = "cpu", compile: bool = False, quiet: bool = False, stop_after: int | None = None,
          fresh: bool = False, log=print) -> dict | None:
    """Train (or resume, or skip) one run; return its result, or None when paused by ``stop_after`` steps.

    In a process group every process calls this with the same arguments (``device`` its own); rank 0
    writes the files and every process returns rank 0's result.
    """
    context = distributed.current()
    distributed.check_batch(config.batch_size, context.world_size)
    if not context.is_main:
        quiet, log = True, (lambda message: None)
    check_run_directory(files, record, fresh)
    result = finished_result(files, record) if not fresh else None
    distributed.agree(result is not None, context, "run states")
    if result is not None:
        log(f"{files.directory}: up to date (test loss {result['test_loss']:.4f})")
        return result
    train_ids = fraction_ids(prepared.train_ids, prepared.vocab.eos_id, config.fraction, config.seed)
    if config.fraction < 1.0 and len(train_ids) <= config.context:
        raise InputError(f"--fraction {config.fraction} keeps {len(train_ids)} train tokens, fewer than "
                         f"context + 1 = {config.context + 1}; use a larger --fraction or a smaller --context")
    batch_offsets(config.seed, 0, len(train_ids), config.context, config.batch_size)  # long enough?
    val = eval_windows(prepared.val_ids, config.context, config.eval_windows, "val")
    eval_windows(prepared.test_ids[: config.context + 1], config.context, 1, "test")  # not empty?
    state = resume_state(files, record, fresh, log)
    # every process has read the run directory; nothing is written to it before this point
    distributed.agree(None if state is None else state["step"], context, "checkpoints")
    vocab_size = record["vocab_size"]
    missing = torch.from_numpy(table.trainable) if table is not None and config.embedding == "frozen" else None
    model = GPT(config, vocab_size, table.dim if table is not None else None, missing)
    model.init_weights(table)
    model.to(device)
    optimizer = make_optimizer(model, config)
    dropout_seed = int(torch.randint(2**62, (1,), generator=seeded_generator(config.seed, "dropout")))
    torch.manual_seed(dropout_seed + context.rank)  # independent dropout masks on each shard

    step, curve, train_seconds, loss_sum, loss_count, eval_seconds = 0, [], 0.0, 0.0, 0, 0.0
    # keep_best: {"step", "val_loss", "model"} of the evaluation with the lowest val loss so far (rank 0)
    best = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        restore_rng(state, context, device)
        step, curve, train_seconds = state["step"], [list(r) for r in state["curve"]], state["train_seconds"]
        loss_sum, loss_count = state.get("loss_sum", 0.0), state.get("loss_count", 0)
        eval_seconds = state.get("eval_seconds", 0.0)
        best = state.get("best")
        log(f"{files.directory}: resuming at step {step} of {config.steps}")
    if context.is_main:
        files.result.unlink(missing_ok=True)
        write_json(files.config, record)

    if device.startswith("cuda"):
        torch.set_float32_matmul_precision("high")
    tps = config.tokens_per_step

    def checkpoint() -> None:
        extra = {"loss_sum": loss_sum, "loss_count": loss_count, "eval_seconds": eval_seconds}
        if config.keep_best and context.is_main:
            extra["best"] = best  # so that a resumed run finds the same best
        if context.is_distributed:
            cuda_rng = torch.cuda.get_rng_state() if device.startswith("cuda") else None
            extra["rng_ranks"] = distributed.gather((torch.get_rng_state(), cuda_rng), context)
        if context.is_main:
            save_checkpoint(files.checkpoint, model, optimizer, record, step, curve, train_seconds, extra=extra)
        distributed.barrier(context)

    eval_at = set(config.eval_steps())

    def evaluate() -> None:
        nonlocal loss_sum, loss_count, eval_seconds, best
        if context.is_main:  # the unwrapped model, on rank 0 alone
            started = time.perf_counter()
            val_loss = float(token_losses(model, val, EVAL_BATCH, device).mean())
            eval_seconds += time.perf_counter() - started
            if config.keep_best and (best is None or val_loss < best["val_loss"]):  # the first of equal lows
                best = {"step": step, "val_loss": val_loss,
                        "model": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}}
            train_loss = loss_sum / loss_count if loss_count else None
            curve.append([step * tps, step, val_loss, math.exp(min(val_loss, 700.0)), train_loss,
                          lr_at(config, max(step - 1, 0)), round(train_seconds, 3)])
            write_curve(files.curve, curve)
        loss_sum, loss_count = 0.0, 0

    if not curve:
        evaluate()  # the curve starts at the untrained model
    model.train()
    step_model = distributed.wrap(model, context, device)
    step_model = torch.compile(step_model) if compile and device.startswith("cuda") else step_model
    bar = tqdm(total=config.steps * tps, initial=step * tps, unit="tok", unit_scale=True, disable=quiet,
               desc=record["variant"], dynamic_ncols=True)
    try:
        while step < config.steps:
            started = time.perf_counter()
            offsets = batch_offsets(config.seed, step, len(train_ids), config.context, config.batch_size)
            x, y = get_batch(train_ids, distributed.shard(offsets, context), config.context, device)  # (B/N, T)
            loss_value = train_step(step_model, model, optimizer, x, y, lr_at(config, step), config.grad_clip,
                                    device, context)
            if not math.isfinite(loss_value):
                raise InputError(f"training diverged: loss is {loss_value} at step {step} "
                                 f"({step * tps} tokens); lower --lr or check the embedding table")
            step += 1
            train_seconds += time.perf_counter() - started
            loss_sum, loss_count = loss_sum + loss_value, loss_count + 1
            bar.update(tps)
            bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
            if step in eval_at:
                evaluate()
            paused = stop_after is not None and step >= stop_after
            if step % config.checkpoint_interval == 0 or step == config.steps or paused:
                checkpoint()
            if stop_after is not None and step >= stop_after and step < config.steps:
                return None
    finally:
        bar.close()
        del step_model  # a DDP wrapper must be gone before its process group (see gpt.distributed)
    result = None
    if context.is_main:
        result = finish(prepared, model, config, files, record, curve, train_seconds, device, context.world_size,
                        eval_seconds, train_ids, best)
    return distributed.broadcast(result, context)


def finish(prepared, model: GPT, config: GPTConfig, files: RunFiles, record: dict, curve: list,
           train_seconds: float, device: str, world_size: int, eval_seconds: float, train_ids: np.ndarray,
           best: dict | None) -> dict:
    """Test loss (all of the test split; also on frequent and rare target words) into ``result.json``.

    ``world_size``: the processes that trained it (``tokens_per_second`` counts all of them). ``train_ids``:
    the ids the run trained on (its fraction of the train split), whose rare words (fewer than
    RARE_IN_FRACTION times in them) get a test loss of their own. ``best``: with ``keep_best``, the state of
    the best val evaluation, whose test loss (and rare-word loss) is reported too.
    """
    windows = eval_windows(prepared.test_ids, config.context, None, "test")
    losses = token_losses(model, windows, EVAL_BATCH, device).numpy().astype(np.float64)  # (n, T)
    frequent = frequent_ids(np.asarray(prepared.vocab.counts), config.frequent_words)[windows[:, 1:]]

    def mean(mask: np.ndarray) -> float | None:
        return float(losses[mask].mean()) if mask.any() else None

    test_loss = float(losses.mean())
    tokens = config.trained_tokens
    result = {
        "format_version": FORMAT_VERSION,
        "variant": record["variant"],
        "seed": config.seed,
        "test_loss": test_loss,
        "test_ppl": math.exp(test_loss),
        "test_tokens": int(losses.size),
        "test_loss_frequent": mean(frequent),
        "test_loss_rare": mean(~frequent),
        "frequent_words": config.frequent_words,
        "frequent_fraction": float(frequent.mean()),
        "val_loss": curve[-1][2],
        "val_ppl": curve[-1][3],
        "tokens": tokens,
        "steps": config.steps,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,  # the val curve's evaluations (the final test pass excluded)
        "tokens_per_second": tokens / train_seconds if train_seconds > 0 else None,
        "trainable_parameters": model.num_parameters(trainable_only=True),
        "trainable_token_rows": model.tok.trainable_rows,
        "total_parameters": model.num_parameters(trainable_only=False),
        "embedding": config.embedding,
        "position": config.position,
        "head": record["head"],
        "device": device,
        "world_size": world_size,
        "curve": curve_digest(files.curve.read_bytes()),
        "record": record,
        "fraction": config.fraction,
        "train_tokens": int(len(train_ids)),  # the ids batches are drawn from
    }
    # targets the run's train ids (its fraction) hold fewer than RARE_IN_FRACTION times; a default run's
    # result keeps the keys it had before fractions existed
    if config.fraction < 1.0 or config.keep_best:
        counts = np.bincount(np.asarray(train_ids), minlength=record["vocab_size"])
        rare = counts[windows[:, 1:]] < RARE_IN_FRACTION
        result["test_loss_rare_in_fraction"] = mean(rare)
        result["rare_in_fraction_share"] = float(rare.mean())
    if record["table"] is not None and "corpus" in record["table"]:
        result["table_corpus"] = record["table"]["corpus"]  # what the table was pretrained on
    if config.keep_best:
        if best is None:
            raise InputError(f"{files.directory}: the checkpoint holds no best evaluation; rerun with --fresh")
        best_model = copy.deepcopy(model)
        best_model.load_state_dict(best["model"])
        losses = token_losses(best_model, windows, EVAL_BATCH, device).numpy().astype(np.float64)  # (n, T)
        del best_model
        result.update(test_loss_best_val=float(losses.mean()), best_val_step=int(best["step"]),
                      best_val_loss=float(best["val_loss"]), test_loss_rare_in_fraction_best_val=mean(rare))
    write_json(files.result, result)
    return result


def train_variant(run_dir: str | Path, config: GPTConfig, variant: str | None = None, table=None,
                  device: str = "cpu", compile: bool = False, quiet: bool = False,
                  stop_after: int | None = None, fresh: bool = False, log=print, warn=_stderr) -> dict | None:
    """:func:`plan_run`, then :func:`train` the run (see both); ``warn`` hears warnings even when ``log``
    is silenced."""
    if not distributed.current().is_main:
        log = warn = lambda message: None  # noqa: E731  (rank 0 speaks for every process)
    run = plan_run(run_dir, config, variant, table, log=log, warn=warn)
    return train(run.prepared, config, run.files, run.record, run.table, device, compile, quiet, stop_after,
                 fresh, log)
