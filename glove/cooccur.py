"""Co-occurrence counting on the train split, as Stanford GloVe's ``cooccur``, memory-bounded and cached.

For every in-vocabulary token and each of the ``window`` tokens before it, the pair is counted in both
directions (a symmetric window) with weight 1/distance (or 1 with uniform weighting).

Boundaries and skipped ids (a choice of this project):
- Windows never cross ``<eos>``: each document is counted on its own (Stanford's cooccur likewise
  restarts its window at every line). ``<eos>`` itself is a boundary, never a word of a pair.
- ``<pad>`` and ``<unk>`` are dropped before windowing, as Stanford drops out-of-vocabulary words: they
  take no slot in the window, so distances count kept tokens only.
Rows that end up without any pair (the specials, words seen only alone) are filled in by the trainer.

Each pair is counted once, as (min id, max id), and the upper triangle is mirrored at the end (half the
work of counting both directions; the same sums, each in the same order). Memory: pairs of frequent words
(product of their ranks under a bound, like Stanford's ``max_product``) accumulate in a dense float64
block; the rest go to per-thread overflow buffers that are sorted, reduced
and merged into a sorted accumulator whenever they fill. The dense block plus the buffers stay under
``memory_gb``; the merged result (16 bytes per non-zero, which training needs in memory anyway) is the
output. Counting runs in numba ``nogil`` kernels (``glove.kernels``) on Python threads
(:func:`tabletrain.pool.run_workers`), each on its own span of the ids with its own dense block and
buffers; the per-thread results are summed at the end.

Cache: ``<corpus>/cooccurrence-<key>.npz`` with the key derived from the corpus content hash, vocabulary
size, window, distance weighting and this format's version. A cache that exists but cannot be read or
does not match its key raises InputError (delete it to recount): it is never silently replaced.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse
from tqdm.auto import tqdm

from base.atomic import atomic_path
from base.errors import InputError
from glove.config import DistanceWeighting, GloveConfig
from glove.kernels import collect, count_span, merge_sorted, mirror, reduce_sorted, seed_history
from tabletrain.pool import run_workers

COOCCUR_FORMAT_VERSION = 2  # 2: each pair counted once and mirrored (the same counts to float rounding)
COOCCUR_KIND = "w2v-gpt/glove-cooccurrence"
BOUNDARY_POLICY = "windows stop at <eos>; <pad> and <unk> dropped"
_CHUNK_TOKENS = 1 << 20  # tokens per kernel call (progress granularity)
_DENSE_MAX_BYTES = 128 << 20  # per thread


# ------------------------------------------------------------------------------------------------ counting
def dense_layout(vocab_size: int, max_entries: int) -> tuple[np.ndarray, np.ndarray]:
    """Row offsets and limits of the dense block over the upper triangle (each pair is kept once, as
    (min, max)): row a keeps columns a <= b < limit[a] = max(a, min(V, P // (a + 1))), at
    ``lookup[a] + b - a``.

    P (Stanford's max_product) is the largest value whose block fits in ``max_entries`` cells.
    Returns (lookup (V + 1,), limit (V,)), both int64.
    """
    ranks = np.arange(1, vocab_size + 1, dtype=np.int64)
    first = ranks - 1  # row a's first column

    def limits(p: int) -> np.ndarray:
        return np.maximum(first, np.minimum(vocab_size, p // ranks))

    lo, hi = 0, vocab_size * vocab_size
    while lo < hi:  # largest p with a block of at most max_entries cells
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if int((limits(mid) - first).sum()) <= max_entries else (lo, mid - 1)
    limit = limits(lo)
    lookup = np.zeros(vocab_size + 1, dtype=np.int64)
    np.cumsum(limit - first, out=lookup[1:])
    return lookup, limit


def count_pairs(ids: np.ndarray, vocab_size: int, *, window: int = 10,
                distance_weighting: DistanceWeighting | str = DistanceWeighting.HARMONIC,
                eos_id: int = 2, pad_id: int = 0, unk_id: int = 1, memory_gb: float = 2.0,
                threads: int = 1, progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count co-occurrences of a 1-D id array; returns (rows int32, cols int32, values float64), sorted
    by (row, col), one entry per non-zero cell. InputError for a bad window or an id out of range.

    Thread t counts the pairs centred in the t-th of ``threads`` equal spans of ``ids`` into its own dense
    block and overflow accumulator (its window history is seeded from the tokens before its span); the
    blocks are then summed in thread order, so a fixed thread count gives the same floats every time.
    """
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise InputError(f"glove window must be a positive integer, not {window!r}")
    harmonic = DistanceWeighting(distance_weighting) is DistanceWeighting.HARMONIC
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise InputError("token ids must be a 1-D integer array")
    threads = max(1, min(int(threads), len(ids) // 1024))  # no thread for a tiny span
    budget = memory_gb * (1 << 30)
    # Dense block per thread: half the budget, at most _DENSE_MAX_BYTES (a larger block is slower: it
    # no longer fits the caches and costs page faults and a longer scan at the end).
    lookup, limit = dense_layout(vocab_size, int(min(0.5 * budget / threads, _DENSE_MAX_BYTES)) // 8)
    # Each buffered pair costs 16 bytes, plus 24 while it is sorted: 30% of the budget.
    buffer_len = max(int(0.3 * budget) // (40 * threads), 2 * window + 64)
    bounds = [len(ids) * t // threads for t in range(threads + 1)]
    results: list = [None] * threads
    done = np.zeros(threads, dtype=np.int64)

    def worker(part: int) -> None:
        dense = np.zeros(int(lookup[-1]), dtype=np.float64)
        keys = np.empty(buffer_len, dtype=np.int64)
        vals = np.empty(buffer_len, dtype=np.float64)
        hist = np.zeros(window, dtype=np.int64)
        state = np.zeros(2, dtype=np.int64)
        if not seed_history(ids, bounds[part], hist, state, eos_id, pad_id, unk_id, vocab_size):
            raise _out_of_range(ids, int(state[1]), vocab_size)
        acc_k, acc_v = np.empty(0, np.int64), np.empty(0, np.float64)
        n = 0
        for start in range(bounds[part], bounds[part + 1], _CHUNK_TOKENS):
            end = min(start + _CHUNK_TOKENS, bounds[part + 1])
            pos = start
            while pos < end:
                pos, n = count_span(ids, pos, end, hist, state, window, harmonic, eos_id, pad_id,
                                    unk_id, dense, lookup, limit, vocab_size, keys, vals, n)
                if pos < 0:
                    raise _out_of_range(ids, int(state[1]), vocab_size)
                if pos < end:  # buffer full
                    acc_k, acc_v = _flush(keys, vals, n, acc_k, acc_v)
                    n = 0
            done[part] = end - bounds[part]
        results[part] = (dense,) + _flush(keys, vals, n, acc_k, acc_v)

    with tqdm(total=len(ids), unit="tok", unit_scale=True, desc="glove count", disable=not progress,
              leave=False) as bar:
        run_workers([functools.partial(worker, t) for t in range(threads)],
                    lambda: bar.update(int(done.sum()) - bar.n))
    dense, okeys, ovals = results[0]
    for other, k, v in results[1:]:
        dense += other
        okeys, ovals = merge_sorted(okeys, ovals, k, v)
    results.clear()
    return mirror(*collect(dense, lookup, limit, okeys, ovals, vocab_size), vocab_size)


def _out_of_range(ids, position: int, vocab_size: int) -> InputError:
    return InputError(f"token id {int(ids[position])} at position {position} is outside the vocabulary "
                      f"of {vocab_size}")


def _flush(keys, vals, n, acc_k, acc_v):
    """Sort and reduce the first n buffered pairs and merge them into the accumulator."""
    if n == 0:
        return acc_k, acc_v
    order = np.argsort(keys[:n], kind="stable")
    k, v = reduce_sorted(keys[:n][order], vals[:n][order])
    return merge_sorted(acc_k, acc_v, k, v) if acc_k.size else (k, v)


# ------------------------------------------------------------------------------------------------ cache
@dataclass
class Cooccurrence:
    """Non-zero co-occurrence cells of a vocabulary, sorted by (row, col); ``meta`` says how they were
    counted (key, corpus_hash, window, distance_weighting, tokens, count_seconds, ...)."""

    rows: np.ndarray  # (N,) int32
    cols: np.ndarray  # (N,) int32
    values: np.ndarray  # (N,) float64
    vocab_size: int
    meta: dict = field(default_factory=dict)

    @property
    def nonzeros(self) -> int:
        return int(self.values.shape[0])

    def to_csr(self) -> scipy.sparse.csr_matrix:
        """The counts as a (V, V) scipy CSR matrix."""
        return scipy.sparse.csr_matrix((self.values, (self.rows, self.cols)),
                                       shape=(self.vocab_size, self.vocab_size))


def cooccurrence_key(corpus_hash: str, vocab_size: int, config: GloveConfig) -> str:
    """Hex key of everything that decides the counts."""
    described = {"format_version": COOCCUR_FORMAT_VERSION, "corpus_hash": corpus_hash,
                 "vocab_size": vocab_size, "window": config.window,
                 "distance_weighting": config.distance_weighting.value, "boundary": BOUNDARY_POLICY}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def cache_path(prepared, config: GloveConfig) -> Path:
    """Where the counts of ``prepared`` under ``config`` are cached."""
    key = cooccurrence_key(prepared.content_hash, len(prepared.vocab), config)
    return Path(prepared.path) / f"cooccurrence-{key}.npz"  # beside the corpus (docs/conventions.md)


def save_cooccurrence(path: str | Path, co: Cooccurrence) -> None:
    """Write the counts atomically as an uncompressed npz (no pickle)."""
    meta = dict(co.meta, kind=COOCCUR_KIND, format_version=COOCCUR_FORMAT_VERSION, vocab_size=co.vocab_size)
    with atomic_path(path) as tmp:
        np.savez(tmp, format_version=np.int64(COOCCUR_FORMAT_VERSION), rows=co.rows, cols=co.cols,
                 values=co.values, meta=np.array(json.dumps(meta)))


def load_cooccurrence(path: str | Path, key: str | None = None) -> Cooccurrence:
    """Read counts written by :func:`save_cooccurrence`, checking them; InputError when the file is
    missing, corrupt, of another format version or (with ``key``) counted under other settings."""
    path = Path(path)
    hint = "delete it to count again"
    try:
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format_version"])
            meta = json.loads(str(data["meta"]))
            rows, cols, values = data["rows"], data["cols"], data["values"]
    except FileNotFoundError:
        raise InputError(f"co-occurrence file not found: {path}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, TypeError):
        raise InputError(f"{path}: corrupt co-occurrence cache ({hint})") from None
    if version != COOCCUR_FORMAT_VERSION or not isinstance(meta, dict) or meta.get("kind") != COOCCUR_KIND:
        raise InputError(f"{path}: not a co-occurrence cache of format {COOCCUR_FORMAT_VERSION} ({hint})")
    if key is not None and meta.get("key") != key:
        raise InputError(f"{path}: cache was counted under other settings (key {meta.get('key')}, {hint})")
    vocab_size = meta.get("vocab_size")
    n = values.shape[0] if values.ndim == 1 else -1
    ok = (isinstance(vocab_size, int) and n >= 0 and rows.shape == cols.shape == (n,)
          and rows.dtype == cols.dtype == np.int32 and values.dtype == np.float64
          and meta.get("nonzeros") == n)
    if ok and n:
        ok = (0 <= rows.min() and rows.max() < vocab_size and 0 <= cols.min() and cols.max() < vocab_size
              and bool(np.all(values > 0)) and bool(np.isfinite(values).all()))
    if not ok:
        raise InputError(f"{path}: corrupt co-occurrence cache ({hint})")
    return Cooccurrence(rows, cols, values, vocab_size, meta)


def cooccurrence(prepared, config: GloveConfig, *, progress: bool = False) -> Cooccurrence:
    """The co-occurrence counts of ``prepared.train_ids`` under ``config``: read from the cache beside the
    corpus when present (``meta["cached"]`` True), else counted and cached."""
    key = cooccurrence_key(prepared.content_hash, len(prepared.vocab), config)
    path = cache_path(prepared, config)
    if path.exists():
        co = load_cooccurrence(path, key)
        co.meta["cached"] = True
        return co
    vocab = prepared.vocab
    ids = np.asarray(prepared.train_ids)
    start = time.perf_counter()
    rows, cols, values = count_pairs(ids, len(vocab), window=config.window,
                                     distance_weighting=config.distance_weighting, eos_id=vocab.eos_id,
                                     pad_id=vocab.pad_id, unk_id=vocab.unk_id, memory_gb=config.memory_gb,
                                     threads=config.resolved_threads, progress=progress)
    seconds = time.perf_counter() - start
    meta = {"key": key, "corpus_hash": prepared.content_hash, "window": config.window,
            "distance_weighting": config.distance_weighting.value, "boundary": BOUNDARY_POLICY,
            "tokens": int(ids.shape[0]), "nonzeros": int(values.shape[0]), "count_seconds": seconds,
            "count_tokens_per_second": ids.shape[0] / max(seconds, 1e-9)}
    co = Cooccurrence(rows, cols, values, len(vocab), meta)
    save_cooccurrence(path, co)
    co.meta = dict(co.meta, vocab_size=len(vocab), cached=False)
    return co
