"""study.sweep and its summary: the crossover by hand from adjusted verdicts, the summary from hand-made
results, the cells a sweep plans (arm and budget as fields, compare's folder to reuse), and the note when
another sweep's summary is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpt.config import GPTConfig
from study.plan import sweep_cells
from study.settings import StudySettings
from study.sweep import _say_what_is_replaced
from study.sweep_summary import SWEEP_FORMAT_VERSION, crossover, render_sweep, summarize_sweep
from study.variants import known_arms


def hand_made_results(seeds: int = 3) -> dict:
    """learned and glove-init at three budgets, the first ``seeds`` seeds of each."""
    base = {1000: [5.0, 5.1, 5.2], 2000: [4.8, 4.9, 5.0], 4000: [4.6, 4.7, 4.8]}
    arm = {1000: [4.5, 4.61, 4.69], 2000: [4.7, 4.85, 4.94], 4000: [4.61, 4.68, 4.82]}
    return {name: {b: [{"test_loss": x, "tokens": b, "record": {"variant": name}, "seed": s}
                       for s, x in enumerate(losses[b][:seeds])] for b in base}
            for name, losses in (("learned", base), ("glove-init", arm))}


def summarize(results: dict, seeds: int = 3) -> dict:
    arms = [known_arms()["learned"], known_arms()["glove-init"]]
    return summarize_sweep(StudySettings(Path("run"), GPTConfig(), seeds=seeds), arms, [1000, 2000, 4000], results,
                           {"train_tokens": 1000})


def hand_made_sweep(seeds: int = 3) -> dict:
    return summarize(hand_made_results(seeds), seeds)


def test_crossover_by_hand_from_the_adjusted_verdicts():
    budgets = [1, 2, 3, 4]
    better, equivalent, inconclusive, worse = "better", "equivalent", "inconclusive", "worse"
    assert crossover(budgets, [better] * 4) is None  # never crosses
    assert crossover(budgets, [better, better, equivalent, worse]) == 3  # crosses at 3 and stays
    assert crossover(budgets, [better, inconclusive, better, inconclusive]) == 4  # crosses, back, again: from 4 on
    assert crossover(budgets, [better, equivalent, equivalent, better]) is None  # crossed back at the largest
    assert crossover(budgets, [inconclusive] * 4) == 1


def test_the_crossover_uses_the_holm_adjusted_verdict_not_the_raw_interval():
    """Three budgets: the middle one's unadjusted interval excludes 0 (p about 0.03), but with three
    comparisons Holm's p is above 0.05, so from that budget on there is no shown advantage."""
    summary = hand_made_sweep()
    cells = summary["arms"]["glove-init"]["budgets"]
    middle = cells["2000"]["difference"]
    assert middle["ci_high"] < 0 and middle["p_value"] < 0.05 and middle["p_value_holm"] > 0.05
    assert [cells[b]["verdict"] for b in ("1000", "2000", "4000")][:2] == ["better", "inconclusive"]
    assert summary["arms"]["glove-init"]["crossover"] == 2000
    # learned's mean test loss is 5.1, 4.9, 4.7: glove-init's 4.6 at 1000 tokens is beyond the largest budget,
    # its 4.83 at 2000 sits between 2000 and 4000: 2000 * 2 ** ((4.9 - 4.83) / 0.2)
    beyond = cells["1000"]["effective_budget"]
    assert {k: beyond[k] for k in ("value", "where")} == {"value": None, "where": "beyond the largest"}
    assert cells["2000"]["effective_budget"]["value"] == pytest.approx(2000 * 2 ** ((4.9 - 4.83) / 0.2))
    assert summary["format_version"] == SWEEP_FORMAT_VERSION == 3


def test_the_effective_budget_interval_by_hand():
    """The results above: seed k adds luck -0.1, 0, +0.1 to learned at every budget, and the arm's losses
    less that luck are 4.8, 4.85, 4.84 at 2000 tokens. A paired resample shifts learned's curve and the
    arm's mean by the same luck, so the effective budget is 2000 * 2 ** ((4.9 - m) / 0.2) with m the resampled
    mean of 4.8, 4.85, 4.84: from 2000 * 2 ** 0.25 (m = 4.85, seed 1 thrice) to 2000 * 2 ** 0.5 (m = 4.8).
    At 1000 tokens the arm less its luck (4.6, 4.61, 4.59) is below learned's 4.7 at 4000 in every resample."""
    summary = hand_made_sweep()
    cells = summary["arms"]["glove-init"]["budgets"]
    middle = cells["2000"]["effective_budget"]["interval"]
    assert middle["low"] == {"value": pytest.approx(2000 * 2 ** 0.25), "where": "inside"}
    assert middle["high"] == {"value": pytest.approx(2000 * 2 ** 0.5), "where": "inside"}
    assert middle["resamples"] == 27 and middle["level"] == 0.95
    beyond = cells["1000"]["effective_budget"]["interval"]
    assert beyond["low"] == beyond["high"] == {"value": None, "where": "beyond the largest"}
    assert summary["arms"]["learned"]["budgets"]["2000"]["effective_budget"] is None
    text = render_sweep(summary)
    assert f"| {2000 * 2 ** 0.35:,.0f} tokens (95% CI {2000 * 2 ** 0.25:,.0f} to {2000 * 2 ** 0.5:,.0f}) |" in text
    assert "| beyond the largest (95% CI beyond the largest) |" in text
    assert "percentile bootstrap over seeds, paired" in text


def test_one_seed_has_no_interval_and_an_older_summary_still_renders():
    summary = hand_made_sweep(seeds=1)
    cell = summary["arms"]["glove-init"]["budgets"]["2000"]["effective_budget"]
    assert cell["interval"] is None and cell["where"] == "inside"
    assert f"| {2000 * 2 ** ((4.8 - 4.7) / 0.2):,.0f} tokens |" in render_sweep(summary)  # the point alone
    for row in summary["arms"].values():  # a format-2 summary: no interval key at all
        for budget in row["budgets"].values():
            if budget["effective_budget"]:
                del budget["effective_budget"]["interval"]
    assert "tokens |" in render_sweep(summary)


def test_the_effective_budget_needs_the_same_seeds_in_the_same_order():
    """The bootstrap pairs runs by position: runs listed in another seed order would pair seed 0 with seed 2."""
    results = hand_made_results()
    results["glove-init"][2000].reverse()
    with pytest.raises(ValueError, match="glove-init at 2,000 tokens ran seeds \\[2, 1, 0\\].*do not pair"):
        summarize(results)
    results = hand_made_results()
    results["learned"][4000].reverse()
    with pytest.raises(ValueError, match="learned at 4,000 tokens"):
        summarize(results)


def test_sweep_cells_carry_arm_seed_and_budget():
    arms = [known_arms()["learned"], known_arms()["glove-init"]]
    cells = sweep_cells(arms, [4000, 1_000_000], 2, GPTConfig(d_model=16, n_head=2))
    assert len(cells) == 8 and [c.size for c in cells] == [4000] * 4 + [1_000_000] * 4  # smallest budget first
    glove = [c for c in cells if c.arm == "glove-init" and c.seed == 1 and c.size == 1_000_000][0]
    assert glove.variant == "glove-init@1M" and glove.reuse == "glove-init"
    assert glove.config.tokens == 1_000_000 and glove.config.seed == 1 and glove.config.table == "glove"
    assert glove.label == "glove-init seed 1 at 1M tokens"


def test_replacing_another_sweeps_summary_is_said(tmp_path):
    arms = [known_arms()["learned"], known_arms()["glove-init"]]
    path = tmp_path / "summary.json"
    lines = []
    _say_what_is_replaced(path, arms, [1000], lines.append)  # none yet: nothing to say
    path.write_text('{"arms": ["learned", "glove-init"], "budgets": [1000]}')
    _say_what_is_replaced(path, arms, [1000], lines.append)  # the same sweep: nothing to say
    assert lines == []
    _say_what_is_replaced(path, arms, [1000, 2000], lines.append)
    assert lines == ["note: " + str(path) + " holds another sweep (arms learned,glove-init, budgets 1k); this one "
                     "replaces it (its runs stay under gpt/)"]
    path.write_text("{broken")
    _say_what_is_replaced(path, arms, [1000], lines.append)
    assert lines[-1] == f"note: {path} is damaged; this sweep writes it anew"
