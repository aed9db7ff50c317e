"""Timing of the analogy evaluation against gensim's, for ``make bench``; also a test-table builder.

``python -m pipelines.bench --only analogies`` times both on a 30,000-word table whose first rows hold every
word of the Google analogy set (19,544 questions), built by :func:`synthetic_analogy_table`: random vectors
nudged so that each section's pairs share an offset, which gives a non-trivial accuracy (about half right).
"""

from __future__ import annotations

import time

import numpy as np

from vectors.table import EmbeddingTable


def synthetic_analogy_table(
    n_words: int = 30000,
    dim: int = 128,
    seed: int = 0,
    questions: str | None = None,
    case_variants: float = 0.0,
    noise: float = 1.1,
) -> EmbeddingTable:
    """A table over every word of ``questions`` (default: gensim's questions-words.txt) plus filler words.

    Each section s gets an offset r_s; a few rounds pull every answer pair (x, y) towards y = x + r_s, then
    noise of relative size ``noise`` is added. ``case_variants`` is the fraction of question words that also
    get a lower-case twin near them (at random rows, sometimes before the original) to exercise case folding.
    Word order is shuffled, so a ``restrict_vocab`` below ``n_words`` cuts some question words out.
    """
    from vectors.evaluate import BUILTIN_BENCHMARKS

    rng = np.random.default_rng(seed)
    pairs_by_section: list[list[tuple[str, str]]] = []
    vocab: dict[str, int] = {}
    with open(questions or BUILTIN_BENCHMARKS["google"].path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(": "):
                pairs_by_section.append([])
                continue
            words = line.split()
            if len(words) != 4 or not pairs_by_section:
                continue
            for w in words:
                vocab.setdefault(w, len(vocab))
            pairs_by_section[-1] += [(words[0], words[1]), (words[2], words[3])]
    base = rng.standard_normal((len(vocab), dim)) / np.sqrt(dim)  # (W, C) unit-ish rows
    for section in pairs_by_section:
        x = np.array([vocab[a] for a, _ in section])
        y = np.array([vocab[b] for _, b in section])
        offset = rng.standard_normal(dim) * 0.8 / np.sqrt(dim)
        for _ in range(3):
            target = np.zeros_like(base)
            count = np.zeros(len(base))
            np.add.at(target, y, base[x] + offset)
            np.add.at(count, y, 1)
            has = count > 0
            base[has] = 0.5 * base[has] + 0.5 * target[has] / count[has, None]
    base += noise * rng.standard_normal(base.shape) / np.sqrt(dim)
    words = list(vocab)
    rows = [base]
    twins = [w for w in words if rng.random() < case_variants and w.lower() != w and w.lower() not in vocab]
    if twins:
        rows.append(base[[vocab[w] for w in twins]] + 0.05 * rng.standard_normal((len(twins), dim)) / np.sqrt(dim))
        words += [w.lower() for w in twins]
    n_fill = max(0, n_words - len(words))
    rows.append(rng.standard_normal((n_fill, dim)) / np.sqrt(dim))
    words += [f"filler{i:06d}" for i in range(n_fill)]
    matrix = np.concatenate(rows)
    order = rng.permutation(len(words))
    return EmbeddingTable([words[i] for i in order], matrix[order].astype(np.float32), {"method": "synthetic"})


def bench_analogies(
    table: EmbeddingTable | None = None,
    questions: str | None = None,
    restrict_vocab: int = 30000,
    method: str = "3cosadd",
) -> dict:
    """Time our ``evaluate_word_analogies`` and gensim's on the same table and questions.

    Returns ``{"ours_seconds", "gensim_seconds", "speedup", "questions", "answered", "accuracy",
    "gensim_accuracy", "equal", "rechecked", "words", "dim"}``; ``rechecked`` counts the near ties that
    were re-solved gensim's way. gensim only has 3CosAdd, so ``method`` 3cosmul times ours alone.
    """
    from vectors.analogies import _evaluate
    from vectors.evaluate import BUILTIN_BENCHMARKS
    from vectors.formats import to_keyed_vectors

    table = table or synthetic_analogy_table()
    questions = questions or BUILTIN_BENCHMARKS["google"].path
    start = time.perf_counter()
    ours, stats = _evaluate(table, questions, restrict_vocab, True, method)
    ours_seconds = time.perf_counter() - start
    result = {
        "ours_seconds": ours_seconds,
        "questions": ours["questions"],
        "answered": ours["n"],
        "accuracy": ours["accuracy"],
        "rechecked": stats["rechecked"],
        "words": len(table),
        "dim": table.dim,
        "method": method,
    }
    if method == "3cosadd":
        kv = to_keyed_vectors(table)
        start = time.perf_counter()
        score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=restrict_vocab)
        result["gensim_seconds"] = time.perf_counter() - start
        result["gensim_accuracy"] = float(score)
        result["speedup"] = result["gensim_seconds"] / ours_seconds
        result["equal"] = ours["correct"] == len(sections[-1]["correct"]) and abs(score - ours["accuracy"]) < 1e-12
    return result
