"""The data sweep's summary from hand-made results: effective data by hand, Holm-adjusted verdicts in one
family, the rare-word family apart, missing rare values, the files written, the report's section."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from base.errors import InputError
from gpt.config import GPTConfig
from study.datasweep_summary import fraction_text, render_datasweep, summarize_datasweep, write_datasweep
from study.settings import StudySettings
from study.variants import Variant
from tests.conftest import run_cli

BASE = GPTConfig(d_model=32, n_layer=1, n_head=2, context=16, batch_size=4, tokens=1000)
FRACTIONS = [0.25, 0.5, 1.0]
TRAIN_TOKENS = 80_000
NOISE = [-0.01, 0.0, 0.01]  # learned's per-seed noise: mean 0, so learned's means are exactly 5, 4, 3
LEARNED = {0.25: 5.0, 0.5: 4.0, 1.0: 3.0}


def arm(name: str, **fields) -> Variant:
    return Variant(name, {"embedding": "init", **fields} if name != "learned" else {"embedding": "learned"})


def result(name: str, fraction: float, seed: int, loss: float, rare: float | None = None,
           share: float | None = None) -> dict:
    """One run's result.json as the data sweep reads it (the final test loss a little above the best)."""
    r = {"seed": seed, "test_loss": loss + 0.1, "test_loss_best_val": loss, "best_val_step": 10 + seed,
         "train_tokens": int(fraction * TRAIN_TOKENS) + seed, "tokens": 2 * int(fraction * TRAIN_TOKENS),
         "fraction": fraction, "record": {"variant": f"{name}@frac{fraction:g}"}}
    if rare is not None:
        r["test_loss_rare_in_fraction_best_val"] = rare
    if share is not None:
        r["rare_in_fraction_share"] = share
    return r


def runs(name: str, fraction: float, losses: list[float], rare: list | None = None, share: float | None = None):
    rare = rare or [None] * len(losses)
    return [result(name, fraction, s, x, rare[s], share) for s, x in enumerate(losses)]


def learned_results(rare: bool = False) -> dict:
    """learned at every fraction; with ``rare``, rare losses below the whole split (where none are reported)."""
    return {f: runs("learned", f, [LEARNED[f] + n for n in NOISE],
                    [LEARNED[f] + 1 + n for n in NOISE] if rare and f < 1 else None, 0.2 if rare and f < 1 else None)
            for f in FRACTIONS}


def settings(run_dir=Path("run"), margin=0.02):
    return StudySettings(Path(run_dir), BASE, seeds=3, margin=margin)


def facts(table_corpus=None):
    return {"epochs": 2.0, "train_tokens": TRAIN_TOKENS, "table_corpus": table_corpus}


def summarize(arms, results, margin=0.02, table_corpus=None):
    return summarize_datasweep(settings(margin=margin), arms, FRACTIONS, results, facts(table_corpus))


def test_fraction_text():
    assert [fraction_text(f) for f in (0.0625, 0.125, 0.25, 0.5, 1.0, 0.3, 1 / 3)] == \
        ["1/16", "1/8", "1/4", "1/2", "1", "3/10", "1/3"]


def test_effective_data_inside_beyond_and_at_the_smallest_by_hand():
    """learned's mean best test loss is 5, 4, 3 at 1/4, 1/2, 1. An arm at 3.5 sits halfway (in loss) between
    1/2 and 1, so on a log axis at exp((log 1/2 + log 1) / 2) = sqrt(1/2); 2.5 beats learned everywhere; 5.5
    is already reached at the smallest fraction."""
    glove = arm("glove-init", table="glove")
    results = {"learned": learned_results(),
               "glove-init": {0.25: runs("glove-init", 0.25, [3.5 + n for n in NOISE]),
                              0.5: runs("glove-init", 0.5, [2.5 + n for n in NOISE]),
                              1.0: runs("glove-init", 1.0, [5.5 + n for n in NOISE])}}
    summary = summarize([arm("learned"), glove], results)
    cells = summary["arms"]["glove-init"]["fractions"]
    assert list(cells) == ["1/4", "1/2", "1"]
    inside = cells["1/4"]["effective_data"]
    assert inside["where"] == "inside"
    assert inside["value"] == pytest.approx(math.exp((math.log(0.5) + math.log(1.0)) / 2)) == \
        pytest.approx(math.sqrt(0.5))
    assert inside["tokens"] == pytest.approx(math.sqrt(0.5) * TRAIN_TOKENS)
    assert inside["ratio"] == pytest.approx(math.sqrt(0.5) / 0.25)
    beyond = cells["1/2"]["effective_data"]
    assert beyond == {"value": None, "where": "beyond the largest", "tokens": None, "ratio": None,
                      "interval": beyond["interval"]}
    smallest = cells["1"]["effective_data"]
    assert smallest["where"] == "at or below the smallest" and smallest["value"] == 0.25
    assert smallest["ratio"] == 0.25 and smallest["tokens"] == 0.25 * TRAIN_TOKENS
    # Every arm here carries learned's own seed luck (NOISE), which a paired resample shifts on both sides
    # alike: each interval collapses onto its point, censoring and all.
    ends = inside["interval"]
    for end in (ends["low"], ends["high"]):
        assert end == {"value": pytest.approx(inside["value"]), "where": "inside",
                       "tokens": pytest.approx(inside["tokens"]), "ratio": pytest.approx(inside["ratio"])}
    assert beyond["interval"]["low"] == beyond["interval"]["high"] == {
        "value": None, "where": "beyond the largest", "tokens": None, "ratio": None}
    assert smallest["interval"]["low"] == smallest["interval"]["high"] == {
        "value": 0.25, "where": "at or below the smallest", "tokens": 0.25 * TRAIN_TOKENS, "ratio": 0.25}
    assert summary["arms"]["learned"]["fractions"]["1/4"]["effective_data"] is None
    assert summary["arms"]["learned"]["fractions"]["1/4"]["difference"] is None
    # the cell's other numbers: mean GPT tokens over seeds (seeds choose different documents), the final loss
    cell = cells["1/4"]
    assert cell["train_tokens"] == pytest.approx(0.25 * TRAIN_TOKENS + 1)  # + seeds 0, 1, 2 -> mean 1
    assert cell["test_loss"]["mean"] == pytest.approx(3.5) and cell["test_loss_final"]["mean"] == pytest.approx(3.6)
    assert cell["best_val_step"] == [10, 11, 12] and cell["difference"]["mean"] == pytest.approx(-1.5)
    assert cell["runs"] == [f"glove-init@frac0.25/seed{s}" for s in range(3)] and cell["table_corpus"] is None
    text = render_datasweep(summary)
    assert "0.707 (56,569 tokens, 2.83x); 95% CI 2.83x to 2.83x" in text
    assert "beyond the largest fraction" in text and "≤ 1/4" in text
    assert summary["measure"] == "test_loss_best_val" and summary["fraction_labels"] == ["1/4", "1/2", "1"]
    assert "tables it uses were pretrained with seed k" in summary["interval_covers"]
    assert "chooses the fraction's documents" in summary["interval_covers"]


def test_effective_data_intervals_by_hand():
    """learned's curve is 5, 4, 3 at 1/4, 1/2, 1 plus seed luck NOISE; each arm below is its own values plus
    that luck, so a paired resample of 3 seeds moves the arm's mean m (of the values less luck) against an
    unmoved curve, and the 27 resamples span m from the smallest value to the largest.
    - at 1/4: 3.3, 3.5, 3.7, so m from 3.3 to 3.7, between 1/2 and 1: 0.5 * 2 ** (4 - m), from 0.5 * 2 ** 0.3
      to 0.5 * 2 ** 0.7, 2 ** 1.3 = 2.46x to 2 ** 1.7 = 3.25x the arm's 1/4;
    - at 1/2: 2.9, 3.5, 3.7: m = 2.9 beats learned at every fraction, so the upper end is unbounded; the low
      end is 0.5 * 2 ** 0.3 = 0.616, 1.23x the arm's 1/2;
    - at 1: 5.2, 4.5, 4.4: m = 5.2 is reached at the smallest fraction, so the low end is at most 1/4
      (0.25x); m = 4.4 is at 0.25 * 2 ** 0.6 = 0.379 of the split, 0.38x the arm's 1."""
    glove = arm("glove-init", table="glove")
    values = {0.25: [3.3, 3.5, 3.7], 0.5: [2.9, 3.5, 3.7], 1.0: [5.2, 4.5, 4.4]}
    results = {"learned": learned_results(),
               "glove-init": {f: runs("glove-init", f, [v + n for v, n in zip(vs, NOISE)]) for f, vs in values.items()}}
    summary = summarize([arm("learned"), glove], results)
    cells = summary["arms"]["glove-init"]["fractions"]
    quarter = cells["1/4"]["effective_data"]["interval"]
    assert quarter["low"] == {"value": pytest.approx(0.5 * 2 ** 0.3), "where": "inside",
                              "tokens": pytest.approx(0.5 * 2 ** 0.3 * TRAIN_TOKENS), "ratio": pytest.approx(2 ** 1.3)}
    assert quarter["high"]["value"] == pytest.approx(0.5 * 2 ** 0.7)
    assert quarter["high"]["ratio"] == pytest.approx(2 ** 1.7)
    assert quarter["resamples"] == 27 and quarter["enumerated"] and quarter["level"] == 0.95
    half = cells["1/2"]["effective_data"]["interval"]
    assert half["low"]["ratio"] == pytest.approx(2 * 0.5 * 2 ** 0.3 / 1)
    assert half["high"] == {"value": None, "where": "beyond the largest", "tokens": None, "ratio": None}
    whole = cells["1"]["effective_data"]["interval"]
    assert whole["low"] == {"value": 0.25, "where": "at or below the smallest", "tokens": 0.25 * TRAIN_TOKENS,
                            "ratio": 0.25}
    assert whole["high"]["ratio"] == pytest.approx(0.25 * 2 ** 0.6)
    text = render_datasweep(summary)
    assert "; 95% CI 2.46x to 3.25x |" in text and "; 95% CI ≥ 1.23x |" in text
    assert "; 95% CI ≤ 0.25x to 0.38x |" in text
    assert "percentile bootstrap over seeds, paired" in text


def test_one_seed_has_no_interval_and_learned_must_run_the_same_seeds_everywhere():
    glove = arm("glove-init", table="glove")
    learned = {f: runs("learned", f, [LEARNED[f]]) for f in FRACTIONS}
    results = {"learned": learned, "glove-init": {0.25: runs("glove-init", 0.25, [3.5])}}
    one = summarize_datasweep(StudySettings(Path("run"), BASE, seeds=1), [arm("learned"), glove], FRACTIONS,
                              results, facts())
    found = one["arms"]["glove-init"]["fractions"]["1/4"]["effective_data"]
    assert found["interval"] is None and found["ratio"] == pytest.approx(math.sqrt(0.5) / 0.25)
    assert "| 0.707 (56,569 tokens, 2.83x) |" in render_datasweep(one)  # the point alone
    results = {"learned": learned_results(), "glove-init": {0.25: runs("glove-init", 0.25, [3.4, 3.5, 3.6])}}
    results["learned"][1.0].reverse()
    with pytest.raises(ValueError, match="learned ran seeds \\[2, 1, 0\\] at fraction 1 .*do not pair"):
        summarize([arm("learned"), glove], results)


def test_verdicts_use_one_holm_family_over_every_arm_and_fraction():
    learned = learned_results()
    a, b, c = (arm("glove-init", table="glove"), arm("skipgram-init", table="skipgram"), arm("shuffled-init"))
    offsets = {("glove-init", 0.25): [-0.5 + 0.001, -0.5 - 0.002, -0.5 + 0.001],
               ("glove-init", 0.5): [-0.3 + 0.002, -0.3 - 0.001, -0.3 - 0.001],
               ("skipgram-init", 0.5): [0.001, -0.001, 0.0005],
               ("shuffled-init", 1.0): [0.3, -0.4, 0.2]}
    results = {"learned": learned}
    for (name, f), offset in offsets.items():
        results.setdefault(name, {})[f] = runs(name, f, [r["test_loss_best_val"] + d
                                                         for r, d in zip(learned[f], offset)])
    summary = summarize([arm("learned"), a, b, c], results, margin=0.02)
    cell = lambda name, label: summary["arms"][name]["fractions"][label]  # noqa: E731
    assert cell("glove-init", "1/4")["verdict"] == "better" and cell("glove-init", "1/2")["verdict"] == "better"
    assert cell("skipgram-init", "1/2")["verdict"] == "equivalent"
    assert cell("shuffled-init", "1")["verdict"] == "inconclusive"
    assert list(summary["arms"]["skipgram-init"]["fractions"]) == ["1/2"]  # only where it ran
    # Holm over m = 4 comparisons: the smallest p becomes min(1, 4 p); every adjusted p is at least the raw one
    diffs = [cell(name, fraction_text(f))["difference"] for name, f in offsets]
    assert all(d["p_value_holm"] >= d["p_value"] for d in diffs)
    smallest = min(diffs, key=lambda d: d["p_value"])
    assert smallest["p_value_holm"] == pytest.approx(min(1.0, 4 * smallest["p_value"]))
    equivalence = min(diffs, key=lambda d: d["p_value_equivalence"])
    assert equivalence["p_value_equivalence_holm"] == pytest.approx(min(1.0, 4 * equivalence["p_value_equivalence"]))
    assert "Holm over the 4 (arm, fraction) comparisons" in summary["multiple_comparisons"]
    assert summary["margin"] == 0.02 and "±0.02" in summary["equivalence"]


def test_the_rare_family_is_separate_and_missing_rare_values_are_none():
    learned = learned_results(rare=True)
    glove = arm("glove-init", table="glove")
    results = {"learned": learned, "glove-init": {
        0.25: runs("glove-init", 0.25, [4.9, 4.8, 5.0], [5.1, 5.3, 5.2], 0.2),       # rare on both sides
        0.5: runs("glove-init", 0.5, [3.9, 4.1, 3.8], [4.9, None, 4.7], 0.1),        # one seed lacks it
        1.0: runs("glove-init", 1.0, [2.9, 3.0, 3.05])}}                              # nobody has it
    summary = summarize([arm("learned"), glove], results)
    cells = summary["arms"]["glove-init"]["fractions"]
    rare = cells["1/4"]["rare"]
    assert rare["test_loss"]["mean"] == pytest.approx(5.2) and rare["share"] == pytest.approx(0.2)
    # a family of one: the adjusted p is the raw one (three main comparisons adjust the main p instead)
    assert rare["difference"]["mean"] == pytest.approx(5.2 - 6.0)
    assert rare["difference"]["p_value_holm"] == pytest.approx(rare["difference"]["p_value"])
    assert rare["verdict"] == rare["difference"]["verdict"]
    assert "Holm over the 1 " in summary["multiple_comparisons_rare"]
    main = [cells[label]["difference"] for label in cells]
    smallest = min(main, key=lambda d: d["p_value"])
    assert smallest["p_value_holm"] == pytest.approx(min(1.0, 3 * smallest["p_value"]))
    assert cells["1/2"]["rare"] == {"test_loss": None, "share": pytest.approx(0.1), "difference": None,
                                    "verdict": None}
    assert cells["1"]["rare"] == {"test_loss": None, "share": None, "difference": None, "verdict": None}
    assert summary["arms"]["learned"]["fractions"]["1"]["rare"]["test_loss"] is None
    assert "| glove-init | 1 |" in render_datasweep(summary)  # missing values render, they do not crash


def test_pairing_needs_learned_at_the_fraction_and_the_same_seeds():
    glove = arm("glove-init", table="glove")
    results = {"learned": {f: r for f, r in learned_results().items() if f != 0.5},
               "glove-init": {0.5: runs("glove-init", 0.5, [3.0, 3.1, 3.2])}}
    with pytest.raises(ValueError, match="1/2"):
        summarize_datasweep(settings(), [arm("learned"), glove], [0.25, 1.0], results, facts())
    results = {"learned": learned_results(), "glove-init": {0.5: runs("glove-init", 0.5, [3.0, 3.1])}}
    with pytest.raises(ValueError, match="seeds"):
        summarize([arm("learned"), glove], results)


def write_example(out):
    transfer = arm("glove-init-transfer", table="glove", table_data="table-corpus")
    learned = learned_results(rare=True)
    results = {"learned": learned,
               "glove-init": {f: runs("glove-init", f, [LEARNED[f] - 0.3 + n for n in NOISE],
                                      [LEARNED[f] + 0.5 + n for n in NOISE] if f < 1 else None, 0.2)
                              for f in FRACTIONS},
               "glove-init-transfer": {0.25: runs("glove-init-transfer", 0.25, [4.0, 4.1, 3.9])}}
    corpus = {"corpus_hash": "abc", "tokens": 900_000, "vocab_coverage": 0.97}
    for r in results["glove-init-transfer"][0.25]:
        r["table_corpus"] = corpus
    table_corpus = {"source": "wikitext-103", "tokens": 900_000, "vocab_size": 20_000, "corpus_hash": "abc"}
    same = arm("glove-init", table="glove", table_data="fraction")
    assert out.name == "datasweep"
    return write_datasweep(settings(out.parent), [arm("learned"), same, transfer], FRACTIONS, results,
                           facts(table_corpus))


def test_write_datasweep_writes_the_three_files(tmp_path):
    summary = write_example(tmp_path / "datasweep")
    out = tmp_path / "datasweep"
    saved = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(summary))
    assert saved["fractions"] == FRACTIONS and saved["baseline"] == "learned" and saved["format_version"] == 2
    assert saved["table_corpus"]["source"] == "wikitext-103" and saved["epochs"] == 2.0
    for name, row in saved["arms"].items():
        for label, cell in row["fractions"].items():
            assert "effective_data" in cell
            assert (cell["effective_data"] is None) == (name == "learned")
    transfer = saved["arms"]["glove-init-transfer"]
    assert transfer["table_data"] == "table-corpus" and transfer["table"] == "glove"
    assert transfer["fractions"]["1/4"]["table_corpus"]["vocab_coverage"] == 0.97
    assert "2 epochs of its own fraction" in saved["model"]["schedule"]
    text = (out / "summary.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "# Data sweep" and lines[1] == ""
    for name in ("learned", "glove-init", "glove-init-transfer"):
        assert f"| {name} |" in text
    for label in ("1/4", "1/2", "1"):
        assert f"| glove-init | {label} |" in text
    assert "transfer tables (`glove-init-transfer`) were pretrained on `wikitext-103` (900,000 tokens, " \
        "vocabulary 20,000)" in text
    assert "tables of `glove-init` are pretrained on the fraction the GPT trains on" in text
    assert "![difference against GPT tokens](datasweep.png)" in text
    assert (out / "datasweep.png").read_bytes()[:4] == b"\x89PNG"


def test_the_report_shows_the_data_sweep(tmp_path, monkeypatch):
    from study import report

    run = tmp_path / "run"
    summary = write_example(run / "datasweep")
    monkeypatch.setattr(report, "neighbours_of_tables", lambda *a, **k: {})
    written = report.write_report(run, {"glove": {"benchmarks": {}}})
    text = (run / "eval" / "report.md").read_text(encoding="utf-8")
    assert "## How much text is a table worth?" in text and "# Data sweep" not in text
    assert "| glove-init-transfer | 1/4 |" in text
    # the report quotes the multiple's interval: the transfer arm less learned's seed luck is 4.01, 4.1, 3.89,
    # so the resampled mean runs from 3.89 (2 * 2 ** 0.11 = 2.16x its 1/4) to 4.1 (2 ** 0.9 = 1.87x)
    assert "; 95% CI 1.87x to 2.16x |" in text and "percentile bootstrap over seeds, paired" in text
    assert (run / "eval" / "datasweep.png").is_file()
    assert written["datasweep"] == json.loads(json.dumps(summary))
    assert json.loads((run / "eval" / "report.json").read_text())["datasweep"] == written["datasweep"]
    (run / "datasweep" / "summary.json").write_text('{"arms": {}}', encoding="utf-8")
    with pytest.raises(InputError, match="make datasweep"):
        report.write_report(run, {"glove": {"benchmarks": {}}})


def test_eval_reports_a_run_with_a_data_sweep_and_no_tables(tmp_path):
    """datasweep called without make pretrain leaves no run-level tables: eval reports the study it has and
    names what is missing (before: "no tables ... run make pretrain first", and no report)."""
    run = tmp_path / "run"
    write_example(run / "datasweep")
    result = run_cli("pipelines.eval", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    text = (run / "eval" / "report.md").read_text(encoding="utf-8")
    assert "Not in this run yet: tables (`make pretrain`), compare (`make compare`), compare-positions " \
           "(`make compare-positions`), sweep (`make sweep`)." in text
    assert "No tables in `embeddings/` to evaluate." in text and "## How much text is a table worth?" in text
    assert json.loads((run / "eval" / "report.json").read_text())["missing"][0] == "tables"
    empty = run_cli("pipelines.eval", "--run-dir", str(tmp_path / "empty"))
    assert empty.returncode == 2 and "nothing to report" in empty.stderr


def test_tiny_fractions_pair_with_learned_at_their_own_fraction():
    """Fractions below 1/20000 used to share the label "0": glove-init at 1e-5 was paired with learned at
    4e-5. Each now pairs with its own: the difference is glove-init minus learned at 1e-5, by hand."""
    fractions = [1e-5, 4e-5]
    learned = {1e-5: runs("learned", 1e-5, [6.0, 6.1, 6.2]), 4e-5: runs("learned", 4e-5, [5.0, 5.1, 5.2])}
    glove = {1e-5: runs("glove-init", 1e-5, [5.9, 6.05, 6.1])}
    summary = summarize_datasweep(settings(), [arm("learned"), arm("glove-init", table="glove")], fractions,
                                  {"learned": learned, "glove-init": glove}, facts())
    assert summary["fraction_labels"] == ["1e-05", "4e-05"]
    cell = summary["arms"]["glove-init"]["fractions"]["1e-05"]
    assert list(summary["arms"]["glove-init"]["fractions"]) == ["1e-05"]
    assert cell["difference"]["mean"] == pytest.approx(((5.9 - 6.0) + (6.05 - 6.1) + (6.1 - 6.2)) / 3)
