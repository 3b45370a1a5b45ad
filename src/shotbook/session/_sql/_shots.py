"""Shots in a SQL store: written one transaction per shot, read column by column as Arrow.

Tables (see :mod:`._sql_schema`): ``shot_columns`` (the sequence's column schema),
``shots`` (index and times), ``shot_values`` (scalars and parameters, one row per value)
and ``shot_arrays`` (one row per numpy array, its raw bytes). A shot is one transaction:
readers in other processes see it whole or not at all.

Reading builds the same Arrow table as the Parquet store (``shot_index``, ``start_time``,
``end_time``, parameters typed in their display unit with ``unit`` metadata, data columns
named ``device.label``, arrays as ``fixed_size_binary`` with ``dtype``/``shape`` metadata),
then the same polars frame (arrays as ``pl.Array`` of their dtype). Each column is one
query whose result arrives as Arrow and is aligned on the shot indices with numpy: no
Python loop over rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shotbook.types._paths import PureSequencePath

from .._columns._codec import (
    END_TIME,
    SHOT_INDEX,
    START_TIME,
    TIMESTAMP_TYPE,
    ColumnInfo,
    DisplayUnit,
    ShotRecord,
    array_columns,
    arrow_field,
    fixed_fields,
    lazy_shots,
    resolve_columns,
    shot_record,
    shots_frame_schema,
    to_microseconds,
    to_polars,
)
from .._columns._encoder import ShotColumnEncoder
from .._errors import ShotExistsError
from ._catalog import SQLCatalog, SQLTransaction

if TYPE_CHECKING:
    import polars as pl

Query = tuple[str, Sequence[Any], pa.Schema]
"""SQL with ``?`` placeholders, its parameters, and the Arrow schema of its rows."""

_COLUMNS_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("kind", pa.string()),
        ("dtype", pa.string()),
        ("shape", pa.string()),
        ("unit", pa.string()),
    ]
)
_SHOTS_SCHEMA = pa.schema(
    [("shot_index", pa.int64()), ("start_time_us", pa.int64()), ("end_time_us", pa.int64())]
)
_VALUES_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("shot_index", pa.int64()),
        ("real_value", pa.float64()),
        ("int_value", pa.int64()),
    ]
)
_ARRAYS_SCHEMA = pa.schema([("shot_index", pa.int64()), ("data", pa.binary())])
_INDEX_LIST_LIMIT = 1000


# ----------------------------------------------------------------------------------- writing


class SQLShotWriter:
    """Writes the shots of one running sequence, one transaction per shot, on its own connection.

    It never reads the catalog (only, once, the shots already stored, to refuse an index
    written twice). ``write_shot`` returns once the shot is committed: it then survives the
    death of this process, and other processes see it.
    """

    def __init__(self, catalog: SQLCatalog, sequence_id: str, path: PureSequencePath) -> None:
        self._catalog = catalog
        self._id = sequence_id
        self._path = path
        self._connection = catalog.open_connection(for_shots=True)
        self._closed = False
        try:
            columns, indices = catalog.run(self._load, write=False, connection=self._connection)
        except BaseException:
            self._connection.close()
            raise
        self._columns: dict[str, ColumnInfo] = columns
        self._encoder = ShotColumnEncoder()
        self._indices: set[int] = indices
        blob = catalog.blob_placeholder
        self._insert_array = f"INSERT INTO shot_arrays VALUES (?, ?, ?, {blob})"

    def _load(self, tx: SQLTransaction) -> tuple[dict[str, ColumnInfo], set[int]]:
        columns = read_columns(tx, self._id)
        rows = tx.all("SELECT shot_index FROM shots WHERE sequence_id = ?", [self._id])
        return columns, {int(row[0]) for row in rows}

    def write_shot(
        self,
        index: int,
        parameters: Mapping[str, float | int | bool],
        data: Mapping[str, Any],
        start: datetime,
        end: datetime,
        *,
        units: Mapping[str, DisplayUnit | None] | None = None,
        data_units: Mapping[str, str | None] | None = None,
    ) -> None:
        """Store one shot; returns when it is committed.

        Same rules as the Parquet writer: ``parameters`` are SI magnitudes (floats), ints or
        bools stored in their display unit (``units``, or ``parameters.units`` for a
        ``ShotParameters``); ``data`` maps ``device.label`` to floats, ints, bools or numpy
        arrays (``None``: no value for this shot) with their unit symbols in ``data_units``.
        Raises :class:`ShotExistsError` for an
        index already stored, :class:`ShotSchemaError` when a column changes kind, dtype,
        shape or unit; then nothing is stored.
        """
        if self._closed:
            raise RuntimeError(f"the shot writer of {self._path} is closed")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"a shot index is an int >= 0, not {index!r}")
        if index in self._indices:
            raise ShotExistsError(index, cast(Path, f"sequence {self._path}"))
        if units is None:
            units = getattr(parameters, "units", None) or {}
        start_us = to_microseconds(start, "start", index)
        end_us = to_microseconds(end, "end", index)
        values: list[tuple[Any, ...]] = []
        arrays: list[tuple[Any, ...]] = []
        new: dict[str, ColumnInfo] = {}
        for info, encoded in self._encoder.encode(
            parameters, data, units, self._columns, index, data_units
        ):
            if info.kind == "array":
                contiguous = np.ascontiguousarray(data[info.name])
                arrays.append(
                    (self._id, info.name, index, contiguous.reshape(-1).view(np.uint8).data)
                )
            else:
                values.append(self._value_row(info, encoded[0].as_py(), index))
            if info.name not in self._columns:
                new[info.name] = info
        position = len(self._columns)
        column_rows = [
            (
                self._id,
                info.name,
                position + offset,
                info.kind,
                info.dtype,
                json.dumps(list(info.shape)),
                info.unit,
            )
            for offset, info in enumerate(new.values())
        ]

        def action(tx: SQLTransaction) -> None:
            tx.many("INSERT INTO shot_columns VALUES (?, ?, ?, ?, ?, ?, ?)", column_rows)
            tx.execute("INSERT INTO shots VALUES (?, ?, ?, ?)", [self._id, index, start_us, end_us])
            tx.many("INSERT INTO shot_values VALUES (?, ?, ?, ?, ?)", values)
            tx.many(self._insert_array, arrays)

        try:
            self._catalog.run(action, connection=self._connection, append=True)
        except Exception as error:
            if self._catalog.is_unique_violation(error):
                self._indices.add(index)
                raise ShotExistsError(index, cast(Path, f"sequence {self._path}")) from None
            raise
        self._columns.update(new)
        self._indices.add(index)

    def _value_row(self, info: ColumnInfo, value: Any, index: int) -> tuple[Any, ...]:
        if info.dtype == "<f8":
            number = float(value)
            return (self._id, info.name, index, None if math.isnan(number) else number, None)
        return (self._id, info.name, index, None, int(value))

    def close(self) -> None:
        """Close the writer's connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._connection.close()

    def __enter__(self) -> SQLShotWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLShotWriter({str(self._path)!r})"


_SCHEMA_RETRIES = 5
"""Reads of a running sequence done again when a shot brought new columns meanwhile."""


def read_columns(tx: SQLTransaction, sequence_id: str) -> dict[str, ColumnInfo]:
    """The column schema of a sequence's shots, in the order the columns first appeared."""
    rows = tx.all(
        "SELECT name, kind, dtype, shape, unit FROM shot_columns WHERE sequence_id = ? "
        "ORDER BY position",
        [sequence_id],
    )
    return {
        name: ColumnInfo(name, kind, dtype, tuple(json.loads(shape)), unit)
        for name, kind, dtype, shape, unit in rows
    }


# ----------------------------------------------------------------------------------- reading


class SQLShotReader:
    """Reads the shots of any sequence of a SQL store (Arrow, polars, one shot)."""

    def __init__(self, catalog: SQLCatalog) -> None:
        self._catalog = catalog

    def columns(self, sequence_id: str) -> dict[str, ColumnInfo]:
        """The column schema of the sequence's shots."""
        return self._catalog.run(lambda tx: read_columns(tx, sequence_id), write=False)

    def indices(self, sequence_id: str) -> list[int]:
        """The stored shot indices, sorted."""
        (table,) = self._catalog.fetch_arrow(
            [
                (
                    "SELECT shot_index FROM shots WHERE sequence_id = ? ORDER BY shot_index",
                    [sequence_id],
                    pa.schema([("shot_index", pa.int64())]),
                )
            ]
        )
        return [int(i) for i in table.column(0).to_numpy()]

    def read_table(
        self,
        sequence_id: str,
        columns: Sequence[str] | None = None,
        shots: Sequence[int] | None = None,
    ) -> tuple[pa.Table, dict[str, ColumnInfo]]:
        """The shots as one Arrow table sorted by ``shot_index``, and the column schema.

        Only the requested columns are read (``shot_index`` always); ``shots`` keeps only
        these indices. All queries read one snapshot of the database.

        The column schema is read in a transaction of its own, before the rows: a shot stored
        in between would bring rows whose columns the schema lacks. Columns are only ever
        added, with the shot that brings them, so a schema read again after the rows that has
        not changed covers every row read; otherwise the read is done again.
        """
        schema = self.columns(sequence_id)
        for _ in range(_SCHEMA_RETRIES):
            table = self._read_rows(sequence_id, columns, shots, schema)
            again = self.columns(sequence_id)
            if again == schema:
                return table, schema
            schema = again
        return self._read_rows(sequence_id, columns, shots, schema), schema

    def _read_rows(
        self,
        sequence_id: str,
        columns: Sequence[str] | None,
        shots: Sequence[int] | None,
        schema: dict[str, ColumnInfo],
    ) -> pa.Table:
        """The rows of :meth:`read_table` for this schema, in one snapshot."""
        names = _resolve(columns, schema, sequence_id)
        scalars = [n for n in names if n in schema and schema[n].kind != "array"]
        arrays = [n for n in names if n in schema and schema[n].kind == "array"]
        restrict, restrict_args = "", []
        if shots is not None:
            wanted = sorted({int(i) for i in shots})
            if not wanted:
                wanted = [-1]
            restrict = f" AND shot_index IN ({', '.join('?' for _ in wanted)})"
            restrict_args = wanted
        queries: list[Query] = [
            (
                "SELECT shot_index, start_time_us, end_time_us FROM shots WHERE sequence_id = ?"
                f"{restrict} ORDER BY shot_index",
                [sequence_id, *restrict_args],
                _SHOTS_SCHEMA,
            )
        ]
        if scalars:
            marks = ", ".join("?" for _ in scalars)
            queries.append(
                (
                    "SELECT name, shot_index, real_value, int_value FROM shot_values "
                    f"WHERE sequence_id = ? AND name IN ({marks}){restrict} "
                    "ORDER BY name, shot_index",
                    [sequence_id, *scalars, *restrict_args],
                    _VALUES_SCHEMA,
                )
            )
        for name in arrays:
            queries.append(
                (
                    "SELECT shot_index, data FROM shot_arrays WHERE sequence_id = ? AND name = ?"
                    f"{restrict} ORDER BY shot_index",
                    [sequence_id, name, *restrict_args],
                    _ARRAYS_SCHEMA,
                )
            )
        tables = self._catalog.fetch_arrow(queries)
        shots_table = tables[0]
        base = shots_table.column("shot_index").to_numpy()
        built: dict[str, Any] = {
            SHOT_INDEX: shots_table.column("shot_index"),
            START_TIME: shots_table.column("start_time_us").cast(TIMESTAMP_TYPE),
            END_TIME: shots_table.column("end_time_us").cast(TIMESTAMP_TYPE),
        }
        if scalars:
            built.update(_scalar_columns(tables[1], scalars, schema, base))
        for name, table in zip(arrays, tables[1 + bool(scalars) :], strict=True):
            built[name] = _array_column(table, schema[name], base)
        fields = {field.name: field for field in fixed_fields()}
        fields.update({name: arrow_field(info) for name, info in schema.items()})
        return pa.Table.from_arrays(
            [built[name] for name in names], schema=pa.schema([fields[name] for name in names])
        )

    def read_polars(
        self,
        sequence_id: str,
        columns: Sequence[str] | None = None,
        *,
        decode_arrays: bool = True,
    ) -> pl.DataFrame:
        """The shots as a polars frame (arrays as ``pl.Array`` of their dtype and shape)."""
        table, schema = self.read_table(sequence_id, columns)
        return to_polars(table, schema, decode_arrays)

    def scan(self, sequence_id: str, *, decode_arrays: bool = True) -> pl.LazyFrame:
        """A lazy frame over the shots; each ``collect()`` reads the store anew.

        Only the projected columns are fetched. With a filter on columns that are not
        arrays, those are read first and the arrays only for the matching shots. The schema
        is the one known when ``scan`` is called.
        """
        schema = self.columns(sequence_id)
        arrays = array_columns(schema)
        return lazy_shots(
            shots_frame_schema(schema, decode_arrays=decode_arrays),
            lambda wanted, predicate: self._collect(
                sequence_id, wanted, predicate, arrays, decode_arrays
            ),
            name="shotbook-sql-shots",
            detail=sequence_id,
        )

    def _collect(
        self,
        sequence_id: str,
        wanted: list[str],
        predicate: pl.Expr | None,
        arrays: set[str],
        decode_arrays: bool,
    ) -> pl.DataFrame:
        if predicate is None:
            return self.read_polars(sequence_id, wanted, decode_arrays=decode_arrays)
        needed = list(dict.fromkeys([*predicate.meta.root_names(), SHOT_INDEX]))
        if arrays.isdisjoint(needed) and not arrays.isdisjoint(wanted):
            selected = self.read_polars(sequence_id, needed).filter(predicate)
            matching = selected.get_column(SHOT_INDEX).to_list()
            if len(matching) <= _INDEX_LIST_LIMIT:
                columns = list(dict.fromkeys([*wanted, SHOT_INDEX]))
                table, schema = self.read_table(sequence_id, columns, matching)
                return to_polars(table, schema, decode_arrays).select(wanted)
        columns = list(dict.fromkeys([*wanted, *needed]))
        frame = self.read_polars(sequence_id, columns, decode_arrays=decode_arrays)
        return frame.filter(predicate).select(wanted)

    def read_shot(self, sequence_id: str, index: int) -> ShotRecord | None:
        """One shot with its arrays as numpy arrays (``None`` when it is not stored)."""
        table, schema = self.read_table(sequence_id, None, [index])
        if table.num_rows != 1:
            return None
        return shot_record(table, schema.values(), index)


def _resolve(
    columns: Sequence[str] | None, schema: dict[str, ColumnInfo], sequence_id: str
) -> list[str]:
    return resolve_columns(columns, schema, f"the shots of sequence {sequence_id}")


def _positions(base: np.ndarray, indices: np.ndarray) -> np.ndarray | None:
    """Where each shot of ``base`` is in ``indices`` (-1 if absent); ``None`` if identical."""
    if len(indices) == len(base) and np.array_equal(indices, base):
        return None
    positions = np.full(len(base), -1, dtype=np.int64)
    if len(indices) == 0 or len(base) == 0:
        return positions
    where = np.searchsorted(base, indices)
    inside = where < len(base)
    found = np.zeros(len(indices), dtype=bool)
    found[inside] = base[where[inside]] == indices[inside]
    positions[where[found]] = np.flatnonzero(found)
    return positions


def _align(values: pa.Array, positions: np.ndarray | None) -> pa.Array:
    if positions is None:
        return values
    return values.take(pa.array(positions, mask=positions < 0))


def _scalar_columns(
    table: pa.Table, names: list[str], schema: dict[str, ColumnInfo], base: np.ndarray
) -> dict[str, pa.Array]:
    out: dict[str, pa.Array] = {}
    name_column = table.column("name")
    for name in names:
        info = schema[name]
        rows = table.filter(pc.equal(name_column, name))
        indices = rows.column("shot_index").to_numpy()
        if info.dtype == "<f8":
            # a stored row without a value is NaN (SQLite stores NaN as NULL)
            values = pc.fill_null(rows.column("real_value"), math.nan).combine_chunks()
        elif info.dtype == "|b1":
            values = pc.not_equal(rows.column("int_value"), 0).combine_chunks()
        else:
            values = rows.column("int_value").combine_chunks()
        out[name] = _align(values, _positions(base, indices))
    return out


def _array_column(table: pa.Table, info: ColumnInfo, base: np.ndarray) -> pa.ChunkedArray:
    """The array column as ``fixed_size_binary``, zero-copy from the fetched buffers."""
    width = info.nbytes
    chunks = [_fixed_chunk(chunk, info) for chunk in table.column("data").chunks if len(chunk)]
    fixed = pa.chunked_array(chunks, type=pa.binary(width))
    positions = _positions(base, table.column("shot_index").to_numpy())
    if positions is None:
        return fixed
    return fixed.take(pa.array(positions, mask=positions < 0))


def _fixed_chunk(chunk: pa.Array, info: ColumnInfo) -> pa.Array:
    width = info.nbytes
    large = pa.types.is_large_binary(chunk.type)
    if chunk.null_count == 0 and (large or pa.types.is_binary(chunk.type)):
        offset_type = np.int64 if large else np.int32
        offsets = np.frombuffer(
            chunk.buffers()[1],
            dtype=offset_type,
            count=len(chunk) + 1,
            offset=chunk.offset * np.dtype(offset_type).itemsize,
        )
        if not np.all(np.diff(offsets) == width):
            raise ValueError(
                f"array column {info.name!r}: stored values are not all {width} bytes "
                f"({info.describe()}); the store is damaged"
            )
        data = chunk.buffers()[2].slice(int(offsets[0]), len(chunk) * width)
        return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(chunk), [None, data])
    return chunk.cast(pa.binary(width))


__all__ = ["SQLShotReader", "SQLShotWriter", "read_columns"]
