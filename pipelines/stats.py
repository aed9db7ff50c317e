"""The statistics of the comparison: paired differences with t-intervals, verdicts, curve crossings.

Seeds pair the runs: for one seed every variant sees the same batches and the same init of every weight
but the token embedding, so the per-seed difference from the baseline removes the seed's own luck.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no difference found at this budget"


@dataclass(frozen=True)
class PairedDifference:
    """variant minus baseline, per seed, summarised: lower loss is better, so a negative mean helps."""

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def paired_difference(variant: list[float], baseline: list[float], confidence: float = 0.95) -> PairedDifference:
    """Mean of ``variant - baseline`` over paired seeds with its two-sided t-interval and verdict.

    The verdict is "better" when the whole interval lies below zero, "worse" when above, and otherwise
    "no difference found at this budget" (also with a single seed, where no interval exists).
    """
    from scipy import stats

    if len(variant) != len(baseline) or not variant:
        raise ValueError("paired difference needs the same, non-zero number of seeds on both sides")
    diffs = np.asarray(variant, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    n, mean = len(diffs), float(diffs.mean())
    if n < 2:
        return PairedDifference(n, mean, None, None, None, None, NO_DIFFERENCE)
    std = float(diffs.std(ddof=1))
    if std == 0.0:
        # Identical differences on every seed: the interval collapses onto the mean.
        low = high = mean
        p_value = 0.0 if mean != 0.0 else 1.0
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * std / math.sqrt(n)
        low, high = mean - half, mean + half
        p_value = float(stats.ttest_rel(variant, baseline).pvalue)
    verdict = BETTER if high < 0 else WORSE if low > 0 else NO_DIFFERENCE
    return PairedDifference(n, mean, std, low, high, p_value, verdict)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN std for one value)."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else float("nan")


def tokens_to_reach(tokens: list[float], losses: list[float], target: float) -> float | None:
    """Training tokens at which a val-loss curve first reaches ``target`` (linear between evaluations);
    None when it never does."""
    for i, loss in enumerate(losses):
        if loss <= target:
            if i == 0:
                return float(tokens[0])
            t0, t1, l0, l1 = tokens[i - 1], tokens[i], losses[i - 1], loss
            return float(t0 + (t1 - t0) * (l0 - target) / (l0 - l1))
    return None
