"""The analogy bench: our answers and gensim's on the same table, each checked on its own."""

from __future__ import annotations

import logging

import pytest

from bench.analogies import bench_analogies, synthetic_analogy_table
from vectors.analogies import evaluate_word_analogies
from vectors.evaluate import BUILTIN_BENCHMARKS
from vectors.formats import to_keyed_vectors

logging.getLogger("gensim").setLevel(logging.ERROR)
GOOGLE = BUILTIN_BENCHMARKS["google"].path


@pytest.fixture(scope="module")
def table():
    return synthetic_analogy_table(n_words=2000, dim=16, seed=3)


def test_both_systems_answer_the_same_questions_as_each_does_alone(table):
    r = bench_analogies(table, restrict_vocab=1000)
    ours = evaluate_word_analogies(table, GOOGLE, restrict_vocab=1000)
    score, sections = to_keyed_vectors(table).evaluate_word_analogies(GOOGLE, restrict_vocab=1000)
    assert r["accuracy"] == ours["accuracy"] and r["answered"] == ours["n"] > 0
    assert r["gensim_accuracy"] == pytest.approx(score, abs=1e-12)
    assert r["equal"] and ours["correct"] == len(sections[-1]["correct"])
    assert r["questions"] == 19544 and (r["words"], r["dim"]) == (2000, 16)


def test_3cosmul_is_timed_alone_since_gensim_has_no_restricted_3cosmul(table):
    r = bench_analogies(table, restrict_vocab=1000, method="3cosmul")
    assert r["method"] == "3cosmul" and "gensim_seconds" not in r and "equal" not in r
    assert r["accuracy"] == evaluate_word_analogies(table, GOOGLE, restrict_vocab=1000, method="3cosmul")["accuracy"]
