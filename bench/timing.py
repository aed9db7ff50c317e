"""Figures that hold from run to run on a shared machine: every timing repeated, ours and the peer
interleaved, a median with its spread.

One timing on a shared 2-core machine is not a figure: the same skip-gram run measured 1.08x and 2.10x
gensim ten minutes apart. So :func:`interleave` calls the systems in turn, round after round (ours, peer,
ours, peer, ...), so that a drift of the machine's speed hits every system alike, and :func:`spread` keeps
every timing with its median, min and max. A ratio is a ratio of medians (:func:`ratio`). Compile and
warm-up time (numba's kernels, the first steps of a GPT) is measured apart by the caller, before the
rounds, and never enters a rate.
"""

from __future__ import annotations

import statistics
from typing import Callable

MIN_REPEATS = 5  # what make bench uses unless told otherwise


def interleave(systems: dict[str, Callable[[int], object]], repeats: int,
               log: Callable[[str], None] | None = None) -> dict[str, list]:
    """Call every system once per round, in the order given, for ``repeats`` rounds: ``{name: [what each
    call returned, in order]}``. A system is called with the round's index (0-based)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    measured: dict[str, list] = {name: [] for name in systems}
    for round_ in range(repeats):
        for name, measure in systems.items():
            measured[name].append(measure(round_))
        if log is not None:
            log(f"  round {round_ + 1}/{repeats}: " + ", ".join(
                f"{name} {_short(values[-1])}" for name, values in measured.items()))
    return measured


def _short(value) -> str:
    """A timing as the round's line shows it: a number, or a dict's first ``*_per_second`` figure."""
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if k.endswith("per_second") and isinstance(v, (int, float))),
                     None)
    return f"{value:,.0f}/s" if isinstance(value, (int, float)) and value >= 100 else \
        (f"{value:.3g}" if isinstance(value, (int, float)) else "done")


def spread(values) -> dict:
    """``{"median", "min", "max", "values"}`` of a list of timings (every one kept, in measured order)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("no timings")
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "values": values}


def ratio(ours: dict, peer: dict | None, unit: str) -> float | None:
    """Ours over the peer as a ratio of medians (the peer's over ours for seconds, where less is better);
    None without a peer."""
    if peer is None:
        return None
    return peer["median"] / ours["median"] if unit == "s" else ours["median"] / peer["median"]
