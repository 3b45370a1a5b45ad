"""One call to fit a per-point function over a scan: e.g. a temperature per detuning.

:func:`fit_by` splits a frame of shots by the values of some columns, hands each group's
columns (in SI units) to a fit function such as :func:`fit_temperature`, and gathers the
results in a frame that knows its units. Shots with NaN or missing values (a failed image
fit) are counted and left out; a group whose fit fails gets its error message instead of
values. The call itself does not fail for bad data.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from shotbook.types import parse_unit

from ._fits import TemperatureFit
from ._units import recall_units, remember_units

__all__ = ["FIT_UNITS", "fit_by"]

FIT_UNITS: dict[type, dict[str, str | None]] = {
    TemperatureFit: {
        "temperature": "K",
        "temperature_error": "K",
        "sigma0": "m",
        "sigma0_error": "m",
        "r_squared": None,
        "n_points": None,
        "mass": "kg",
        "sigma0_squared": "m^2",
    },
}
"""SI units of the fields of fit results (:class:`TemperatureFit`), used by :func:`fit_by`."""

_SUMMARY = ("n_points", "n_skipped", "error")


def _fields(result: object) -> dict[str, Any]:
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    if isinstance(result, Mapping):
        return dict(result)
    if isinstance(result, int | float | np.floating | np.integer):
        return {"value": float(result)}
    raise TypeError(
        f"the fit function returned a {type(result).__name__}; return a dataclass, a dict of "
        "numbers or a number"
    )


def _si(frame: pl.DataFrame, column: str, unit: str | None) -> np.ndarray:
    values = frame.get_column(column).cast(pl.Float64).fill_null(math.nan).to_numpy()
    if unit is None:
        return values
    return np.asarray(parse_unit(unit).to_si(values), dtype=np.float64)


def fit_by(
    frame: pl.DataFrame,
    by: str | Sequence[str] | None,
    function: Callable[..., Any],
    columns: Sequence[str],
    *,
    si: bool = True,
    units: Mapping[str, str | None] | None = None,
    **options: Any,
) -> pl.DataFrame:
    """Fit ``function(*columns)`` for each distinct value of ``by`` (``None``: all shots once).

    ``columns`` are given to ``function`` as float64 numpy arrays, in SI units when ``si``
    (``time_of_flight`` in ms arrives in s; a frame whose units are not known is refused),
    after leaving out the shots where any of them
    is NaN or missing; ``options`` are passed on (e.g. ``mass=``). The result has one row per
    group: the ``by`` columns, the fields of what ``function`` returned (a dataclass such as
    :class:`TemperatureFit`, a dict of numbers, or a number as ``value``), ``n_points`` (the
    shots fitted), ``n_skipped`` (the shots left out) and ``error`` (``None``, or why the
    fit of that group failed; its fields are then null). Groups are sorted by ``by``.

    Units: ``by`` columns keep theirs, fields of known results are in SI (:data:`FIT_UNITS`),
    ``units`` gives or overrides others; the frame knows them (``result.units``).

    >>> fits = fit_by(shots, "mot.detuning", fit_temperature,           # doctest: +SKIP
    ...               ["time_of_flight", "analysis.cloud.sigma_x"])
    >>> fits.select("mot.detuning", "temperature", "n_skipped", "error")  # doctest: +SKIP
    """
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(f"fit_by needs a DataFrame (collect() a LazyFrame), not {type(frame)}")
    keys: list[str] = [] if by is None else [by] if isinstance(by, str) else list(by)
    if isinstance(columns, str):
        raise TypeError(f"columns is a list of names, e.g. [{columns!r}], not a string")
    missing = [name for name in [*keys, *columns] if name not in frame.columns]
    if missing:
        raise ValueError(
            f"no column {missing[0]!r} in the frame; columns: {', '.join(frame.columns)}"
        )
    clash = [name for name in keys if name in _SUMMARY]
    if clash:
        raise ValueError(f"cannot group by {clash[0]!r}: it names an output column; rename it")
    remembered = recall_units(frame)
    if si and remembered is None:
        raise ValueError(
            "fit_by gives the columns in SI units, but this frame's units are not known (it "
            "was made by a plain polars call): make it with frame.units.filter(...) / "
            ".with_columns(...), set them with frame.units.set(...), or pass si=False to give "
            "the values as they are"
        )
    known = remembered or {}
    groups = (
        frame.sort(keys, nulls_last=True).partition_by(keys, maintain_order=True, as_dict=True)
        if keys
        else {(): frame}
    )
    rows: list[dict[str, Any]] = []
    result_units: dict[str, str | None] = {key: known.get(key) for key in keys}
    for key_values, group in groups.items():
        row: dict[str, Any] = dict(zip(keys, key_values, strict=True))
        arrays = [_si(group, name, known.get(name) if si else None) for name in columns]
        good = np.ones(group.height, dtype=bool)
        for array in arrays:
            good &= np.isfinite(array)
        row["n_points"] = int(good.sum())
        row["n_skipped"] = int(group.height - good.sum())
        row["error"] = None
        try:
            result = function(*(array[good] for array in arrays), **options)
            fields = _fields(result)
        except Exception as error:  # a failed group is reported, the others still fitted
            row["error"] = f"{type(error).__name__}: {error}"
        else:
            for name, value in fields.items():
                if name in row:
                    name = f"fit.{name}"
                row[name] = value
            for name in fields:
                result_units.setdefault(name, FIT_UNITS.get(type(result), {}).get(name))
        rows.append(row)
    names = list(dict.fromkeys(name for row in rows for name in row))
    ordered = [*keys, *[n for n in names if n not in keys and n not in _SUMMARY], *_SUMMARY]
    key_schema = {key: frame.schema[key] for key in keys}
    result_frame = pl.DataFrame(
        [{name: row.get(name) for name in ordered} for row in rows],
        schema_overrides={**key_schema, "error": pl.String},
        infer_schema_length=None,
    )
    if units:
        result_units.update(units)
    remember_units(result_frame, {name: result_units.get(name) for name in result_frame.columns})
    return result_frame
