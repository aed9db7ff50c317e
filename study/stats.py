"""The statistics of the comparison: paired differences with t-intervals, Holm-adjusted verdicts, curve
crossings.

Seeds pair the runs: for one seed every variant sees the same batches, the same init of every weight but
the token embedding, and tables pretrained with that seed, so the per-seed difference from the baseline
removes the luck the variants share and keeps the tables' own. Several variants are tested against one
baseline, so each study's p-values are adjusted together (Holm 1979) and the verdicts use the adjusted ones.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no difference found at this budget"
ALPHA = 0.05  # family-wise error rate of a study's verdicts


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
    p_value_holm: float | None = None  # set by holm(): adjusted across the variants of the study

    def to_dict(self) -> dict:
        return asdict(self)


def paired_difference(variant: list[float], baseline: list[float], confidence: float = 0.95) -> PairedDifference:
    """Mean of ``variant - baseline`` over paired seeds with its two-sided t-interval and unadjusted verdict.

    The verdict is "better" when the whole interval lies below zero, "worse" when above, and otherwise
    "no difference found at this budget" (also with a single seed, where no interval exists). A study of
    several variants replaces it by the Holm-adjusted verdict of :func:`holm`.
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


def holm_adjust(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and is not counted in the family).

    Sorted ascending, the i-th smallest of m p-values becomes ``max_{j <= i} min(1, (m - j + 1) p_(j))``.
    """
    present = [(p, i) for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    m, running = len(present), 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def holm(differences: dict[str, PairedDifference], alpha: float = ALPHA) -> dict[str, PairedDifference]:
    """The differences of one study with ``p_value_holm`` set and the verdicts decided by it: "better" or
    "worse" (by the sign of the mean) when the adjusted p-value is below ``alpha``, else no difference."""
    names = list(differences)
    adjusted = holm_adjust([differences[n].p_value for n in names])
    out = {}
    for name, p_holm in zip(names, adjusted):
        diff = differences[name]
        significant = p_holm is not None and p_holm < alpha and diff.mean != 0.0
        verdict = (BETTER if diff.mean < 0 else WORSE) if significant else NO_DIFFERENCE
        out[name] = replace(diff, p_value_holm=p_holm, verdict=verdict)
    return out


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
