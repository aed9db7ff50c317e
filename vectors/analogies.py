"""Word analogies (a : b :: c : ?) with the numbers of gensim's ``evaluate_word_analogies``, batched.

Protocol (gensim 4.4, reproduced exactly):
- the candidates and the known words are the first ``restrict_vocab`` rows; with ``case_insensitive`` every
  word is upper-cased and a form with several rows uses its first row;
- a question with a word outside that vocabulary is skipped and counted as OOV; lines that are not four
  words are skipped silently; ``": name"`` lines start a section;
- 3CosAdd: the query is the unit mean of unit(b), unit(c), -unit(a); gensim ranks all candidates by cosine,
  drops the rows of a, b and c, keeps the top 5 and predicts the first whose (folded) form is none of a, b, c;
- 3CosMul (Levy & Goldberg, as gensim's ``most_similar_cosmul``): score
  ``p(b) p(c) / (p(a) + 1e-6)`` with ``p(x) = (1 + cos(x, candidate)) / 2``, same candidates and rule.
  gensim's evaluate_word_analogies has no 3CosMul (its ``similarity_function`` is unused) and
  ``most_similar_cosmul`` ignores ``restrict_vocab``: ours equals gensim on a table cut to those rows.

Speed: one matrix product gives the cosine of every question word with every candidate; a numba kernel
(:mod:`vectors.analogy_search`) then scans, per question, three rows of it for the best two admissible candidates,
so the cost does not grow with the dimension. Float32 rounding makes these scores differ from gensim's by
at most a bound computed per question (about ``(3 dim + 8) 2^-24 + (dim + 6) 2^-24 |query|`` for
3CosAdd); a question whose decision is within twice that bound of flipping (near ties, exact ties, zero
rows) is re-solved the way gensim solves it, with the same numpy operations, so every decision, hence
every count, equals gensim's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from base.errors import InputError
from vectors.table import EmbeddingTable

METHODS = ("3cosadd", "3cosmul")
_U = 2.0 ** -24  # float32 unit roundoff
_TOP = 5  # gensim looks at the top 5 admissible candidates


@dataclass
class _Section:
    name: str
    correct: int = 0
    incorrect: int = 0
    oov: int = 0


@dataclass
class _Parsed:
    sections: list[_Section] = field(default_factory=list)
    questions: list[tuple[int, tuple[str, str, str, str]]] = field(default_factory=list)  # (section, words)


def read_questions(path: str | os.PathLike, case_insensitive: bool = True) -> _Parsed:
    """Parse a questions-words file as gensim does (sections, 4-word lines, upper-casing)."""
    from vectors.formats import open_binary

    parsed = _Parsed()
    with open_binary(path, "benchmark file") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{path}:{line_no}: not valid UTF-8") from None
            if line.startswith(": "):
                parsed.sections.append(_Section(line.lstrip(": ").strip()))
                continue
            if not parsed.sections:
                raise InputError(f"{path}:{line_no}: a question before any ': section' header line")
            words = line.split()
            if len(words) != 4:
                continue  # gensim skips malformed lines without counting them
            if case_insensitive:
                words = [w.upper() for w in words]
            parsed.questions.append((len(parsed.sections) - 1, tuple(words)))
    if not parsed.questions:
        raise InputError(f"{path}: no analogy questions (expected ': section' lines and 4-word lines)")
    return parsed


def evaluate_word_analogies(
    table: EmbeddingTable,
    path: str | os.PathLike,
    restrict_vocab: int | None = 30000,
    case_insensitive: bool = True,
    method: str = "3cosadd",
) -> dict:
    """Accuracy on a questions-words file, per section and in total, as gensim computes it.

    Returns ``{kind: "analogies", accuracy, sections: {name: {correct, total, accuracy, oov}}, oov_ratio,
    n, oov, questions, method, restrict_vocab}``: ``n`` questions were answered (all their words known),
    ``oov`` skipped, ``oov_ratio = oov / questions`` (a fraction; gensim logs it as a percentage). A section
    or total with no answered question has accuracy 0.0, as in gensim.
    """
    return _evaluate(table, path, restrict_vocab, case_insensitive, method)[0]


def _evaluate(table, path, restrict_vocab, case_insensitive, method, recheck="auto"):
    """The evaluation plus statistics: ``recheck`` is ``auto`` (near ties only), ``all`` or ``none``."""
    if method not in METHODS:
        raise InputError(f"unknown analogy method {method!r}; choose one of {', '.join(METHODS)}")
    if restrict_vocab is not None and restrict_vocab < 0:
        raise InputError(f"restrict_vocab must be >= 0, got {restrict_vocab}")
    parsed = read_questions(path, case_insensitive)
    rv = len(table) if restrict_vocab is None else min(int(restrict_vocab), len(table))
    fold = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
    folded = [fold(w) for w in table.words[:rv]]
    needed = {w for _, q in parsed.questions for w in q}
    ok_vocab: dict[str, int] = {}
    groups: dict[str, list[int]] = {}  # folded form -> all its rows among the candidates
    for row, form in enumerate(folded):
        if form in needed:
            ok_vocab.setdefault(form, row)
            groups.setdefault(form, []).append(row)
    known = [(s, q) for s, q in parsed.questions if all(w in ok_vocab for w in q)]
    for s, q in parsed.questions:
        if not all(w in ok_vocab for w in q):
            parsed.sections[s].oov += 1
    stats = {"rechecked": 0, "answered": len(known)}
    if known:
        quads = np.array([[ok_vocab[w] for w in q] for _, q in known], dtype=np.int64)  # (N, 4) rows a b c d
        exclusions = [sorted(set(groups[q[0]] + groups[q[1]] + groups[q[2]])) for _, q in known]
        predicted, stats["rechecked"] = _solve(table.matrix[:rv], quads, exclusions, folded, method, recheck)
        stats["correct"] = [q for (_, q), guess in zip(known, predicted) if guess == q[3]]
        for (s, q), guess in zip(known, predicted):
            if guess == q[3]:
                parsed.sections[s].correct += 1
            else:
                parsed.sections[s].incorrect += 1
    return _summary(parsed, method, restrict_vocab), stats


def _summary(parsed: _Parsed, method: str, restrict_vocab) -> dict:
    sections: dict[str, dict] = {}
    for sec in parsed.sections:
        entry = sections.setdefault(sec.name, {"correct": 0, "total": 0, "accuracy": 0.0, "oov": 0})
        entry["correct"] += sec.correct
        entry["total"] += sec.correct + sec.incorrect
        entry["oov"] += sec.oov
    for entry in sections.values():
        entry["accuracy"] = entry["correct"] / entry["total"] if entry["total"] else 0.0
    correct = sum(e["correct"] for e in sections.values())
    answered = sum(e["total"] for e in sections.values())
    oov = sum(e["oov"] for e in sections.values())
    return {
        "kind": "analogies",
        "accuracy": correct / answered if answered else 0.0,
        "sections": sections,
        "oov_ratio": oov / len(parsed.questions),
        "n": answered,
        "oov": oov,
        "questions": len(parsed.questions),
        "correct": correct,
        "method": method,
        "restrict_vocab": restrict_vocab,
    }


# --------------------------------------------------------------------------------------------------
def _solve(vectors, quads, exclusions, folded, method, recheck):
    """Folded prediction (or None) per question; also how many were re-solved gensim's way."""
    norms = np.linalg.norm(vectors, axis=1)  # (R,) exactly gensim's norms
    dead = norms == 0
    n, rows = len(quads), len(vectors)
    robust = np.zeros(n, dtype=bool)
    best = np.full(n, -1, dtype=np.int64)
    if recheck != "all" and rows - int(dead.sum()) > 2 * _TOP + 3:
        best, robust = _fast(vectors, norms, dead, quads, exclusions, method)
    if recheck == "none":
        robust[:] = True
    predicted: list[str | None] = [folded[r] for r in best]
    redo, cache = np.flatnonzero(~robust), {}
    for i in redo:
        a, b, c, _ = quads[i]
        ranked = _gensim_ranked(vectors, norms, a, b, c, method, cache)
        ignore = {folded[a], folded[b], folded[c]}
        guess = None
        for r in ranked:
            guess = folded[r]
            if guess not in ignore:
                break
        predicted[i] = guess
    return predicted, len(redo)


def _fast(vectors, norms, dead, quads, exclusions, method):
    """Best admissible row per question (numba scan over cosines), and whether gensim surely agrees."""
    from vectors.analogy_search import best_two

    with np.errstate(divide="ignore", invalid="ignore"):
        unit = vectors / norms[:, None]  # (R, C) as gensim's get_vector(norm=True), rowwise
    unit[dead] = 0.0
    n, rows = len(quads), len(vectors)
    best, ok = np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=bool)
    words_per_chunk = max(16, (1 << 25) // rows)  # cosine rows held at once: at most ~128 MB
    start = 0
    while start < n:
        stop, seen = start, set()  # grow the chunk while its distinct words fit
        while stop < n:
            new = set(quads[stop, :3].tolist()) - seen
            if len(seen) + len(new) > words_per_chunk:
                break
            seen |= new
            stop += 1
        words = np.array(sorted(seen), dtype=np.int64)
        cos = unit[words] @ unit.T  # (W, R) float32
        local = np.searchsorted(words, quads[start:stop, :3])  # (N, 3) rows of cos
        best[start:stop], ok[start:stop] = _fast_chunk(
            cos, local, quads[start:stop], exclusions[start:stop], unit, dead, method, vectors.shape[1], best_two)
        start = stop
    return best, ok


def _fast_chunk(cos, local, quads, exclusions, unit, dead, method, dim, best_two):
    n = len(quads)
    ex_ptr = np.zeros(n + 1, dtype=np.int64)
    ex_ptr[1:] = np.cumsum([len(e) for e in exclusions])
    ex_rows = np.fromiter((r for e in exclusions for r in e), dtype=np.int64, count=int(ex_ptr[-1]))
    best, second = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    s1, s2 = np.empty(n), np.empty(n)
    la, lb, lc = (np.ascontiguousarray(local[:, k]) for k in range(3))
    best_two(cos, la, lb, lc, ex_ptr, ex_rows, dead, method == "3cosmul", best, s1, second, s2)
    ex_q = np.repeat(np.arange(n), np.diff(ex_ptr))
    ex_canon = (ex_rows == quads[ex_q, 0]) | (ex_rows == quads[ex_q, 1]) | (ex_rows == quads[ex_q, 2])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ca, cb, cc = (cos[l[ex_q], ex_rows].astype(np.float64) for l in (la, lb, lc))
        if method == "3cosadd":
            ex_s = cb + cc - ca
            # |ours - gensim| <= (3d + 5)u + (d + 3)u |m| in our units, m = gensim's unnormalised query;
            # doubled for safety, doubled again as each of two compared scores may be off by that much
            length = _query_lengths(unit, quads)
            e_best = 2 * ((3 * dim + 8) * _U + (dim + 6) * _U * length)
            e_second, e_ex = e_best, e_best[ex_q]
        else:
            def err(q, r, s):
                p = [(1 + cos[l[q], np.maximum(r, 0)].astype(np.float64)) / 2 for l in (la, lb, lc)]
                return 2 * _cosmul_error(s, *p, dim)

            pa, pb, pc = ((1 + c) / 2 for c in (ca, cb, cc))
            ex_s = pb * pc / (pa + 0.000001)
            arange = np.arange(n)
            e_best, e_second, e_ex = err(arange, best, s1), err(arange, second, s2), err(ex_q, ex_rows, ex_s)
        ok = np.isfinite(s1) & (best >= 0) & ~(s2 + e_second > s1 - e_best)
        # rows sharing the folded form of a, b or c (but not their own rows) are skipped by gensim's
        # prediction loop yet occupy places in its top 5: none may be near the best, nor may 5 be above it
        other = ~ex_canon & ~dead[ex_rows]
        near = other & ~(np.abs(ex_s - s1[ex_q]) > e_ex + e_best[ex_q])
        above = np.bincount(ex_q[other & (ex_s > s1[ex_q])], minlength=n)
    dead_query = dead[quads[:, 0]] | dead[quads[:, 1]] | dead[quads[:, 2]]
    ok &= (np.bincount(ex_q[near], minlength=n) == 0) & (above < _TOP) & ~dead_query
    return best, ok


def _query_lengths(unit, quads) -> np.ndarray:
    """|m| of gensim's query m = fl32(fl32(unit b + unit c) - unit a), per question (float64)."""
    ua, ub, uc = (unit[quads[:, k]] for k in range(3))
    mean = (ub.astype(np.float64) + uc).astype(np.float32)
    mean = (mean.astype(np.float64) - ua).astype(np.float32).astype(np.float64)
    return np.sqrt((mean * mean).sum(axis=1))


def _cosmul_error(score, pa, pb, pc, dim):
    """Bound on |ours - gensim| for 3CosMul scores (each p differs by at most (dim + 6) u)."""
    e = (dim + 6) * _U
    return np.abs(score) * (e / pb + e / pc + e / (pa + 1e-6) + 8 * _U)


def _gensim_ranked(vectors, norms, a, b, c, method, cache: dict) -> list[int]:
    """Gensim's top-5 candidate rows for one question, computed with gensim's own operations."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "3cosadd":  # KeyedVectors.most_similar(positive=[b, c], negative=[a], topn=5)
            keys = [b, c, a]
            weight = np.concatenate((np.ones(2), -1.0 * np.ones(1)))
            mean = np.zeros(vectors.shape[1], vectors.dtype)
            total_weight = 0
            for idx, key in enumerate(keys):
                mean += weight[idx] * (vectors[key] / norms[key])
                total_weight += abs(weight[idx])
            mean = _unitvec(mean / total_weight).astype(np.float32)
            dists = np.dot(vectors, mean) / norms
            exclude = keys
        else:  # KeyedVectors.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
            exclude = {b, c, a}
            for k in exclude - cache.keys():  # p(x) depends on the word only: computed once per word
                if len(cache) >= 256:
                    cache.pop(next(iter(cache)))
                cache[k] = (1 + np.dot(vectors, vectors[k] / norms[k]) / norms) / 2
            pos, neg = [cache[b], cache[c]], [cache[a]]
            dists = np.prod(pos, axis=0) / (np.prod(neg, axis=0) + 0.000001)
        order = _argsort(dists, topn=_TOP + len(exclude), reverse=True)
    return [int(r) for r in order if r not in exclude][:_TOP]


# gensim.matutils.unitvec and .argsort, line for line (importing gensim costs a second; tests compare)
def _unitvec(vec: np.ndarray) -> np.ndarray:
    from scipy.linalg import get_blas_funcs

    probe = (np.array([], dtype=float),)
    veclen = 0.0 if vec.size == 0 else get_blas_funcs("nrm2", probe)(vec)
    if veclen > 0.0:
        return get_blas_funcs("scal", probe)(1.0 / veclen, vec).astype(vec.dtype)
    return vec


def _argsort(x: np.ndarray, topn: int, reverse: bool = False) -> np.ndarray:
    x = np.asarray(x)
    if topn <= 0:
        return []
    if reverse:
        x = -x
    if topn >= x.size:
        return np.argsort(x)[:topn]
    most_extreme = np.argpartition(x, topn)[:topn]
    return most_extreme.take(np.argsort(x.take(most_extreme)))
