"""Frames of shots to xarray, pint and CSV, with their units.

xarray is optional (the ``xarray`` extra) and imported only when :func:`to_xarray` runs, so
``import shotbook.analysis`` stays as light as it was.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._units import recall_kinds, recall_units

if TYPE_CHECKING:
    import xarray

__all__ = ["SHOT_DIMENSION", "to_pint", "to_xarray", "write_csv"]

SHOT_DIMENSION = "shot"
"""The dimension along which the shots of a frame lie in :func:`to_xarray`."""

_ALWAYS_COORDINATES = ("sequence", "shot_index", "start_time", "end_time")


def _units_of(frame: pl.DataFrame) -> dict[str, str | None]:
    return recall_units(frame) or {}


def to_pint(frame: pl.DataFrame, column: str) -> Any:
    """``column`` of ``frame`` as a pint Quantity (numpy magnitudes) in the column's unit.

    A column without a known unit gives a dimensionless quantity only if it is a count or
    a flag; otherwise the unit is unknown and a ``ValueError`` says so (set it with
    ``frame.units.set(column="ms")``).

    >>> to_pint(read_shots(manager, "/tof/a"), "time_of_flight").to("s")   # doctest: +SKIP
    """
    from shotbook.types import parse_unit

    if column not in frame.columns:
        raise KeyError(f"no column {column!r} in the frame; columns: {', '.join(frame.columns)}")
    unit = _units_of(frame).get(column)
    series = frame.get_column(column)
    if unit is None:
        if series.dtype.is_integer() or series.dtype == pl.Boolean:
            unit = "dimensionless"
        else:
            raise ValueError(
                f"the unit of {column!r} is not known (a computed column, or a frame made by a "
                "plain polars call); give it with frame.units.set("
                f"{column.replace('.', '_')}=...) or use frame.units.<operation>"
            )
    else:
        parse_unit(unit)  # a clear error for a unit shotbook does not know
    import pint

    registry = pint.get_application_registry()
    return registry.Quantity(series.to_numpy(), unit.replace("µ", "u"))


def _pixel_dimensions(frame: pl.DataFrame, arrays: list[str]) -> dict[str, tuple[str, ...]]:
    shapes = {name: tuple(frame.schema[name].shape) for name in arrays}  # type: ignore[attr-defined]
    shared = len(set(shapes.values())) == 1
    dims: dict[str, tuple[str, ...]] = {}
    for name, shape in shapes.items():
        axes: tuple[str, ...]
        if len(shape) == 2:
            axes = ("y", "x")
        elif len(shape) == 1:
            axes = ("x",)
        else:
            axes = tuple(f"axis{i}" for i in range(len(shape)))
        dims[name] = axes if shared else tuple(f"{name}.{axis}" for axis in axes)
    return dims


def _values(series: pl.Series) -> np.ndarray:
    if series.null_count() and series.dtype.is_numeric():
        return series.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    if isinstance(series.dtype, pl.Array) and series.null_count():
        shape = series.dtype.shape
        filled = np.full((len(series), *shape), np.nan)  # missing images read as NaN
        for index, value in enumerate(series):
            if value is not None:
                filled[index] = value.to_numpy().reshape(shape)
        return filled
    if isinstance(series.dtype, pl.Datetime):  # numpy has no time zones: UTC, naive
        return series.dt.replace_time_zone(None).to_numpy()
    return series.to_numpy()


def to_xarray(frame: pl.DataFrame, coords: list[str] | None = None) -> xarray.Dataset:
    """A frame of shots as an ``xarray.Dataset`` along the dimension ``shot``.

    Image and other array columns become variables with pixel dimensions (``y``, ``x`` with
    integer pixel coordinates when all arrays share a shape, else ``<column>.y`` ...), as
    views of the frame's memory (no image is copied, unless it holds missing shots). The
    scan parameters (the frames of :func:`read_shots` know them) and ``sequence``,
    ``shot_index``, ``start_time`` (UTC), ``end_time`` are coordinates along ``shot``;
    ``coords`` names the coordinates instead. Every variable and coordinate with a known
    unit has it in ``attrs["units"]``. Write it with ``dataset.to_netcdf(path)`` (NetCDF-4 /
    HDF5 through h5netcdf) and read it back with ``xarray.open_dataset``.

    Needs xarray: ``pip install "shotbook[xarray]"``.

    >>> ds = to_xarray(read_shots(manager, "/tof/*"))               # doctest: +SKIP
    >>> ds["camera.atoms"].sel(shot=ds.time_of_flight > 4).mean("shot")  # doctest: +SKIP
    """
    try:
        import xarray as xr
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "to_xarray needs xarray: pip install 'shotbook[xarray]'"
        ) from None
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(
            f"to_xarray needs a polars DataFrame (collect a LazyFrame first), not "
            f"{type(frame).__name__}"
        )
    units = _units_of(frame)
    kinds = recall_kinds(frame)
    if coords is None:
        coordinates = [
            name
            for name in frame.columns
            if name in _ALWAYS_COORDINATES or kinds.get(name) == "parameter"
        ]
    else:
        unknown = [name for name in coords if name not in frame.columns]
        if unknown:
            raise KeyError(
                f"coords names {unknown[0]!r}, which is not a column; columns: "
                f"{', '.join(frame.columns)}"
            )
        coordinates = list(coords)
    arrays = [name for name in frame.columns if isinstance(frame.schema[name], pl.Array)]
    pixel_dims = _pixel_dimensions(frame, arrays)
    data_vars: dict[str, Any] = {}
    coordinate_vars: dict[str, Any] = {}
    for name in frame.columns:
        series = frame.get_column(name)
        attrs = {} if units.get(name) is None else {"units": units[name]}
        dims = (SHOT_DIMENSION, *pixel_dims.get(name, ()))
        variable = xr.Variable(dims, _values(series), attrs=attrs)
        if name in coordinates:
            coordinate_vars[name] = variable
        else:
            data_vars[name] = variable
    for name, axes in pixel_dims.items():
        shape = tuple(frame.schema[name].shape)  # type: ignore[attr-defined]
        for axis, size in zip(axes, shape, strict=True):
            coordinate_vars.setdefault(axis, xr.Variable((axis,), np.arange(size)))
    coordinate_vars[SHOT_DIMENSION] = xr.Variable((SHOT_DIMENSION,), np.arange(frame.height))
    return xr.Dataset(data_vars, coords=coordinate_vars, attrs={"created_by": "shotbook"})


def write_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write the scalar columns of ``frame`` as CSV, the unit in each header: ``wait_time [ms]``.

    Array columns (images) are left out: write those with :func:`to_xarray` and
    ``to_netcdf``. Returns the path written.
    """
    units = _units_of(frame)
    scalars = [
        name
        for name in frame.columns
        if not isinstance(frame.schema[name], pl.Array | pl.List | pl.Struct | pl.Object)
    ]
    target = Path(path)
    headers = [name if units.get(name) is None else f"{name} [{units[name]}]" for name in scalars]
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(frame.select(scalars).iter_rows())
    return target
