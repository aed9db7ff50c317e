"""Numba kernel of the analogy search: the best two admissible candidates of each question in one pass.

The inputs are cosines ``cos[w, r]`` between each question word ``w`` and every candidate row ``r``
(one matrix product, done by the caller), so a question costs a scan of three rows of that matrix rather
than a product with the whole vocabulary: the time does not grow with the embedding dimension.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True, nogil=True)
def best_two(cos, qa, qb, qc, ex_ptr, ex_rows, dead, cosmul, best, s1, second, s2):
    """For question i (a : b :: c : ?) find the two highest-scoring rows r, skipping ``dead`` rows and
    ``ex_rows[ex_ptr[i]:ex_ptr[i + 1]]``; write their rows to best/second and scores to s1/s2 (float64).

    3CosAdd score: cos[b, r] + cos[c, r] - cos[a, r] (the cosine with the mean query, times its length).
    3CosMul score: p(b) p(c) / (p(a) + 1e-6) with p(x) = (1 + cos[x, r]) / 2. Rows: -1 when none.
    """
    n, rows = qa.shape[0], cos.shape[1]
    for i in numba.prange(n):
        ra, rb, rc = cos[qa[i]], cos[qb[i]], cos[qc[i]]
        lo, hi = ex_ptr[i], ex_ptr[i + 1]
        top, top_row, nxt, nxt_row = -np.inf, -1, -np.inf, -1
        for r in range(rows):
            if cosmul:
                pa = (1.0 + np.float64(ra[r])) / 2.0
                pb = (1.0 + np.float64(rb[r])) / 2.0
                pc = (1.0 + np.float64(rc[r])) / 2.0
                s = pb * pc / (pa + 0.000001)
            else:
                s = np.float64(rb[r]) + np.float64(rc[r]) - np.float64(ra[r])
            if not s > nxt:  # the common case: not among the best two (NaN lands here too)
                continue
            if dead[r]:
                continue
            skip = False
            for k in range(lo, hi):
                if ex_rows[k] == r:
                    skip = True
                    break
            if skip:
                continue
            if s > top:
                nxt, nxt_row = top, top_row
                top, top_row = s, r
            else:
                nxt, nxt_row = s, r
        best[i], s1[i], second[i], s2[i] = top_row, top, nxt_row, nxt
