"""Fit GloVe on a prepared corpus and return an EmbeddingTable (the trainer contract of the project).

``train(prepared, config)`` counts (or reads the cached) co-occurrences of the train split, fits word and
context vectors with biases by AdaGrad on the weighted least-squares loss, shuffling the entries every
epoch, and exports W, W~ or W + W~ (default) as one row per vocabulary word, in vocabulary order.

Engines: ``numba`` runs the per-entry kernel on ``threads`` Python threads (hogwild, as Stanford GloVe's
pthreads); ``torch`` runs batched steps on the CPU or a CUDA device. Rows of words that have no
co-occurrence at all (``<pad>``, ``<unk>``, ``<eos>``, words only ever seen alone) keep no trained value:
they are drawn from N(0, s) with s the standard deviation of the trained rows, so every row is usable.

A checkpoint is written after each epoch to ``checkpoint_dir`` (atomically; npz without pickle); a later
call with the same corpus and training settings resumes from it. Settings that do not change the
parameters (``epochs``, ``threads``, ``memory_gb``, ``device``, ``export_vectors``) may differ, so a run can
be extended by more epochs or exported another way without training again.
"""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from base.cores import torch_threads
from base.errors import InputError
from glove.config import Backend, GloveConfig
from glove.cooccur import BOUNDARY_POLICY, cooccurrence
from glove.kernels import adagrad_batch, adagrad_entries, weighting
from tabletrain.engine import resolve_engine
from tabletrain.files import export_matrix, read_checkpoint, save_checkpoint
from tabletrain.pool import run_workers
from tabletrain.report import table_meta
from vectors.table import EmbeddingTable

CHECKPOINT_KIND = "w2v-gpt/glove-checkpoint"
CHECKPOINT_NAME = "glove-checkpoint.npz"
PARAMS = ("W", "C", "bw", "bc", "gW", "gC", "gbw", "gbc")
_BLOCK = 1 << 16  # entries per kernel call: progress granularity


def init_params(vocab_size: int, dim: int, seed: int) -> dict[str, np.ndarray]:
    """Stanford's initialisation: vectors and biases uniform in (-0.5, 0.5) / dim, squared sums at 1."""
    rng = np.random.default_rng(seed)

    def uniform(*shape):
        return ((rng.random(shape, dtype=np.float32) - 0.5) / dim).astype(np.float32)

    params = {"W": uniform(vocab_size, dim), "C": uniform(vocab_size, dim),
              "bw": uniform(vocab_size), "bc": uniform(vocab_size)}
    for name in ("W", "C", "bw", "bc"):
        params["g" + name] = np.ones_like(params[name])
    return params


# ------------------------------------------------------------------------------------------------ epochs
def _epoch_numba(params, entries, threads: int, lr: float, clip: float, bar) -> float:
    """One pass over the (already shuffled) entries on ``threads`` hogwild threads, each on its own equal
    span; summed loss."""
    rows, cols, logx, fx = entries
    n = rows.shape[0]
    bounds = [n * t // threads for t in range(threads + 1)]
    losses = [0.0] * threads
    done = np.zeros(threads, dtype=np.int64)
    args = [params[k] for k in PARAMS] + [np.float32(lr), np.float32(clip)]
    reported = 0

    def worker(part: int) -> None:
        for start in range(bounds[part], bounds[part + 1], _BLOCK):
            end = min(start + _BLOCK, bounds[part + 1])
            losses[part] += adagrad_entries(rows, cols, logx, fx, start, end, *args)
            done[part] = end - bounds[part]

    def report() -> None:
        nonlocal reported
        finished = int(done.sum())
        bar.update(finished - reported)
        reported = finished
        if finished and not bar.disable:
            bar.set_postfix_str(_postfix(bar, lr, sum(losses) / finished), refresh=False)

    run_workers([functools.partial(worker, t) for t in range(threads)], report)
    return float(sum(losses))


def _epoch_torch(tensors, entries, batch_size: int, lr: float, clip: float, bar) -> float:
    """One pass of batched AdaGrad steps over the (already shuffled) entries; summed loss."""
    rows, cols, logx, fx = entries
    total = torch.zeros((), dtype=torch.float64, device=rows.device)
    n = rows.shape[0]
    for step, start in enumerate(range(0, n, batch_size)):
        end = min(start + batch_size, n)
        total += adagrad_batch(tensors, rows[start:end], cols[start:end], logx[start:end], fx[start:end],
                               lr, clip)
        bar.update(end - start)
        if step % 64 == 63 and not bar.disable:
            bar.set_postfix_str(_postfix(bar, lr, float(total) / end), refresh=False)
    return float(total)


def _postfix(bar, lr: float, loss: float) -> str:
    rate = bar.format_dict.get("rate") or 0.0
    words = rate * getattr(bar, "words_per_entry", 0.0)
    return f"words/s={words:,.0f} lr={lr:g} loss={loss:.4f}"


# ------------------------------------------------------------------------------------------------ checkpoints
def _save_checkpoint(directory: Path, params: dict, state: dict) -> None:
    save_checkpoint(directory / CHECKPOINT_NAME, CHECKPOINT_KIND, params, state)


def load_checkpoint(directory: Path, expected: dict, epochs: int, shape: tuple[int, int]
                    ) -> tuple[dict, dict] | None:
    """(params, state) of a checkpoint made under ``expected`` (config resume key, corpus hash, counts
    key) at no more than ``epochs`` epochs; None when there is none or it belongs to other settings.
    InputError when the file is corrupt or its arrays are not (vocab, dim) = ``shape`` float32."""
    path = directory / CHECKPOINT_NAME
    found = read_checkpoint(path, CHECKPOINT_KIND, PARAMS, "GloVe")
    if found is None:
        return None
    params, state = found
    if any(state.get(k) != v for k, v in expected.items()) or not 0 < state.get("epoch", 0) <= epochs:
        return None
    for name, array in params.items():
        want = shape if name in ("W", "C", "gW", "gC") else shape[:1]  # vectors (V, D), biases (V,)
        if array.dtype != np.float32 or array.shape != want:
            raise InputError(f"{path}: corrupt GloVe checkpoint ({name} has shape {array.shape}; "
                             "delete it to start over)")
    return params, state


# ------------------------------------------------------------------------------------------------ train
def train(prepared, config: GloveConfig | None = None, *, checkpoint_dir: Path | None = None,
          progress: bool = True) -> EmbeddingTable:
    """Count co-occurrences of ``prepared.train_ids`` (cached) and fit GloVe; returns the table with one
    row per vocabulary word and the report keys of the conventions in ``meta``."""
    config = config or GloveConfig()
    device, backend = resolve_engine(config.device, config.backend, "GloVe")
    threads = config.resolved_threads
    co = cooccurrence(prepared, config, progress=progress)
    if co.nonzeros == 0:
        raise InputError("the train split has no co-occurring word pairs: the corpus is too small for GloVe")
    vocab_size, n = co.vocab_size, co.nonzeros
    tokens = int(prepared.train_ids.shape[0])
    logx = np.log(co.values).astype(np.float32)
    fx = weighting(co.values, config.x_max, config.alpha).astype(np.float32)

    expected = {"config": config.resume_key(), "corpus_hash": prepared.content_hash,
                "cooccurrence_key": co.meta["key"]}
    resumed = (load_checkpoint(Path(checkpoint_dir), expected, config.epochs, (vocab_size, config.dim))
               if checkpoint_dir is not None else None)
    if resumed:
        params, state = resumed
    else:
        params = init_params(vocab_size, config.dim, config.seed)
        state = dict(expected, epoch=0, loss_per_epoch=[], train_seconds=0.0)
    resumed_from = state["epoch"]

    with torch_threads(threads if device == "cpu" and backend == Backend.TORCH.value else None):
        params = _fit(params, state, co.rows, co.cols, logx, fx, config, device, backend, threads,
                      checkpoint_dir, progress, words_per_entry=tokens / n)

    trained = np.bincount(co.rows, minlength=vocab_size) > 0  # rows with at least one co-occurrence
    matrix, untrained = export_matrix(params["W"], params["C"], config.export_vectors, trained, config.seed)
    seconds = max(state["train_seconds"], 1e-9)
    meta = table_meta(
        config, method="glove", corpus_hash=prepared.content_hash, tokens=tokens, state=state, device=device,
        backend=backend, threads=threads if device == "cpu" else None, boundary=BOUNDARY_POLICY,
        resumed_from=resumed_from, untrained=untrained,
        training={"count_seconds": co.meta["count_seconds"],
                  "count_tokens_per_second": co.meta["count_tokens_per_second"],
                  "nonzeros": n, "entries_per_second": n * config.epochs / seconds},
        inputs={"cooccurrence_key": co.meta["key"], "cooccurrence_cached": co.meta["cached"]})
    return EmbeddingTable(list(prepared.vocab.tokens), matrix, meta, trained=trained)


def _fit(params, state, rows, cols, logx, fx, config, device, backend, threads, checkpoint_dir, progress,
         words_per_entry: float) -> dict:
    """Run the epochs still to do from ``state``, checkpointing after each; returns the parameters."""
    n = rows.shape[0]
    if backend == Backend.TORCH.value:
        tensors = {k: torch.from_numpy(v).to(device) for k, v in params.items()}
        data = [torch.from_numpy(a).to(device)
                for a in (rows.astype(np.int64), cols.astype(np.int64), logx, fx)]
    with tqdm(total=n * (config.epochs - state["epoch"]), unit="entry", unit_scale=True, desc="glove",
              disable=not progress, leave=False) as bar:
        bar.words_per_entry = words_per_entry
        for epoch in range(state["epoch"], config.epochs):
            order = np.random.default_rng([config.seed, epoch]).permutation(n)  # (N,) this epoch's shuffle
            start = time.perf_counter()
            if backend == Backend.TORCH.value:
                order_t = torch.from_numpy(order).to(device)
                loss = _epoch_torch(tensors, [a[order_t] for a in data], config.batch_size, config.lr,
                                    config.grad_clip, bar)
                if device == "cuda":
                    torch.cuda.synchronize()
            else:
                entries = (rows[order], cols[order], logx[order], fx[order])
                loss = _epoch_numba(params, entries, threads, config.lr, config.grad_clip, bar)
            seconds = time.perf_counter() - start
            if not math.isfinite(loss):
                raise InputError(f"GloVe loss became NaN at epoch {epoch + 1}: lower --lr or raise --x-max")
            if backend == Backend.TORCH.value:
                params = {k: v.cpu().numpy() for k, v in tensors.items()}
            state["epoch"] = epoch + 1
            state["loss_per_epoch"].append(loss / n)
            state["train_seconds"] += seconds
            if checkpoint_dir is not None:
                _save_checkpoint(Path(checkpoint_dir), params, state)
    return params
