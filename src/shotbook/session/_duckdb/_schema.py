"""The tables of the DuckDB catalog (schema version 2) and how a store's version is found.

Version 2 added ``audit_log``: who deleted, reset, renamed or interrupted a sequence, when.

Times are stored as naive UTC ``TIMESTAMP`` values (attached to UTC when read).
Scans, time lanes and snapshots are JSON documents written by the serializer.
The number of shots is not written per shot: it is read from the sequence's shot
folder while it runs and recorded once when the run ends.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 2
"""The catalog layout this shotbook reads and writes."""

SCHEMA_V1: tuple[str, ...] = (
    """
    CREATE TABLE schema_version (
        version INTEGER NOT NULL,
        store_created TIMESTAMP NOT NULL,
        upgraded TIMESTAMP
    )
    """,
    """
    CREATE TABLE paths (
        path VARCHAR PRIMARY KEY,
        parent VARCHAR NOT NULL,
        created TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE sequences (
        uuid VARCHAR PRIMARY KEY,
        path VARCHAR NOT NULL UNIQUE,
        state VARCHAR NOT NULL,
        iteration VARCHAR NOT NULL,
        time_lanes VARCHAR NOT NULL,
        notes VARCHAR NOT NULL DEFAULT '',
        expected_shots BIGINT,
        number_of_shots BIGINT,
        global_parameters VARCHAR,
        device_configurations VARCHAR,
        owner_host VARCHAR,
        owner_pid BIGINT,
        owner_user VARCHAR,
        heartbeat TIMESTAMP,
        ran_by VARCHAR,
        host VARCHAR,
        shotbook_version VARCHAR,
        traceback VARCHAR,
        created TIMESTAMP NOT NULL,
        started TIMESTAMP,
        stopped TIMESTAMP
    )
    """,
    """
    CREATE TABLE global_parameters (
        id INTEGER PRIMARY KEY,
        content VARCHAR NOT NULL,
        modified TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE device_configurations (
        name VARCHAR PRIMARY KEY,
        content VARCHAR NOT NULL,
        modified TIMESTAMP NOT NULL
    )
    """,
)


SCHEMA_V2: tuple[str, ...] = (
    """
    CREATE TABLE audit_log (
        time TIMESTAMP NOT NULL,
        action VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        target VARCHAR,
        sequence_id VARCHAR,
        user_name VARCHAR,
        host VARCHAR NOT NULL,
        pid BIGINT,
        detail VARCHAR NOT NULL DEFAULT ''
    )
    """,
)
"""What version 2 added to version 1 (see :mod:`._migrations`)."""


def table_names(connection: Any) -> set[str]:
    """The tables of the main schema of the open catalog."""
    rows = connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "AND database_name = current_database()"
    ).fetchall()
    return {row[0] for row in rows}


def detect_version(connection: Any) -> int | None:
    """The schema version of the open catalog, or ``None`` for an empty file.

    A catalog with tables but no ``schema_version`` table predates versions: 0.
    Only reads.
    """
    tables = table_names(connection)
    if not tables:
        return None
    if "schema_version" not in tables:
        return 0
    row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


def create_schema(connection: Any, created: Any) -> None:
    """Create the current tables in an empty catalog (inside the caller's transaction)."""
    for statement in (*SCHEMA_V1, *SCHEMA_V2):
        connection.execute(statement)
    connection.execute("INSERT INTO schema_version VALUES (?, ?, NULL)", [SCHEMA_VERSION, created])


__all__ = [
    "SCHEMA_V1",
    "SCHEMA_V2",
    "SCHEMA_VERSION",
    "create_schema",
    "detect_version",
    "table_names",
]
