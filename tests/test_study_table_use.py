"""What the GPT did with its table: row drift by frequency band and the 2D map, on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from study.table_use import BANDS, map_points, row_drift


def test_row_drift_by_band_hand_worked():
    start = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 4.0], [1.0, 1.0]])
    final = np.array([[5.0, 0.0],    # same direction, longer: 1
                      [0.0, 1.0],    # orthogonal: 0
                      [0.0, -1.0],   # opposite: -1
                      [4.0, 3.0],    # cos = 24/25
                      [7.0, 7.0]])   # left out below
    counts = np.array([5000, 1500, 50, 3, 2000])
    rows = np.array([True, True, True, True, False])
    drift = row_drift(start, final, rows, counts)
    assert list(drift) == [label for _, _, label in BANDS]
    assert drift["1000+"] == (pytest.approx(0.5), 2)  # (1 + 0) / 2; the fifth row is not counted
    assert drift["100-999"] == (None, 0)
    assert drift["10-99"] == (pytest.approx(-1.0), 1)
    assert drift["under 10"] == (pytest.approx(0.96), 1)


def test_row_drift_of_a_zero_row_is_zero_not_nan():
    drift = row_drift(np.zeros((1, 3)), np.ones((1, 3)), np.array([True]), np.array([10_000]))
    assert drift["1000+"] == (0.0, 1)


class _Aligned:
    def __init__(self, matrix):
        self.matrix = matrix


def test_map_points_are_the_principal_components_and_follow_the_rows():
    rng = np.random.default_rng(0)
    # a cloud stretched along two known directions of a 6-dim space
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    cloud = rng.normal(size=(40, 3)) * np.array([10.0, 3.0, 0.1])
    table = (cloud @ basis[:, :3].T + 5.0).astype(np.float32)
    ids = list(range(0, 40, 2))
    points = map_points(_Aligned(table), table, ids)
    # reference: the two leading eigenvectors of the covariance of the chosen rows
    chosen = table[ids].astype(np.float64)
    values, vectors = np.linalg.eigh(np.cov(chosen.T))
    reference = (chosen - chosen.mean(axis=0)) @ vectors[:, ::-1][:, :2]
    ours = np.asarray(points["table"])
    for k in range(2):  # equal up to the sign of each axis
        sign = np.sign(ours[:, k] @ reference[:, k])
        assert np.allclose(ours[:, k], sign * reference[:, k], atol=1e-3)
    assert np.allclose(points["trained"], points["table"])  # unchanged rows stay in place
    moved = map_points(_Aligned(table), 2.0 * table + 1.0, ids)  # scaled and shifted: same picture, twice the size
    assert np.allclose(moved["trained"], 2.0 * np.asarray(points["table"]), atol=1e-3)
