"""GloVe's compiled kernels: co-occurrence counting, and the objective with its AdaGrad updates.

Counting (numba, ``nogil`` so that Python threads run them in parallel): ``count_span`` windows a span of
token ids into a dense block and an overflow buffer, each pair once as (min, max) (the counts are
symmetric), ``reduce_sorted`` / ``merge_sorted`` fold sorted overflow runs together, ``collect`` turns the
result into sorted COO arrays of the upper triangle and ``mirror`` into the whole matrix. See
``glove.cooccur``.

Training: a numba kernel (per entry, hogwild) and a torch step (batched, CPU or CUDA).

For a co-occurrence entry (i, j, x) the loss is 0.5 * f(x) * (w_i . w~_j + b_i + b~_j - log x)^2 with
f(x) = min(1, (x / x_max)^alpha). Both engines apply Stanford GloVe's update: with g the gradient scaled by
the learning rate and clipped to +-grad_clip per coordinate, a parameter moves by -g / sqrt(G) and G
(started at 1) accumulates g^2. The reported loss is the mean of the per-entry loss over an epoch, as
Stanford's ``cost``.
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit


# ------------------------------------------------------------------------------------------------ counting
@njit(nogil=True, cache=True, inline="always")
def _count_pair(w1, w2, weight, dense, lookup, limit, vocab_size, keys, vals, n):
    """Add ``weight`` to the unordered pair {w1, w2}, kept once as (row, col) = (min, max): in the dense
    block (upper triangle) when ``col`` is below the row's limit, else as the next overflow record;
    returns the overflow fill. :func:`mirror` makes the counts symmetric at the end."""
    row, col = (w1, w2) if w1 <= w2 else (w2, w1)
    if col < limit[row]:
        dense[lookup[row] + col - row] += weight
    else:
        keys[n] = row * vocab_size + col
        vals[n] = weight
        n += 1
    return n


@njit(nogil=True, cache=True)
def count_span(ids, start, end, hist, state, window, harmonic, eos_id, pad_id, unk_id, dense,
               lookup, limit, vocab_size, keys, vals, n):
    """Count pairs whose center lies in ids[start:end] until the overflow buffer is nearly full.

    ``hist`` (window,) holds the kept ids of the current document as a ring, ``state[0]`` how many were
    kept so far. Returns (next position, buffer fill); next position -1 means an id out of range.
    """
    j = state[0]
    cap = keys.shape[0] - window
    pos = start
    while pos < end:
        if n > cap:
            break
        w2 = ids[pos]
        if w2 < 0 or w2 >= vocab_size:
            state[1] = pos
            return -1, n
        pos += 1
        if w2 == eos_id:
            j = 0
            continue
        if w2 == pad_id or w2 == unk_id:
            continue
        lo = j - window if j > window else 0
        for k in range(j - 1, lo - 1, -1):
            w1 = hist[k % window]
            weight = 1.0 / (j - k) if harmonic else 1.0
            n = _count_pair(w1, w2, weight, dense, lookup, limit, vocab_size, keys, vals, n)
        hist[j % window] = w2
        j += 1
    state[0] = j
    return pos, n


@njit(nogil=True, cache=True)
def seed_history(ids, start, hist, state, eos_id, pad_id, unk_id, vocab_size):
    """Fill the window history as it stands just before ``start`` (kept ids back to the last <eos>).
    Returns False (position in state[1]) for an id out of range."""
    window = hist.shape[0]
    found = np.empty(window, dtype=np.int64)
    m = 0
    pos = start - 1
    while pos >= 0 and m < window:
        w = ids[pos]
        if w < 0 or w >= vocab_size:
            state[1] = pos
            return False
        if w == eos_id:
            break
        if w != pad_id and w != unk_id:
            found[m] = w
            m += 1
        pos -= 1
    for k in range(m):  # oldest first: the k-th kept id sits at hist[k % window]
        hist[k] = found[m - 1 - k]
    state[0] = m
    return True


@njit(nogil=True, cache=True)
def reduce_sorted(keys, vals):
    """Sum the values of equal keys in a sorted key array."""
    out_k = np.empty_like(keys)
    out_v = np.empty_like(vals)
    m = -1
    for i in range(keys.shape[0]):
        if m >= 0 and keys[i] == out_k[m]:
            out_v[m] += vals[i]
        else:
            m += 1
            out_k[m] = keys[i]
            out_v[m] = vals[i]
    return out_k[: m + 1].copy(), out_v[: m + 1].copy()


@njit(nogil=True, cache=True)
def merge_sorted(ak, av, bk, bv):
    """Merge two sorted arrays of unique keys, summing the values of keys present in both."""
    out_k = np.empty(ak.shape[0] + bk.shape[0], dtype=ak.dtype)
    out_v = np.empty(ak.shape[0] + bk.shape[0], dtype=av.dtype)
    i = j = m = 0
    while i < ak.shape[0] or j < bk.shape[0]:
        if j >= bk.shape[0] or (i < ak.shape[0] and ak[i] < bk[j]):
            out_k[m], out_v[m] = ak[i], av[i]
            i += 1
        elif i >= ak.shape[0] or bk[j] < ak[i]:
            out_k[m], out_v[m] = bk[j], bv[j]
            j += 1
        else:
            out_k[m], out_v[m] = ak[i], av[i] + bv[j]
            i += 1
            j += 1
        m += 1
    return out_k[:m].copy(), out_v[:m].copy()


@njit(cache=True)
def collect(dense, lookup, limit, okeys, ovals, vocab_size):
    """Dense block + sorted overflow -> the upper triangle's COO arrays (row <= col), sorted by (row, col)."""
    total = okeys.shape[0]
    for i in range(dense.shape[0]):
        if dense[i] != 0.0:
            total += 1
    rows = np.empty(total, dtype=np.int32)
    cols = np.empty(total, dtype=np.int32)
    vals = np.empty(total, dtype=np.float64)
    p = q = 0
    for a in range(vocab_size):
        base = lookup[a] - a
        for b in range(a, limit[a]):
            x = dense[base + b]
            if x != 0.0:
                rows[p], cols[p], vals[p] = a, b, x
                p += 1
        while q < okeys.shape[0] and okeys[q] // vocab_size == a:
            rows[p], cols[p], vals[p] = a, okeys[q] % vocab_size, ovals[q]
            p += 1
            q += 1
    return rows, cols, vals


@njit(cache=True)
def mirror(rows, cols, vals, vocab_size):
    """Upper-triangle counts (row <= col, sorted) -> the symmetric matrix's COO arrays sorted by (row, col):
    (r, c) also as (c, r), and the diagonal doubled (a word next to itself counts once per direction).

    Row x of the result holds first the mirrored entries (r, x), r < x, then its own (x, c), c >= x; the
    input's order fills both parts in increasing column order."""
    below = np.zeros(vocab_size, dtype=np.int64)  # mirrored entries per row
    own = np.zeros(vocab_size, dtype=np.int64)
    for i in range(rows.shape[0]):
        own[rows[i]] += 1
        if rows[i] != cols[i]:
            below[cols[i]] += 1
    lower = np.empty(vocab_size, dtype=np.int64)  # next free slot of each row's two parts
    upper = np.empty(vocab_size, dtype=np.int64)
    start = 0
    for x in range(vocab_size):
        lower[x] = start
        upper[x] = start + below[x]
        start += below[x] + own[x]
    out_r = np.empty(start, dtype=np.int32)
    out_c = np.empty(start, dtype=np.int32)
    out_v = np.empty(start, dtype=np.float64)
    for i in range(rows.shape[0]):
        r, c, v = rows[i], cols[i], vals[i]
        k = upper[r]
        out_r[k], out_c[k], out_v[k] = r, c, (2.0 * v if r == c else v)
        upper[r] += 1
        if r != c:
            k = lower[c]
            out_r[k], out_c[k], out_v[k] = c, r, v
            lower[c] += 1
    return out_r, out_c, out_v


# ------------------------------------------------------------------------------------------------ objective
def weighting(x: np.ndarray, x_max: float, alpha: float) -> np.ndarray:
    """GloVe's weighting f(x) = min(1, (x / x_max) ** alpha), elementwise."""
    x = np.asarray(x, dtype=np.float64)
    return np.minimum(1.0, (x / x_max) ** alpha)


# ------------------------------------------------------------------------------------------------ numba
@njit(nogil=True, fastmath=True, error_model="numpy", cache=True)
def adagrad_entries(rows, cols, logx, fx, start, end, W, C, bw, bc, gW, gC, gbw, gbc, lr, clip):
    """Apply the AdaGrad update of entries start..end-1 in order; returns their summed loss (float64).

    rows/cols (N,) int32, logx/fx (N,) float32 (log count and weight), W/C (V, D) word and context
    vectors, bw/bc (V,) biases, gW/gC/gbw/gbc their squared-gradient sums; all float32, updated in place.
    Threads may run this on disjoint ranges of the same arrays at once (hogwild).
    """
    dim = W.shape[1]
    upd_w = np.empty(dim, dtype=np.float32)
    upd_c = np.empty(dim, dtype=np.float32)
    total = 0.0
    for e in range(start, end):
        i = rows[e]
        j = cols[e]
        diff = np.float32(0.0)
        for d in range(dim):
            diff += W[i, d] * C[j, d]
        diff += bw[i] + bc[j] - logx[e]
        fdiff = fx[e] * diff
        total += 0.5 * fdiff * diff
        fdiff *= lr
        for d in range(dim):
            gw = min(max(fdiff * C[j, d], -clip), clip)
            gc = min(max(fdiff * W[i, d], -clip), clip)
            upd_w[d] = gw / np.sqrt(gW[i, d])
            upd_c[d] = gc / np.sqrt(gC[j, d])
            gW[i, d] += gw * gw
            gC[j, d] += gc * gc
        for d in range(dim):
            W[i, d] -= upd_w[d]
            C[j, d] -= upd_c[d]
        bw[i] -= fdiff / np.sqrt(gbw[i])
        bc[j] -= fdiff / np.sqrt(gbc[j])
        gbw[i] += fdiff * fdiff
        gbc[j] += fdiff * fdiff
    return total


# ------------------------------------------------------------------------------------------------ torch
def glove_loss(W, C, bw, bc, rows, cols, logx, fx) -> torch.Tensor:
    """Summed GloVe loss of a batch of entries (differentiable; used to check the hand-written gradient)."""
    diff = (W[rows] * C[cols]).sum(1) + bw[rows] + bc[cols] - logx  # (B,)
    return 0.5 * (fx * diff * diff).sum()


def entry_gradients(W, C, bw, bc, rows, cols, logx, fx):
    """Per-entry gradients of the loss: (dW_i (B, D), dC_j (B, D), db_i (B,), db~_j (B,), loss (B,))."""
    wi, cj = W[rows], C[cols]  # (B, D)
    diff = (wi * cj).sum(1) + bw[rows] + bc[cols] - logx  # (B,)
    fdiff = fx * diff
    return fdiff[:, None] * cj, fdiff[:, None] * wi, fdiff, fdiff, 0.5 * fdiff * diff


@torch.no_grad()
def adagrad_batch(params: dict, rows, cols, logx, fx, lr: float, clip: float) -> torch.Tensor:
    """One batched AdaGrad step on the device of ``params``; returns the batch's summed loss (0-d tensor).

    Every entry's update is computed from the parameters before the step, then scattered with
    ``index_add_`` (entries of the same word add up); with batch size 1 this is the numba kernel's update.
    """
    W, C, bw, bc = params["W"], params["C"], params["bw"], params["bc"]
    gW, gC, gbw, gbc = params["gW"], params["gC"], params["gbw"], params["gbc"]
    dw, dc, db, dbc, loss = entry_gradients(W, C, bw, bc, rows, cols, logx, fx)
    dw = (dw * lr).clamp_(-clip, clip)
    dc = (dc * lr).clamp_(-clip, clip)
    db = db * lr
    W.index_add_(0, rows, -dw / gW[rows].sqrt())
    C.index_add_(0, cols, -dc / gC[cols].sqrt())
    bw.index_add_(0, rows, -db / gbw[rows].sqrt())
    bc.index_add_(0, cols, -db / gbc[cols].sqrt())
    gW.index_add_(0, rows, dw * dw)
    gC.index_add_(0, cols, dc * dc)
    gbw.index_add_(0, rows, db * db)
    gbc.index_add_(0, cols, db * db)
    return loss.sum(dtype=torch.float64)
