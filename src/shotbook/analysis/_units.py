"""Units of loaded shots: which unit each column is in, and converting between units.

Polars frames carry no field metadata, so the frames returned by :func:`scan_shots` and
:func:`read_shots` are remembered (weakly) with their units; :func:`units` answers for
them, and for any other frame when given the store to look the columns up in.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shotbook.types import Unit, parse_unit

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from shotbook.session import StorageManager

__all__ = [
    "UnitMismatchError",
    "column_kinds",
    "convert_expression",
    "recall_kinds",
    "recall_units",
    "remember_kinds",
    "remember_units",
    "to_arrow_with_units",
    "units",
]

_REMEMBERED: dict[int, tuple[weakref.ref[Any], dict[str, str | None]]] = {}
_KINDS: dict[int, tuple[weakref.ref[Any], dict[str, str]]] = {}


class UnitMismatchError(ValueError):
    """The same column has units of different dimensions in the sequences read together."""


def remember_units(
    frame: pl.DataFrame | pl.LazyFrame, column_units: Mapping[str, str | None]
) -> None:
    """Keep ``column_units`` for ``frame`` as long as the frame lives."""
    key = id(frame)

    def forget(reference: weakref.ref[Any]) -> None:
        entry = _REMEMBERED.get(key)
        if entry is not None and entry[0] is reference:
            del _REMEMBERED[key]

    _REMEMBERED[key] = (weakref.ref(frame, forget), dict(column_units))


def remember_kinds(frame: pl.DataFrame | pl.LazyFrame, kinds: Mapping[str, str]) -> None:
    """Keep which columns are parameters, scalars or arrays for ``frame`` while it lives."""
    key = id(frame)

    def forget(reference: weakref.ref[Any]) -> None:
        entry = _KINDS.get(key)
        if entry is not None and entry[0] is reference:
            del _KINDS[key]

    _KINDS[key] = (weakref.ref(frame, forget), dict(kinds))


def recall_kinds(frame: object) -> dict[str, str]:
    """The column kinds remembered for this very frame (empty if none)."""
    entry = _KINDS.get(id(frame))
    if entry is None or entry[0]() is not frame:
        return {}
    return entry[1]


def column_kinds(frame: object) -> dict[str, str]:
    """Which columns of a frame of shots are ``"parameter"``, ``"scalar"`` or ``"array"``.

    Known for the frames of :func:`read_shots` and :func:`scan_shots` (and those made from
    them through ``frame.units``); empty for any other frame.
    """
    return dict(recall_kinds(frame))


def recall_units(frame: object) -> dict[str, str | None] | None:
    """The units remembered for this very frame object, if any."""
    entry = _REMEMBERED.get(id(frame))
    if entry is None or entry[0]() is not frame:
        return None
    return entry[1]


def _frame_columns(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    import polars as pl

    if isinstance(frame, pl.LazyFrame):
        return frame.collect_schema().names()
    if isinstance(frame, pl.DataFrame):
        return frame.columns
    raise TypeError(f"units() needs a polars DataFrame or LazyFrame, not {type(frame).__name__}")


def _sequences_of(frame: pl.DataFrame | pl.LazyFrame, columns: list[str]) -> list[str] | None:
    import polars as pl

    if "sequence" not in columns:
        return None
    if isinstance(frame, pl.LazyFrame):
        values = frame.select(pl.col("sequence").unique(maintain_order=True)).collect()
        return [str(v) for v in values.get_column("sequence").drop_nulls().to_list()]
    return [str(v) for v in frame.get_column("sequence").unique(maintain_order=True).drop_nulls()]


def units(
    frame: pl.DataFrame | pl.LazyFrame, storage_manager: StorageManager | None = None
) -> dict[str, str | None]:
    """The unit of each column of ``frame`` (``None`` for columns without a unit).

    Frames returned by :func:`scan_shots` and :func:`read_shots` know their units. Frames
    derived from them (after ``filter``, ``select``, ``with_columns``...) do not: pass the
    ``storage_manager`` and the units are looked up in the store, for the sequences of the
    frame's ``sequence`` column (all sequences when it has none). Columns computed in the
    notebook get ``None``.

    Values are the display units of the parameters as stored (``"MHz"``, ``"ms"``); when
    sequences with different units are read together, values are converted to the unit of
    the first sequence that has the column, and that unit is reported.

    >>> frame = read_shots(manager, "/mot/detuning scan")     # doctest: +SKIP
    >>> units(frame)["mot.detuning"]                          # doctest: +SKIP
    'MHz'
    >>> units(frame.filter(pl.col("shot_index") > 3), manager)["mot.detuning"]  # doctest: +SKIP
    'MHz'
    """
    columns = _frame_columns(frame)
    known = recall_units(frame)
    if known is None:
        if storage_manager is None:
            raise ValueError(
                "units() does not know this frame: only the frames scan_shots() and "
                "read_shots() return carry their units (a frame made from them by filter, "
                "select, with_columns... is a new frame). Pass the store to look them up: "
                "units(frame, storage_manager)"
            )
        from ._loading import store_units

        known = store_units(storage_manager, _sequences_of(frame, columns))
    return {name: known.get(name) for name in columns}


def to_arrow_with_units(
    frame: pl.DataFrame, storage_manager: StorageManager | None = None
) -> pa.Table:
    """``frame`` as an Arrow table whose fields carry their unit in the metadata ``unit``.

    For tools that read Arrow or Parquet field metadata; see :func:`units` for the lookup.

    >>> table = to_arrow_with_units(read_shots(manager, "/mot/scan"))    # doctest: +SKIP
    >>> table.schema.field("mot.detuning").metadata                     # doctest: +SKIP
    {b'unit': b'MHz'}
    """
    found = units(frame, storage_manager)
    table = frame.to_arrow()
    fields = []
    for field in table.schema:
        unit = found.get(field.name)
        fields.append(field.with_metadata({"unit": unit}) if unit is not None else field)
    import pyarrow as pa

    return table.cast(pa.schema(fields))


def _parse(column: str, symbol: str, sequence: str) -> Unit:
    try:
        return parse_unit(symbol)
    except ValueError as error:
        raise UnitMismatchError(
            f"column {column!r} of {sequence} is stored in {symbol!r}, which is not a known "
            f"unit ({error})"
        ) from None


def _to_si(expression: pl.Expr, unit: Unit) -> pl.Expr:
    import polars as pl

    if unit.logarithmic:
        return pl.lit(10.0).pow(expression / 10.0) * unit.scale
    return expression * unit.scale


def _from_si(expression: pl.Expr, unit: Unit) -> pl.Expr:
    if unit.logarithmic:
        return (expression / unit.scale).log10() * 10.0
    return expression / unit.scale


def convert_expression(
    column: str, source: str, target: str, *, sequence: str, first: str
) -> pl.Expr | None:
    """An expression converting ``column`` from the unit ``source`` into ``target``.

    ``None`` when no conversion is needed. ``sequence`` holds ``source`` and ``first`` holds
    ``target`` (named in the error if the dimensions differ).
    """
    import polars as pl

    if source == target:
        return None
    source_unit = _parse(column, source, sequence)
    target_unit = _parse(column, target, first)
    if source_unit.dimension != target_unit.dimension:
        raise UnitMismatchError(
            f"column {column!r} is in {target!r} in {first} but in {source!r} in {sequence}: "
            "these units have different dimensions, so the values cannot share a column. "
            "Read these sequences separately, or leave the column out (columns=[...])."
        )
    value = pl.col(column).cast(pl.Float64)
    if not (source_unit.logarithmic or target_unit.logarithmic):
        factor = float(target_unit.from_si(source_unit.to_si(1.0)))
        inverse = float(source_unit.from_si(target_unit.to_si(1.0)))
        if factor == 1.0:
            return None
        # Divide by an exact integer inverse (kHz -> MHz: / 1000) for correctly rounded values.
        if inverse >= 2.0 and inverse == round(inverse) and inverse < 2.0**53:
            return (value / inverse).alias(column)
        return (value * factor).alias(column)
    return _from_si(_to_si(value, source_unit), target_unit).alias(column)
