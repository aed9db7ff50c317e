"""The bench's table: ratios that favour the faster system whatever the unit, its cells and its lines."""

from __future__ import annotations

from bench.run import _row, figure, format_table


def test_the_ratio_is_ours_over_the_peer_for_rates_and_the_peer_over_ours_for_seconds():
    assert _row("a", "words/s", 300.0, 100.0, "gensim", {})["ratio"] == 3.0
    assert _row("b", "s", 2.0, 6.0, "gensim", {})["ratio"] == 3.0  # 2 s against 6 s is also 3x faster
    row = _row("c", "tokens/s", 5.0, None, "none", {"dim": 4}, None, tokens=7)
    assert row["ratio"] is None and row["tokens"] == 7 and row["settings"] == {"dim": 4}


def test_a_cell_has_separators_from_100_up_and_three_significant_digits_below():
    assert figure(1_234_567.8) == "1,234,568"
    assert figure(100.4) == "100"
    assert figure(12.345) == "12.3"
    assert figure(0.0012345) == "0.00123"


def test_the_table_shows_quality_gflops_and_a_dash_for_what_did_not_run():
    scores = {"ws353": 0.3654, "simlex999": 0.12, "google": 0.0199}
    rows = [_row("cbow", "words/s", 2_800_000.0, 1_400_000.0, "gensim", {}, {"ours": scores, "peer": scores}),
            _row("glove training", "entries/s", 3_000_000.0, None, "Stanford GloVe (skipped: no GLOVE_DIR)", {},
                 {"ours": scores, "peer": None}),
            _row("gpt training", "tokens/s", 5900.0, 4100.0, "transformers", {}, gflops=78.04, peer_gflops=54.0)]
    header, cbow, glove, gpt = format_table(rows)
    assert header.split()[:2] == ["stage", "ours:"] and "ratio" in header
    assert cbow.split() == ["cbow", "2,800,000", "1,400,000", "2.00x", "words/s,", "gensim;", "0.365", "0.120",
                            "0.020", "|", "0.365", "0.120", "0.020"]
    assert glove.split()[:4] == ["glove", "training", "3,000,000", "-"] and glove.endswith("| -")
    assert gpt.endswith("tokens/s, transformers; 78.0 GFLOP/s | 54.0") and "1.44x" in gpt


def test_a_row_keeps_every_timing_and_its_ratio_is_the_ratio_of_the_medians():
    row = _row("skipgram", "words/s", [500.0, 980.0, 470.0, 520.0, 490.0], [480.0, 470.0, 460.0, 490.0, 500.0],
               "gensim", {})
    # medians 500 and 480 (the 980 outlier moves neither); min and max beside them, every timing kept
    assert (row["ours"], row["ours_min"], row["ours_max"]) == (500.0, 470.0, 980.0)
    assert (row["peer"], row["peer_min"], row["peer_max"]) == (480.0, 460.0, 500.0)
    assert row["ours_runs"] == [500.0, 980.0, 470.0, 520.0, 490.0] and row["ratio"] == 500.0 / 480.0
    seconds = _row("analogies", "s", [2.0, 3.0, 1.0], [6.0, 9.0, 7.0], "gensim", {})
    assert seconds["ratio"] == 7.0 / 2.0  # the peer's median over ours: less is better
    line = format_table([row])[1]
    assert line.split()[1:8] == ["500", "[470,", "980]", "480", "[460,", "500]", "1.04x"]
