"""The statistics of the comparison: paired differences with t-intervals, Holm-adjusted verdicts, curve
crossings.

Seeds pair the runs: for one seed every variant sees the same batches, the same init of every weight but
the token embedding, and tables pretrained with that seed, so the per-seed difference from the baseline
removes the luck the variants share and keeps the tables' own. Several variants are tested against one
baseline, so each study's p-values are adjusted together (Holm 1979) and the verdicts use the adjusted ones.
"No difference found" is not "equal": each difference is also tested for equivalence within a margin (two
one-sided tests), so a verdict is better, worse, equivalent (a difference as large as the margin is ruled
out) or inconclusive (neither).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

BETTER, WORSE, EQUIVALENT, INCONCLUSIVE = "better", "worse", "equivalent", "inconclusive"
ALPHA = 0.05  # family-wise error rate of a study's verdicts
DEFAULT_MARGIN = 0.02  # nats/token: a change of 2% in perplexity (exp(0.02) = 1.020) counts as no change


@dataclass(frozen=True)
class PairedDifference:
    """variant minus baseline, per seed, summarised: lower loss is better, so a negative mean helps.

    ``p_value`` tests "no difference" (two-sided paired t-test); ``p_value_equivalence`` tests "the difference
    is at least ``margin`` away from 0" (two one-sided t-tests, TOST: the larger of the two one-sided
    p-values), so a small one says the data rule out any difference as large as the margin."""

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str
    p_value_holm: float | None = None  # set by holm(): adjusted across the comparisons of the study
    margin: float | None = None
    p_value_equivalence: float | None = None
    p_value_equivalence_holm: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def decide(p_difference: float | None, p_equivalence: float | None, mean: float, alpha: float = ALPHA) -> str:
    """The verdict of one comparison from its (adjusted) p-values: better or worse (by the sign of the mean)
    when a difference is shown, else equivalent when a difference as large as the margin is ruled out, else
    inconclusive."""
    if p_difference is not None and p_difference < alpha and mean != 0.0:
        return BETTER if mean < 0 else WORSE
    if p_equivalence is not None and p_equivalence < alpha:
        return EQUIVALENT
    return INCONCLUSIVE


def paired_difference(variant: list[float], baseline: list[float], confidence: float = 0.95,
                      margin: float | None = DEFAULT_MARGIN) -> PairedDifference:
    """Mean of ``variant - baseline`` over paired seeds with its two-sided t-interval, its p-values (no
    difference; equivalence within ``margin``) and the unadjusted verdict (:func:`decide`; a single seed
    gives no interval and is inconclusive). A study of several comparisons replaces the verdict by the
    Holm-adjusted one of :func:`holm`."""
    from scipy import stats

    if len(variant) != len(baseline) or not variant:
        raise ValueError("paired difference needs the same, non-zero number of seeds on both sides")
    if margin is not None and not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, got {margin}")
    diffs = np.asarray(variant, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    n, mean = len(diffs), float(diffs.mean())
    if n < 2:
        return PairedDifference(n, mean, None, None, None, None, INCONCLUSIVE, margin=margin)
    std = float(diffs.std(ddof=1))
    if std == 0.0:
        # Identical differences on every seed: the interval collapses onto the mean.
        low = high = mean
        p_value = 0.0 if mean != 0.0 else 1.0
        p_equivalence = None if margin is None else (0.0 if abs(mean) < margin else 1.0)
    else:
        se = std / math.sqrt(n)
        half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * se
        low, high = mean - half, mean + half
        p_value = float(stats.ttest_rel(variant, baseline).pvalue)
        p_equivalence = None if margin is None else float(max(
            stats.t.sf((mean + margin) / se, df=n - 1),    # H0: difference <= -margin
            stats.t.cdf((mean - margin) / se, df=n - 1)))  # H0: difference >= +margin
    return PairedDifference(n, mean, std, low, high, p_value, decide(p_value, p_equivalence, mean), margin=margin,
                            p_value_equivalence=p_equivalence)


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
    """The differences of one study with ``p_value_holm`` and ``p_value_equivalence_holm`` set (each family
    of tests adjusted together, Holm 1979) and the verdicts decided by the adjusted p-values (:func:`decide`)."""
    names = list(differences)
    adjusted = holm_adjust([differences[n].p_value for n in names])
    equivalence = holm_adjust([differences[n].p_value_equivalence for n in names])
    out = {}
    for name, p_holm, p_eq in zip(names, adjusted, equivalence):
        diff = differences[name]
        out[name] = replace(diff, p_value_holm=p_holm, p_value_equivalence_holm=p_eq,
                            verdict=decide(p_holm, p_eq, diff.mean, alpha))
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


def equivalent_size(sizes: list[float], baseline_losses: list[float], loss: float) -> dict:
    """Where the baseline's loss, measured at ascending ``sizes`` (token budgets, data fractions), comes down
    to ``loss``: ``{"value", "where"}``, where "inside" gives the size, interpolated linearly in log(size)
    between the two sizes around the first crossing; "beyond the largest" when ``loss`` is below the
    baseline at every size (the arm is worth more than the largest size); "at or below the smallest" when
    the baseline is already at or below ``loss`` at the smallest size (value: that size, as an upper bound)."""
    if len(sizes) != len(baseline_losses) or not sizes:
        raise ValueError("one baseline loss per size, at least one size")
    if baseline_losses[0] <= loss:
        return {"value": float(sizes[0]), "where": "at or below the smallest"}
    for i in range(1, len(sizes)):
        if baseline_losses[i] <= loss:
            l0, l1 = baseline_losses[i - 1], baseline_losses[i]
            t = (l0 - loss) / (l0 - l1)
            return {"value": float(math.exp(math.log(sizes[i - 1]) + t * (math.log(sizes[i]) - math.log(sizes[i - 1])))),
                    "where": "inside"}
    return {"value": None, "where": "beyond the largest"}
