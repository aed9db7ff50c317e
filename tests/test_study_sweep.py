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
from study.sweep_summary import crossover, summarize_sweep
from study.variants import known_arms


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
    base = {1000: [5.0, 5.1, 5.2], 2000: [4.8, 4.9, 5.0], 4000: [4.6, 4.7, 4.8]}
    arm = {1000: [4.5, 4.61, 4.69], 2000: [4.7, 4.85, 4.94], 4000: [4.61, 4.68, 4.82]}
    results = {name: {b: [{"test_loss": x, "tokens": b, "record": {"variant": name}, "seed": s}
                          for s, x in enumerate(losses[b])] for b in base}
               for name, losses in (("learned", base), ("glove-init", arm))}
    arms = [known_arms()["learned"], known_arms()["glove-init"]]
    summary = summarize_sweep(StudySettings(Path("run"), GPTConfig(), seeds=3), arms, [1000, 2000, 4000], results,
                              {"train_tokens": 1000})
    cells = summary["arms"]["glove-init"]["budgets"]
    middle = cells["2000"]["difference"]
    assert middle["ci_high"] < 0 and middle["p_value"] < 0.05 and middle["p_value_holm"] > 0.05
    assert [cells[b]["verdict"] for b in ("1000", "2000", "4000")][:2] == ["better", "inconclusive"]
    assert summary["arms"]["glove-init"]["crossover"] == 2000
    # learned's mean test loss is 5.1, 4.9, 4.7: glove-init's 4.6 at 1000 tokens is beyond the largest budget,
    # its 4.83 at 2000 sits between 2000 and 4000: 2000 * 2 ** ((4.9 - 4.83) / 0.2)
    assert cells["1000"]["effective_budget"] == {"value": None, "where": "beyond the largest"}
    assert cells["2000"]["effective_budget"]["value"] == pytest.approx(2000 * 2 ** ((4.9 - 4.83) / 0.2))


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
