import numpy as np
import pytest
from scipy import stats

from pipelines.stats import BETTER, NO_DIFFERENCE, WORSE, mean_std, paired_difference, tokens_to_reach


def test_paired_difference_matches_scipy():
    baseline = [5.10, 5.02, 5.31, 4.98, 5.20]
    variant = [5.00, 4.97, 5.18, 4.95, 5.02]
    result = paired_difference(variant, baseline)
    diffs = np.subtract(variant, baseline)
    interval = stats.t.interval(0.95, df=4, loc=diffs.mean(), scale=stats.sem(diffs))
    assert result.n == 5
    assert result.mean == pytest.approx(diffs.mean())
    assert result.std == pytest.approx(diffs.std(ddof=1))
    assert (result.ci_low, result.ci_high) == pytest.approx(interval)
    assert result.p_value == pytest.approx(stats.ttest_rel(variant, baseline).pvalue)
    assert result.verdict == BETTER


def test_hand_computed_interval_and_verdicts():
    # diffs 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t(0.975, 2) = 4.302653 -> half width 0.248414
    result = paired_difference([1.1, 1.2, 1.3], [1.0, 1.0, 1.0])
    assert result.ci_low == pytest.approx(0.2 - 0.2484138, abs=1e-6)
    assert result.ci_high == pytest.approx(0.2 + 0.2484138, abs=1e-6)
    assert result.verdict == NO_DIFFERENCE
    assert paired_difference([1.5, 1.6, 1.55], [1.0, 1.1, 1.0]).verdict == WORSE


def test_one_seed_gives_no_interval():
    result = paired_difference([4.0], [4.5])
    assert result.ci_low is None and result.verdict == NO_DIFFERENCE and result.std is None


def test_mismatched_seeds_are_rejected():
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_mean_std():
    assert mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))


def test_tokens_to_reach_interpolates_the_first_crossing():
    tokens = [1000, 2000, 3000, 4000]
    losses = [6.0, 5.0, 4.0, 4.5]
    assert tokens_to_reach(tokens, losses, 4.5) == pytest.approx(2500)
    assert tokens_to_reach(tokens, losses, 7.0) == 1000
    assert tokens_to_reach(tokens, losses, 3.0) is None
