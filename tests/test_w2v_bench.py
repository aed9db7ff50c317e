"""The gensim comparison: same tokens and vocabulary for both systems, and the shape of its report."""

from __future__ import annotations

import numpy as np

from w2v.bench import compare, format_report, gensim_sentences


def test_gensim_gets_the_train_words_cut_at_eos_and_blocks(lee_corpus):
    vocab = lee_corpus.vocab
    ids = np.asarray(lee_corpus.train_ids)
    sentences = gensim_sentences(lee_corpus, max_sentence=500)
    words = [w for s in sentences for w in s]
    expected = [vocab.tokens[i] for i in ids if i not in (vocab.unk_id, vocab.eos_id, vocab.pad_id)]
    assert words == expected
    assert max(map(len, sentences)) <= 500
    assert len(sentences) >= int((ids == vocab.eos_id).sum())


def test_compare_reports_quality_bands_and_speed_ratios(lee_corpus):
    result = compare(lee_corpus, "cbow", seeds=(1, 2), threads=1, dim=8, epochs=1,
                     variants={"ours": {}, "ours-window": {"noise": "window"}})
    assert result["vocab_match"] and set(result["runs"]) == {"ours", "ours-window", "gensim"}
    for system in result["systems"].values():
        assert set(system["quality"]) == {"ws353", "simlex999", "google"}
        for q in system["quality"].values():
            assert q["band"] >= 0.02 and q["within"] == (abs(q["diff"]) <= q["band"])
        assert system["speed"]["ratio"] > 0 and system["speed"]["gensim"] > 0
    lines = format_report(result)
    assert lines[0].startswith("== cbow") and any("ratio" in line for line in lines)
