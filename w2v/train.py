"""Train CBOW or skip-gram on a prepared corpus and return an EmbeddingTable (the trainer contract).

``train(prepared, config)`` runs ``config.epochs`` passes of negative-sampling SGD over
``prepared.train_ids`` and exports the input vectors (default), the output vectors or their sum, one row
per vocabulary word in vocabulary order. ``<eos>`` ends a sentence (windows never cross it), ``<unk>`` and
``<pad>`` are dropped before windowing (see :mod:`w2v.sampling`); rows that never train (the specials,
words without a train count) are drawn from N(0, s), s the standard deviation of the trained rows, so every
row is usable downstream.

Engines: ``numba`` runs :func:`w2v.kernels.train_blocks` on ``threads`` Python threads over disjoint
jobs of token blocks (hogwild); ``torch`` (:mod:`w2v.torch_engine`) runs batched steps on the CPU or CUDA.
With the numba engine and threads=1 the same seed gives a bit-identical table; with more threads the
updates race as in word2vec and gensim, so tables differ in the last digits from run to run.

A checkpoint is written to ``checkpoint_dir`` after each epoch (atomically, npz without pickle); a later
call with the same corpus and settings (``threads``, ``device`` and ``export_vectors`` may differ)
resumes after the last finished epoch, and with threads=1 ends bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from base.errors import InputError
from tabletrain import engine
from tabletrain.files import export_matrix, read_checkpoint, save_checkpoint
from tabletrain.pool import run_jobs
from tabletrain.report import table_meta
from vectors.table import EmbeddingTable
from w2v.config import Backend, Method, NoiseSharing, Word2VecConfig
from w2v.heldout import HeldOutWindows
from w2v.sampling import alias_table, keep_probabilities, keep_thresholds, noise_distribution, trainable_mask

CHECKPOINT_KIND = "w2v-gpt/word2vec-checkpoint"
CHECKPOINT_NAME = "word2vec-checkpoint.npz"
BOUNDARY_POLICY = ("<eos> ends a sentence and every max_sentence-token block starts one; <unk> and <pad> "
                   "are dropped before windowing (neither trained nor context)")
_JOB_TOKENS = 50_000  # tokens per kernel call: progress granularity and the unit threads take in turn
_LINE_FLOATS = 16  # float32s in a 64-byte cache line


class Tables:
    """Per-word tables of one corpus and config: which words train, keep bars, the noise alias table."""

    def __init__(self, prepared, config: Word2VecConfig) -> None:
        vocab = prepared.vocab
        counts = np.asarray(vocab.counts, dtype=np.int64)
        specials = [vocab.index[s] for s in vocab.specials]
        self.trainable = trainable_mask(counts, specials)
        if not self.trainable.any():
            raise InputError("no vocabulary word occurs in the train split: nothing to train on")
        self.keep_probs = keep_probabilities(counts, self.trainable, config.sample)
        self.keep_thr = keep_thresholds(self.keep_probs)
        self.noise_probs = noise_distribution(counts, self.trainable)
        self.noise_bars, self.noise_alias = alias_table(self.noise_probs)
        self.eos = int(vocab.eos_id)


def resolve_engine(config: Word2VecConfig) -> tuple[str, str]:
    """(device, backend) to train on (see :func:`tabletrain.engine.resolve_engine` for ``auto``); InputError
    also for skip-gram's window-shared noise on torch, a numba-only option."""
    device, backend = engine.resolve_engine(config.device, config.backend, "word2vec")
    if backend == Backend.TORCH.value and config.noise is NoiseSharing.WINDOW and config.method is Method.SKIPGRAM:
        raise InputError("noise words shared across a window are a numba (CPU) option; use noise pair with torch")
    return device, backend


def init_params(vocab_size: int, dim: int, seed: int) -> dict[str, np.ndarray]:
    """word2vec's initialisation: input vectors uniform in (-0.5, 0.5) / dim, output vectors zero."""
    rng = np.random.default_rng(seed)
    syn0 = ((rng.random((vocab_size, dim), dtype=np.float32) - np.float32(0.5)) / np.float32(dim))
    return {"syn0": syn0.astype(np.float32), "syn1": np.zeros((vocab_size, dim), dtype=np.float32)}


def line_rows(matrix: np.ndarray) -> np.ndarray:
    """A copy of ``matrix`` (V, D) float32 whose rows each start a 64-byte cache line: a C-contiguous (V, P)
    array, P = D rounded up to whole lines (D=100: P=112), zero in columns D and beyond.

    The numba kernels train on these rows, over their full width: a 100-wide row starts mid-line for 3
    rows in 4, so its vector loads straddle lines, and two threads writing neighbouring rows contend for
    the line they share (README, word2vec speed). The zero columns stay zero (every update adds g * 0 to
    them) and add 0 to every logit, so the (V, D) view ``rows[:, :D]`` is the table: the same sums, taken
    in another order by the vector units.
    """
    vocab, dim = matrix.shape
    width = -(-dim // _LINE_FLOATS) * _LINE_FLOATS
    buffer = np.zeros(vocab * width + _LINE_FLOATS, dtype=np.float32)
    start = (-buffer.ctypes.data % 64) // 4  # numpy aligns to 16 bytes; step to the next 64
    rows = buffer[start:start + vocab * width].reshape(vocab, width)
    rows[:, :dim] = matrix
    return rows


# ------------------------------------------------------------------------------------------------ epochs
def _epoch_numba(ids, tables: Tables, rows: dict, config: Word2VecConfig, epoch: int, threads: int,
                 bar) -> tuple[float, int]:
    """One pass over ``ids`` on ``threads`` hogwild threads taking jobs of blocks in turn, updating ``rows``
    (syn0 and syn1 as :func:`line_rows`) in place; (summed loss, updates)."""
    from w2v.kernels import linear_decay, train_blocks

    n = ids.shape[0]
    block = config.max_sentence
    n_blocks = -(-n // block)
    per_job = max(1, _JOB_TOKENS // block)
    jobs = [(b, min(b + per_job, n_blocks)) for b in range(0, n_blocks, per_job)]
    fixed = (block, tables.eos, config.seed, epoch, tables.keep_thr, tables.noise_bars, tables.noise_alias,
             rows["syn0"], rows["syn1"], config.method is Method.SKIPGRAM,
             config.noise is NoiseSharing.WINDOW, config.window, config.negative,
             float(config.alpha), float(config.min_alpha), float(epoch) * n, float(config.epochs) * n)
    results = [(0.0, 0, 0)] * len(jobs)
    done = np.zeros(len(jobs), dtype=np.int64)  # tokens of each finished job
    reported = 0

    def run(j: int) -> None:
        first, last = jobs[j]
        results[j] = train_blocks(ids, first, last, *fixed)
        done[j] = min(last * block, n) - first * block

    def report() -> None:
        nonlocal reported
        finished = int(done.sum())
        if not bar.disable and finished:
            loss = sum(r[0] for r in results) / max(1, sum(r[1] for r in results))
            lr = linear_decay(float(config.alpha), float(config.min_alpha), float(epoch * n + finished),
                              float(config.epochs * n))
            bar.set_postfix_str(f"lr={lr:.5f} loss={loss:.4f}", refresh=False)
        bar.update(finished - reported)
        reported = finished

    run_jobs(run, len(jobs), threads, report)
    return float(sum(r[0] for r in results)), int(sum(r[1] for r in results))


# ------------------------------------------------------------------------------------------------ checkpoints
def _save_checkpoint(directory: Path, params: dict, state: dict) -> None:
    arrays = {name: params[name] for name in ("syn0", "syn1")}
    save_checkpoint(directory / CHECKPOINT_NAME, CHECKPOINT_KIND, arrays, state)


def load_checkpoint(directory: Path, expected: dict, shape: tuple[int, int]) -> tuple[dict, dict] | None:
    """(params, state) of a checkpoint made under ``expected`` (config resume key and corpus hash); None
    when there is none or it belongs to other settings. InputError when it is corrupt."""
    path = directory / CHECKPOINT_NAME
    found = read_checkpoint(path, CHECKPOINT_KIND, ("syn0", "syn1"), "word2vec")
    if found is None:
        return None
    params, state = found
    params = {name: array.astype(np.float32, copy=False) for name, array in params.items()}
    if any(state.get(k) != v for k, v in expected.items()):
        return None
    if any(p.shape != shape for p in params.values()) or not 0 < state.get("epoch", 0):
        raise InputError(f"{path}: corrupt word2vec checkpoint (delete it to start over)")
    return params, state


# ------------------------------------------------------------------------------------------------ train
def train(prepared, config: Word2VecConfig | None = None, *, checkpoint_dir: Path | None = None,
          progress: bool = True) -> EmbeddingTable:
    """Train on ``prepared.train_ids``; returns the table with one row per vocabulary word and the report
    keys of the conventions in ``meta``. InputError for bad settings or a loss that stops being finite."""
    config = config or Word2VecConfig()
    device, backend = resolve_engine(config)
    threads = config.resolved_threads if backend == Backend.NUMBA.value else 1
    ids = np.asarray(prepared.train_ids)
    tokens = int(ids.shape[0])
    vocab_size = len(prepared.vocab)
    if tokens == 0:
        raise InputError("the train split is empty: nothing to train on")
    tables = Tables(prepared, config)

    expected = {"config": config.resume_key(), "corpus_hash": prepared.content_hash}
    resumed = load_checkpoint(Path(checkpoint_dir), expected, (vocab_size, config.dim)) if checkpoint_dir else None
    if resumed:
        params, state = resumed
    else:
        params = init_params(vocab_size, config.dim, config.seed)
        state = dict(expected, epoch=0, loss_per_epoch=[], updates_per_epoch=[], train_seconds=0.0)
    resumed_from = state["epoch"]
    state.setdefault("heldout_loss_per_epoch", [])
    heldout = HeldOutWindows(prepared, tables.trainable, tables.noise_probs, config.window, config.negative)
    skipgram = config.method is Method.SKIPGRAM

    engine = None
    if backend == Backend.TORCH.value:
        from w2v.torch_engine import TorchEngine

        engine = TorchEngine(params, tables, config, device)
    else:  # the kernels train line-aligned rows; params are their (V, D) views
        rows = {name: line_rows(array) for name, array in params.items()}
        params = {name: array[:, :config.dim] for name, array in rows.items()}
    remaining = config.epochs - state["epoch"]
    with tqdm(total=tokens * remaining, unit="word", unit_scale=True, desc=config.method.value,
              disable=not progress, leave=False, smoothing=0.1) as bar:
        for epoch in range(state["epoch"], config.epochs):
            bar.set_description(f"{config.method.value} epoch {epoch + 1}/{config.epochs}", refresh=False)
            start = time.perf_counter()
            if engine is not None:
                loss, updates = engine.epoch(ids, epoch, bar)
                params = engine.numpy_params()
            else:
                loss, updates = _epoch_numba(ids, tables, rows, config, epoch, threads, bar)
            seconds = time.perf_counter() - start
            mean = loss / max(updates, 1)
            if not math.isfinite(mean):
                raise InputError(f"word2vec loss became NaN at epoch {epoch + 1}: lower --alpha")
            state["epoch"] = epoch + 1
            state["loss_per_epoch"].append(mean)
            state["updates_per_epoch"].append(updates)
            state["heldout_loss_per_epoch"].append(heldout.loss(params["syn0"], params["syn1"], skipgram))
            state["train_seconds"] += seconds
            if checkpoint_dir is not None:
                _save_checkpoint(Path(checkpoint_dir), params, state)

    matrix, untrained = export_matrix(params["syn0"], params["syn1"], config.export_vectors, tables.trainable,
                                      config.seed)
    meta = table_meta(
        config, method=config.method.value, corpus_hash=prepared.content_hash, tokens=tokens, state=state,
        device=device, backend=backend, threads=threads, boundary=BOUNDARY_POLICY, resumed_from=resumed_from,
        untrained=untrained, training={
            "updates_per_epoch": [int(x) for x in state["updates_per_epoch"]],
            "loss": "mean negative-sampling loss per update, before the update ((context, centre) pair for "
                    "skip-gram, centre for CBOW); lowered by the other updates of the same window in "
                    "proportion to the learning rate, so it can rise as the rate decays",
            "heldout_loss_per_epoch": state["heldout_loss_per_epoch"],
            "heldout_loss": f"the same loss of each epoch's final vectors on {len(heldout)} fixed windows of "
                            f"the val split (no subsampling, fixed noise words)",
        })
    return EmbeddingTable(list(prepared.vocab.tokens), matrix, meta, trained=tables.trainable)
