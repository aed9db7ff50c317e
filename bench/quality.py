"""The three scores every table of the bench gets, ours and the peers' alike."""

from __future__ import annotations

SCORES = ("ws353", "simlex999", "google")


def evaluate(table) -> dict:
    """``{ws353, simlex999, google}`` of an EmbeddingTable: WS353 and SimLex-999 Spearman, Google analogy
    accuracy (restricted to the first 30,000 words)."""
    from vectors.evaluate import evaluate_table

    scores = evaluate_table(table, restrict_vocab=30000)["benchmarks"]
    return {"ws353": scores["ws353"]["spearman"], "simlex999": scores["simlex999"]["spearman"],
            "google": scores["google"]["accuracy"]}


def random_like(table, seed: int = 0):
    """A table of the same words holding random normal vectors of the same shape and scale: the chance
    level a trained table's scores stand against."""
    import numpy as np

    from vectors.table import EmbeddingTable

    rng = np.random.default_rng(seed)
    return EmbeddingTable(table.words, rng.normal(0.0, table.matrix.std(), table.matrix.shape))
