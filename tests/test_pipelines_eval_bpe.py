"""Intrinsic benchmarks on a BPE table use its whole-word tokens only, and say how many."""

import json

import numpy as np

from corpus.prepare import PrepareConfig, prepare_corpus
from corpus.sources import resolve_sources
from tests.conftest import lee_path, run_cli
from vectors import EmbeddingTable
from vectors.evaluate import BUILTIN_BENCHMARKS


def test_bpe_table_is_evaluated_on_whole_words(tmp_path):
    config = PrepareConfig(documents="lines", tokenizer="bpe", vocab_size=2000, val_fraction=0.05,
                           test_fraction=0.05)
    prepared = prepare_corpus(resolve_sources(str(lee_path()), documents="lines"), tmp_path / "r" / "corpus",
                              config)
    tokens = prepared.vocab.tokens
    matrix = np.random.default_rng(0).normal(size=(len(tokens), 8)).astype(np.float32)
    EmbeddingTable(tokens, matrix, {"method": "random"}).save(tmp_path / "bpe.npz")
    result = run_cli("pipelines.eval", "--vectors", str(tmp_path / "bpe.npz"), "--json",
                     str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stderr
    whole = sum(t.endswith("</w>") for t in tokens)
    assert f"{whole:,} whole-word tokens of {len(tokens):,}" in result.stdout
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["whole_words"] == {"whole_words": whole, "tokens": len(tokens)}
    # "government" is a whole-word token of the Lee corpus: pairs with it are not OOV. The pairs answered:
    # those both of whose words are whole-word tokens (case folded), counted here by hand.
    assert "government</w>" in tokens
    words = {t.removesuffix("</w>").upper() for t in tokens if t.endswith("</w>")}
    pairs = [line.split("\t")[:2] for line in open(BUILTIN_BENCHMARKS["ws353"].path, encoding="utf-8")
             if not line.startswith("#")]
    answered = sum(a.upper() in words and b.upper() in words for a, b in pairs)
    assert any(a.lower() == "government" or b.lower() == "government" for a, b in pairs)
    assert report["benchmarks"]["ws353"]["n"] == answered
    assert report["benchmarks"]["ws353"]["oov"] == len(pairs) - answered
