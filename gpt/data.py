"""Batches and evaluation windows cut from the memory-mapped token ids.

Training batches are random windows whose offsets come from a generator seeded by ``(seed, step)``: a run
with one seed sees the same batches whatever its embedding or position variant, and a resumed run sees the
batches it would have seen without the interruption, with no generator state to carry.
Evaluation uses fixed, non-overlapping windows.
"""

from __future__ import annotations

import numpy as np
import torch

from base.errors import InputError


def batch_offsets(seed: int, step: int, n_tokens: int, context: int, batch_size: int) -> np.ndarray:
    """Start offsets of the ``batch_size`` windows of training step ``step`` (each needs context + 1 ids)."""
    n_starts = n_tokens - context  # a window [o, o + context] must fit
    require_window(n_tokens, context, "the train split", "use a smaller --context or a bigger corpus")
    rng = np.random.default_rng([seed, step, 0x67707431])  # the constant keeps this stream to batches
    return rng.integers(0, n_starts, size=batch_size)


def require_window(n_tokens: int, context: int, what: str, remedy: str) -> None:
    """InputError when ``n_tokens`` train ids (of ``what``) cannot hold one training window of ``context``
    inputs and their next-token targets; ``remedy`` ends the message."""
    if n_tokens <= context:
        raise InputError(f"{what} keeps {n_tokens} train tokens, fewer than context + 1 = {context + 1}; {remedy}")


def get_batch(ids: np.ndarray, offsets: np.ndarray, context: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-token targets ``(B, context)`` of the windows starting at ``offsets``."""
    windows = np.stack([ids[o : o + context + 1] for o in offsets]).astype(np.int64)  # (B, T + 1)
    windows = torch.from_numpy(windows)
    if device.startswith("cuda"):
        windows = windows.pin_memory().to(device, non_blocking=True)
    return windows[:, :-1], windows[:, 1:]


def eval_windows(ids: np.ndarray, context: int, max_windows: int | None = None, name: str = "split") -> np.ndarray:
    """Non-overlapping windows ``(n, T + 1)`` of a split (T = context, or less for a tiny split).

    Consecutive windows share one boundary token, so every token but the first is a target exactly once.
    With ``max_windows`` set, that many windows are taken evenly spread over the split.
    """
    n = len(ids)
    if n < 2:
        raise InputError(f"the {name} split has {n} tokens; evaluation needs at least 2")
    length = min(context, n - 1)
    starts = np.arange(0, n - length, length)  # each window covers [s, s + length]
    if max_windows is not None and len(starts) > max_windows:
        starts = starts[np.linspace(0, len(starts) - 1, max_windows).round().astype(np.int64)]
    return np.stack([np.asarray(ids[s : s + length + 1]) for s in starts]).astype(np.int64)


def frequent_ids(counts: np.ndarray, k: int) -> np.ndarray:
    """A boolean mask over the vocabulary of the ``k`` most frequent ids (ties broken by id)."""
    mask = np.zeros(len(counts), dtype=bool)
    mask[np.argsort(-np.asarray(counts), kind="stable")[:k]] = True
    return mask
