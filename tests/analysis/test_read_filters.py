"""``Experiment.read_shots`` / ``scan_shots`` filters, time ranges and integer loops (issue 23)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from shotbook.analysis import NaiveDatetimeError, read_shots, scan_shots, units
from shotbook.extension import Experiment

from .real_run import PATH, run_small_scan


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Experiment]:
    experiment = run_small_scan(tmp_path_factory.mktemp("run") / "store")
    yield experiment
    experiment.close()


def test_an_integer_arange_loop_is_stored_and_read_as_int64(experiment: Experiment) -> None:
    frame = experiment.read_shots(PATH, ["time_of_flight", "repetition"])
    assert frame.schema["repetition"] == pl.Int64
    assert frame.get_column("repetition").to_list() == [0, 1, 0, 1, 0, 1]
    assert frame.schema["time_of_flight"] == pl.Float64


def test_experiment_read_shots_takes_where_and_the_module_gives_the_same(
    experiment: Experiment,
) -> None:
    where = pl.col("time_of_flight") > 3
    frame = experiment.read_shots(PATH, ["time_of_flight", "camera.atoms"], where=where)
    module = read_shots(
        experiment.get_storage_manager(), PATH, ["time_of_flight", "camera.atoms"], where=where
    )
    assert frame.equals(module)
    assert frame.get_column("time_of_flight").to_list() == [4.0, 4.0, 6.0, 6.0]
    assert units(frame)["time_of_flight"] == "ms"


def test_scan_shots_is_lazy_filters_and_knows_its_units(experiment: Experiment) -> None:
    lazy = experiment.scan_shots(PATH, where=pl.col("repetition") == 1)
    assert isinstance(lazy, pl.LazyFrame)
    assert units(lazy)["time_of_flight"] == "ms"
    got = lazy.select("shot_index", "repetition").collect()
    assert got.get_column("shot_index").to_list() == [1, 3, 5]
    module = scan_shots(experiment.get_storage_manager(), PATH, where=pl.col("repetition") == 1)
    assert module.select("shot_index").collect().equals(got.select("shot_index"))


def test_since_and_until_take_naive_datetimes_as_local_time(experiment: Experiment) -> None:
    times = experiment.read_shots(PATH, ["start_time"]).get_column("start_time").to_list()
    third = times[2]  # aware, UTC
    local_naive = third.astimezone().replace(tzinfo=None)
    frame = experiment.read_shots(PATH, ["shot_index"], since=local_naive)
    assert frame.get_column("shot_index").to_list() == [2, 3, 4, 5]
    frame = experiment.read_shots(PATH, ["shot_index"], since=third, until=times[4])
    assert frame.get_column("shot_index").to_list() == [2, 3]
    lazy = experiment.scan_shots(PATH, until=local_naive)
    assert lazy.select("shot_index").collect().get_column("shot_index").to_list() == [0, 1]
    with pytest.raises(ValueError, match="not before until"):
        experiment.read_shots(PATH, since=times[3], until=times[1])
    with pytest.raises(TypeError, match="since must be a datetime"):
        experiment.read_shots(PATH, since="yesterday")  # type: ignore[arg-type]


def test_a_naive_datetime_in_where_gets_a_clear_message(experiment: Experiment) -> None:
    naive = datetime.now() - timedelta(days=1)
    with pytest.raises(NaiveDatetimeError, match=r"no time zone.*since=/until="):
        experiment.read_shots(PATH, where=pl.col("start_time") > naive)
    with pytest.raises(NaiveDatetimeError):
        experiment.scan_shots(PATH, where=pl.col("end_time") < naive)
    aware = experiment.read_shots(
        PATH, ["shot_index"], where=pl.col("start_time") > naive.astimezone(UTC)
    )
    assert aware.height == 6


def test_where_must_be_an_expression(experiment: Experiment) -> None:
    with pytest.raises(TypeError, match="polars expression"):
        experiment.read_shots(PATH, where="time_of_flight > 3")  # type: ignore[arg-type]
