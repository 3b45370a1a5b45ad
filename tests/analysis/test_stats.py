"""Grouped means and standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shotbook.analysis import mean_sem_by


def test_hand_computed_means_and_sems() -> None:
    x = [0.5, 0.1, 0.5, 0.1, 0.5, 0.3]
    y = [2.0, 10.0, 4.0, 14.0, 9.0, 7.0]
    xs, mean, sem, count = mean_sem_by(x, y)
    np.testing.assert_array_equal(xs, [0.1, 0.3, 0.5])
    np.testing.assert_allclose(mean, [12.0, 7.0, 5.0])
    # x = 0.1: values 10, 14: std(ddof=1) = 2√2, SEM = 2√2/√2 = 2.
    # x = 0.5: values 2, 4, 9: deviations -3, -1, 4 → variance 26/2 = 13, SEM = √(13/3).
    assert sem[0] == pytest.approx(2.0)
    assert math.isnan(sem[1])  # a single shot has no SEM
    assert sem[2] == pytest.approx(math.sqrt(13 / 3))
    np.testing.assert_array_equal(count, [2, 1, 3])
    assert count.dtype == np.int64


def test_nans_in_y_are_ignored() -> None:
    x = np.array([1, 1, 1, 2, 2, 3])
    y = np.array([1.0, np.nan, 3.0, np.nan, 5.0, np.nan])
    xs, mean, sem, count = mean_sem_by(x, y)
    np.testing.assert_array_equal(xs, [1, 2, 3])
    assert xs.dtype == x.dtype
    assert mean[0] == pytest.approx(2.0)
    assert sem[0] == pytest.approx(1.0)  # values 1, 3: std √2, SEM 1
    assert mean[1] == 5.0
    assert math.isnan(sem[1])
    assert math.isnan(mean[2])  # every y is NaN: listed, with count 0
    assert math.isnan(sem[2])
    np.testing.assert_array_equal(count, [2, 1, 0])


def test_matches_numpy_per_group_on_random_data() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(0, 6, size=300).astype(np.float64) * 0.25
    y = rng.normal(3.0, 2.0, size=300)
    xs, mean, sem, count = mean_sem_by(x, y)
    for index, value in enumerate(xs):
        group = y[x == value]
        assert count[index] == group.size
        assert mean[index] == pytest.approx(group.mean())
        assert sem[index] == pytest.approx(group.std(ddof=1) / math.sqrt(group.size))


def test_empty_input_gives_empty_arrays() -> None:
    xs, mean, sem, count = mean_sem_by([], [])
    assert xs.size == mean.size == sem.size == count.size == 0


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1, 2, 3], [1.0, 2.0], "x has 3 values but y has 2"),
        ([[1, 2]], [[1.0, 2.0]], "needs 1-D x and y"),
        ([1.0, float("nan")], [1.0, 2.0], r"x holds NaN or inf at indices \[1\]"),
    ],
)
def test_bad_input_raises_clear_errors(x: list[float], y: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mean_sem_by(x, y)
