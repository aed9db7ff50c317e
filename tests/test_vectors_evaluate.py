"""Evaluation equals gensim 4.4 on its bundled WS353, SimLex-999 and Google analogies; neighbours; tables."""

import collections
import logging

import numpy as np
import pytest
from gensim.models import KeyedVectors, Word2Vec
from gensim.test.utils import datapath

from base.errors import InputError
from vectors import EmbeddingTable
from vectors.analogies import _evaluate
from bench.analogies import bench_analogies, synthetic_analogy_table
from vectors.evaluate import (
    BUILTIN_BENCHMARKS, evaluate_table, evaluate_word_analogies, evaluate_word_pairs, nearest_neighbours,
)
from vectors.formats import to_keyed_vectors

logging.getLogger("gensim").setLevel(logging.ERROR)
# gensim itself warns on the zero rows of the test table and on its own deprecated init_sims
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:gensim", "ignore::DeprecationWarning:gensim")
WS353, SIMLEX, GOOGLE = (BUILTIN_BENCHMARKS[n].path for n in ("ws353", "simlex999", "google"))


def pair_words(path):
    words = []
    for line in open(path, encoding="utf-8"):
        if not line.startswith("#"):
            words += line.split("\t")[:2]
    return list(dict.fromkeys(words))


@pytest.fixture(scope="module")
def bench_table():
    """Google words (+ lower-case twins near them) and pair words (+ capitalised twins), shuffled; with an
    exact duplicate of a frequent answer (an exact tie) and zero rows (one of them a question word)."""
    base = synthetic_analogy_table(n_words=2600, dim=24, seed=5, case_variants=0.3, noise=0.7)
    rng = np.random.default_rng(6)
    keep = rng.random(len(base)) > 0.02  # some question words are missing altogether
    keep[[base.index["Paris"], base.index["Rome"], base.index["filler000007"]]] = True
    words, rows = [w for w, k in zip(base.words, keep) if k], [base.matrix[keep]]
    extra = [w for w in dict.fromkeys(pair_words(WS353) + pair_words(SIMLEX))
             if w not in base.index and rng.random() > 0.1]
    caps = [w.capitalize() for w in extra if rng.random() < 0.3 and w.capitalize() not in base.index]
    caps = [w for w in dict.fromkeys(caps) if w not in extra]
    words += extra + caps
    rows.append(rng.standard_normal((len(extra) + len(caps), 24)).astype(np.float32) * 0.2)
    words.append("tie-with-Paris")
    rows.append(base.matrix[[base.index["Paris"]]])  # an exact tie with a frequent answer
    matrix = np.concatenate(rows)
    matrix[words.index("filler000007")] = 0.0
    matrix[words.index("Rome")] = 0.0
    order = rng.permutation(len(words))
    return EmbeddingTable([words[i] for i in order], matrix[order])


@pytest.fixture(scope="module")
def lee_table():
    """A real (tiny) word2vec table: gensim Word2Vec on gensim's Lee background corpus, case kept."""
    sentences = [line.split() for line in open(datapath("lee_background.cor"), encoding="utf-8")]
    model = Word2Vec(sentences, vector_size=32, min_count=1, epochs=3, workers=1, seed=1)
    return EmbeddingTable(list(model.wv.index_to_key), model.wv.vectors)


def assert_pairs_equal(table, path, rv, ci):
    ours = evaluate_word_pairs(table, path, restrict_vocab=rv, case_insensitive=ci)
    pearson, spearman, oov = to_keyed_vectors(table).evaluate_word_pairs(path, restrict_vocab=rv,
                                                                        case_insensitive=ci)
    assert ours["kind"] == "pairs"
    assert abs(ours["spearman"] - spearman.statistic) <= 1e-12
    assert abs(ours["pearson"] - pearson.statistic) <= 1e-12
    assert abs(100 * ours["oov_ratio"] - oov) <= 1e-9  # ours a fraction, gensim's a percentage
    return ours


def assert_analogies_equal(table, path, rv, ci, recheck="auto"):
    ours, stats = _evaluate(table, path, rv, ci, "3cosadd", recheck=recheck)
    score, sections = to_keyed_vectors(table).evaluate_word_analogies(path, restrict_vocab=rv,
                                                                      case_insensitive=ci)
    assert abs(ours["accuracy"] - score) <= 1e-12
    total = sections.pop()
    assert collections.Counter(stats["correct"]) == collections.Counter(total["correct"])  # question by question
    assert ours["n"] == len(total["correct"]) + len(total["incorrect"])
    merged = collections.defaultdict(lambda: [0, 0])  # ours merges sections of the same name
    for sec in sections:
        merged[sec["section"]][0] += len(sec["correct"])
        merged[sec["section"]][1] += len(sec["correct"]) + len(sec["incorrect"])
    assert {k: [v["correct"], v["total"]] for k, v in ours["sections"].items()} == dict(merged)
    return ours, stats


@pytest.mark.parametrize("rv,ci", [(300000, True), (3000, True), (300000, False)])
def test_pairs_equal_gensim(bench_table, rv, ci):
    for path in (WS353, SIMLEX):
        ours = assert_pairs_equal(bench_table, path, rv, ci)
        assert ours["n"] > 100 and 0 < ours["oov_ratio"] < 1


@pytest.mark.parametrize("rv,ci", [(30000, True), (3000, True), (30000, False)])
def test_analogies_equal_gensim(bench_table, rv, ci):
    ours, stats = assert_analogies_equal(bench_table, GOOGLE, rv, ci)
    assert ours["n"] > 3000 and 0.2 < ours["accuracy"] < 0.9 and 0 < ours["oov_ratio"] < 1
    assert ours["oov_ratio"] == ours["oov"] / ours["questions"] and ours["questions"] == 19544
    assert 0 < stats["rechecked"] < 0.05 * ours["n"]  # the ties and zero rows; the rest take the fast path


def test_every_question_solved_gensims_way_also_equals_gensim(bench_table):
    _, stats = assert_analogies_equal(bench_table, GOOGLE, 2000, True, recheck="all")
    assert stats["rechecked"] == stats["answered"]


def test_real_word2vec_table_equals_gensim(lee_table):
    for path in (WS353, SIMLEX):
        assert_pairs_equal(lee_table, path, 300000, True)
    ours, _ = assert_analogies_equal(lee_table, GOOGLE, 30000, True)
    # answered: the questions all four of whose words are in the table, case folded, counted by hand
    known = {w.upper() for w in lee_table.words[:30000]}
    questions = [line.split() for line in open(GOOGLE, encoding="utf-8") if not line.startswith(":")]
    answerable = sum(all(w.upper() in known for w in q) for q in questions)
    assert len(questions) == ours["questions"] == 19544
    assert ours["n"] == answerable and ours["oov"] == len(questions) - answerable
    assert_analogies_equal(lee_table, GOOGLE, 30000, False)


def test_odd_question_files_are_read_as_gensim_reads_them(bench_table, tmp_path):
    path = tmp_path / "odd.txt"
    path.write_text(": first\nAthens Greece Paris France\nnot four words\n\nathens greece rome italy\n"
                    ": empty\n: first\nBerlin Germany Madrid Spain extra\nBerlin Germany Madrid Spain\n"
                    ":  spaced name  \nboy girl brother sister\n", encoding="utf-8")
    ours, _ = assert_analogies_equal(bench_table, path, 30000, True)
    assert list(ours["sections"]) == ["first", "empty", "spaced name"]  # the two "first" merged
    assert ours["sections"]["empty"] == {"correct": 0, "total": 0, "accuracy": 0.0, "oov": 0}
    assert ours["questions"] == 4


def test_restrict_vocab_zero_makes_everything_oov(bench_table):
    ours = evaluate_word_analogies(bench_table, GOOGLE, restrict_vocab=0)
    assert ours["n"] == 0 and ours["accuracy"] == 0.0 and ours["oov_ratio"] == 1.0


def test_3cosmul_equals_gensims_most_similar_cosmul(bench_table):
    rv = 2500
    ours, stats = _evaluate(bench_table, GOOGLE, rv, True, "3cosmul")
    kv = KeyedVectors(bench_table.dim)
    kv.add_vectors(bench_table.words[:rv], bench_table.matrix[:rv])  # gensim's cosmul has no restrict_vocab
    ok_vocab = {k.upper(): kv.get_index(k) for k in reversed(kv.index_to_key)}
    correct = []
    for line in open(GOOGLE, encoding="utf-8"):
        if line.startswith(": "):
            continue
        a, b, c, expected = [w.upper() for w in line.split()]
        if not all(w in ok_vocab for w in (a, b, c, expected)):
            continue
        original, kv.key_to_index = kv.key_to_index, ok_vocab
        sims = kv.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
        kv.key_to_index = original
        predicted = None
        for word, _ in sims:
            predicted = word.upper()
            if predicted not in {a, b, c}:
                break
        if predicted == expected:
            correct.append((a, b, c, expected))
    assert collections.Counter(stats["correct"]) == collections.Counter(correct)
    assert ours["method"] == "3cosmul" and ours["n"] > 1000 and 0.02 < ours["accuracy"] < 0.9
    assert stats["rechecked"] < 0.05 * ours["n"]


def test_pairs_edge_cases(bench_table, tmp_path):
    oov = tmp_path / "oov.tsv"
    oov.write_text("# comment\nzzzq\tyyyq\t3.0\nzzzq\tqqqz\t1.0\n", encoding="utf-8")
    r = evaluate_word_pairs(bench_table, oov)
    assert r == {"kind": "pairs", "spearman": None, "pearson": None, "oov_ratio": 1.0, "n": 0, "oov": 2,
                 "restrict_vocab": 300000}
    junk = tmp_path / "junk.tsv"
    junk.write_text("# only comments\nword word\nthree\tfields\tNaNx\n", encoding="utf-8")
    with pytest.raises(InputError, match="junk.tsv: no 'word1<TAB>word2<TAB>score' lines"):
        evaluate_word_pairs(bench_table, junk)


def test_bad_question_files(bench_table, tmp_path):
    early = tmp_path / "early.txt"
    early.write_text("Athens Greece Paris France\n: s\n", encoding="utf-8")
    with pytest.raises(InputError, match="early.txt:1: a question before any"):
        evaluate_word_analogies(bench_table, early)
    empty = tmp_path / "empty.txt"
    empty.write_text(": s\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no analogy questions"):
        evaluate_word_analogies(bench_table, empty)
    with pytest.raises(InputError, match="unknown analogy method"):
        evaluate_word_analogies(bench_table, GOOGLE, method="3cosavg")


def test_nearest_neighbours_equal_gensim_most_similar(lee_table):
    kv = to_keyed_vectors(lee_table)
    found = nearest_neighbours(lee_table, ["government", "Australia", "nonexistentword"], k=5)
    assert found["nonexistentword"] is None
    for word in ("government", "Australia"):
        expected = kv.most_similar(word, topn=5)
        assert [w for w, _ in found[word]] == [w for w, _ in expected]
        np.testing.assert_allclose([s for _, s in found[word]], [s for _, s in expected], atol=1e-6)
    tiny = EmbeddingTable(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert nearest_neighbours(tiny, ["a"], k=10) == {"a": [("b", 0.0)]}


def test_evaluate_table_names_and_results(bench_table, tmp_path):
    custom = tmp_path / "ws353.tsv"  # clashes with a built-in name
    custom.write_bytes(open(WS353, "rb").read())
    result = evaluate_table(bench_table, pairs=[custom], analogies=[], restrict_vocab=1800)
    assert list(result) == ["benchmarks"]
    assert list(result["benchmarks"]) == ["ws353", "simlex999", "google", "ws353-2"]
    assert result["benchmarks"]["ws353-2"] == result["benchmarks"]["ws353"]
    google = result["benchmarks"]["google"]
    assert google == evaluate_word_analogies(bench_table, GOOGLE, restrict_vocab=1800)
    assert set(google) >= {"kind", "accuracy", "sections", "oov_ratio", "n"}
    only = evaluate_table(bench_table, analogies=[GOOGLE], builtin=False, restrict_vocab=500)
    assert list(only["benchmarks"]) == ["questions-words"]


def test_bench_reports_both_times_and_agreement(bench_table):
    r = bench_analogies(bench_table, restrict_vocab=1000)
    assert {"ours_seconds", "gensim_seconds", "speedup"} <= set(r)  # timings: measured, not checked
    # what it reports of the evaluation it timed: gensim's own numbers on the same table and questions
    score, sections = to_keyed_vectors(bench_table).evaluate_word_analogies(GOOGLE, restrict_vocab=1000)
    total = sections[-1]
    assert r["equal"] is True and r["gensim_accuracy"] == float(score)
    assert abs(r["accuracy"] - score) <= 1e-12
    assert r["answered"] == len(total["correct"]) + len(total["incorrect"])
    assert r["questions"] == 19544 and (r["words"], r["dim"]) == (len(bench_table), 24)
    cosmul = bench_analogies(bench_table, restrict_vocab=1000, method="3cosmul")  # ours alone: no gensim peer
    assert "gensim_seconds" not in cosmul and "equal" not in cosmul
    assert cosmul["accuracy"] == evaluate_word_analogies(bench_table, GOOGLE, restrict_vocab=1000,
                                                         method="3cosmul")["accuracy"]
