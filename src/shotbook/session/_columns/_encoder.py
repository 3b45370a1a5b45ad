"""Encoding a writer's shots column by column, with a memory of the previous shot.

:func:`encode_shot_columns` checks every value of a shot from scratch (~20 µs a column
here). Within a sequence a column nearly always gets a value of the same
Python type (and, for arrays, of the same dtype and shape) as in the shot before, described
by the same :class:`ColumnInfo` and, for parameters, displayed in the same unit: the checks
then have the same outcome, so :class:`ShotColumnEncoder` remembers that outcome and encodes
the value directly. Anything else goes through the full checks (and their clear errors).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np
import pyarrow as pa

from ._codec import (
    FIXED_COLUMNS,
    ColumnInfo,
    as_int64,
    check_column_name,
    encode_data,
    encode_parameter,
)

__all__ = ["ShotColumnEncoder", "encode_shot_columns", "one_value"]

_BOOL: Final = pa.bool_()
_INT64: Final = pa.int64()
_FLOAT64: Final = pa.float64()
_TRUE: Final = pa.py_buffer(b"\x01")
_FALSE: Final = pa.py_buffer(b"\x00")
_PACK_FLOAT: Final = struct.Struct("=d").pack
_PACK_INT: Final = struct.Struct("=q").pack


def one_value(value: float | int | bool, kind: pa.DataType) -> pa.Array:
    """A one-element array of a float64, int64 (or timestamp) or bool value: what
    ``pa.array([value], kind)`` gives, in a third of its time (from the value's bytes)."""
    if kind == _BOOL:
        data = _TRUE if value else _FALSE
    elif kind == _FLOAT64:
        data = pa.py_buffer(_PACK_FLOAT(value))
    else:
        data = pa.py_buffer(_PACK_INT(value))
    return pa.Array.from_buffers(kind, 1, [None, data])


_Encode = Callable[[Any, int], pa.Array | None]
"""Encodes one value like the full checks would, or ``None`` if they must run."""


class ShotColumnEncoder:
    """``encode(parameters, data, units, known, shot_index, data_units)``: every column of one shot,
    checked against ``known`` (the writer's column descriptions) and encoded, as
    :func:`encode_shot_columns` does, faster for repeated columns.

    One encoder per writer (not thread-safe: a writer writes from one thread at a time).
    """

    def __init__(self) -> None:
        # (is a parameter, name) -> (value type, unit, column description, direct encoding)
        self._last: dict[tuple[bool, str], tuple[type, Any, ColumnInfo, _Encode]] = {}

    def encode(
        self,
        parameters: Mapping[str, Any],
        data: Mapping[str, Any],
        units: Mapping[str, Any],
        known: Mapping[str, ColumnInfo],
        shot_index: int,
        data_units: Mapping[str, str | None] | None = None,
    ) -> list[tuple[ColumnInfo, pa.Array]]:
        """The shot's columns: the parameters (in their display ``units``), then the data
        (``None`` values are left out; ``data_units`` gives a data column's unit symbol, kept
        as its description: the values are stored as given)."""
        seen: set[str] = set(FIXED_COLUMNS)
        encoded: list[tuple[ColumnInfo, pa.Array]] = []
        for name, value in parameters.items():
            check_column_name(name, seen, shot_index)
            encoded.append(self._column(True, name, value, units.get(name), known, shot_index))
        symbols = data_units or {}
        for name, value in data.items():
            check_column_name(name, seen, shot_index)
            if value is not None:
                symbol = symbols.get(name)
                encoded.append(self._column(False, name, value, symbol, known, shot_index))
        return encoded

    def _column(
        self,
        parameter: bool,
        name: str,
        value: Any,
        unit: Any,
        known: Mapping[str, ColumnInfo],
        shot_index: int,
    ) -> tuple[ColumnInfo, pa.Array]:
        described = known.get(name)
        last = self._last.get((parameter, name))
        if last is not None and last[0] is type(value) and last[1] is unit and last[2] is described:
            array = last[3](value, shot_index)
            if array is not None:
                return last[2], array
        if parameter:
            info, array = encode_parameter(name, value, unit, described, shot_index)
        else:
            info, array = encode_data(name, value, described, shot_index, unit)
        if not (type(value) is np.ndarray and info.kind != "array"):  # 0-d: by its dtype
            remembered = info if described is None else described  # what `known` will hold
            direct = _direct(info, unit if parameter else None)  # data is stored as given
            self._last[(parameter, name)] = (type(value), unit, remembered, direct)
        return info, array


def encode_shot_columns(
    parameters: Mapping[str, Any],
    data: Mapping[str, Any],
    units: Mapping[str, Any],
    known: Mapping[str, ColumnInfo],
    shot_index: int,
    data_units: Mapping[str, str | None] | None = None,
) -> list[tuple[ColumnInfo, pa.Array]]:
    """Every column of one shot, checked against ``known`` from scratch and encoded: the
    parameters (in their display ``units``), then the data (``None`` values are left out;
    ``data_units``: each data column's unit symbol)."""
    return ShotColumnEncoder().encode(parameters, data, units, known, shot_index, data_units)


def _direct(info: ColumnInfo, unit: Any) -> _Encode:
    """How the full checks encode a value of this column (given the same value type)."""
    name = info.name
    if info.kind == "array":
        dtype, shape = info.dtype, info.shape
        kind = pa.binary(info.nbytes)

        def array(value: Any, shot_index: int) -> pa.Array | None:
            if value.dtype.str != dtype or value.shape != shape:
                return None
            contiguous = np.ascontiguousarray(value)
            return pa.FixedSizeBinaryArray.from_buffers(kind, 1, [None, pa.py_buffer(contiguous)])

        return array
    if info.dtype == "|b1":
        return lambda value, _: pa.Array.from_buffers(_BOOL, 1, [None, _TRUE if value else _FALSE])
    if info.dtype == "<i8":
        return lambda value, shot_index: one_value(as_int64(name, value, shot_index), _INT64)
    if unit is None:
        return lambda value, _: one_value(float(value), _FLOAT64)
    from_si = unit.from_si
    return lambda value, _: one_value(float(from_si(float(value))), _FLOAT64)
