"""group_stats on polars frames agrees with the numpy mean_sem_by."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotbook.analysis import group_stats, mean_sem_by

values = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.just(math.nan),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=-3, max_value=3), values), min_size=1, max_size=40))
def test_group_stats_agrees_with_mean_sem_by(rows: list[tuple[int, float]]) -> None:
    x = np.array([key for key, _ in rows])
    y = np.array([value for _, value in rows])
    keys, mean, sem, count = mean_sem_by(x, y)
    frame = pl.DataFrame({"wait_time": x, "analysis.n": y})
    result = group_stats(frame, "wait_time", "analysis.n")
    assert result.columns == ["wait_time", "mean", "sem", "count"]
    assert result.schema["count"] == pl.Int64
    assert result.get_column("wait_time").to_list() == keys.tolist()
    assert result.get_column("count").to_list() == count.tolist()
    np.testing.assert_allclose(result.get_column("mean").to_numpy(), mean, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(result.get_column("sem").to_numpy(), sem, rtol=1e-6, atol=1e-6)


def test_documented_example_and_lazy_frames() -> None:
    frame = pl.DataFrame({"x": [1, 2, 1, 2, 3], "y": [1.0, 10.0, 3.0, 14.0, 5.0]})
    lazy = group_stats(frame.lazy(), "x", "y")
    assert isinstance(lazy, pl.LazyFrame)
    result = lazy.collect()
    assert result.get_column("mean").to_list() == [2.0, 12.0, 5.0]
    assert result.get_column("sem").to_list()[:2] == [1.0, 2.0]
    assert math.isnan(result.get_column("sem").to_list()[2])


def test_several_keys_nulls_and_all_nan_groups() -> None:
    frame = pl.DataFrame(
        {
            "sequence": ["/a", "/a", "/a", "/b", "/b", "/b"],
            "detuning": [1.0, 1.0, None, 1.0, 2.0, 2.0],
            "atoms": [2.0, 4.0, 7.0, None, math.nan, math.nan],
        }
    )
    result = group_stats(frame, ["sequence", "detuning"], "atoms")
    rows = result.rows()
    assert rows[0] == ("/a", 1.0, 3.0, 1.0, 2)
    assert rows[1] == ("/a", None, 7.0, pytest.approx(math.nan, nan_ok=True), 1)  # nulls last
    assert (rows[2][:2], rows[2][4]) == (("/b", 1.0), 0)
    assert math.isnan(rows[2][2])
    assert (rows[3][:2], rows[3][4]) == (("/b", 2.0), 0)
    assert math.isnan(rows[3][3])


def test_ints_and_bools_are_averaged_as_floats() -> None:
    frame = pl.DataFrame({"k": [True, True, False], "n": [1, 2, 5]})
    assert group_stats(frame, "k", "n").rows() == [
        (False, 5.0, pytest.approx(math.nan, nan_ok=True), 1),
        (True, 1.5, 0.5, 2),
    ]


def test_errors_name_the_column() -> None:
    frame = pl.DataFrame({"x": [1], "y": [1.0], "mean": [0.0]})
    with pytest.raises(ValueError, match=r"no column 'z'.*x, y, mean"):
        group_stats(frame, "x", "z")
    with pytest.raises(ValueError, match="'mean': it is the name of an output column"):
        group_stats(frame, "mean", "y")
    with pytest.raises(ValueError, match="at least one column"):
        group_stats(frame, [], "y")
