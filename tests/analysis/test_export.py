"""``to_xarray``, ``to_pint`` and ``write_csv`` of frames of shots (#23)."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from shotbook.analysis import SHOT_DIMENSION, read_shots, to_pint, to_xarray, write_csv
from shotbook.session import StorageManager

from .helpers import IMAGE_SHAPE, fill, image, new_manager, other_c, tof_a

xr = pytest.importorskip("xarray")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageManager]:
    manager = new_manager(tmp_path_factory.mktemp("export") / "store")
    fill(manager, tof_a())
    fill(manager, other_c())
    yield manager
    manager.close()


def test_images_become_pixel_dimensions_and_parameters_coordinates(store: StorageManager) -> None:
    shots = read_shots(store, "/tof/a")
    dataset = to_xarray(shots)
    picture = dataset["camera.picture"]
    assert picture.dims == (SHOT_DIMENSION, "y", "x")
    assert picture.shape == (6, *IMAGE_SHAPE)
    assert picture.dtype == np.uint16
    np.testing.assert_array_equal(picture.isel(shot=4).values, image(4))
    np.testing.assert_array_equal(dataset["x"].values, np.arange(IMAGE_SHAPE[1]))
    for name in ("mot.detuning", "wait_time", "repeat", "shot_index", "sequence", "start_time"):
        assert name in dataset.coords, name
        assert dataset[name].dims == (SHOT_DIMENSION,)
    assert "analysis.atom_number" in dataset.data_vars
    assert dataset["mot.detuning"].attrs == {"units": "MHz"}
    assert dataset["wait_time"].attrs == {"units": "ms"}
    assert "units" not in dataset["analysis.atom_number"].attrs
    # selections along the scan work as in any xarray dataset
    late = dataset["analysis.atom_number"].where(dataset["wait_time"] > 3, drop=True)
    assert late.values.tolist() == [1003.0, 1004.0, 1005.0]
    # a frame made through frame.units still knows which columns are parameters
    kept = to_xarray(shots.units.filter(pl.col("repeat") == 1))
    assert "wait_time" in kept.coords
    assert kept["wait_time"].attrs == {"units": "ms"}
    assert kept.sizes[SHOT_DIMENSION] == 3


def test_no_image_is_copied(store: StorageManager) -> None:
    shots = read_shots(store, "/tof/a", ["camera.picture"])
    dataset = to_xarray(shots)
    assert not dataset["camera.picture"].values.flags["OWNDATA"]


def test_netcdf_round_trip_keeps_images_and_units(store: StorageManager, tmp_path: Path) -> None:
    pytest.importorskip("h5netcdf")
    dataset = to_xarray(read_shots(store, "/tof/a"))
    target = tmp_path / "tof.nc"
    dataset.to_netcdf(target, engine="h5netcdf")
    with xr.open_dataset(target, engine="h5netcdf") as back:
        np.testing.assert_array_equal(back["camera.picture"].values, dataset["camera.picture"])
        assert back["mot.detuning"].attrs["units"] == "MHz"
        assert back["sequence"].values.tolist() == ["/tof/a"] * 6


def test_arrays_of_other_shapes_get_their_own_dimensions(store: StorageManager) -> None:
    both = read_shots(store, ["/tof/a"], ["shot_index", "camera.picture"])
    small = read_shots(store, "/other/c", ["camera.picture"]).rename({"camera.picture": "c"})
    frame = pl.concat([both.head(2), small], how="horizontal")
    dataset = to_xarray(frame, coords=["shot_index"])
    assert dataset["camera.picture"].dims == (
        SHOT_DIMENSION,
        "camera.picture.y",
        "camera.picture.x",
    )
    assert dataset["c"].dims == (SHOT_DIMENSION, "c.y", "c.x")
    with pytest.raises(KeyError, match="coords names 'nope'"):
        to_xarray(frame, coords=["nope"])
    with pytest.raises(TypeError, match="collect"):
        to_xarray(frame.lazy())  # type: ignore[arg-type]


def test_to_pint_gives_quantities_in_the_column_unit(store: StorageManager) -> None:
    shots = read_shots(store, "/tof/a")
    detuning = to_pint(shots, "mot.detuning")
    assert str(detuning.units) == "megahertz"
    assert detuning.to("Hz").magnitude[1] == pytest.approx(-1.9e6)
    assert shots.units.to_pint("wait_time").to("s").magnitude[0] == pytest.approx(1e-3)
    assert str(to_pint(shots, "repeat").units) == "dimensionless"
    with pytest.raises(ValueError, match=r"unit of 'analysis\.atom_number' is not known"):
        to_pint(shots, "analysis.atom_number")


def test_csv_has_the_scalars_with_units_in_the_headers(
    store: StorageManager, tmp_path: Path
) -> None:
    shots = read_shots(store, "/tof/a")
    path = write_csv(shots, tmp_path / "tof.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    assert "mot.detuning [MHz]" in header
    assert "wait_time [ms]" in header
    assert "analysis.atom_number" in header
    assert not any("camera.picture" in name for name in header)
    assert len(rows) == 7
    column = header.index("wait_time [ms]")
    assert [float(row[column]) for row in rows[1:]] == pytest.approx([1, 2, 3, 4, 5, 6])


def test_importing_analysis_imports_neither_xarray_nor_matplotlib() -> None:
    code = (
        "import sys, shotbook.analysis, polars as pl\n"
        "pl.DataFrame({'a': [1.0]}).units['a']\n"
        "print(sorted(m for m in ('xarray', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
