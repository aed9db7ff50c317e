"""The gensim comparison: same tokens and vocabulary for both systems, its bands and medians, its report."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.word2vec import compare, format_report, gensim_sentences, quality_bands, summarize


def test_gensim_gets_the_train_words_cut_at_eos_and_blocks(lee_corpus):
    vocab = lee_corpus.vocab
    ids = np.asarray(lee_corpus.train_ids)
    sentences = gensim_sentences(lee_corpus, max_sentence=500)
    words = [w for s in sentences for w in s]
    expected = [vocab.tokens[i] for i in ids if i not in (vocab.unk_id, vocab.eos_id, vocab.pad_id)]
    assert words == expected
    assert max(map(len, sentences)) <= 500
    assert len(sentences) >= int((ids == vocab.eos_id).sum())


def _scores(*values):
    return [{"ws353": v, "simlex999": v, "google": v} for v in values]


def test_the_band_is_twice_gensims_seed_spread_and_at_least_0_02():
    # gensim 0.30, 0.40: mean 0.35, sd sqrt(2 x 0.05^2 / 1) = 0.070711, band 0.141421; ours mean 0.32
    wide = quality_bands(_scores(0.30, 0.34), _scores(0.30, 0.40))["ws353"]
    assert wide["gensim"] == pytest.approx(0.35) and wide["ours"] == pytest.approx(0.32)
    assert wide["gensim_std"] == pytest.approx(0.0707107, abs=1e-6)
    assert wide["ours_std"] == pytest.approx(0.0282843, abs=1e-6)
    assert wide["band"] == pytest.approx(0.1414214, abs=1e-6) and wide["diff"] == pytest.approx(-0.03)
    assert wide["within"] and wide["not_worse"]
    # gensim 0.300, 0.302: sd 0.0014, so the floor 0.02 is the band; ours 0.27 lies 0.031 below, 0.251 above
    narrow = quality_bands(_scores(0.26, 0.28), _scores(0.300, 0.302))["google"]
    assert narrow["band"] == 0.02 and narrow["diff"] == pytest.approx(-0.031)
    assert not narrow["within"] and not narrow["not_worse"]
    above = quality_bands(_scores(0.55, 0.55), _scores(0.300, 0.302))["simlex999"]
    assert above["diff"] == pytest.approx(0.249) and not above["within"] and above["not_worse"]
    one_seed = quality_bands(_scores(0.5), _scores(0.4))["ws353"]
    assert one_seed["gensim_std"] == one_seed["ours_std"] == 0.0 and one_seed["band"] == 0.02


def test_speed_is_the_ratio_of_medians_over_seeds():
    runs = {"ours": [dict(s, words_per_second=w, seconds=t) for s, w, t in
                     zip(_scores(0.3, 0.3, 0.3), (100.0, 300.0, 200.0), (10.0, 40.0, 20.0))],
            "fast": [dict(s, words_per_second=w, seconds=t) for s, w, t in
                     zip(_scores(0.3, 0.3, 0.3), (400.0, 500.0, 600.0), (5.0, 4.0, 4.5))],
            "gensim": [dict(s, words_per_second=w, seconds=1.0, words=1000) for s, w in
                       zip(_scores(0.3, 0.3, 0.3), (150.0, 50.0, 100.0))]}
    systems = summarize(runs, epochs=2)
    assert list(systems) == ["ours", "fast"]
    # ours: median 200 words/s against gensim's median 100; gensim's 1000 words x 2 epochs in ours's
    # median 20 s are 100 words/s: the same speed counted in gensim's words
    assert systems["ours"]["speed"] == {"ours": 200.0, "gensim": 100.0, "ratio": 2.0, "ratio_same_words": 1.0}
    # fast: median 500 against 100; 2000 words in a median 4.5 s are 444.4 words/s, 4.444 x gensim's
    assert systems["fast"]["speed"]["ratio"] == 5.0
    assert math.isclose(systems["fast"]["speed"]["ratio_same_words"], 2000 / 4.5 / 100)


def test_variants_are_compared_with_the_same_gensim_runs_on_the_same_vocabulary(lee_corpus):
    result = compare(lee_corpus, "cbow", seeds=(1, 2), threads=1, dim=8, epochs=1,
                     variants={"ours": {}, "ours-window": {"noise": "window"}})
    assert result["vocab_match"] and set(result["runs"]) == {"ours", "ours-window", "gensim"}
    assert all(len(runs) == 2 for runs in result["runs"].values())
    ours, window = result["systems"]["ours"], result["systems"]["ours-window"]
    assert ours["speed"]["gensim"] == window["speed"]["gensim"]
    for name in ("ws353", "simlex999", "google"):
        gensim_mean = np.mean([r[name] for r in result["runs"]["gensim"]])
        assert ours["quality"][name]["gensim"] == window["quality"][name]["gensim"] == pytest.approx(gensim_mean)
    lines = format_report(result)
    assert lines[0].startswith("== cbow") and "same vocabulary as gensim: True" in lines[0]
    assert sum("[ours-window]" in line for line in lines) == 4  # its speed and three scores
