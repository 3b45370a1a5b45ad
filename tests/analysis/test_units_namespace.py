"""``frame.units``: the unit of every derived column after common polars operations (#23)."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pytest

from shotbook.analysis import group_stats, infer_unit, read_shots, units
from shotbook.session import StorageManager

from .helpers import fill, new_manager, tof_a, tof_b


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageManager]:
    manager = new_manager(tmp_path_factory.mktemp("units") / "store")
    fill(manager, tof_a())
    fill(manager, tof_b())
    yield manager
    manager.close()


@pytest.fixture
def shots(store: StorageManager) -> pl.DataFrame:
    return read_shots(store, "/tof/a")


def test_read_shots_frames_show_their_units_through_the_namespace(shots: pl.DataFrame) -> None:
    assert shots.units["mot.detuning"] == "MHz"
    assert shots.units["wait_time"] == "ms"
    assert shots.units["repeat"] is None
    assert dict(shots.units) == units(shots)
    with pytest.raises(KeyError, match="no column 'nope'"):
        shots.units["nope"]


def test_filter_sort_and_head_keep_every_unit(shots: pl.DataFrame) -> None:
    kept = shots.units.filter(pl.col("repeat") == 1).units.sort("wait_time").units.head(2)
    assert kept.height == 2
    assert kept.units["mot.detuning"] == "MHz"
    assert kept.units["wait_time"] == "ms"
    # a plain polars call makes a frame whose units are not known: None, never a guess
    plain = shots.filter(pl.col("repeat") == 1)
    assert plain.units["wait_time"] is None


def test_group_by_agg_mean_std_and_standard_error(shots: pl.DataFrame) -> None:
    detuning = pl.col("mot.detuning")
    stats = shots.units.group_by("repeat").agg(
        detuning.mean().alias("mean"),
        detuning.std().alias("std"),
        (detuning.std() / detuning.count().sqrt()).alias("sem"),
        detuning.count().alias("n"),
        pl.col("wait_time").max(),
        detuning.var().alias("variance"),  # MHz² is not a unit shotbook states: None
        pl.len(),
    )
    assert stats.units["repeat"] is None
    assert stats.units["mean"] == "MHz"
    assert stats.units["std"] == "MHz"
    assert stats.units["sem"] == "MHz"
    assert stats.units["n"] is None
    assert stats.units["wait_time"] == "ms"
    assert stats.units["variance"] is None
    assert stats.units["len"] is None
    expanded = shots.units.group_by("repeat").agg(pl.col("mot.detuning", "wait_time").median())
    assert (expanded.units["mot.detuning"], expanded.units["wait_time"]) == ("MHz", "ms")


def test_with_columns_of_arithmetic_on_one_unit(shots: pl.DataFrame) -> None:
    derived = shots.units.with_columns(
        shifted=pl.col("mot.detuning") + 2,
        doubled=2 * pl.col("mot.detuning"),
        span=pl.col("mot.detuning") - pl.col("mot.detuning").min(),
        ratio=pl.col("mot.detuning") / pl.col("mot.detuning").abs().max(),
        mixed=pl.col("mot.detuning") * pl.col("wait_time"),
        sum_of_two_units=pl.col("mot.detuning") + pl.col("wait_time"),
        root=pl.col("wait_time").sqrt(),
        log=pl.col("wait_time").log10(),
        python=pl.col("wait_time").map_elements(lambda v: v, return_dtype=pl.Float64),
        centred=pl.when(pl.col("repeat") == 1).then(pl.col("wait_time")).otherwise(None),
        flag=pl.col("wait_time") > 3,
    )
    assert derived.units["shifted"] == "MHz"
    assert derived.units["doubled"] == "MHz"
    assert derived.units["span"] == "MHz"
    assert derived.units["ratio"] is None  # MHz / MHz: a number
    assert derived.units["centred"] == "ms"
    for unknown in ("mixed", "sum_of_two_units", "root", "log", "python", "flag"):
        assert derived.units[unknown] is None, unknown
    # replacing a column in another unit's arithmetic forgets the old unit
    replaced = shots.units.with_columns(pl.col("wait_time") * pl.col("mot.detuning"))
    assert replaced.units["wait_time"] is None
    assert replaced.units["mot.detuning"] == "MHz"


def test_select_rename_and_join(shots: pl.DataFrame, store: StorageManager) -> None:
    selected = shots.units.select("shot_index", pl.col("wait_time").alias("t"), pl.col("^mot.*$"))
    assert dict(selected.units) == {"shot_index": None, "t": "ms", "mot.detuning": "MHz"}
    renamed = selected.units.rename({"t": "wait"})
    assert renamed.units["wait"] == "ms"
    other = read_shots(store, "/tof/b", ["shot_index", "mot.detuning", "probe.power"])
    joined = renamed.units.join(other, on="shot_index", how="inner")
    assert joined.units["wait"] == "ms"
    assert joined.units["mot.detuning"] == "MHz"
    assert joined.units["mot.detuning_right"] == "kHz"  # /tof/b stores its detuning in kHz
    assert joined.units["probe.power"] == "mW"
    assert joined.units["shot_index"] is None
    # a key in different units on the two sides cannot be known
    keyed = shots.units.select("mot.detuning", "wait_time").units.join(
        other.units.select("mot.detuning"), on="mot.detuning", how="left"
    )
    assert keyed.units["mot.detuning"] is None
    assert keyed.units["wait_time"] == "ms"


def test_lazy_frames_have_the_namespace_too(shots: pl.DataFrame) -> None:
    lazy = shots.lazy().units.set(wait_time="ms")
    collected = lazy.units.filter(pl.col("repeat") == 0).units.collect()
    assert isinstance(collected, pl.DataFrame)
    assert collected.units["wait_time"] == "ms"
    with pytest.raises(TypeError, match="LazyFrames"):
        shots.units.collect()


def test_set_checks_units_and_columns(shots: pl.DataFrame) -> None:
    marked = shots.units.with_columns(n=pl.col("analysis.atom_number") / 1000).units.set(n="mW")
    assert marked.units["n"] == "mW"
    assert shots.units["analysis.atom_number"] is None  # the original frame is unchanged
    with pytest.raises(ValueError, match="furlong"):
        shots.units.set(wait_time="furlongs per fortnight")
    with pytest.raises(KeyError, match="no column 'nope'"):
        shots.units.set(nope="ms")


def test_group_stats_results_carry_units(shots: pl.DataFrame) -> None:
    stats = group_stats(shots, "wait_time", "mot.detuning")
    assert dict(stats.units) == {"wait_time": "ms", "mean": "MHz", "sem": "MHz", "count": None}
    lazy = group_stats(shots.lazy(), "repeat", "wait_time")
    assert lazy.units["mean"] is None  # the LazyFrame came from a plain .lazy(): unknown
    assert units(group_stats(shots, ["repeat"], "wait_time"))["sem"] == "ms"


def test_infer_unit_reads_expressions() -> None:
    known = {"t": "ms", "f": "MHz", "n": None}
    assert infer_unit(pl.col("t").mean() * 2, known) == "ms"
    assert infer_unit(-pl.col("t").cum_sum(), known) == "ms"
    assert infer_unit(pl.col("t").cast(pl.Float32).round(1), known) == "ms"
    assert infer_unit(pl.col("t").mean().over("f"), known) == "ms"
    assert infer_unit(pl.col("t") / pl.col("n"), known) is None  # n's unit is not known
    assert infer_unit(pl.col("t") ** 2, known) is None
    assert infer_unit(pl.col("missing"), known) is None
