"""The bench's timing rules on a fake clock: systems called in turn, medians with their spread, and why
interleaving is the rule (a machine that slows down during the bench)."""

from __future__ import annotations

import pytest

from bench.timing import interleave, ratio, spread


class DriftingClock:
    """A machine that gets slower with every call: a call of ``work`` units takes ``work x (1 + drift x
    calls so far)`` seconds, as when another job starts on a shared machine."""

    def __init__(self, drift: float):
        self.drift, self.calls = drift, 0

    def run(self, work: float) -> float:
        seconds = work * (1.0 + self.drift * self.calls)
        self.calls += 1
        return seconds


def test_systems_are_called_in_turn_round_after_round():
    calls = []
    measured = interleave({"ours": lambda i: calls.append(("ours", i)) or i,
                           "peer": lambda i: calls.append(("peer", i)) or 10 * i}, repeats=3)
    assert calls == [("ours", 0), ("peer", 0), ("ours", 1), ("peer", 1), ("ours", 2), ("peer", 2)]
    assert measured == {"ours": [0, 1, 2], "peer": [0, 10, 20]}
    with pytest.raises(ValueError):
        interleave({"ours": lambda i: 1.0}, repeats=0)


def test_the_spread_is_the_median_min_and_max_of_every_timing_kept_in_order():
    assert spread([3.0, 1.0, 2.0, 10.0, 2.5]) == {"median": 2.5, "min": 1.0, "max": 10.0,
                                                   "values": [3.0, 1.0, 2.0, 10.0, 2.5]}
    assert spread([4, 2])["median"] == 3.0  # an even count: the mean of the middle two
    with pytest.raises(ValueError):
        spread([])


def test_the_ratio_is_of_the_medians_and_favours_the_faster_system_in_any_unit():
    fast, slow = spread([100.0, 300.0, 200.0]), spread([50.0, 100.0, 75.0])
    assert ratio(fast, slow, "words/s") == 200.0 / 75.0
    assert ratio(spread([2.0]), spread([6.0]), "s") == 3.0  # 2 s against 6 s: three times as fast
    assert ratio(fast, None, "words/s") is None


def test_interleaving_keeps_a_drifting_machine_from_favouring_the_system_timed_first():
    # two systems of equal speed (1 unit of work a call) on a machine 5% slower after each call
    clock = DriftingClock(0.05)
    turns = interleave({"ours": lambda _: 1.0 / clock.run(1.0), "peer": lambda _: 1.0 / clock.run(1.0)}, 5)
    interleaved = ratio(spread(turns["ours"]), spread(turns["peer"]), "calls/s")
    clock = DriftingClock(0.05)  # the same, ours timed five times before the peer's five
    ours = [1.0 / clock.run(1.0) for _ in range(5)]
    peer = [1.0 / clock.run(1.0) for _ in range(5)]
    blocked = ratio(spread(ours), spread(peer), "calls/s")
    # in turn, ours are calls 0, 2, .. 8 and the peer's 1, 3, .. 9: median seconds 1 + 0.05 x 4 against
    # 1 + 0.05 x 5, a 4% bias left
    assert interleaved == pytest.approx(1.25 / 1.20)
    # in blocks, ours are calls 0-4 and the peer's 5-9: medians 1.10 against 1.35 s, a 1.23x "speed-up"
    # made by the drift alone
    assert blocked == pytest.approx(1.35 / 1.10)
    assert abs(interleaved - 1.0) < abs(blocked - 1.0) / 4
