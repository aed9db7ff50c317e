"""study.format: the one number formatter, checked against strings written out by hand."""

import pytest

from study.format import MISSING, difference, equivalent_size, number, p_value, share, signed, size_interval, text
from study.format import format_mean_std as mean_std


def test_missing_is_an_en_dash():
    assert MISSING == "\u2013"


@pytest.mark.parametrize("value, digits, expected", [
    (0.12345, 4, "0.1235"), (3.0, 4, "3.0000"), (-0.00004, 4, "-0.0000"), (12.25, 1, "12.2"), (12.35, 1, "12.3"),
    (2.0, 0, "2"), (1234.5678, 2, "1234.57"), (None, 4, MISSING),
])
def test_number(value, digits, expected):
    assert number(value, digits) == expected


def test_number_defaults_to_four_digits():
    assert number(1 / 3) == "0.3333"


@pytest.mark.parametrize("value, expected", [
    (0.012, "+0.0120"), (-0.0031, "-0.0031"), (0.0, "+0.0000"), (1.5, "+1.5000"), (None, MISSING),
])
def test_signed(value, expected):
    assert signed(value) == expected


def test_signed_digits():
    assert signed(0.25, 1) == "+0.2" and signed(-2.0, 0) == "-2"


def test_mean_std():
    assert mean_std({"mean": 3.14159, "std": 0.01234}) == "3.1416 ± 0.0123"
    assert mean_std({"mean": 3.14159, "std": None}) == "3.1416"  # one seed: no std
    assert mean_std({"mean": 3.14159}) == "3.1416"
    assert mean_std({"mean": 2.0, "std": 0.5, "per_seed": [1.5, 2.5]}, 1) == "2.0 ± 0.5"


def test_difference():
    diff = {"mean": 0.1234, "ci_low": -0.01, "ci_high": 0.25}
    assert difference(diff) == "+0.1234 [-0.0100, +0.2500]"  # the module docstring's example
    assert difference({"mean": -0.05, "ci_low": -0.08, "ci_high": -0.02}, 2) == "-0.05 [-0.08, -0.02]"
    assert difference({"mean": -0.05, "ci_low": None, "ci_high": None}) == "-0.0500"  # one seed: no interval
    assert difference({"mean": 0.5}) == "+0.5000"
    assert difference(None) == "baseline"


def test_p_value():
    diff = {"p_value": 0.01234, "p_value_holm": 0.0456, "p_value_equivalence_holm": 0.9}
    assert p_value(diff) == "0.046"  # Holm-adjusted by default, three decimals
    assert p_value(diff, "p_value") == "0.012"
    assert p_value(diff, "p_value_equivalence_holm") == "0.900"
    assert p_value({"p_value_holm": None}) == MISSING
    assert p_value({}) == MISSING
    assert p_value(None) == MISSING


def test_text():
    assert text("better") == "better"
    assert text(3) == "3"
    assert text(None) == MISSING


@pytest.mark.parametrize("ratio, expected", [
    (0.0, "0.0%"), (1.0, "100.0%"), (0.5, "50.0%"), (0.1234, "12.3%"),
    (0.00001, "0.1%"),  # a partial share never reads 0%
    (0.99999, "99.9%"),  # nor 100%
    (0.0004, "0.1%"), (0.9996, "99.9%"),
])
def test_share(ratio, expected):
    assert share(ratio) == expected


def test_equivalent_size():
    assert equivalent_size({"value": 1_340_000.4, "where": "inside"}) == "1,340,000 tokens"
    assert equivalent_size({"value": 400_000.0, "where": "at or below the smallest"}) == "≤ 400,000 tokens"
    assert equivalent_size({"value": None, "where": "beyond the largest"}) == "beyond the largest"
    assert equivalent_size({"value": 2_500.6, "where": "inside"}, "documents") == "2,501 documents"
    assert equivalent_size({"value": 0.25 * 1e6, "where": "inside"}, "") == "250,000"  # no trailing space
    assert equivalent_size(None) == MISSING


INSIDE, SMALLEST, BEYOND = "inside", "at or below the smallest", "beyond the largest"


def interval(low, low_where, high, high_where, level=0.95):
    return {"low": {"value": low, "where": low_where}, "high": {"value": high, "where": high_where},
            "level": level}


def test_size_interval_of_every_censoring():
    assert size_interval(interval(1_100_000.4, INSIDE, 1_800_000.0, INSIDE)) == "95% CI 1,100,000 to 1,800,000"
    assert size_interval(interval(1e6, INSIDE, None, BEYOND)) == "95% CI ≥ 1,000,000"  # unbounded above
    assert size_interval(interval(4e5, SMALLEST, 9e5, INSIDE)) == "95% CI ≤ 400,000 to 900,000"
    assert size_interval(interval(4e5, SMALLEST, None, BEYOND)) == "95% CI ≤ 400,000 to beyond the largest"
    assert size_interval(interval(4e5, SMALLEST, 4e5, SMALLEST)) == "95% CI ≤ 400,000"
    assert size_interval(interval(None, BEYOND, None, BEYOND)) == "95% CI beyond the largest"
    assert size_interval(interval(2.0, INSIDE, 3.0, INSIDE, level=0.9)) == "90% CI 2 to 3"
    assert size_interval(None) == ""  # one seed: nothing to show


def test_size_interval_writes_each_end_as_asked():
    ratio = {"low": {"value": 0.3, "where": INSIDE, "ratio": 1.2}, "high": {"value": None, "where": BEYOND,
                                                                           "ratio": None}, "level": 0.95}
    assert size_interval(ratio, lambda bound: f"{bound['ratio']:.2f}x") == "95% CI ≥ 1.20x"
