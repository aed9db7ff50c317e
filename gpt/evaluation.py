"""Evaluating a GPT: the forward pass's precision, per-token losses, and a run's test pass into ``result.json``.

:func:`token_losses` gives the val curve's losses during training (:mod:`gpt.train`) and the test split's at
the end; :func:`finish` takes a trained run (``gpt.train``'s state of one run: its model, config, files,
curve and times) to the keys of ``result.json`` (see :mod:`gpt.train` for the files of a run).
"""

from __future__ import annotations

import contextlib
import copy
import math

import numpy as np
import torch

from base.atomic import write_json
from base.errors import InputError
from gpt.config import FORMAT_VERSION
from gpt.data import eval_windows, frequent_ids
from gpt.model import GPT
from gpt.runs import curve_digest

EVAL_BATCH = 16  # windows per forward pass when evaluating (16 x 128 x 10k logits: 84 MB)


def autocast_for(device: str, precision: str):
    """The forward pass's precision: bf16 autocast (on the CPU or CUDA alike) or nothing (fp32).

    Under autocast the matrix products run in bf16 while the weights, their gradients and the optimizer
    state stay fp32; autocast casts each weight once per forward pass (its cache of leaf tensors), not per
    use. The residual stream stays fp32 (a sum with a bf16 branch is promoted), so the layer norms see fp32;
    the loss and its softmax are computed in fp32 (:mod:`gpt.loss`)."""
    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def token_losses(model: GPT, windows: np.ndarray, batch_size: int, device: str) -> torch.Tensor:
    """Per-token cross-entropy ``(n, T)`` of windows ``(n, T + 1)``, in eval mode (float32, on the CPU)."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(windows), batch_size):
        chunk = torch.from_numpy(windows[start : start + batch_size]).to(device)
        with autocast_for(device, model.config.precision):
            out.append(model(chunk[:, :-1], chunk[:, 1:], reduction="none").float().cpu())
    model.train(was_training)
    return torch.cat(out)


def _test_losses(model: GPT, windows: np.ndarray, device: str) -> np.ndarray:
    """Per-target test losses ``(n, T)`` in float64."""
    return token_losses(model, windows, EVAL_BATCH, device).numpy().astype(np.float64)


def _mean(losses: np.ndarray, mask: np.ndarray) -> float | None:
    return float(losses[mask].mean()) if mask.any() else None


def finish(training, train_ids: np.ndarray) -> dict:
    """Test loss (all of the test split; also on frequent and rare target words, and on each of the run's
    target groups) into ``result.json``; with ``keep_best``, the same of the best val evaluation's state."""
    run, config, device = training.run, training.config, training.device
    windows = eval_windows(run.prepared.test_ids, config.context, None, "test")
    targets = windows[:, 1:]  # (n, T)
    losses = _test_losses(training.model, windows, device)
    frequent = frequent_ids(np.asarray(run.prepared.vocab.counts), config.frequent_words)[targets]
    result = _result(training, losses, frequent, train_ids)
    groups = {name: mask[targets] for name, mask in run.target_groups.items()}
    for name, group in groups.items():
        result[f"test_loss_{name}"] = _mean(losses, group)
        result[f"{name}_share"] = float(group.mean())
    table = run.record["table"]
    if table is not None and "corpus" in table:
        result["table_corpus"] = table["corpus"]  # what the table was pretrained on
    if config.keep_best:
        result.update(_best_val(training, windows, groups))
    write_json(training.files.result, result)
    return result


def _result(training, losses: np.ndarray, frequent: np.ndarray, train_ids: np.ndarray) -> dict:
    """The result's keys every run has."""
    config, record, model = training.config, training.run.record, training.model
    test_loss = float(losses.mean())
    tokens, seconds = config.trained_tokens, training.train_seconds
    return {
        "format_version": FORMAT_VERSION,
        "variant": record["variant"],
        "seed": config.seed,
        "test_loss": test_loss,
        "test_ppl": math.exp(test_loss),
        "test_tokens": int(losses.size),
        "test_loss_frequent": _mean(losses, frequent),
        "test_loss_rare": _mean(losses, ~frequent),
        "frequent_words": config.frequent_words,
        "frequent_fraction": float(frequent.mean()),
        "val_loss": training.curve[-1][2],
        "val_ppl": training.curve[-1][3],
        "tokens": tokens,
        "steps": config.steps,
        "train_seconds": seconds,
        "eval_seconds": training.eval_seconds,  # the val curve's evaluations (the final test pass excluded)
        "tokens_per_second": tokens / seconds if seconds > 0 else None,
        "trainable_parameters": model.num_parameters(trainable_only=True),
        "trainable_token_rows": model.tok.trainable_rows,
        "total_parameters": model.num_parameters(trainable_only=False),
        "embedding": config.embedding,
        "position": config.position,
        "head": record["head"],
        "device": training.device,
        "world_size": training.context.world_size,  # the processes that trained it
        "curve": curve_digest(training.files.curve.read_bytes()),
        "record": record,
        "fraction": config.fraction,
        "train_tokens": int(len(train_ids)),  # the ids batches are drawn from
    }


def _best_val(training, windows: np.ndarray, groups: dict) -> dict:
    """The test loss (overall and per target group) of the state at the best val evaluation."""
    best = training.best
    if best is None:
        raise InputError(f"{training.files.directory}: the checkpoint holds no best evaluation; rerun with --fresh")
    best_model = copy.deepcopy(training.model)
    best_model.load_state_dict(best["model"])
    losses = _test_losses(best_model, windows, training.device)
    del best_model
    found = {"test_loss_best_val": float(losses.mean()), "best_val_step": int(best["step"]),
             "best_val_loss": float(best["val_loss"])}
    found.update({f"test_loss_{name}_best_val": _mean(losses, group) for name, group in groups.items()})
    return found
