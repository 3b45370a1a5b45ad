"""Read a caqtus 6.x database (SQLite file or PostgreSQL server) table by table.

Only the stdlib ``sqlite3`` or ``psycopg`` (the ``postgresql`` extra) is used; caqtus itself
is not needed. Every JSON column is read as text (``CAST(... AS TEXT)``) so that both
databases give the same values, and decoded with :func:`json.loads` (never ``eval``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SUPPORTED_REVISIONS = ("babf96303363",)
"""The alembic revisions of caqtus's schema this importer reads (caqtus-suite 6.29)."""

REQUIRED_TABLES = (
    "alembic_version",
    "parameters",
    "default_device_configurations",
    "path",
    "sequences",
    "sequence.parameters",
    "sequence.iteration",
    "sequence.time_lanes",
    "sequence.device_configurations",
    "sequence.exception_tracebacks",
    "shots",
    "shot.parameters",
    "shot.data.arrays",
    "shot.data.structured",
)


class CaqtusImportError(ValueError):
    """The caqtus database cannot be imported; the message names the table, sequence or shot."""


@dataclass(frozen=True)
class CaqtusPath:
    """One row of caqtus's ``path`` table."""

    id: int
    path: str
    parent_id: int | None
    created: datetime


@dataclass(frozen=True)
class CaqtusSequence:
    """One row of caqtus's ``sequences`` table, with its path."""

    id: int
    path: str
    state: str
    start_time: datetime | None
    stop_time: datetime | None
    expected_number_of_shots: int | None


@dataclass(frozen=True)
class CaqtusShotRow:
    """One shot: index, times, parameters and data, decoded from the tables."""

    id: int
    index: int
    start_time: datetime
    end_time: datetime
    parameters: Any
    arrays: list[tuple[str, str, Any, bytes]]
    structured: list[tuple[str, Any]]


def utc_time(value: Any, where: str) -> datetime:
    """A caqtus time (naive text or datetime, meaning UTC) as an aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise CaqtusImportError(f"{where}: {value!r} is not a date and time") from None
    else:
        raise CaqtusImportError(f"{where}: {value!r} is not a date and time")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def decode_json(text: Any, where: str) -> Any:
    """A JSON column's value, read as text (``None`` for SQL NULL)."""
    if text is None:
        return None
    if isinstance(text, bytes | memoryview):
        text = bytes(text).decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except (TypeError, ValueError) as error:
        raise CaqtusImportError(f"{where}: not valid JSON ({error}): {str(text)[:80]!r}") from None


class CaqtusSource:
    """A connection to a caqtus database: a SQLite file or a ``postgresql://`` URL."""

    def __init__(self, location: str | Path) -> None:
        self.location = str(location)
        self._postgres = self.location.startswith(("postgresql://", "postgres://"))
        self._connection: Any
        if self._postgres:
            try:
                import psycopg
            except ImportError:  # pragma: no cover - the postgresql extra is missing
                raise CaqtusImportError(
                    "reading a caqtus PostgreSQL database needs psycopg: "
                    "pip install 'shotbook[postgresql]'"
                ) from None
            try:
                self._connection = psycopg.connect(self.location, autocommit=True)
            except psycopg.Error as error:
                raise CaqtusImportError(f"{self.location}: cannot connect ({error})") from None
        else:
            path = Path(self.location)
            if not path.is_file():
                raise CaqtusImportError(f"{path}: no such file (a caqtus SQLite database)")
            try:
                self._connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
                self._connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.DatabaseError as error:
                raise CaqtusImportError(
                    f"{path}: not a caqtus database (not an SQLite file: {error})"
                ) from None
        self.check_schema()

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def __enter__(self) -> CaqtusSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- queries ------------------------------------------------------------------------------
    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` written with ``?`` placeholders (translated for PostgreSQL)."""
        if self._postgres:
            sql = sql.replace("?", "%s")
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql, tuple(parameters))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _tables(self) -> set[str]:
        if self._postgres:
            rows = self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "current_schema()"
            )
        else:
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows}

    def check_schema(self) -> None:
        """Refuse a database that is not caqtus's, or of a schema revision not supported."""
        tables = self._tables()
        missing = [name for name in REQUIRED_TABLES if name not in tables]
        if missing:
            raise CaqtusImportError(
                f"{self.location}: not a caqtus database: table(s) {', '.join(missing)} missing"
            )
        revisions = [str(row[0]) for row in self.query("SELECT version_num FROM alembic_version")]
        unknown = [r for r in revisions if r not in SUPPORTED_REVISIONS]
        if unknown or not revisions:
            raise CaqtusImportError(
                f"{self.location}: table alembic_version holds caqtus schema revision "
                f"{', '.join(revisions) or '(none)'}; this importer reads revision "
                f"{', '.join(SUPPORTED_REVISIONS)} (caqtus-suite 6.29) only: a newer caqtus "
                "database cannot be read safely"
            )

    def global_parameters(self) -> Any:
        """The current global parameters (list of [name, value] pairs), or ``None``."""
        rows = self.query("SELECT CAST(content AS TEXT) FROM parameters WHERE name = 'global'")
        return decode_json(rows[0][0], "table parameters, row 'global'") if rows else None

    def default_device_configurations(self) -> list[tuple[str, str, Any]]:
        """(name, caqtus type name, fields) of the current device configurations."""
        rows = self.query(
            "SELECT name, device_type, CAST(content AS TEXT) FROM default_device_configurations "
            "ORDER BY name"
        )
        return [
            (name, kind, decode_json(text, f"table default_device_configurations, {name!r}"))
            for name, kind, text in rows
        ]

    def paths(self) -> list[CaqtusPath]:
        """Every folder and sequence path, parents first."""
        rows = self.query("SELECT id, path, parent_id, creation_date FROM path ORDER BY id")
        out = [
            CaqtusPath(int(i), str(p), None if parent is None else int(parent), utc_time(c, p))
            for i, p, parent, c in rows
        ]
        out.sort(key=lambda row: row.path.count("\\"))
        return out

    def sequences(self) -> list[CaqtusSequence]:
        """Every sequence, by path."""
        rows = self.query(
            "SELECT s.id, p.path, s.state, s.start_time, s.stop_time, "
            "s.expected_number_of_shots FROM sequences s JOIN path p ON p.id = s.path_id "
            "ORDER BY p.path"
        )
        return [
            CaqtusSequence(
                int(i),
                str(path),
                str(state).upper(),
                None if start is None else utc_time(start, f"sequence {path}, start_time"),
                None if stop is None else utc_time(stop, f"sequence {path}, stop_time"),
                None if expected is None else int(expected),
            )
            for i, path, state, start, stop, expected in rows
        ]

    def sequence_content(self, sequence: CaqtusSequence, table: str) -> Any:
        """The JSON ``content`` of ``sequence`` in ``table`` (``None`` when it has no row)."""
        rows = self.query(
            f'SELECT CAST(content AS TEXT) FROM "{table}" WHERE sequence_id = ?', [sequence.id]
        )
        where = f"table {table}, sequence {sequence.path}"
        return decode_json(rows[0][0], where) if rows else None

    def sequence_device_configurations(
        self, sequence: CaqtusSequence
    ) -> list[tuple[str, str, Any]]:
        """(name, caqtus type name, fields) of the configurations frozen at launch."""
        rows = self.query(
            'SELECT name, device_type, CAST(content AS TEXT) FROM "sequence.device_configurations" '
            "WHERE sequence_id = ? ORDER BY name",
            [sequence.id],
        )
        return [
            (
                name,
                kind,
                decode_json(
                    text,
                    f"table sequence.device_configurations, sequence {sequence.path}, {name!r}",
                ),
            )
            for name, kind, text in rows
        ]

    def shot_count(self, sequence: CaqtusSequence) -> int:
        """How many shots ``sequence`` has."""
        return int(
            self.query("SELECT count(*) FROM shots WHERE sequence_id = ?", [sequence.id])[0][0]
        )

    def shots(self, sequence: CaqtusSequence, batch: int = 200) -> Iterator[CaqtusShotRow]:
        """The shots of ``sequence`` by index, read ``batch`` shots per query."""
        last = -1
        while True:
            rows = self.query(
                'SELECT id, "index", start_time, end_time FROM shots WHERE sequence_id = ? '
                'AND "index" > ? ORDER BY "index" LIMIT ?',
                [sequence.id, last, batch],
            )
            if not rows:
                return
            ids = [int(row[0]) for row in rows]
            marks = ", ".join("?" * len(ids))
            parameters = dict(
                self.query(
                    f'SELECT shot_id, CAST(content AS TEXT) FROM "shot.parameters" '
                    f"WHERE shot_id IN ({marks})",
                    ids,
                )
            )
            arrays: dict[int, list[tuple[str, str, Any, bytes]]] = {i: [] for i in ids}
            for shot_id, label, dtype, shape, data in self.query(
                f'SELECT shot_id, label, dtype, CAST(shape AS TEXT), bytes FROM "shot.data.arrays" '
                f"WHERE shot_id IN ({marks}) ORDER BY label",
                ids,
            ):
                arrays[int(shot_id)].append((str(label), str(dtype), shape, data))
            structured: dict[int, list[tuple[str, Any]]] = {i: [] for i in ids}
            for shot_id, label, content in self.query(
                f'SELECT shot_id, label, CAST(content AS TEXT) FROM "shot.data.structured" '
                f"WHERE shot_id IN ({marks}) ORDER BY label",
                ids,
            ):
                structured[int(shot_id)].append((str(label), content))
            for shot_id, index, start, end in rows:
                where = f"sequence {sequence.path}, shot {index}"
                yield CaqtusShotRow(
                    int(shot_id),
                    int(index),
                    utc_time(start, f"table shots, {where}, start_time"),
                    utc_time(end, f"table shots, {where}, end_time"),
                    parameters.get(shot_id),
                    arrays[int(shot_id)],
                    structured[int(shot_id)],
                )
            last = int(rows[-1][1])


__all__ = [
    "REQUIRED_TABLES",
    "SUPPORTED_REVISIONS",
    "CaqtusImportError",
    "CaqtusPath",
    "CaqtusSequence",
    "CaqtusShotRow",
    "CaqtusSource",
    "decode_json",
    "utc_time",
]
