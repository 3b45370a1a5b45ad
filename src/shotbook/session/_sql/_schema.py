"""Tables of the SQL stores (SQLite and PostgreSQL), schema version 2.

The catalog tables mirror the DuckDB catalog (paths, sequences, globals, default device
configurations, schema version). The shots live in the same database, so a computer with
only a connection to it reads every shot:

- ``shot_columns``: the column schema of each sequence's shots (name, kind, numpy dtype,
  shape, display unit, order of first appearance);
- ``shots``: one row per shot (sequence, index, start and end in microseconds since the
  epoch, UTC);
- ``shot_values``: one row per scalar of a shot (parameters in their display unit, scalar
  data); floats in ``real_value``, ints and bools in ``int_value``. A row whose value is
  NULL holds NaN (SQLite cannot store NaN); a missing row is a missing value;
- ``shot_arrays``: one row per numpy array of a shot, its raw bytes (C order, the dtype and
  shape of ``shot_columns``).

``audit_log`` (version 2) records who deleted, reset, renamed or interrupted a sequence.

Shot rows are keyed by the sequence's ``uuid`` (a new one is given when a sequence is reset
to draft, so a stale writer can never mix shots of two runs).
"""

from __future__ import annotations

from dataclasses import dataclass

SQL_SCHEMA_VERSION = 2
"""The layout of the SQL stores this shotbook reads and writes."""

TABLES = (
    "schema_version",
    "paths",
    "sequences",
    "global_parameters",
    "device_configurations",
    "shot_columns",
    "shots",
    "shot_values",
    "shot_arrays",
    "audit_log",
)


@dataclass(frozen=True)
class ColumnTypes:
    """The SQL types of one database for the kinds of columns the store uses."""

    text: str
    integer: str
    real: str
    time: str
    blob: str


SQLITE_TYPES = ColumnTypes("TEXT", "INTEGER", "REAL", "TEXT", "BLOB")
POSTGRESQL_TYPES = ColumnTypes("TEXT", "BIGINT", "DOUBLE PRECISION", "TIMESTAMPTZ", "BYTEA")

_TEMPLATE = (
    """
    CREATE TABLE schema_version (
        version {integer} NOT NULL,
        store_created {time} NOT NULL,
        upgraded {time}
    )
    """,
    """
    CREATE TABLE paths (
        path {text} PRIMARY KEY,
        parent {text} NOT NULL,
        created {time} NOT NULL
    )
    """,
    "CREATE INDEX paths_by_parent ON paths (parent)",
    """
    CREATE TABLE sequences (
        uuid {text} PRIMARY KEY,
        path {text} NOT NULL UNIQUE,
        state {text} NOT NULL,
        iteration {text} NOT NULL,
        time_lanes {text} NOT NULL,
        notes {text} NOT NULL DEFAULT '',
        expected_shots {integer},
        number_of_shots {integer},
        global_parameters {text},
        device_configurations {text},
        owner_host {text},
        owner_pid {integer},
        owner_user {text},
        heartbeat {time},
        ran_by {text},
        host {text},
        shotbook_version {text},
        traceback {text},
        created {time} NOT NULL,
        started {time},
        stopped {time}
    )
    """,
    """
    CREATE TABLE global_parameters (
        id {integer} PRIMARY KEY,
        content {text} NOT NULL,
        modified {time} NOT NULL
    )
    """,
    """
    CREATE TABLE device_configurations (
        name {text} PRIMARY KEY,
        content {text} NOT NULL,
        modified {time} NOT NULL
    )
    """,
    """
    CREATE TABLE shot_columns (
        sequence_id {text} NOT NULL,
        name {text} NOT NULL,
        position {integer} NOT NULL,
        kind {text} NOT NULL,
        dtype {text} NOT NULL,
        shape {text} NOT NULL,
        unit {text},
        PRIMARY KEY (sequence_id, name)
    )
    """,
    """
    CREATE TABLE shots (
        sequence_id {text} NOT NULL,
        shot_index {integer} NOT NULL,
        start_time_us {integer} NOT NULL,
        end_time_us {integer} NOT NULL,
        PRIMARY KEY (sequence_id, shot_index)
    )
    """,
    """
    CREATE TABLE shot_values (
        sequence_id {text} NOT NULL,
        name {text} NOT NULL,
        shot_index {integer} NOT NULL,
        real_value {real},
        int_value {integer},
        PRIMARY KEY (sequence_id, name, shot_index)
    )
    """,
    """
    CREATE TABLE shot_arrays (
        sequence_id {text} NOT NULL,
        name {text} NOT NULL,
        shot_index {integer} NOT NULL,
        data {blob} NOT NULL,
        PRIMARY KEY (sequence_id, name, shot_index)
    )
    """,
)


_TEMPLATE_V2 = (
    """
    CREATE TABLE audit_log (
        time {time} NOT NULL,
        action {text} NOT NULL,
        path {text} NOT NULL,
        target {text},
        sequence_id {text},
        user_name {text},
        host {text} NOT NULL,
        pid {integer},
        detail {text} NOT NULL DEFAULT ''
    )
    """,
)


def _format(statements: tuple[str, ...], types: ColumnTypes) -> list[str]:
    return [" ".join(statement.format(**types.__dict__).split()) for statement in statements]


def schema_statements(types: ColumnTypes) -> list[str]:
    """The ``CREATE`` statements of the current schema for a database's types."""
    return _format((*_TEMPLATE, *_TEMPLATE_V2), types)


def v2_statements(types: ColumnTypes) -> list[str]:
    """What version 2 added to version 1 (the migration runs them)."""
    return _format(_TEMPLATE_V2, types)


__all__ = [
    "POSTGRESQL_TYPES",
    "SQLITE_TYPES",
    "SQL_SCHEMA_VERSION",
    "TABLES",
    "ColumnTypes",
    "schema_statements",
    "v2_statements",
]
