"""The statistics of the comparison: paired differences with t-intervals, Holm-adjusted verdicts, curve
crossings, and where a baseline's curve reaches an arm's loss (an equivalent size) with a bootstrap interval
over seeds.

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


def mean_interval(values: list[float], confidence: float = 0.95) -> dict:
    """``{"n", "mean", "ci_low", "ci_high"}``: the mean over seeds with its two-sided t-interval (None bounds
    for a single value)."""
    from scipy import stats

    array = np.asarray(values, dtype=np.float64)
    n, mean = len(array), float(array.mean())
    if n < 2:
        return {"n": n, "mean": mean, "ci_low": None, "ci_high": None}
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * float(array.std(ddof=1)) / math.sqrt(n)
    return {"n": n, "mean": mean, "ci_low": mean - half, "ci_high": mean + half}


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


BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_METHOD = ("percentile bootstrap over seeds, paired: each resample draws seeds with replacement and uses "
                    "them for the baseline at every size and for the arm (every resample of the seeds when there "
                    "are at most as many as the resamples asked for)")


def resample_indices(seeds: int, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> np.ndarray:
    """The seed indices of each bootstrap resample, one row each (``seeds`` columns).

    When ``seeds ** seeds`` is at most ``resamples`` every resample is listed once (3 seeds: all 27), which is
    the exact bootstrap distribution, each row equally likely, with no Monte Carlo noise; else ``resamples``
    rows drawn with replacement by ``numpy.random.default_rng(seed)``, so a summary is the same every time."""
    if seeds < 1 or resamples < 1:
        raise ValueError(f"need at least one seed and one resample, got {seeds} and {resamples}")
    if seeds ** seeds <= resamples:
        # Row r is r written in base `seeds`: every tuple of seed indices exactly once.
        digits = np.arange(seeds ** seeds)[:, None] // seeds ** np.arange(seeds)[None, ::-1]
        return digits % seeds
    return np.random.default_rng(seed).integers(0, seeds, size=(resamples, seeds))


# Where a resample's equivalent size falls, ordered as its value is: at or below the smallest size (value: that
# size, an upper bound), inside (interpolated), beyond the largest (no value: +inf).
_SMALLEST, _INSIDE, _BEYOND = 0, 1, 2
_WHERE = {_SMALLEST: "at or below the smallest", _INSIDE: "inside", _BEYOND: "beyond the largest"}


def equivalent_sizes(sizes: list[float], baseline_means: np.ndarray,
                     losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`equivalent_size` of many curves at once: row r of ``baseline_means`` (one column per ascending
    size) against ``losses[r]``. Returns the values (the smallest size when at or below it, +inf beyond the
    largest) and where each falls (``_SMALLEST``, ``_INSIDE``, ``_BEYOND``)."""
    curves, losses = np.asarray(baseline_means, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    log_sizes = np.log(np.asarray(sizes, dtype=np.float64))
    reached = curves <= losses[:, None]
    # The first size at which the curve has come down to the loss; len(sizes) when it never does.
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), len(sizes))
    values = np.full(len(losses), np.inf)
    where = np.full(len(losses), _BEYOND)
    values[first == 0], where[first == 0] = float(sizes[0]), _SMALLEST
    rows = np.nonzero((first > 0) & (first < len(sizes)))[0]
    i = first[rows]
    l0, l1 = curves[rows, i - 1], curves[rows, i]
    t = (l0 - losses[rows]) / (l0 - l1)  # l0 > loss >= l1, so no division by zero
    values[rows] = np.exp(log_sizes[i - 1] + t * (log_sizes[i] - log_sizes[i - 1]))
    where[rows] = _INSIDE
    return values, where


def _bound(value: float, where: int) -> dict:
    return {"value": None if where == _BEYOND else float(value), "where": _WHERE[int(where)]}


def equivalent_size_interval(sizes: list[float], baseline_runs: list[list[float]], arm_runs: list[float],
                             level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
                             indices: np.ndarray | None = None) -> dict | None:
    """A ``level`` interval of :func:`equivalent_size` by a bootstrap over seeds; None with one seed.

    ``baseline_runs[i]``: the baseline's loss per seed at ``sizes[i]`` (ascending), ``arm_runs``: the arm's
    per seed, all in the same seed order. The runs are paired by seed (a seed gives every run the same
    batches, init and data), so a resample draws seed indices once and uses them for every size of the baseline
    and for the arm: luck that a seed brings to both sides stays paired, as in the point estimate. Each
    resample's means give an equivalent size (+inf beyond the largest size; the smallest size when the
    baseline is already there); the bounds are the k-th smallest and k-th largest of the R resampled values,
    k = floor(R (1 - level) / 2), so at least ``level`` of the resamples lie within them.

    Returns ``{"low", "high", "level", "resamples", "enumerated", "method"}`` (``enumerated``: every resample
    was listed, the exact bootstrap), each bound ``{"value", "where"}`` as
    :func:`equivalent_size` gives it: a low bound "at or below the smallest" means the interval reaches
    down past the smallest size (value: that size, an upper bound of the end); a high bound "beyond the
    largest" (value None) means the interval is unbounded above within the swept sizes. ``indices`` (rows
    of seed indices) replaces :func:`resample_indices`, for tests."""
    baseline = np.asarray(baseline_runs, dtype=np.float64)
    arm = np.asarray(arm_runs, dtype=np.float64)
    if baseline.ndim != 2 or baseline.shape[0] != len(sizes) or baseline.shape[1] != arm.shape[0] or arm.ndim != 1:
        raise ValueError("one row of per-seed baseline losses per size, each as long as the arm's per-seed losses")
    if not 0 < level < 1:
        raise ValueError(f"the level must lie between 0 and 1, got {level}")
    if arm.shape[0] < 2:
        return None  # one seed: nothing to resample
    rows = resample_indices(arm.shape[0], resamples, seed) if indices is None else np.asarray(indices)
    enumerated = indices is None and arm.shape[0] ** arm.shape[0] <= resamples
    values, where = equivalent_sizes(sizes, baseline[:, rows].mean(axis=2).T, arm[rows].mean(axis=1))
    order = np.argsort(values, kind="stable")  # +inf (beyond) sorts last, the smallest size first
    # The epsilon keeps a product that rounding left a hair under an integer from flooring one lower.
    k = math.floor(len(rows) * (1 - level) / 2 + 1e-9)
    low, high = order[k], order[len(rows) - 1 - k]
    return {"low": _bound(values[low], where[low]), "high": _bound(values[high], where[high]),
            "level": level, "resamples": len(rows), "enumerated": enumerated, "method": BOOTSTRAP_METHOD}
