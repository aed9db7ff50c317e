"""The CPU engine: numba kernels for one skip-gram or CBOW update and for a run of token blocks.

Notation: ``syn0`` (V, D) input vectors (the exported table by default), ``syn1`` (V, D) output vectors of
negative sampling. The trainer pads D to whole cache lines with zero columns (:func:`w2v.train.line_rows`);
the kernels run over the full width, where the zeros stay zero and add nothing to a logit. An update has an
input side (context rows of ``syn0``) and ``outs``: the target word first (label 1), then the noise words
(label 0). With z = x . u_o and sigma the logistic function, its loss is -log sigma(z_target) - sum over
noise of log sigma(-z_noise): the true negative-sampling loss, taken before the update is applied, and the
update is a plain SGD step on it:

- skip-gram: each context word's input vector predicts the centre word (word2vec's and gensim's
  orientation). By default every (context, centre) pair is its own update with its own noise words, as in
  word2vec and gensim; with shared noise, a centre draws them once and all its contexts form one update,
  a small (contexts x outs) matrix product (Ji et al. 2016).
- CBOW: the mean h of the context vectors predicts the centre word; every context vector then moves by
  the gradient with respect to h, as word2vec C and gensim do (not by its 1/contexts share of it).

Every gradient of a shared-noise skip-gram update is taken at the parameters before it; the pair and CBOW
updates take word2vec's sequential order (:func:`output_step`): a noise word drawn twice sees its first
update (for distinct rows the two orders are the same). A noise word equal to the target is skipped, as in
word2vec. Threads may run ``train_blocks`` on disjoint blocks of the same arrays at once (hogwild, like
word2vec's pthreads and gensim's workers). Losses accumulate as (sum, running product of probabilities):
one log per many logits.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from w2v.sampling import ONE32

# ------------------------------------------------------------------------------------------------ random
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(inline="always", nogil=True)
def splitmix64(state):
    """One step of splitmix64: (new state, 64 random bits)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return state, z ^ (z >> _S31)


@njit(inline="always", nogil=True)
def block_state(seed, epoch, block):
    """The generator state that starts block ``block`` of epoch ``epoch`` under ``seed``."""
    s = np.uint64(seed)
    _, a = splitmix64(s)
    _, b = splitmix64(a ^ np.uint64(epoch))
    _, c = splitmix64(b ^ np.uint64(block))
    return c


@njit(inline="always", nogil=True)
def below(bits, n):
    """Uniform integer in [0, n) from the high 32 bits of ``bits`` (multiply-shift, no division)."""
    return np.int64(((bits >> _S32) * np.uint64(n)) >> _S32)


@njit(inline="always", nogil=True)
def draw_noise(bits, noise_thr, noise_alias):
    """One noise word from the alias table: a uniform slot, kept if the low 32 bits fall under its bar."""
    slot = below(bits, noise_thr.shape[0])
    if (bits & _LOW32) < noise_thr[slot]:
        return slot
    return np.int64(noise_alias[slot])


# ------------------------------------------------------------------------------------------------ updates
# every fast-math flag except "no NaN / no inf": a diverging run must show a non-finite loss
FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}
_ONE32 = np.uint64(ONE32)


@intrinsic
def prefetch_row(typingctx, matrix, row):
    """Ask the CPU to bring every cache line of matrix[row] (2-D C-contiguous float32) into cache: the
    outer levels (locality 1), not L1, where a skip-gram centre's up to 50 noise rows would push out the
    rows in use (locality 3 was 5-15% slower in 1-thread runs on the AMD EPYC, 2026-12-03)."""
    def codegen(context, builder, signature, args):
        matrix_type, row_type = signature.args
        array = context.make_array(matrix_type)(context, builder, args[0])
        index = context.cast(builder, args[1], row_type, types.intp)
        first = cgutils.get_item_pointer(context, builder, matrix_type, array,
                                         [index, context.get_constant(types.intp, 0)])
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]), "llvm.prefetch.p0")
        base = builder.bitcast(first, byte_ptr)
        row_bytes = builder.mul(builder.extract_value(array.shape, 1), context.get_constant(types.intp, 4))
        for line in range(32):  # rows up to 2 KiB (dim 512); longer rows are prefetched in part
            offset = context.get_constant(types.intp, 64 * line)
            with builder.if_then(builder.icmp_signed("<", offset, row_bytes), likely=True):
                builder.call(fn, [builder.gep(base, [offset]), i32(0), i32(1), i32(1)])  # read, locality, data
        return context.get_dummy_value()

    return types.void(matrix, row), codegen


@njit(inline="always", nogil=True, fastmath=FAST)
def _logit_terms(z, positive):
    """(gradient factor label - sigma(z), probability of the label) without cancellation."""
    t = np.float32(math.exp(-abs(z)))
    p = np.float32(1.0) / (np.float32(1.0) + t)  # sigma(|z|)
    q = t * p  # sigma(-|z|)
    if positive:
        return (q, p) if z >= 0 else (p, q)
    return (-p, q) if z >= 0 else (-q, p)


@njit(inline="always", nogil=True, fastmath=FAST)
def _add_loss(loss, prod, term, z):
    """Accumulate -log(term) as a running product (one log per update, not per logit)."""
    if term < 1e-30:  # the term underflows: -log sigma(-|z|) = |z| to float precision
        return loss + abs(z), prod
    prod *= term
    if prod < 1e-280:
        return loss - math.log(prod), 1.0
    return loss, prod


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def sg_update(syn0, syn1, ctx, n_ctx, outs, n_out, lr, grad, delta, loss, prod):
    """Skip-gram step for one centre: inputs syn0[ctx[:n_ctx]], targets syn1[outs[:n_out]] (outs[0] the
    centre, then its noise words). grad (>= n_ctx, >= n_out) and delta (>= n_ctx, D) are scratch.
    Adds the loss of the n_ctx (context, centre) pairs to the accumulator (loss, prod) and returns it."""
    dim = syn0.shape[1]
    center = outs[0]
    for c in range(n_ctx):
        row = ctx[c]
        for k in range(n_out):
            o = outs[k]
            if k > 0 and o == center:
                grad[c, k] = 0.0
                continue
            z = np.float32(0.0)
            for d in range(dim):
                z += syn0[row, d] * syn1[o, d]
            g, term = _logit_terms(z, k == 0)
            grad[c, k] = g * lr
            loss, prod = _add_loss(loss, prod, term, z)
    for c in range(n_ctx):  # input gradients from the old output vectors
        for d in range(dim):
            delta[c, d] = 0.0
        for k in range(n_out):
            g = grad[c, k]
            o = outs[k]
            for d in range(dim):
                delta[c, d] += g * syn1[o, d]
    for k in range(n_out):  # output vectors, from the old input vectors
        o = outs[k]
        for c in range(n_ctx):
            g = grad[c, k]
            row = ctx[c]
            for d in range(dim):
                syn1[o, d] += g * syn0[row, d]
    for c in range(n_ctx):
        row = ctx[c]
        for d in range(dim):
            syn0[row, d] += delta[c, d]
    return loss, prod


@njit(inline="always", nogil=True)
def _distinct(outs, n_out):
    """Whether outs[:n_out] are all different words (checked up to 32 outputs; longer lists say False).
    Then no output row's logit depends on another's update, and all logits may be taken first."""
    if n_out > 32:
        return False
    for a in range(1, n_out):
        for b in range(a):
            if outs[a] == outs[b]:
                return False
    return True


@njit(inline="always", nogil=True, fastmath=FAST)
def _dot(x, syn1, o):
    """x . syn1[o] for an input vector x (D,)."""
    z = np.float32(0.0)
    for d in range(x.shape[0]):
        z += x[d] * syn1[o, d]
    return z


@njit(inline="always", nogil=True, fastmath=FAST)
def _move_row(x, syn1, o, g, neu1e):
    """Output row o gives neu1e its gradient g * syn1[o] (the row as it was) and takes its own, g * x."""
    for d in range(x.shape[0]):
        neu1e[d] += g * syn1[o, d]
        syn1[o, d] += g * x[d]


@njit(inline="always", nogil=True, fastmath=FAST)
def _logits(x, syn1, outs, n_out, gs):
    """gs[k] = x . syn1[outs[k]] for k < n_out; two output rows per pass over x (D,)."""
    dim = x.shape[0]
    k = 0
    while k + 1 < n_out:
        a, b = outs[k], outs[k + 1]
        za, zb = np.float32(0.0), np.float32(0.0)
        for d in range(dim):
            za += x[d] * syn1[a, d]
            zb += x[d] * syn1[b, d]
        gs[k], gs[k + 1] = za, zb
        k += 2
    if k < n_out:
        gs[k] = _dot(x, syn1, outs[k])


@njit(inline="always", nogil=True, fastmath=FAST)
def _move_outputs(x, syn1, outs, n_out, gs, neu1e):
    """neu1e += gs[k] * syn1[outs[k]] (each row as it was) and syn1[outs[k]] += gs[k] * x, for k < n_out
    (distinct rows); two output rows per pass, so neu1e is loaded and stored half as often."""
    dim = x.shape[0]
    k = 0
    while k + 1 < n_out:
        a, b = outs[k], outs[k + 1]
        ga, gb = gs[k], gs[k + 1]
        for d in range(dim):
            ua, ub = syn1[a, d], syn1[b, d]
            neu1e[d] += ga * ua + gb * ub
            syn1[a, d] = ua + ga * x[d]
            syn1[b, d] = ub + gb * x[d]
        k += 2
    if k < n_out:
        _move_row(x, syn1, outs[k], gs[k], neu1e)


@njit(inline="always", nogil=True, fastmath=FAST)
def output_step(x, syn1, outs, n_out, lr, neu1e, gs, loss, prod):
    """The output side of one update with input vector x (D,): outs[0] the target, outs[1:n_out] the noise
    words (one equal to the target is skipped). Each output row gives neu1e (D,) its gradient, taken from
    the row before its update, and takes its own, in word2vec's order: a noise word drawn twice sees its
    first update. When the rows are distinct (nearly always) no logit depends on another row's update, so
    all logits are taken first (independent dot products) and the rows move two per pass, with the same
    result. gs (>= n_out) is scratch; neu1e is added to. Returns the loss accumulator (loss, prod)."""
    if _distinct(outs, n_out):
        _logits(x, syn1, outs, n_out, gs)
        for k in range(n_out):
            g, term = _logit_terms(gs[k], k == 0)
            loss, prod = _add_loss(loss, prod, term, gs[k])
            gs[k] = g * lr
        _move_outputs(x, syn1, outs, n_out, gs, neu1e)
        return loss, prod
    for k in range(n_out):  # word2vec's loop: each row's logit as the row stands now
        o = outs[k]
        if k > 0 and o == outs[0]:
            continue
        z = _dot(x, syn1, o)
        g, term = _logit_terms(z, k == 0)
        loss, prod = _add_loss(loss, prod, term, z)
        _move_row(x, syn1, o, g * lr, neu1e)
    return loss, prod


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def pair_update(syn0, syn1, row, outs, n_out, lr, neu1e, gs, loss, prod):
    """Skip-gram step for one (context, centre) pair: syn0[row] against outs[:n_out] (the centre, then its
    noise words), as word2vec and gensim do it (:func:`output_step`). neu1e (D,) and gs (>= n_out) are
    scratch. Equal to ``sg_update`` with one context but for a noise word drawn twice, whose second logit
    sees the first update (as in word2vec)."""
    x = syn0[row]
    neu1e[:] = 0.0
    loss, prod = output_step(x, syn1, outs, n_out, lr, neu1e, gs, loss, prod)
    for d in range(x.shape[0]):
        x[d] += neu1e[d]
    return loss, prod


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def cbow_update(syn0, syn1, ctx, n_ctx, outs, n_out, lr, h, neu1e, gs, loss, prod):
    """CBOW step for one centre: h = mean of syn0[ctx[:n_ctx]] predicts outs[0] against the noise words
    outs[1:n_out], in word2vec's order (:func:`output_step`). h and neu1e (D,) and gs (>= n_out) are
    scratch. Adds the update's loss to the accumulator (loss, prod) and returns it."""
    dim = syn0.shape[1]
    h[:] = 0.0
    neu1e[:] = 0.0
    for c in range(n_ctx):
        row = ctx[c]
        for d in range(dim):
            h[d] += syn0[row, d]
    inv = np.float32(1.0) / np.float32(n_ctx)
    for d in range(dim):
        h[d] *= inv
    loss, prod = output_step(h, syn1, outs, n_out, lr, neu1e, gs, loss, prod)
    for c in range(n_ctx):
        row = ctx[c]
        for d in range(dim):
            syn0[row, d] += neu1e[d]
    return loss, prod


@njit(inline="always", nogil=True)
def total_loss(loss, prod):
    """The summed loss of an accumulator (loss, prod)."""
    return loss - math.log(prod)


@njit(inline="always", nogil=True)
def _read_sentence(ids, pos, stop, eos, keep_thr, sent, state):
    """Kept words from ids[pos:] up to <eos> or ``stop`` into ``sent``: (length, next pos, state)."""
    length = 0
    while pos < stop:
        w = ids[pos]
        pos += 1
        if w == eos:
            break
        bar = keep_thr[w]
        if bar >= _ONE32:
            sent[length] = w
            length += 1
        elif bar > 0:
            state, bits = splitmix64(state)
            if (bits >> _S32) < bar:
                sent[length] = w
                length += 1
    return length, pos, state


@njit(inline="always", nogil=True)
def _draw_centre(state, i, length, window, negative, pairs, noise, slot, noise_thr, noise_alias, syn1):
    """Centre i's reduced window and noise words into noise[slot] (one set per context in pair mode),
    prefetching their output rows: (state, reach)."""
    state, bits = splitmix64(state)
    reach = window - below(bits, window)
    sets = min(length, i + reach + 1) - max(0, i - reach) - 1 if pairs else 1
    for c in range(sets):
        for k in range(negative):
            state, bits = splitmix64(state)
            w = draw_noise(bits, noise_thr, noise_alias)
            noise[slot, c, k] = w
            prefetch_row(syn1, w)
    return state, reach


# ------------------------------------------------------------------------------------------------ schedule
@njit(inline="always", nogil=True, cache=True)
def linear_decay(alpha, min_alpha, done, total):
    """The learning rate after ``done`` of ``total`` tokens: alpha decayed linearly to min_alpha, never
    below it. Inlined in the kernels (under their fast-math flags); callable from Python as well."""
    lr = alpha - (alpha - min_alpha) * done / total
    return max(lr, min_alpha)


@njit(cache=True, nogil=True, fastmath=FAST)
def train_blocks(ids, first_block, last_block, block_len, eos, seed, epoch, keep_thr, noise_thr, noise_alias,
                 syn0, syn1, skipgram, share_noise, window, negative, alpha, min_alpha, work_before, work_total):
    """Train on blocks [first_block, last_block) of ``ids`` (block b covers ids[b * block_len:][:block_len]).

    A sentence runs up to ``<eos>`` or the end of a block; words are kept by ``keep_thr`` (32-bit bars,
    0 for words that never train), then each kept word draws its reduced window and its noise words.
    Skip-gram updates each (context, centre) pair with its own noise words (word2vec's and gensim's
    algorithm) or, with ``share_noise``, all of a centre's contexts at once against shared noise words.
    The learning rate of a sentence is alpha decayed linearly towards min_alpha by the fraction
    (work_before + sentence start) / work_total of all epochs' tokens. Returns (summed loss, updates,
    kept words); an update is a (context, centre) pair for skip-gram, a centre for CBOW.
    """
    n = ids.shape[0]
    dim = syn0.shape[1]
    pairs = skipgram and not share_noise
    sent = np.empty(block_len, dtype=np.int64)
    ctx = np.empty(2 * window, dtype=np.int64)
    outs = np.empty(negative + 1, dtype=np.int64)
    noise = np.empty((2, 2 * window, negative), dtype=np.int64)  # this centre's and the next one's
    grad = np.empty((2 * window, negative + 1), dtype=np.float32)
    delta = np.empty((2 * window, dim), dtype=np.float32)
    h = np.empty(dim, dtype=np.float32)
    neu1e = np.empty(dim, dtype=np.float32)
    gs = np.empty(negative + 1, dtype=np.float32)
    loss, prod, updates, kept = 0.0, 1.0, 0, 0
    for b in range(first_block, last_block):
        state = block_state(seed, epoch, b)
        pos = b * block_len
        stop = min(pos + block_len, n)
        while pos < stop:
            start = pos
            length, pos, state = _read_sentence(ids, pos, stop, eos, keep_thr, sent, state)
            kept += length
            if length < 2:
                continue
            lr32 = np.float32(linear_decay(alpha, min_alpha, work_before + start, work_total))
            # draws run one centre ahead of the updates so that the noise rows arrive in time
            state, next_reach = _draw_centre(state, 0, length, window, negative, pairs, noise, 0,
                                             noise_thr, noise_alias, syn1)
            for i in range(length):
                reach = next_reach
                mine = i & 1
                if i + 1 < length:
                    state, next_reach = _draw_centre(state, i + 1, length, window, negative, pairs, noise,
                                                     1 - mine, noise_thr, noise_alias, syn1)
                    prefetch_row(syn1, sent[i + 1])  # the next centre's own output row
                    if i + 1 + window < length:  # the input row that enters the windows next
                        prefetch_row(syn0, sent[i + 1 + window])
                n_ctx = 0
                for j in range(max(0, i - reach), min(length, i + reach + 1)):
                    if j != i:
                        ctx[n_ctx] = sent[j]
                        n_ctx += 1
                outs[0] = sent[i]
                for c in range(n_ctx if pairs else 1):
                    for k in range(negative):
                        outs[k + 1] = noise[mine, c, k]
                    if pairs:  # the pair's own update: one context against the centre and its noise
                        loss, prod = pair_update(syn0, syn1, ctx[c], outs, negative + 1, lr32, neu1e, gs, loss,
                                                 prod)
                    elif skipgram:
                        loss, prod = sg_update(syn0, syn1, ctx, n_ctx, outs, negative + 1, lr32, grad, delta,
                                               loss, prod)
                    else:
                        loss, prod = cbow_update(syn0, syn1, ctx, n_ctx, outs, negative + 1, lr32, h, neu1e, gs,
                                                 loss, prod)
                updates += n_ctx if skipgram else 1
    return total_loss(loss, prod), updates, kept


# ------------------------------------------------------------------------------------------------ for checks
@njit(cache=True, nogil=True)
def draw_many(seed, n, window, keep_thr, noise_thr, noise_alias):
    """``n`` draws of each random quantity the kernels use, from one stream: (reduced windows in 1..window,
    keep decisions for word i % V, noise words). For statistical tests of the samplers."""
    state = block_state(seed, 0, 0)
    windows = np.empty(n, dtype=np.int64)
    kept = np.empty(n, dtype=np.bool_)
    noise = np.empty(n, dtype=np.int64)
    v = keep_thr.shape[0]
    for i in range(n):
        state, bits = splitmix64(state)
        windows[i] = window - below(bits, window)
        state, bits = splitmix64(state)
        kept[i] = (bits >> _S32) < keep_thr[i % v]
        state, bits = splitmix64(state)
        noise[i] = draw_noise(bits, noise_thr, noise_alias)
    return windows, kept, noise
