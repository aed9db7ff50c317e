import numpy as np
import pytest
from scipy import stats

from study.stats import (BETTER, EQUIVALENT, INCONCLUSIVE, WORSE, equivalent_size, mean_std, paired_difference,
                         tokens_to_reach)


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
    assert result.verdict == INCONCLUSIVE  # the interval reaches 0 and well past the 0.02 margin
    assert paired_difference([1.5, 1.6, 1.55], [1.0, 1.1, 1.0]).verdict == WORSE


def test_one_seed_gives_no_interval():
    result = paired_difference([4.0], [4.5])
    assert result.ci_low is None and result.verdict == INCONCLUSIVE and result.std is None
    assert result.p_value_equivalence is None


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


def test_holm_adjustment_by_hand():
    from study.stats import holm_adjust

    # m = 4: sorted 0.01, 0.02, 0.03, 0.5 -> 4 x 0.01 = 0.04, 3 x 0.02 = 0.06, 2 x 0.03 = 0.06, 1 x 0.5 = 0.5
    assert holm_adjust([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    # monotone: a later raw product smaller than an earlier one takes the earlier (0.04 x 3 = 0.12 > 2 x 0.05)
    assert holm_adjust([0.04, 0.05, 0.001]) == pytest.approx([0.08, 0.08, 0.003])
    assert holm_adjust([None, 0.2, 0.9]) == pytest.approx([None, 0.4, 0.9])  # None is not in the family
    assert holm_adjust([0.6, 0.7]) == [1.0, 1.0]  # capped at 1


def test_holm_verdicts_are_stricter_than_the_unadjusted_intervals():
    from study.stats import holm

    base = [5.0, 5.1, 5.2]
    family = {
        "clear": paired_difference([4.5, 4.61, 4.69], base),  # p ~ 1e-4
        "marginal": paired_difference([4.9, 5.05, 5.14], base),  # interval below 0, p just under 0.05
        "worse": paired_difference([5.5, 5.62, 5.71], base),
        "nothing": paired_difference([5.1, 5.0, 5.25], base),
    }
    assert family["marginal"].verdict == BETTER and 0.01 < family["marginal"].p_value < 0.05
    adjusted = holm(family)
    assert list(adjusted) == list(family)
    assert adjusted["clear"].verdict == BETTER and adjusted["worse"].verdict == WORSE
    assert adjusted["marginal"].verdict == INCONCLUSIVE  # 0.0x times 2 or more is over 0.05
    assert adjusted["nothing"].verdict == INCONCLUSIVE
    for name, diff in adjusted.items():
        assert diff.p_value_holm >= diff.p_value and diff.to_dict()["p_value_holm"] == diff.p_value_holm


def test_equivalence_is_two_one_sided_tests_against_the_margin():
    """TOST by hand against scipy's one-sided one-sample t-tests of the differences."""
    baseline = [5.000, 5.100, 5.200, 5.050]
    variant = [5.001, 5.099, 5.202, 5.048]
    diffs = np.subtract(variant, baseline)
    result = paired_difference(variant, baseline, margin=0.02)
    lower = stats.ttest_1samp(diffs, -0.02, alternative="greater").pvalue  # H0: difference <= -margin
    upper = stats.ttest_1samp(diffs, 0.02, alternative="less").pvalue  # H0: difference >= +margin
    assert result.margin == 0.02
    assert result.p_value_equivalence == pytest.approx(max(lower, upper))
    assert result.p_value_equivalence < 0.001 and result.p_value > 0.5
    assert result.verdict == EQUIVALENT
    # the same differences, but a margin they do not clear: inconclusive, not "equal"
    assert paired_difference(variant, baseline, margin=0.001).verdict == INCONCLUSIVE


def test_verdicts_on_hand_made_differences():
    base = [5.0, 5.1, 5.2]
    assert paired_difference([4.5, 4.61, 4.69], base).verdict == BETTER  # -0.5 +- 0.01
    assert paired_difference([5.5, 5.62, 5.71], base).verdict == WORSE
    assert paired_difference([5.001, 5.099, 5.2005], base).verdict == EQUIVALENT  # within +-0.0015 of 0
    assert paired_difference([5.1, 5.0, 5.25], base).verdict == INCONCLUSIVE  # +-0.1 scatter
    # a shown difference is reported as a difference even when it is smaller than the margin
    assert paired_difference([4.99, 5.09, 5.19], base, margin=0.02).verdict == BETTER
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0, 2.5], margin=0.0)


def test_holm_adjusts_the_equivalence_tests_as_a_family_too():
    from study.stats import holm, holm_adjust

    base = [5.0, 5.1, 5.2]
    family = {"tight": paired_difference([5.001, 5.099, 5.2005], base),
              "loose": paired_difference([5.012, 5.09, 5.205], base),
              "wide": paired_difference([5.1, 5.0, 5.25], base)}
    adjusted = holm(family)
    raw = [family[n].p_value_equivalence for n in family]
    assert [adjusted[n].p_value_equivalence_holm for n in family] == pytest.approx(holm_adjust(raw))
    for name, diff in adjusted.items():
        expected = EQUIVALENT if diff.p_value_equivalence_holm < 0.05 and diff.p_value_holm >= 0.05 else None
        if expected:
            assert diff.verdict == expected
    assert adjusted["tight"].verdict == EQUIVALENT and adjusted["wide"].verdict == INCONCLUSIVE


def test_equivalent_size_on_hand_made_curves():
    sizes = [100, 200, 400, 800]
    learned = [6.0, 5.0, 4.0, 3.5]
    # 4.5 lies halfway between 5.0 (200) and 4.0 (400): on a log axis, sqrt(200 * 400)
    assert equivalent_size(sizes, learned, 4.5) == {"value": pytest.approx((200 * 400) ** 0.5), "where": "inside"}
    assert equivalent_size(sizes, learned, 3.0) == {"value": None, "where": "beyond the largest"}
    assert equivalent_size(sizes, learned, 6.5) == {"value": 100.0, "where": "at or below the smallest"}
    assert equivalent_size(sizes, learned, 4.0)["value"] == pytest.approx(400)  # exactly at a swept size
    assert equivalent_size([1, 2], [5.0, 5.2], 4.9)["where"] == "beyond the largest"  # never comes down to it
