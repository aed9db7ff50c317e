"""One way to print a number: every table of every summary, the report and the eval command use these, so
a value that is missing looks the same everywhere and a difference always reads ``+0.1234 [-0.0100, +0.2500]``."""

from __future__ import annotations

MISSING = "–"  # a value that does not exist (one seed has no interval; the baseline has no difference)


def number(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals, or :data:`MISSING`."""
    return MISSING if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 4) -> str:
    """A difference with its sign always shown (``+0.0120``, ``-0.0031``), or :data:`MISSING`."""
    return MISSING if value is None else f"{value:+.{digits}f}"


def format_mean_std(stat: dict, digits: int = 4) -> str:
    """``mean ± std`` of a ``{"mean", "std"}`` statistic (the std left out when there is none)."""
    return number(stat["mean"], digits) + ("" if stat.get("std") is None else f" ± {stat['std']:.{digits}f}")


def difference(diff: dict | None, digits: int = 4) -> str:
    """A paired difference with its interval, ``+m [+low, +high]``; ``baseline`` for the baseline itself, the
    mean alone when there is no interval (a single seed)."""
    if diff is None:
        return "baseline"
    if diff.get("ci_low") is None:
        return signed(diff["mean"], digits)
    return f"{signed(diff['mean'], digits)} [{signed(diff['ci_low'], digits)}, {signed(diff['ci_high'], digits)}]"


def p_value(diff: dict | None, key: str = "p_value_holm") -> str:
    """A difference's (Holm-adjusted) p-value with 3 decimals, or :data:`MISSING`."""
    return number(None if diff is None else diff.get(key), 3)


def text(value) -> str:
    """A word that may be missing (a verdict, a name)."""
    return MISSING if value is None else str(value)


def share(ratio: float) -> str:
    """A share as a percentage that never rounds a partial share to 0% or 100%."""
    if 0 < ratio < 1:
        ratio = min(max(ratio, 0.001), 0.999)
    return f"{ratio:.1%}"


def equivalent_size(found: dict | None, unit: str = "tokens") -> str:
    """Where the baseline matches an arm (:func:`study.stats.equivalent_size`): ``1,340,000 tokens``,
    ``≤ 400,000 tokens`` or ``beyond the largest``."""
    if found is None:
        return MISSING
    if found["where"] == "beyond the largest":
        return "beyond the largest"
    prefix = "≤ " if found["where"] == "at or below the smallest" else ""
    return f"{prefix}{found['value']:,.0f} {unit}".rstrip()


def _bound(bound: dict, show) -> str:
    """One end of an equivalent size's interval: ``show(bound)``, ``≤ ...`` when it is at or below the
    smallest size, or ``beyond the largest``."""
    if bound["where"] == "beyond the largest":
        return "beyond the largest"
    return ("≤ " if bound["where"] == "at or below the smallest" else "") + show(bound)


def size_interval(interval: dict | None, show=lambda bound: f"{bound['value']:,.0f}") -> str:
    """An equivalent size's bootstrap interval (:func:`study.stats.equivalent_size_interval`) as
    ``95% CI 1,100,000 to 1,800,000``, each end written by ``show`` (given the bound's dict); ``95% CI ≥ a``
    when the upper end is beyond the largest size (unbounded), ``95% CI ≤ a`` when both ends are at or below
    the smallest, ``95% CI beyond the largest`` when both are beyond; empty without an interval (one seed)."""
    if interval is None:
        return ""
    label = f"{interval['level']:.0%} CI"
    low, high = interval["low"], interval["high"]
    if low["where"] == "beyond the largest":  # so is the upper end
        return f"{label} beyond the largest"
    if high["where"] == "at or below the smallest":  # so is the lower end
        return f"{label} {_bound(high, show)}"
    if high["where"] == "beyond the largest":
        if low["where"] == "inside":
            return f"{label} ≥ {show(low)}"
        return f"{label} {_bound(low, show)} to beyond the largest"
    return f"{label} {_bound(low, show)} to {show(high)}"


def device(name: str, precision: str) -> str:
    """Where a study ran, as its summary says it: the device, and the precision where it is not fp32
    (``cpu``, ``cpu, bf16 matrix products``)."""
    return name if precision == "fp32" else f"{name}, {precision} matrix products"
