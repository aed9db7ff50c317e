"""Intrinsic evaluation of an embedding table: word-pair similarity, analogies, nearest neighbours.

The numbers equal gensim 4.4's ``KeyedVectors.evaluate_word_pairs`` / ``evaluate_word_analogies`` on the
same vectors (same parsing, case folding, OOV handling and ``restrict_vocab`` semantics) with one
difference of unit: ``oov_ratio`` is a fraction in [0, 1], where gensim returns a percentage.
Results are plain JSON-ready dicts, the entries of ``pipelines.eval --json``:

- pairs: ``{kind: "pairs", spearman, pearson, oov_ratio, n, oov, restrict_vocab}``
- analogies: ``{kind: "analogies", accuracy, sections, oov_ratio, n, oov, questions, correct, method,
  restrict_vocab}`` (see :func:`vectors.analogies.evaluate_word_analogies`).
"""

from __future__ import annotations

import importlib.util
import io
import math
import os
import warnings
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from base.errors import InputError
from vectors.analogies import METHODS, evaluate_word_analogies, read_questions  # noqa: F401 (re-export)
from vectors.table import EmbeddingTable


class Benchmark(NamedTuple):
    """A benchmark file and how to read it (``pairs`` or ``analogies``)."""

    kind: str
    path: str


def _gensim_data(name: str) -> str:
    """``gensim.test.utils.datapath(name)``, found without importing gensim (a second off every start)."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("gensim is not installed: the built-in benchmarks ship with it")
    return os.path.join(list(spec.submodule_search_locations)[0], "test", "test_data", name)


BUILTIN_BENCHMARKS: dict[str, Benchmark] = {
    "ws353": Benchmark("pairs", _gensim_data("wordsim353.tsv")),
    "simlex999": Benchmark("pairs", _gensim_data("simlex999.txt")),
    "google": Benchmark("analogies", _gensim_data("questions-words.txt")),
}


def _finite_or_none(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _open_text(path):
    from vectors.formats import open_binary

    return io.TextIOWrapper(open_binary(path, "benchmark file"), encoding="utf-8")


def _first_rows(table: EmbeddingTable, restrict_vocab: int | None, fold, needed: set[str]) -> dict[str, int]:
    """gensim's ``ok_vocab`` restricted to ``needed``: folded form -> first row among the first rows."""
    stop = len(table) if restrict_vocab is None else min(max(int(restrict_vocab), 0), len(table))
    found: dict[str, int] = {}
    for row in range(stop):
        form = fold(table.words[row])
        if form in needed and form not in found:
            found[form] = row
    return found


def evaluate_word_pairs(
    table: EmbeddingTable,
    pairs_path: str | os.PathLike,
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    delimiter: str = "\t",
) -> dict:
    """Spearman and Pearson correlation of cosine similarity with human scores in a ``w1<TAB>w2<TAB>score`` file.

    Lines starting with ``#`` and lines that are not three fields with a numeric score are skipped (as
    gensim does); a pair with a word outside the first ``restrict_vocab`` rows is OOV. InputError when the
    file holds no valid line; when every pair is OOV (or fewer than two remain) the correlations are None.
    """
    from scipy import stats

    fold = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
    judgements: list[tuple[str, str, float]] = []
    try:
        with _open_text(pairs_path) as handle:
            for line in handle:
                if not line or line.startswith("#"):
                    continue
                try:
                    a, b, score = [fold(part) for part in line.split(delimiter)]
                    judgements.append((a, b, float(score)))
                except (ValueError, TypeError):
                    continue
    except UnicodeDecodeError as exc:
        raise InputError(f"{pairs_path}: not valid UTF-8 ({exc.reason})") from None
    if not judgements:
        raise InputError(f"{pairs_path}: no 'word1<TAB>word2<TAB>score' lines")
    ok_vocab = _first_rows(table, restrict_vocab, fold, {w for a, b, _ in judgements for w in (a, b)})
    known = [(ok_vocab[a], ok_vocab[b], s) for a, b, s in judgements if a in ok_vocab and b in ok_vocab]
    units = _gensim_unit_rows(table.matrix, sorted({r for a, b, _ in known for r in (a, b)}))
    gold = [s for _, _, s in known]
    model = [np.dot(units[a], units[b]) for a, b, _ in known]  # float32, as gensim's similarity()
    oov = len(judgements) - len(known)
    spearman = pearson = None
    if len(known) >= 2:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant inputs: the correlation is undefined (None)
            spearman = _finite_or_none(stats.spearmanr(gold, model)[0])
            pearson = _finite_or_none(stats.pearsonr(gold, model)[0])
    return {
        "kind": "pairs",
        "spearman": spearman,
        "pearson": pearson,
        "oov_ratio": oov / len(judgements),
        "n": len(known),
        "oov": oov,
        "restrict_vocab": restrict_vocab,
    }


def _gensim_unit_rows(matrix: np.ndarray, rows: list[int]) -> dict[int, np.ndarray]:
    """Rows scaled to unit length exactly as gensim's ``matutils.unitvec`` does (zero rows unchanged)."""
    from scipy.linalg import get_blas_funcs

    nrm2 = get_blas_funcs("nrm2", (np.array([], dtype=float),))
    units = {}
    for row in rows:
        vec = matrix[row]
        length = nrm2(vec)
        units[row] = (vec.astype(np.float64) * (1.0 / length)).astype(vec.dtype) if length > 0.0 else vec
    return units


def nearest_neighbours(table: EmbeddingTable, words: Sequence[str], k: int = 10) -> dict[str, list | None]:
    """The ``k`` rows of highest cosine to each word (the word itself excluded), best first.

    Returns ``{word: [(neighbour, cosine), ...]}``; a word absent from the table (also as ``word.lower()``)
    maps to None, a word whose row is zero to an empty list.
    """
    if k < 1:
        raise InputError(f"the number of neighbours must be >= 1, got {k}")
    norms = np.linalg.norm(table.matrix, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(norms[:, None] > 0, table.matrix / norms[:, None], 0).astype(np.float32)  # (R, C)
    result: dict[str, list | None] = {}
    for word in words:
        row = table.index.get(word, table.index.get(word.lower(), -1))
        if row < 0:
            result[word] = None
            continue
        if norms[row] == 0:  # a zero row has no direction, hence no neighbours
            result[word] = []
            continue
        sims = unit @ unit[row]  # (R,)
        sims[row] = -np.inf
        top = min(k, len(table) - 1)
        best = np.argpartition(-sims, top - 1)[:top] if top > 0 else np.array([], dtype=np.int64)
        best = best[np.argsort(-sims[best], kind="stable")]
        result[word] = [(table.words[r], float(sims[r])) for r in best]
    return result


def evaluate_table(
    table: EmbeddingTable,
    pairs: Sequence[str | os.PathLike] = (),
    analogies: Sequence[str | os.PathLike] = (),
    restrict_vocab: int | None = 30000,
    method: str = "3cosadd",
    builtin: bool = True,
    pairs_restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
) -> dict:
    """Every benchmark on one table: ``{"benchmarks": {name: result}}``.

    Names are ``ws353``, ``simlex999``, ``google`` (with ``builtin``) and each given file's stem (``-2``,
    ``-3``, ... appended on a clash). ``restrict_vocab`` applies to analogies (gensim's default for pairs,
    300000, to pairs).
    """
    jobs: list[tuple[str, Benchmark]] = []
    if builtin:
        jobs.extend(BUILTIN_BENCHMARKS.items())
    jobs.extend((Path(p).stem, Benchmark("pairs", str(p))) for p in pairs)
    jobs.extend((Path(p).stem, Benchmark("analogies", str(p))) for p in analogies)
    benchmarks: dict[str, dict] = {}
    for name, bench in jobs:
        unique, k = name, 1
        while unique in benchmarks:
            k += 1
            unique = f"{name}-{k}"
        if bench.kind == "pairs":
            result = evaluate_word_pairs(table, bench.path, pairs_restrict_vocab, case_insensitive)
        else:
            result = evaluate_word_analogies(table, bench.path, restrict_vocab, case_insensitive, method)
        benchmarks[unique] = result
    return {"benchmarks": benchmarks}
