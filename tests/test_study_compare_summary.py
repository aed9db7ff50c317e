"""study.compare_summary: a summary of hand-made results (a baseline, three variants, three seeds) against
scipy's paired t computations, Holm's adjustment worked by hand and the conventions' keys."""

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from study import compare_summary
from study.compare_summary import SUMMARY_FORMAT_VERSION, plot_curves, render_markdown
from study.settings import StudySettings

SEEDS = 3
MARGIN = 0.02
DIFFERENCE_KEYS = ("mean", "ci_low", "ci_high", "p_value", "p_value_holm", "verdict", "margin",
                   "p_value_equivalence")


@dataclass(frozen=True)
class Arm:
    """What summarize reads of a study.variants.Variant."""

    name: str
    fields: dict

    @property
    def table(self):
        return self.fields.get("table")


VARIANTS = [Arm("learned", {"embedding": "learned"}),
            Arm("skipgram-init", {"embedding": "init", "table": "skipgram"}),
            Arm("glove-frozen", {"embedding": "frozen", "table": "glove"}),
            Arm("cbow-init", {"embedding": "init", "table": "cbow"})]
BASE_LOSS = [5.00, 5.10, 4.90]
# Per-seed differences from the baseline, chosen for their verdicts:
DIFFS = {
    "skipgram-init": [-0.30, -0.32, -0.31],  # clearly lower: better
    "glove-frozen": [0.001, -0.002, 0.0005],  # tiny and tight: equivalent within the 0.02 margin
    "cbow-init": [0.10, 0.13, 0.07],  # unadjusted p ~0.029 (worse), but Holm's x2 puts it above 0.05
}
# The frequent and rare losses differ from the overall ones, so a mixed-up key shows.
FREQUENT_SHIFT = {"learned": [-1.0, -1.0, -1.0], "skipgram-init": [-1.2, -1.1, -1.15],
                  "glove-frozen": [-0.9, -0.95, -0.8], "cbow-init": [-1.0, -1.05, -0.98]}
RARE_SHIFT = {"learned": [2.0, 2.0, 2.0], "skipgram-init": [1.5, 1.7, 1.6], "glove-frozen": [2.3, 2.2, 2.4],
              "cbow-init": [2.0, 2.1, 1.9]}
# Val curves at 0, 100 and 200 tokens (the same on every seed); the baseline ends at 4.0.
CURVE_LOSSES = {"learned": [10.0, 6.0, 4.0], "skipgram-init": [10.0, 5.0, 3.0],  # reaches 4.0 at 150 tokens
                "glove-frozen": [10.0, 4.0, 3.5],  # reaches it exactly at 100
                "cbow-init": [10.0, 8.0, 5.0]}  # never does


def _test_losses(name):
    return [b + d for b, d in zip(BASE_LOSS, DIFFS.get(name, [0.0] * SEEDS))]


def _results():
    results = {}
    for v in VARIANTS:
        loss = _test_losses(v.name)
        results[v.name] = [{
            "seed": s, "test_loss": loss[s], "test_loss_frequent": loss[s] + FREQUENT_SHIFT[v.name][s],
            "test_loss_rare": loss[s] + RARE_SHIFT[v.name][s], "trainable_parameters": 1000 - 100 * i,
            "trainable_token_rows": 50 if v.fields["embedding"] != "frozen" else 0,
            "train_seconds": 10.0 + s, "eval_seconds": 1.0 + 0.5 * s, "tokens": 200, "steps": 20,
            "frequent_words": 10, "frequent_fraction": 0.625,
        } for s in range(SEEDS) for i in [VARIANTS.index(v)]]
    return results


def _curves():
    return {name: [([0.0, 100.0, 200.0], list(losses)) for _ in range(SEEDS)] for name, losses in CURVE_LOSSES.items()}


BASE = SimpleNamespace(position="learned", batch_size=2, context=5, d_model=16, n_layer=2, n_head=2,
                       eval_steps=lambda: [0, 10, 20], eval_windows=4, precision="fp32")
REPORTS = {"skipgram": [{"train_seconds": 2.0}, {"train_seconds": 4.0}, {"train_seconds": 6.0}],
           "glove": [{"train_seconds": 1.0, "count_seconds": 0.5}]}


def summarize(curves, variants, results, reports, base=BASE, seeds=SEEDS, device="cpu", margin=MARGIN):
    """compare_summary.summarize with a study's settings (study.settings.StudySettings) of these values."""
    settings = StudySettings(Path("run"), base, seeds=seeds, device=device, margin=margin)
    return compare_summary.summarize(settings, curves, variants, results, reports)


@pytest.fixture(scope="module")
def summary():
    return summarize(_curves(), VARIANTS, _results(), REPORTS)


def _holm(p_values: dict) -> dict:
    """Holm's step-down adjustment, written out: the i-th smallest of m p-values times (m - i), kept
    monotone, capped at 1."""
    ordered = sorted(p_values, key=p_values.get)
    m, running, out = len(ordered), 0.0, {}
    for rank, name in enumerate(ordered):
        running = max(running, min(1.0, (m - rank) * p_values[name]))
        out[name] = running
    return out


def _reference(variant_losses, base_losses):
    """Paired t statistics from scipy's own tests: the interval from ttest_rel, the equivalence p-value as
    the larger of two one-sided one-sample t-tests of the differences against -margin and +margin."""
    diffs = np.subtract(variant_losses, base_losses)
    test = stats.ttest_rel(variant_losses, base_losses)
    interval = test.confidence_interval(0.95)
    tost = max(stats.ttest_1samp(diffs, -MARGIN, alternative="greater").pvalue,
               stats.ttest_1samp(diffs, MARGIN, alternative="less").pvalue)
    return {"mean": float(np.mean(diffs)), "std": float(np.std(diffs, ddof=1)), "ci_low": interval.low,
            "ci_high": interval.high, "p_value": test.pvalue, "p_value_equivalence": tost}


@pytest.mark.parametrize("key, loss", [("difference", "test_loss"), ("difference_frequent", "test_loss_frequent"),
                                       ("difference_rare", "test_loss_rare")])
def test_paired_differences_match_scipy(summary, key, loss):
    results = _results()
    base = [r[loss] for r in results["learned"]]
    references = {name: _reference([r[loss] for r in results[name]], base) for name in DIFFS}
    holm = _holm({name: ref["p_value"] for name, ref in references.items()})
    holm_equivalence = _holm({name: ref["p_value_equivalence"] for name, ref in references.items()})
    for name, ref in references.items():
        diff = summary["variants"][name][key]
        assert set(DIFFERENCE_KEYS) <= set(diff), name
        assert diff["n"] == SEEDS and diff["margin"] == MARGIN
        for field in ("mean", "std", "ci_low", "ci_high", "p_value", "p_value_equivalence"):
            assert diff[field] == pytest.approx(ref[field], rel=1e-9, abs=1e-12), (name, field)
        assert diff["p_value_holm"] == pytest.approx(holm[name], rel=1e-9)
        assert diff["p_value_equivalence_holm"] == pytest.approx(holm_equivalence[name], rel=1e-9)
        assert diff["verdict"] in ("better", "worse", "equivalent", "inconclusive")


def test_verdicts_use_the_holm_adjusted_p_values(summary):
    rows = summary["variants"]
    assert {name: rows[name]["verdict"] for name in DIFFS} == {
        "skipgram-init": "better", "glove-frozen": "equivalent", "cbow-init": "inconclusive"}
    for name in DIFFS:
        assert rows[name]["verdict"] == rows[name]["difference"]["verdict"]
    cbow = rows["cbow-init"]["difference"]
    # Unadjusted it would read "worse": the interval excludes 0 and p < 0.05; second smallest of three
    # p-values, Holm doubles it past 0.05.
    assert cbow["ci_low"] > 0 and 0.025 < cbow["p_value"] < 0.05
    assert cbow["p_value_holm"] == pytest.approx(2 * cbow["p_value"]) and cbow["p_value_holm"] > 0.05
    skipgram = rows["skipgram-init"]["difference"]
    assert skipgram["p_value_holm"] == pytest.approx(3 * skipgram["p_value"])  # the smallest: times 3
    assert skipgram["ci_high"] < 0
    glove = rows["glove-frozen"]["difference"]
    assert glove["p_value_holm"] > 0.05 and glove["p_value_equivalence_holm"] < 0.05
    assert -MARGIN < glove["ci_low"] < glove["ci_high"] < MARGIN


def test_the_baseline_has_no_difference_or_verdict(summary):
    row = summary["variants"]["learned"]
    assert summary["baseline"] == "learned"
    assert row["difference"] is None and row["verdict"] is None
    assert row.get("difference_frequent") is None and row.get("difference_rare") is None


def test_per_variant_statistics_by_hand(summary):
    rows = summary["variants"]
    assert list(rows) == ["learned", "skipgram-init", "glove-frozen", "cbow-init"]
    loss = rows["skipgram-init"]["test_loss"]
    assert loss["per_seed"] == pytest.approx([4.70, 4.78, 4.59])
    assert loss["mean"] == pytest.approx(14.07 / 3)
    assert loss["std"] == pytest.approx(math.sqrt(((4.70 - 4.69) ** 2 + (4.78 - 4.69) ** 2 + (4.59 - 4.69) ** 2) / 2))
    assert rows["learned"]["test_loss"]["std"] == pytest.approx(0.1)  # 5.0, 5.1, 4.9
    assert rows["learned"]["test_ppl"]["mean"] == pytest.approx((math.exp(5.0) + math.exp(5.1) + math.exp(4.9)) / 3)
    assert rows["learned"]["gpt_train_seconds"]["mean"] == pytest.approx(11.0)
    assert rows["learned"]["gpt_eval_seconds"]["mean"] == pytest.approx(1.5)
    assert rows["glove-frozen"]["trainable_token_rows"] == 0 and rows["cbow-init"]["trainable_parameters"] == 700
    assert rows["skipgram-init"]["table"] == "skipgram" and rows["learned"]["table"] is None
    assert rows["glove-frozen"]["embedding"] == "frozen" and rows["cbow-init"]["position"] == "learned"
    # Mean pretraining seconds per seed, GloVe's counting included; none for a variant without a table or
    # whose reports are missing.
    assert rows["skipgram-init"]["pretrain_seconds"] == pytest.approx(4.0)
    assert rows["glove-frozen"]["pretrain_seconds"] == pytest.approx(1.5)
    assert rows["cbow-init"]["pretrain_seconds"] is None and rows["learned"]["pretrain_seconds"] is None


def test_tokens_to_reach_the_baselines_final_val_loss(summary):
    rows = summary["variants"]
    assert rows["learned"]["tokens_to_baseline_val"] == {"per_seed": [200.0] * 3, "mean": 200.0}
    assert rows["skipgram-init"]["tokens_to_baseline_val"] == {"per_seed": [150.0] * 3, "mean": 150.0}  # 5 -> 3
    assert rows["glove-frozen"]["tokens_to_baseline_val"] == {"per_seed": [100.0] * 3, "mean": 100.0}
    assert rows["cbow-init"]["tokens_to_baseline_val"] == {"per_seed": [None] * 3, "mean": None}


def test_summary_header(summary):
    assert summary["format_version"] == SUMMARY_FORMAT_VERSION
    assert summary["margin"] == MARGIN
    assert summary["multiple_comparisons"] == "Holm over the 3 variants, family-wise alpha 0.05"
    assert summary["budget"] == {"tokens": 200, "steps": 20, "seeds": 3, "batch_size": 2, "context": 5,
                                 "d_model": 16, "n_layer": 2, "n_head": 2, "device": "cpu", "frequent_words": 10,
                                 "frequent_fraction": 0.625, "evaluations": 3, "eval_windows": 4}
    assert "tables it uses were pretrained with seed k" in summary["interval_covers"]
    assert "±0.02" in summary["equivalence"]


def test_a_bf16_study_says_so_where_it_names_the_device():
    out = summarize(_curves(), VARIANTS, _results(), REPORTS, base=SimpleNamespace(**{**vars(BASE), "precision": "bf16"}))
    assert out["budget"]["device"] == "cpu, bf16 matrix products"
    assert "heads, on cpu, bf16 matrix products." in compare_summary.render_markdown(out)


def test_without_tables_the_intervals_cover_the_gpt_alone():
    variants = [Arm("pos-learned", {"embedding": "learned", "position": "learned"}),
                Arm("pos-rope", {"embedding": "learned", "position": "rope"})]
    results = _results()
    results = {"pos-learned": results["learned"], "pos-rope": results["skipgram-init"]}
    curves = _curves()
    curves = {"pos-learned": curves["learned"], "pos-rope": curves["skipgram-init"]}
    out = summarize(curves, variants, results, {})
    assert "tables" not in out["interval_covers"]
    assert out["variants"]["pos-rope"]["position"] == "rope"
    assert out["multiple_comparisons"] == "Holm over the 1 variants, family-wise alpha 0.05"
    # One comparison: Holm leaves its p-value as it is.
    diff = out["variants"]["pos-rope"]["difference"]
    assert diff["p_value_holm"] == pytest.approx(diff["p_value"])
    assert diff["p_value"] == pytest.approx(stats.ttest_rel(_test_losses("skipgram-init"), BASE_LOSS).pvalue)


def test_summary_is_json_and_deterministic(summary):
    again = summarize(_curves(), VARIANTS, _results(), REPORTS)
    assert json.dumps(again, sort_keys=True) == json.dumps(summary, sort_keys=True)
    assert json.loads(json.dumps(summary)) == summary


def test_markdown_rows(summary):
    text = render_markdown(summary)
    lines = text.splitlines()
    assert lines[0] == "# Comparison summary"
    learned = next(line for line in lines if line.startswith("| learned | "))  # the first table's row
    assert learned.startswith("| learned | 5.0000 ± 0.1000 | ")
    assert "| baseline |" in learned and "| 200 |" in learned
    assert "| learned | – | 11.0 | 1.5 |" in lines  # the cost table: no table to pretrain
    assert "| skipgram-init | 4.0 | 11.0 | 1.5 |" in lines
    skipgram = next(line for line in lines if line.startswith("| skipgram-init | 4.6900"))
    d = summary["variants"]["skipgram-init"]["difference"]
    assert f"| -0.3100 [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}] |" in skipgram
    assert "| better |" in skipgram and "| 150 |" in skipgram
    cbow = next(line for line in lines if line.startswith("| cbow-init | "))
    assert "| inconclusive |" in cbow and "| not reached |" in cbow
    assert "![validation loss](curves.png)" in lines


def test_curves_plot_is_a_png(tmp_path, summary):
    path = tmp_path / "compare" / "curves.png"
    plot_curves(path, _curves(), summary, SEEDS)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (990, 605)  # 9 x 5.5 inches at 110 dpi
    assert [p.name for p in path.parent.iterdir()] == ["curves.png"]
