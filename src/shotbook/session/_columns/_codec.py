"""Columns of the Parquet shot store: what each column holds, and its Arrow encoding.

One row per shot. Fixed columns: ``shot_index`` (int64), ``start_time`` and ``end_time``
(timestamp[us, UTC]). Parameters are typed columns under their dotted names, floats in their
display unit (symbol in the field metadata ``unit``). Data columns are named ``device.label``:
scalars are typed, numpy arrays are ``fixed_size_binary(nbytes)`` with ``dtype`` and ``shape``
in the field metadata (never Parquet lists: they decode 20-60x slower).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import numpy as np
import pyarrow as pa

from .._errors import ShotSchemaError

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "FIXED_COLUMNS",
    "ColumnInfo",
    "ColumnKind",
    "DisplayUnit",
    "ShotRecord",
    "arrow_field",
    "as_int64",
    "check_column_name",
    "decode_array_columns",
    "decode_arrow_array_column",
    "polars_dtype",
    "shot_record",
    "to_polars",
]

ColumnKind = Literal["parameter", "scalar", "array"]
"""``parameter``: a shot parameter; ``scalar``/``array``: a data column ``device.label``."""

SHOT_INDEX: Final = "shot_index"
START_TIME: Final = "start_time"
END_TIME: Final = "end_time"
FIXED_COLUMNS: Final = (SHOT_INDEX, START_TIME, END_TIME)
"""The columns every shot has, first in every table."""

TIMESTAMP_TYPE: Final = pa.timestamp("us", tz="UTC")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)

_SCALAR_TYPES: Final[dict[str, pa.DataType]] = {
    "<f8": pa.float64(),
    "<i8": pa.int64(),
    "|b1": pa.bool_(),
}
# numpy kinds an array column may hold: bool, signed/unsigned int, float, complex, datetime,
# timedelta, bytes and unicode of fixed size. Object arrays cannot be stored.
_ARRAY_KINDS: Final = "biufcmMSU"
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


class DisplayUnit(Protocol):
    """What the store needs of a unit (``shotbook.types.Unit`` has it)."""

    @property
    def symbol(self) -> str:
        """The unit as written, e.g. ``"MHz"``."""
        ...

    def from_si(self, x: Any) -> Any:
        """Convert an SI magnitude into this unit."""
        ...


@dataclass(frozen=True)
class ColumnInfo:
    """What one parameter or data column holds.

    ``dtype`` is a numpy dtype string (``"<f8"``, ``"<i8"``, ``"|b1"``, ``"<u2"``...);
    ``shape`` is ``()`` for scalars and the array's shape otherwise; ``unit`` is the display
    unit symbol of a float parameter, or the unit a data column's values are in (``None``
    when it has none or none was declared).

    >>> ColumnInfo("camera.picture", "array", "<u2", (512, 512)).describe()
    'an array of <u2 with shape (512, 512)'
    """

    name: str
    kind: ColumnKind
    dtype: str
    shape: tuple[int, ...] = ()
    unit: str | None = None

    def describe(self) -> str:
        """A short phrase for error messages."""
        if self.kind == "array":
            return f"an array of {self.dtype} with shape {self.shape}"
        what = {"<f8": "float", "<i8": "int", "|b1": "bool"}.get(self.dtype, self.dtype)
        text = f"a {what} {self.kind}"
        if self.unit is not None:
            text += f" in {self.unit}"
        return text

    @property
    def nbytes(self) -> int:
        """Bytes of one array value (of one scalar for scalars)."""
        return int(np.dtype(self.dtype).itemsize * math.prod(self.shape))

    def arrow_type(self) -> pa.DataType:
        """The Arrow type of the stored column."""
        if self.kind == "array":
            return pa.binary(self.nbytes)
        return _SCALAR_TYPES[self.dtype]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dictionary (see :meth:`from_json`)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "unit": self.unit,
        }

    @staticmethod
    def from_json(data: Any, where: str) -> ColumnInfo:
        """Read back :meth:`to_json`; ``where`` names the file in errors."""
        try:
            kind = data["kind"]
            if kind not in ("parameter", "scalar", "array"):
                raise ValueError(f"unknown column kind {kind!r}")
            dtype = str(data["dtype"])
            np.dtype(dtype)
            unit = data.get("unit")
            return ColumnInfo(
                name=str(data["name"]),
                kind=kind,
                dtype=dtype,
                shape=tuple(int(n) for n in data.get("shape", ())),
                unit=None if unit is None else str(unit),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"bad column description {data!r} in {where}: {error}") from None


def arrow_field(info: ColumnInfo) -> pa.Field:
    """The Arrow field of a column, with its metadata (``kind``, ``unit``, ``dtype``, ``shape``)."""
    metadata: dict[str, str] = {"kind": info.kind}
    if info.unit is not None:
        metadata["unit"] = info.unit
    if info.kind == "array":
        metadata["dtype"] = info.dtype
        metadata["shape"] = json.dumps(list(info.shape))
    return pa.field(info.name, info.arrow_type(), metadata=metadata)


def fixed_fields() -> list[pa.Field]:
    """The Arrow fields of the fixed columns."""
    return [
        pa.field(SHOT_INDEX, pa.int64(), nullable=False),
        pa.field(START_TIME, TIMESTAMP_TYPE),
        pa.field(END_TIME, TIMESTAMP_TYPE),
    ]


def info_from_field(field: pa.Field) -> ColumnInfo | None:
    """The column description stored in a Parquet file's field (``None`` for fixed columns)."""
    if field.name in FIXED_COLUMNS:
        return None
    metadata = {key.decode(): value.decode() for key, value in (field.metadata or {}).items()}
    kind = metadata.get("kind")
    if pa.types.is_fixed_size_binary(field.type):
        return ColumnInfo(
            field.name,
            "array",
            metadata["dtype"],
            tuple(json.loads(metadata["shape"])),
            metadata.get("unit"),
        )
    dtype = next(key for key, value in _SCALAR_TYPES.items() if value == field.type)
    return ColumnInfo(
        field.name,
        "parameter" if kind == "parameter" else "scalar",
        dtype,
        (),
        metadata.get("unit"),
    )


def to_microseconds(moment: datetime, what: str, shot_index: int) -> int:
    """Microseconds since the epoch of a timezone-aware datetime."""
    if not isinstance(moment, datetime):
        raise TypeError(f"shot {shot_index}: {what} must be a datetime, not {type(moment)!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"shot {shot_index}: {what} {moment!r} has no timezone; pass an aware datetime, "
            "e.g. datetime.now(timezone.utc)"
        )
    return (moment - _EPOCH) // _MICROSECOND


def from_microseconds(value: int) -> datetime:
    """The UTC datetime of microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=value)


def encode_parameter(
    name: str, value: object, unit: DisplayUnit | None, known: ColumnInfo | None, shot_index: int
) -> tuple[ColumnInfo, pa.Array]:
    """Check one parameter against its earlier description and encode it (display units)."""
    if isinstance(value, bool | np.bool_):
        info = ColumnInfo(name, "parameter", "|b1")
        array = pa.array([bool(value)], pa.bool_())
    elif isinstance(value, int | np.integer) and not (known is not None and known.dtype == "<f8"):
        info = ColumnInfo(name, "parameter", "<i8")
        array = pa.array([as_int64(name, value, shot_index)], pa.int64())
    elif isinstance(value, float | int | np.floating | np.integer):
        symbol = None if unit is None else unit.symbol
        magnitude = float(value) if unit is None else float(unit.from_si(float(value)))
        info = ColumnInfo(name, "parameter", "<f8", (), symbol)
        array = pa.array([magnitude], pa.float64())
    else:
        raise TypeError(
            f"shot {shot_index}: parameter {name!r} is {type(value).__name__} {value!r}; "
            "parameters are floats (SI), ints or bools"
        )
    _check_same(info, known, shot_index)
    return info, array


def encode_data(
    name: str, value: object, known: ColumnInfo | None, shot_index: int, unit: str | None = None
) -> tuple[ColumnInfo, pa.Array]:
    """Check one data value against its earlier description and encode it.

    ``unit`` is the symbol of the unit the value is in (``"V"``), kept as the column's
    description (bools have none: it is ignored for them); the value is stored as given.
    """
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        raise TypeError(
            f"shot {shot_index}: the unit of data {name!r} is a non-empty str or None, not {unit!r}"
        )
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(
                f"shot {shot_index}: data {name!r} is an array of dtype {value.dtype}, which "
                "cannot be stored as bytes; use a numeric, bool, datetime or fixed-size "
                "string dtype"
            )
        if value.size == 0:
            raise ValueError(f"shot {shot_index}: data {name!r} is an empty array {value.shape}")
        symbol = None if value.dtype.kind == "b" else unit
        shape = tuple(int(n) for n in value.shape)
        info = ColumnInfo(name, "array", value.dtype.str, shape, symbol)
        _check_same(info, known, shot_index)
        contiguous = np.ascontiguousarray(value)
        buffer = pa.py_buffer(contiguous)
        array = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(contiguous.nbytes), 1, [None, buffer]
        )
        return info, array
    if isinstance(value, bool | np.bool_):
        info = ColumnInfo(name, "scalar", "|b1")
        array = pa.array([bool(value)], pa.bool_())
    elif isinstance(value, int | np.integer) and not (known is not None and known.dtype == "<f8"):
        info = ColumnInfo(name, "scalar", "<i8", (), unit)
        array = pa.array([as_int64(name, value, shot_index)], pa.int64())
    elif isinstance(value, float | int | np.floating | np.integer):
        info = ColumnInfo(name, "scalar", "<f8", (), unit)
        array = pa.array([float(value)], pa.float64())
    else:
        raise TypeError(
            f"shot {shot_index}: data {name!r} is {type(value).__name__}; data values are "
            "floats, ints, bools or numpy arrays (None leaves the column empty for the shot)"
        )
    _check_same(info, known, shot_index)
    return info, array


def check_column_name(name: object, seen: set[str], shot_index: int) -> None:
    """A shot's column name: a non-empty string, not a fixed column, not given twice."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"shot {shot_index}: column names are non-empty strings, not {name!r}")
    if name in seen:
        what = "a fixed column" if name in FIXED_COLUMNS else "given twice"
        raise ValueError(
            f"shot {shot_index}: column {name!r} is {what}; a parameter and a data value "
            "cannot share a name"
        )
    seen.add(name)


def as_int64(name: str, value: int | np.integer, shot_index: int) -> int:
    """``value`` as an int, or a clear error if it does not fit in 64 bits."""
    number = int(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ValueError(f"shot {shot_index}: {name!r} = {number} does not fit in 64 bits")
    return number


def _check_same(info: ColumnInfo, known: ColumnInfo | None, shot_index: int) -> None:
    if known is not None and known != info:
        raise ShotSchemaError(info.name, known.describe(), info.describe(), shot_index)


# ---------------------------------------------------------------------------------- decoding


def numpy_values(chunk: pa.FixedSizeBinaryArray, info: ColumnInfo) -> np.ndarray:
    """All values of one fixed-size binary chunk as one numpy array ``(n, *shape)``, zero-copy.

    Null entries hold whatever bytes the buffer has; look at the chunk's validity.
    """
    width = info.nbytes
    data = chunk.buffers()[1]
    count = len(chunk) * int(np.prod(info.shape))
    if data is None or count == 0:
        return np.empty((0, *info.shape), dtype=info.dtype)
    flat = np.frombuffer(data, dtype=info.dtype, count=count, offset=chunk.offset * width)
    return flat.reshape((len(chunk), *info.shape))


_ARROW_VALUE_TYPES: Final[dict[str, pa.DataType]] = {
    "i1": pa.int8(),
    "i2": pa.int16(),
    "i4": pa.int32(),
    "i8": pa.int64(),
    "u1": pa.uint8(),
    "u2": pa.uint16(),
    "u4": pa.uint32(),
    "u8": pa.uint64(),
    "f4": pa.float32(),
    "f8": pa.float64(),
}


def arrow_value_type(info: ColumnInfo) -> pa.DataType | None:
    """The Arrow type of the elements of an array column, or ``None`` if polars lacks one."""
    dtype = np.dtype(info.dtype)
    if dtype.kind == "b":
        return pa.bool_()
    return _ARROW_VALUE_TYPES.get(f"{dtype.kind}{dtype.itemsize}")


def decode_arrow_array_column(column: pa.ChunkedArray, info: ColumnInfo) -> pa.ChunkedArray:
    """Turn a fixed-size binary column into nested fixed-size lists of its dtype.

    Zero-copy for little-endian numeric dtypes (bools and big-endian dtypes are converted).
    Columns whose dtype has no Arrow/polars equivalent (complex, strings, datetimes) are
    returned unchanged, as binary.
    """
    value_type = arrow_value_type(info)
    if value_type is None:
        return column
    chunks = []
    for chunk in column.chunks:
        values = numpy_values(chunk, info)
        dtype = np.dtype(info.dtype)
        size = int(np.prod(info.shape))
        if dtype.kind == "b" or not dtype.isnative:
            flat: pa.Array = pa.array(values.reshape(-1).astype(dtype.newbyteorder("=")))
        else:
            buffer = chunk.buffers()[1]
            start = chunk.offset * info.nbytes
            flat = pa.Array.from_buffers(
                value_type, len(chunk) * size, [None, buffer.slice(start, len(chunk) * info.nbytes)]
            )
        nested: pa.Array = flat
        for length in reversed(info.shape[1:]):
            nested = pa.FixedSizeListArray.from_arrays(nested, length)
        mask = chunk.is_null() if chunk.null_count else None
        nested = pa.FixedSizeListArray.from_arrays(nested, info.shape[0], mask=mask)
        chunks.append(nested)
    return pa.chunked_array(chunks, type=_nested_type(value_type, info.shape))


def to_polars(
    table: pa.Table, schema: Mapping[str, ColumnInfo], decode_arrays: bool
) -> pl.DataFrame:
    """A polars frame of a shot table, array columns decoded as ``pl.Array`` if asked.

    Shared by the Parquet shot store and the SQL backends' reader: the image bytes are not
    copied (see :func:`decode_arrow_array_column`).
    """
    import polars as pl

    if decode_arrays:
        for position, name in enumerate(table.column_names):
            info = schema.get(name)
            if info is not None and info.kind == "array":
                decoded = decode_arrow_array_column(table.column(name), info)
                table = table.set_column(position, pa.field(name, decoded.type), decoded)
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _nested_type(value_type: pa.DataType, shape: tuple[int, ...]) -> pa.DataType:
    nested = value_type
    for length in reversed(shape):
        nested = pa.list_(nested, length)
    return nested


def polars_dtype(info: ColumnInfo, *, decode_arrays: bool = True) -> Any:
    """The polars dtype a column is read as (``pl.Array(pl.UInt16, (512, 512))`` for images)."""
    import polars as pl

    if info.kind == "array":
        value_type = arrow_value_type(info)
        if not decode_arrays or value_type is None:
            return pl.Binary
        inner = pl.from_arrow(pa.array([], value_type))
        assert isinstance(inner, pl.Series)
        return pl.Array(inner.dtype, info.shape)
    return {"<f8": pl.Float64, "<i8": pl.Int64, "|b1": pl.Boolean}[info.dtype]


def shots_frame_schema(schema: Mapping[str, ColumnInfo], *, decode_arrays: bool) -> dict[str, Any]:
    """The polars schema of a sequence's shots: the fixed columns, then ``schema``'s."""
    import polars as pl

    frame: dict[str, Any] = {
        SHOT_INDEX: pl.Int64(),
        START_TIME: pl.Datetime("us", "UTC"),
        END_TIME: pl.Datetime("us", "UTC"),
    }
    for name, info in schema.items():
        frame[name] = polars_dtype(info, decode_arrays=decode_arrays)
    return frame


def array_columns(schema: Mapping[str, ColumnInfo]) -> set[str]:
    """The names of the array columns of ``schema``."""
    return {name for name, info in schema.items() if info.kind == "array"}


def lazy_shots(
    frame_schema: dict[str, Any],
    collect: Callable[[list[str], pl.Expr | None], pl.DataFrame],
    *,
    name: str,
    detail: str,
) -> pl.LazyFrame:
    """A polars LazyFrame whose every ``collect()`` calls ``collect(columns, predicate)``.

    ``columns`` are the projected columns (all of ``frame_schema`` when none is chosen) and
    ``predicate`` the pushed-down filter (or ``None``); ``collect`` returns a DataFrame.
    """
    from polars.io.plugins import register_io_source

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        wanted = list(with_columns) if with_columns is not None else list(frame_schema)
        frame = collect(wanted, predicate)
        yield frame.head(n_rows) if n_rows is not None else frame

    return register_io_source(source, schema=frame_schema, explain_name=name, explain_detail=detail)


def decode_array_columns(df: pl.DataFrame, schema: Mapping[str, ColumnInfo]) -> pl.DataFrame:
    """Decode array columns a polars frame holds as ``Binary`` into ``pl.Array`` columns.

    For frames from :meth:`ParquetShotStore.scan_polars` with ``decode_arrays=False`` or read
    by other tools (e.g. DuckDB over the Parquet files); ``schema`` is
    :meth:`ParquetShotStore.schema`. Columns that are not array columns, or already decoded,
    are left alone.

    >>> frame = decode_array_columns(frame, store.schema())  # doctest: +SKIP
    """
    import polars as pl

    replaced = []
    for name in df.columns:
        info = schema.get(name)
        if info is None or info.kind != "array" or df.schema[name] != pl.Binary:
            continue
        try:
            fixed = df.get_column(name).to_arrow().cast(pa.binary(info.nbytes))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise ValueError(
                f"column {name!r} does not hold {info.nbytes}-byte values ({info.describe()}): "
                f"{error}"
            ) from None
        fixed = pa.chunked_array([fixed]) if isinstance(fixed, pa.Array) else fixed
        decoded = pl.from_arrow(decode_arrow_array_column(fixed, info), rechunk=False)
        replaced.append(pl.Series(name, decoded))
    return df.with_columns(replaced) if replaced else df


def resolve_columns(
    columns: Sequence[str] | None, schema: Mapping[str, ColumnInfo], where: str
) -> list[str]:
    """The columns to read: all (``None``) or the named ones, each once; an unknown name is a
    ``ValueError`` naming it, ``where`` (e.g. "the shots of /tmp/seq") and the known ones."""
    if columns is None:
        return [*FIXED_COLUMNS, *schema]
    if isinstance(columns, str):
        raise TypeError(f"columns is a list of names, not the string {columns!r}")
    names = list(dict.fromkeys(columns))
    unknown = [name for name in names if name not in schema and name not in FIXED_COLUMNS]
    if unknown:
        known = ", ".join([*FIXED_COLUMNS, *schema])
        raise ValueError(f"no column {unknown[0]!r} in {where}; columns: {known}")
    return names


@dataclass(frozen=True)
class ShotRecord:
    """One stored shot.

    ``parameters`` are in their display units (``units`` gives each symbol, ``None`` for ints,
    bools and dimensionless floats); ``data`` holds numpy arrays (read-only views of the
    file's buffer) and Python scalars, in the units ``data_units`` gives (columns stored
    without a unit are left out); times are UTC.
    """

    index: int
    parameters: dict[str, float | int | bool]
    units: dict[str, str | None]
    data: dict[str, Any]
    start_time: datetime
    end_time: datetime
    data_units: dict[str, str] = field(default_factory=dict)


def shot_record(row: pa.Table, columns: Iterable[ColumnInfo], index: int) -> ShotRecord:
    """The :class:`ShotRecord` of a one-row table holding shot ``index`` and ``columns``.

    Null cells (a column the shot did not write) are left out of the record.
    """
    parameters: dict[str, float | int | bool] = {}
    units: dict[str, str | None] = {}
    data: dict[str, Any] = {}
    data_units: dict[str, str] = {}
    for info in columns:
        chunk = row.column(info.name).combine_chunks()
        if chunk.null_count:
            continue
        if info.kind == "array":
            data[info.name] = numpy_values(chunk, info)[0]
        elif info.kind == "parameter":
            parameters[info.name] = chunk[0].as_py()
            units[info.name] = info.unit
        else:
            data[info.name] = chunk[0].as_py()
        if info.kind != "parameter" and info.unit is not None:
            data_units[info.name] = info.unit
    times = row.select([START_TIME, END_TIME]).cast(
        pa.schema([(START_TIME, pa.int64()), (END_TIME, pa.int64())])
    )
    return ShotRecord(
        index=index,
        parameters=parameters,
        units=units,
        data=data,
        start_time=from_microseconds(times.column(0)[0].as_py()),
        end_time=from_microseconds(times.column(1)[0].as_py()),
        data_units=data_units,
    )
