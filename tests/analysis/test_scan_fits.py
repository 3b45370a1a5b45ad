"""``fit_by`` over a scan and ``plot_stats`` of ``group_stats`` (#23)."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import polars as pl
import pytest

from shotbook.analysis import (
    BOLTZMANN_CONSTANT,
    RB87_MASS,
    FitError,
    fit_by,
    fit_temperature,
    group_stats,
    plot_stats,
)

matplotlib.use("Agg")


def tof_frame() -> pl.DataFrame:
    """Two detunings × 6 times of flight × 2 repetitions; 2 failed image fits (NaN)."""
    rows = []
    for detuning, temperature in ((-10.0, 20e-6), (-20.0, 40e-6)):
        for tof_ms in (2.0, 4.0, 6.0, 8.0, 10.0, 12.0):
            t = tof_ms * 1e-3
            sigma = math.sqrt((150e-6) ** 2 + BOLTZMANN_CONSTANT * temperature / RB87_MASS * t**2)
            for repetition in (0, 1):
                rows.append((detuning, tof_ms, repetition, sigma))
    frame = pl.DataFrame(
        rows, schema=["mot.detuning", "time_of_flight", "repetition", "sigma"], orient="row"
    )
    failed = (pl.col("time_of_flight") == 4.0) & (pl.col("repetition") == 1)
    frame = frame.with_columns(
        pl.when(failed).then(float("nan")).otherwise(pl.col("sigma")).alias("sigma")
    )
    return frame.units.set(**{"mot.detuning": "MHz", "time_of_flight": "ms"})


def test_temperature_per_detuning_in_one_call_with_nan_shots_counted() -> None:
    fits = fit_by(tof_frame(), "mot.detuning", fit_temperature, ["time_of_flight", "sigma"])
    assert fits.get_column("mot.detuning").to_list() == [-20.0, -10.0]
    assert fits.get_column("temperature").to_list() == pytest.approx([40e-6, 20e-6], rel=1e-6)
    assert fits.get_column("n_points").to_list() == [11, 11]
    assert fits.get_column("n_skipped").to_list() == [1, 1]
    assert fits.get_column("error").to_list() == [None, None]
    assert fits.units["temperature"] == "K"
    assert fits.units["sigma0"] == "m"
    assert fits.units["mot.detuning"] == "MHz"
    assert fits.units["n_points"] is None


def test_a_failing_group_is_reported_and_the_others_still_fitted() -> None:
    frame = tof_frame().units.with_columns(
        pl.when(pl.col("mot.detuning") == -20.0)
        .then(float("nan"))
        .otherwise(pl.col("sigma"))
        .alias("sigma")
    )
    fits = fit_by(frame, "mot.detuning", fit_temperature, ["time_of_flight", "sigma"])
    bad, good = fits.rows(named=True)
    assert bad["n_points"] == 0
    assert bad["n_skipped"] == 12
    assert bad["error"].startswith("FitError: fit_temperature needs at least 3 points")
    assert bad["temperature"] is None
    assert good["temperature"] == pytest.approx(20e-6, rel=1e-6)

    def explode(s: np.ndarray) -> float:
        raise FitError("no")

    fits = fit_by(frame, None, explode, ["sigma"])
    assert fits.columns == ["n_points", "n_skipped", "error"]
    assert fits.get_column("error").to_list() == ["FitError: no"]


def test_any_function_and_si_conversion() -> None:
    def mean_time(t: np.ndarray, s: np.ndarray) -> dict[str, float]:
        return {"mean_t": float(t.mean()), "points": float(t.size)}

    fits = fit_by(
        tof_frame(),
        ["mot.detuning", "repetition"],
        mean_time,
        ["time_of_flight", "sigma"],
        units={"mean_t": "s"},
    )
    assert fits.height == 4
    assert fits.get_column("mean_t")[0] == pytest.approx(7e-3)  # ms arrived in s
    assert fits.units["mean_t"] == "s"
    assert fits.units["points"] is None
    raw = fit_by(tof_frame(), None, lambda t: float(t.max()), ["time_of_flight"], si=False)
    assert raw.get_column("value").to_list() == [12.0]


def test_fit_by_refuses_bad_calls_clearly() -> None:
    with pytest.raises(ValueError, match="no column 'tof'"):
        fit_by(tof_frame(), None, fit_temperature, ["tof", "sigma"])
    with pytest.raises(TypeError, match="list of names"):
        fit_by(tof_frame(), None, fit_temperature, "sigma")
    with pytest.raises(ValueError, match="units are not known"):
        fit_by(tof_frame().filter(pl.col("repetition") == 0), None, fit_temperature, ["sigma"])
    with pytest.raises(TypeError, match="collect"):
        fit_by(tof_frame().lazy(), None, fit_temperature, ["sigma"])  # type: ignore[arg-type]


def test_plot_stats_draws_means_with_error_bars_and_units() -> None:
    stats = group_stats(tof_frame(), ["time_of_flight", "mot.detuning"], "sigma")
    ax = plot_stats(stats, value="sigma")
    assert ax.get_xlabel() == "time_of_flight (ms)"
    assert ax.get_ylabel() == "sigma"
    bars = ax.containers
    assert len(bars) == 2  # one error-bar series per detuning
    data_line = bars[0].lines[0]
    np.testing.assert_allclose(data_line.get_xdata(), [2, 4, 6, 8, 10, 12])
    first = stats.filter(pl.col("mot.detuning") == -20.0)
    np.testing.assert_allclose(data_line.get_ydata(), first.get_column("mean").to_numpy())
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "mot.detuning = -20.0",
        "mot.detuning = -10.0",
    ]
    with pytest.raises(ValueError, match="no 'mean' column"):
        plot_stats(tof_frame())
