"""Batches and evaluation windows cut from the memory-mapped token ids.

Training batches are random windows whose offsets come from a generator seeded by ``(seed, step)``: a run
with one seed sees the same batches whatever its embedding or position variant, and a resumed run sees the
batches it would have seen without the interruption, with no generator state to carry.
Evaluation uses fixed, non-overlapping windows.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from base.errors import InputError


def batch_offsets(seed: int, step: int, n_tokens: int, context: int, batch_size: int) -> np.ndarray:
    """Start offsets of the ``batch_size`` windows of training step ``step`` (each needs context + 1 ids)."""
    n_starts = n_tokens - context  # a window [o, o + context] must fit
    if n_starts <= 0:
        raise InputError(f"the train split has {n_tokens} tokens, fewer than context + 1 = {context + 1}; "
                         f"use a smaller --context or a bigger corpus")
    rng = np.random.default_rng([seed, step, 0x67707431])  # the constant keeps this stream to batches
    return rng.integers(0, n_starts, size=batch_size)


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


FRACTION_STREAM = 0x66726163  # "frac": keeps the document choice's stream apart from the batches'


def fraction_ids(train_ids: np.ndarray, eos_id: int, fraction: float, seed: int) -> np.ndarray:
    """The train ids of a run that trains on ``fraction`` of the train split's documents.

    The split is cut into documents at ``<eos>`` (which ends every document); their indices are permuted by a
    generator seeded by ``(seed, FRACTION_STREAM)`` and the first ``ceil(fraction x documents)`` of that
    permutation are kept, in corpus order, whole (each with its ``<eos>``). The choice depends on the seed and
    the corpus alone, so every arm of one seed trains on the same documents, and a smaller fraction's documents
    are a prefix of the permutation, hence inside a larger one's. ``fraction == 1`` returns ``train_ids``
    itself (the very array object), so a full-data run is the run it was before fractions existed.
    """
    if fraction == 1.0:
        return train_ids
    if not (math.isfinite(fraction) and 0.0 < fraction < 1.0):
        raise InputError(f"fraction must be a finite number in (0, 1], got {fraction}")
    ids = np.asarray(train_ids)
    ends = np.flatnonzero(ids == eos_id) + 1  # one past each document's <eos>
    if len(ends) == 0 or ends[-1] != len(ids):
        ends = np.append(ends, len(ids))  # trailing ids without an <eos>: a last document all the same
    lengths = np.diff(ends, prepend=0)
    n_docs = len(ends)
    keep = max(1, math.ceil(round(fraction * n_docs, 9)))  # round: 0.07 x 100 is 7, not 7.000000000000001
    chosen = np.zeros(n_docs, dtype=bool)
    chosen[np.random.default_rng([seed, FRACTION_STREAM]).permutation(n_docs)[:keep]] = True
    return ids[np.repeat(chosen, lengths)]
