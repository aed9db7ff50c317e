"""Training a GPT variant on a prepared corpus: AdamW, warmup + cosine, clipping, val curve, exact resume.

Files of one run, under ``runs/<name>/gpt/<variant>/seed<k>/``:
``config.json`` (the run's record), ``checkpoint.pt`` (state every ``checkpoint_interval`` steps; the final
weights once done), ``curve.csv`` (``tokens,step,val_loss,val_ppl,train_loss,lr,seconds`` at step 0 and at
geometrically spaced steps, :meth:`GPTConfig.eval_steps`) and ``result.json`` (test loss and perplexity, also
split by frequent and rare target words; ``train_seconds``, the time spent in training steps, and
``eval_seconds``, in the curve's evaluations; tokens; parameters; ``trainable_token_rows``; ``fraction`` and
``train_tokens``, the share of the train split's documents trained on (:func:`corpus.fraction.fraction_ids`)
and their ids; the test loss on each of the run's target groups (:attr:`gpt.runs.PlannedRun.target_groups`,
its caller's measures); with ``keep_best``, the test loss of the state at the best val evaluation, which the
checkpoint keeps; for a table pretrained on other text on purpose, ``table_corpus``: what it was pretrained
on).
A finished run with the same record is skipped; an unfinished one resumes from its checkpoint, seeing the
same batches and dropout masks it would have seen without the interruption.

Under torchrun (see :mod:`gpt.distributed`) every process trains on its shard of each global batch inside
DistributedDataParallel; rank 0 alone evaluates, logs and writes these files, and the run's curve equals the
single-process run's with the same global batch and seed up to float rounding.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from base.atomic import atomic_file, write_json
from base.errors import InputError
from corpus.fraction import fraction_ids
from gpt import distributed
from gpt.checkpoint import restore_rng, resume_state, save_checkpoint
from gpt.config import GPTConfig
from gpt.data import batch_offsets, eval_windows, get_batch, require_window
from gpt.evaluation import EVAL_BATCH, autocast_for, finish, token_losses
from gpt.model import GPT, seeded_generator
from gpt.events import RunEvents
from gpt.runs import PlannedRun, TableInput, _stderr, check_run_directory, finished_result, plan_run
from gpt.runs import RunFiles  # noqa: F401 (a run's files, re-exported for callers of the trainer)

CURVE_COLUMNS = ("tokens", "step", "val_loss", "val_ppl", "train_loss", "lr", "seconds")


def lr_at(config: GPTConfig, step: int) -> float:
    """Learning rate of ``step``: linear warmup to ``lr``, then cosine decay to ``lr * min_lr_ratio``."""
    warmup = round(config.warmup_fraction * config.steps)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, config.steps - warmup)
    min_lr = config.lr * config.min_lr_ratio
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))) * (config.lr - min_lr)


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


@dataclass
class Stepper:
    """What an optimizer step needs besides its batch: the model and its ``optimizer``, the ``device``, the
    process group (``context``, None alone) and ``step_model``, the model's compiled or
    DistributedDataParallel version that computes the loss (None: the model itself)."""

    model: GPT
    optimizer: torch.optim.Optimizer
    device: str = "cpu"
    context: distributed.Context | None = None
    step_model: object = None

    def step(self, x: torch.Tensor, y: torch.Tensor, lr: float, grad_clip: float) -> float:
        """One optimizer step on batch ``(x, y)``; returns the loss (no update when it is not finite). Across
        processes the returned loss is the mean over every shard, so all of them agree on its finiteness."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with autocast_for(self.device, self.model.config.precision):
            # "is None": a compiled model has no truth value
            loss = (self.model if self.step_model is None else self.step_model)(x, y)
        loss_value = distributed.mean_loss(loss, self.context or distributed.Context())
        if not math.isfinite(loss_value):
            return loss_value
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), grad_clip)
        self.optimizer.step()
        return loss_value


def _silent(message: str) -> None:
    pass


@dataclass(frozen=True)
class TrainOptions:
    """How a run is trained; none of these changes its numbers except the device (and its float rounding).

    ``progress``: a progress bar; ``stop_after``: pause after that many optimizer steps, leaving a
    checkpoint; ``fresh``: start over, replacing a checkpoint or a finished run of any settings; ``log``:
    one-line messages (up to date, resuming)."""

    device: str = "cpu"
    compile: bool = False
    progress: bool = False
    stop_after: int | None = None
    fresh: bool = False
    log: Callable[[str], None] = print


def run_train_ids(run: PlannedRun) -> np.ndarray:
    """The train ids a run draws its batches from: its fraction of the train split; InputError when they
    cannot hold one window."""
    config, prepared = run.config, run.prepared
    train_ids = fraction_ids(prepared.train_ids, prepared.vocab.eos_id, config.fraction, config.seed)
    if config.fraction < 1.0:
        require_window(len(train_ids), config.context, f"--fraction {config.fraction}",
                       "use a larger --fraction or a smaller --context")
    return train_ids


class _Training:
    """One run while it trains: the model, its optimizer and everything a checkpoint keeps (the step, the
    curve, the time spent, the running train loss and, with ``keep_best``, the best val evaluation's state).
    Every process of a run steps; rank 0 alone evaluates and writes."""

    def __init__(self, run: PlannedRun, options: TrainOptions, context: distributed.Context, val: np.ndarray):
        self.run, self.config, self.files, self.options = run, run.config, run.files, options
        self.context, self.val, self.device = context, val, options.device
        table = run.table
        missing = torch.from_numpy(table.trainable) if table is not None and self.config.embedding == "frozen" \
            else None
        self.model = GPT(self.config, run.record["vocab_size"], table.dim if table is not None else None, missing)
        self.model.init_weights(table)
        self.model.to(self.device)
        self.optimizer = make_optimizer(self.model, self.config)
        dropout_seed = int(torch.randint(2**62, (1,), generator=seeded_generator(self.config.seed, "dropout")))
        torch.manual_seed(dropout_seed + context.rank)  # independent dropout masks on each shard
        self.step, self.curve, self.train_seconds, self.eval_seconds = 0, [], 0.0, 0.0
        self.loss_sum, self.loss_count = 0.0, 0
        self.best = None  # keep_best: {"step", "val_loss", "model"} of the lowest val loss so far (rank 0)
        self.events: RunEvents | None = None  # rank 0's TensorBoard writer, opened by train()

    def restore(self, state: dict) -> None:
        """Continue from a checkpoint of this very run."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        restore_rng(state, self.context, self.device)
        self.step, self.curve = state["step"], [list(r) for r in state["curve"]]
        self.train_seconds = state["train_seconds"]
        self.loss_sum, self.loss_count = state.get("loss_sum", 0.0), state.get("loss_count", 0)
        self.eval_seconds = state.get("eval_seconds", 0.0)
        self.best = state.get("best")
        self.options.log(f"{self.files.directory}: resuming at step {self.step} of {self.config.steps}")

    def evaluate(self) -> None:
        """A row of the curve: the val loss of the fixed sample and the mean train loss since the last row
        (rank 0, on the unwrapped model); with ``keep_best``, the state of the first of equal lows kept."""
        if self.context.is_main:
            started = time.perf_counter()
            val_loss = float(token_losses(self.model, self.val, EVAL_BATCH, self.device).mean())
            self.eval_seconds += time.perf_counter() - started
            if self.config.keep_best and (self.best is None or val_loss < self.best["val_loss"]):
                self.best = {"step": self.step, "val_loss": val_loss,
                             "model": {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}}
            train_loss = self.loss_sum / self.loss_count if self.loss_count else None
            self.curve.append([self.step * self.config.tokens_per_step, self.step, val_loss,
                               math.exp(min(val_loss, 700.0)), train_loss, lr_at(self.config, max(self.step - 1, 0)),
                               round(self.train_seconds, 3)])
            write_curve(self.files.curve, self.curve)
            if self.events is not None:
                self.events.row(*(self.curve[-1][i] for i in (0, 2, 4, 5, 6)))
        self.loss_sum, self.loss_count = 0.0, 0

    def checkpoint(self) -> None:
        extra = {"loss_sum": self.loss_sum, "loss_count": self.loss_count, "eval_seconds": self.eval_seconds}
        if self.config.keep_best and self.context.is_main:
            extra["best"] = self.best  # so that a resumed run finds the same best
        if self.context.is_distributed:
            cuda_rng = torch.cuda.get_rng_state() if self.device.startswith("cuda") else None
            extra["rng_ranks"] = distributed.gather((torch.get_rng_state(), cuda_rng), self.context)
        if self.context.is_main:
            save_checkpoint(self.files.checkpoint, self.model, self.optimizer, self.run.record, self.step,
                            self.curve, self.train_seconds, extra=extra)
        distributed.barrier(self.context)

    def loop(self, train_ids: np.ndarray) -> bool:
        """Train from the current step to the last (or to ``stop_after``); True when the run is complete."""
        config, options, tps = self.config, self.options, self.config.tokens_per_step
        eval_at = set(config.eval_steps())
        self.model.train()
        step_model = distributed.wrap(self.model, self.context, self.device)
        step_model = torch.compile(step_model) if options.compile else step_model
        bar = tqdm(total=config.steps * tps, initial=self.step * tps, unit="tok", unit_scale=True,
                   disable=not options.progress, desc=self.run.record["variant"], dynamic_ncols=True)
        stepper = Stepper(self.model, self.optimizer, self.device, self.context, step_model)
        try:
            while self.step < config.steps:
                started = time.perf_counter()
                offsets = batch_offsets(config.seed, self.step, len(train_ids), config.context, config.batch_size)
                x, y = get_batch(train_ids, distributed.shard(offsets, self.context), config.context,
                                 self.device)  # (B/N, T)
                loss_value = stepper.step(x, y, lr_at(config, self.step), config.grad_clip)
                if not math.isfinite(loss_value):
                    raise InputError(f"training diverged: loss is {loss_value} at step {self.step} "
                                     f"({self.step * tps} tokens); lower --lr or check the embedding table")
                self.step += 1
                self.train_seconds += time.perf_counter() - started
                self.loss_sum, self.loss_count = self.loss_sum + loss_value, self.loss_count + 1
                bar.update(tps)
                bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
                if self.step in eval_at:
                    self.evaluate()
                paused = options.stop_after is not None and self.step >= options.stop_after
                if self.step % config.checkpoint_interval == 0 or self.step == config.steps or paused:
                    self.checkpoint()
                if paused and self.step < config.steps:
                    return False
        finally:
            bar.close()
            del step_model, stepper  # a DDP wrapper must be gone before its process group (gpt.distributed)
        return True


def train(run: PlannedRun, options: TrainOptions = TrainOptions()) -> dict | None:
    """Train (or resume, or skip) one planned run; return its result, or None when paused by ``stop_after``.

    In a process group every process calls this with the same run (``options.device`` its own); rank 0
    writes the files and every process returns rank 0's result.
    """
    context = distributed.current()
    config, files, record = run.config, run.files, run.record
    distributed.check_batch(config.batch_size, context.world_size)
    if not context.is_main:
        options = dataclasses.replace(options, progress=False, log=_silent)
    check_run_directory(files, record, options.fresh)
    result = finished_result(files, record) if not options.fresh else None
    distributed.agree(result is not None, context, "run states")
    if result is not None:
        options.log(f"{files.directory}: up to date (test loss {result['test_loss']:.4f})")
        return result
    train_ids = run_train_ids(run)
    batch_offsets(config.seed, 0, len(train_ids), config.context, config.batch_size)  # long enough?
    val = eval_windows(run.prepared.val_ids, config.context, config.eval_windows, "val")
    eval_windows(run.prepared.test_ids[: config.context + 1], config.context, 1, "test")  # not empty?
    state = resume_state(files, record, options.fresh, options.log)
    # every process has read the run directory; nothing is written to it before this point
    distributed.agree(None if state is None else state["step"], context, "checkpoints")
    training = _Training(run, options, context, val)
    if state is not None:
        training.restore(state)
    if context.is_main:
        files.result.unlink(missing_ok=True)
        write_json(files.config, record)
        last = training.curve[-1] if training.curve else None
        training.events = RunEvents(files.directory, None if last is None else (last[0], last[6]))
    if options.device.startswith("cuda"):
        torch.set_float32_matmul_precision("high")
    try:
        if not training.curve:
            training.evaluate()  # the curve starts at the untrained model
        if not training.loop(train_ids):
            return None
        result = finish(training, train_ids) if context.is_main else None
    finally:
        if training.events is not None:
            training.events.close()
    return distributed.broadcast(result, context)


def train_variant(run_dir: str | Path, config: GPTConfig, variant: str, table: TableInput | None = None,
                  warn=_stderr, **options) -> dict | None:
    """:func:`gpt.runs.plan_run`, then :func:`train` the run with :class:`TrainOptions` ``options``; ``warn``
    hears warnings even when ``log`` is silenced. The caller hands over the config's table, if any."""
    options = TrainOptions(**options)
    log = options.log
    if not distributed.current().is_main:
        log = warn = _silent  # rank 0 speaks for every process
    return train(plan_run(run_dir, config, variant, table, log=log, warn=warn), options)
