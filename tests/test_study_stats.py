import numpy as np
import pytest
from scipy import stats

from study.stats import (BETTER, EQUIVALENT, INCONCLUSIVE, WORSE, equivalent_size, equivalent_size_interval,
                         equivalent_sizes, mean_std, paired_difference, resample_indices, tokens_to_reach)


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


# A baseline exactly linear in log2(size): loss 5 - log2(size) at sizes 1, 2, 4, 8, so a loss L is reached at
# size 2 ** (5 - L) (L between 2 and 5), every seed alike unless a test adds seed luck.
SIZES = [1.0, 2.0, 4.0, 8.0]
LINE = [5.0, 4.0, 3.0, 2.0]


def baseline(seeds: int, luck=None) -> list[list[float]]:
    luck = luck or [0.0] * seeds
    return [[loss + d for d in luck] for loss in LINE]


def test_resample_indices_enumerate_small_seed_counts_and_draw_larger_ones():
    every = resample_indices(3, 2000)
    assert every.shape == (27, 3) and len({tuple(row) for row in every}) == 27  # each resample exactly once
    assert len({tuple(row) for row in resample_indices(4, 2000)}) == 256
    drawn = resample_indices(5, 2000, seed=7)  # 5 ** 5 = 3125 > 2000: drawn, reproducibly
    assert drawn.shape == (2000, 5) and drawn.min() == 0 and drawn.max() == 4
    assert np.array_equal(drawn, resample_indices(5, 2000, seed=7))
    assert not np.array_equal(drawn, resample_indices(5, 2000, seed=8))
    assert resample_indices(3, 10).shape == (10, 3)  # fewer resamples asked than the 27: drawn


def test_the_vectorised_equivalent_sizes_agree_with_the_scalar_one_on_every_resample():
    """Noisy curves (not monotone in some resamples) against arm means that fall inside, below and beyond."""
    runs = [[6.0, 5.5, 6.4], [5.2, 5.6, 4.9], [4.7, 4.1, 5.0], [4.4, 4.3, 3.9]]
    arm = [4.2, 5.9, 3.6]
    rows = resample_indices(3)
    curves = np.asarray(runs)[:, rows].mean(axis=2).T
    means = np.asarray(arm)[rows].mean(axis=1)
    values, where = equivalent_sizes([100, 200, 400, 800], curves, means)
    seen = set()
    for value, code, curve, mean in zip(values, where, curves, means):
        expected = equivalent_size([100, 200, 400, 800], list(curve), float(mean))
        seen.add(expected["where"])
        assert value == (np.inf if expected["value"] is None else pytest.approx(expected["value"]))
        assert code == {"at or below the smallest": 0, "inside": 1, "beyond the largest": 2}[expected["where"]]
    assert seen == {"at or below the smallest", "inside", "beyond the largest"}


def test_identical_seeds_collapse_the_interval_onto_the_point():
    found = equivalent_size(SIZES, LINE, 3.5)
    interval = equivalent_size_interval(SIZES, baseline(3), [3.5, 3.5, 3.5])
    assert interval["low"] == interval["high"] == {"value": pytest.approx(found["value"]), "where": "inside"}
    assert found["value"] == pytest.approx(2 ** 1.5)


def test_three_seeds_span_every_resample_by_hand():
    """27 resamples, k = floor(27 * 0.025) = 0: the bounds are the smallest and largest resampled value. The
    arm's resampled mean ranges from 2.5 (seed 2 thrice) to 3.5 (seed 0 thrice), so the size from
    2 ** (5 - 3.5) to 2 ** (5 - 2.5)."""
    interval = equivalent_size_interval(SIZES, baseline(3), [3.5, 3.0, 2.5])
    assert interval["low"] == {"value": pytest.approx(2 ** 1.5), "where": "inside"}
    assert interval["high"] == {"value": pytest.approx(2 ** 2.5), "where": "inside"}
    assert interval["resamples"] == 27 and interval["enumerated"] and interval["level"] == 0.95
    assert "paired" in interval["method"]


def test_seed_luck_shared_by_both_sides_cancels_in_the_paired_bootstrap():
    """Seed k adds the same luck to learned at every size and to the arm: every resample shifts both curves
    alike, so the crossing never moves and the interval is the point. Resampling the sides apart would not
    cancel it: the arm's mean alone would then range over 3.5 +- 0.3."""
    luck = [-0.3, 0.0, 0.3]
    interval = equivalent_size_interval(SIZES, baseline(3, luck), [3.5 + d for d in luck])
    assert interval["low"]["value"] == pytest.approx(2 ** 1.5) and interval["high"]["value"] == pytest.approx(2 ** 1.5)
    # the same arm against a learned whose seeds carry no luck: the interval opens to 2 ** (5 - 3.8) .. 2 ** (5 - 3.2)
    unpaired = equivalent_size_interval(SIZES, baseline(3), [3.5 + d for d in luck])
    assert unpaired["low"]["value"] == pytest.approx(2 ** 1.2) and unpaired["high"]["value"] == pytest.approx(2 ** 1.8)


def test_censored_resamples_bound_the_interval_honestly():
    # seed 0 thrice: mean 1.5, below learned everywhere: beyond the largest, so no upper bound
    above = equivalent_size_interval(SIZES, baseline(3), [1.5, 2.5, 3.5])
    assert above["low"] == {"value": pytest.approx(2 ** 1.5), "where": "inside"}
    assert above["high"] == {"value": None, "where": "beyond the largest"}
    # seed 0 thrice: mean 5.5, learned is there at the smallest size: the low end is at most that size
    below = equivalent_size_interval(SIZES, baseline(3), [5.5, 4.5, 3.5])
    assert below["low"] == {"value": 1.0, "where": "at or below the smallest"}
    assert below["high"] == {"value": pytest.approx(2 ** 1.5), "where": "inside"}
    # every resample beyond: so is the whole interval
    beyond = equivalent_size_interval(SIZES, baseline(3), [1.0, 1.5, 1.2])
    assert beyond["low"] == beyond["high"] == {"value": None, "where": "beyond the largest"}


def test_the_upper_end_is_unbounded_only_when_more_than_its_tail_of_resamples_is():
    """10 seeds (2,000 drawn resamples): nine at 3.0 and one odd seed. A resample that draws the odd seed j
    times (binomial, 10 draws of p = 0.1) has mean 3 - j (3 - odd) / 10. j = 0 in 35% of resamples, so the low
    end is 2 ** (5 - 3) = 4 in both cases. At 1.0 the mean reaches below 2 (beyond) only for j >= 6, about
    0.01% of resamples; the 97.5th percentile of j is 3 (P(j <= 2) = 93%, P(j <= 3) = 98.7%), so the high end
    is at mean 2.4: 2 ** 2.6. At -5.0 the mean is beyond from j = 2 on, in 26% of resamples: unbounded."""
    mild = equivalent_size_interval(SIZES, baseline(10), [3.0] * 9 + [1.0])
    assert mild["resamples"] == 2000 and not mild["enumerated"]
    assert mild["low"] == {"value": pytest.approx(4.0), "where": "inside"}
    assert mild["high"] == {"value": pytest.approx(2 ** 2.6), "where": "inside"}
    odd = equivalent_size_interval(SIZES, baseline(10), [3.0] * 9 + [-5.0])
    assert odd["low"] == {"value": pytest.approx(4.0), "where": "inside"}
    assert odd["high"] == {"value": None, "where": "beyond the largest"}


def test_the_exhaustive_bootstrap_and_a_large_drawn_one_agree():
    """Four seeds: the 256 resamples give the exact bootstrap distribution. 40,000 drawn resamples estimate
    each bound's percentile with a standard error of 0.08 percentage points (0.2 of a rank in 256), so their
    bounds lie among the exact distribution's values within 3 ranks of the exact bounds."""
    runs = [[6.1, 5.8, 6.3, 5.9], [5.3, 4.9, 5.4, 5.0], [4.6, 4.2, 4.9, 4.4], [4.1, 3.7, 4.3, 3.8]]
    arm = [4.5, 4.6, 5.3, 4.2]
    exact = equivalent_size_interval([100, 200, 400, 800], runs, arm)
    assert exact["enumerated"] and exact["resamples"] == 256
    rows = resample_indices(4)
    curves, means = np.asarray(runs)[:, rows].mean(axis=2).T, np.asarray(arm)[rows].mean(axis=1)
    values = np.sort(equivalent_sizes([100, 200, 400, 800], curves, means)[0])
    assert np.isfinite(values).all() and values[0] > 100  # inside everywhere: the bounds are plain values
    drawn = np.random.default_rng(3).integers(0, 4, size=(40_000, 4))
    large = equivalent_size_interval([100, 200, 400, 800], runs, arm, indices=drawn)
    # k = floor(256 * 0.025) = 6: the exact bounds are values[6] and values[249]
    assert exact["low"]["value"] == values[6] and exact["high"]["value"] == values[249]
    assert values[3] <= large["low"]["value"] <= values[9]
    assert values[246] <= large["high"]["value"] <= values[252]


def test_the_interval_is_deterministic_and_needs_two_seeds():
    arm = [3.2, 3.6, 2.9, 3.4, 3.1, 3.0]  # 6 ** 6 > 2000: drawn resamples
    first = equivalent_size_interval(SIZES, baseline(6), arm)
    assert not first["enumerated"] and first == equivalent_size_interval(SIZES, baseline(6), arm)
    assert equivalent_size_interval(SIZES, [[x] for x in LINE], [3.5]) is None
    with pytest.raises(ValueError, match="per-seed"):
        equivalent_size_interval(SIZES, baseline(3), [3.5, 3.0])
    with pytest.raises(ValueError, match="level"):
        equivalent_size_interval(SIZES, baseline(3), [3.5, 3.0, 2.5], level=1.0)
