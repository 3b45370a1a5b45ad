"""Migrations of the DuckDB catalog from older schema versions to the current one.

Each step runs inside the caller's transaction (DuckDB's DDL is transactional),
so a failed migration leaves the catalog as it was; the caller copies the file
aside before migrating.

Version 0 (before versions were recorded) had tables ``path``, ``sequence``,
``global_parameter_set`` and ``default_device_configuration``, states as
integers and no notes. Version 2 added the ``audit_log`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._catalog import utc_now
from ._schema import SCHEMA_V1, SCHEMA_V2, SCHEMA_VERSION

V0_STATES = ("draft", "preparing", "running", "finished", "interrupted", "crashed")
"""The state names of version 0's integer state codes, by code."""


def _v0_to_v1(connection: Any) -> None:
    for statement in SCHEMA_V1:
        connection.execute(statement)
    states = (
        "CASE s.state_code "
        + " ".join(f"WHEN {code} THEN '{name}'" for code, name in enumerate(V0_STATES))
        + " END"
    )
    connection.execute(
        "INSERT INTO paths SELECT p.path_text, coalesce(parent.path_text, '/'), "
        "p.creation_date FROM path p LEFT JOIN path parent ON parent.path_id = p.parent_path_id"
    )
    unknown = connection.execute(
        "SELECT count(*) FROM sequence WHERE state_code NOT BETWEEN 0 AND ?",
        [len(V0_STATES) - 1],
    ).fetchone()
    if unknown is not None and unknown[0]:
        raise ValueError(f"{unknown[0]} sequence(s) of the version-0 store have an unknown state")
    connection.execute(
        "INSERT INTO sequences (uuid, path, state, iteration, time_lanes, notes, expected_shots, "
        "number_of_shots, traceback, created, started, stopped) "
        f"SELECT s.uid, p.path_text, {states}, s.steps_json, s.lanes_json, '', "
        "s.expected_shots, s.shot_count, s.error_text, s.creation_date, s.start_date, "
        "s.stop_date FROM sequence s JOIN path p ON p.path_id = s.path_id"
    )
    now = utc_now()
    connection.execute(
        "INSERT INTO global_parameters SELECT 1, content, ? FROM global_parameter_set LIMIT 1",
        [now],
    )
    connection.execute(
        "INSERT INTO device_configurations SELECT device_name, content, ? "
        "FROM default_device_configuration",
        [now],
    )
    created = connection.execute("SELECT min(creation_date) FROM path").fetchone()
    store_created = created[0] if created is not None and created[0] is not None else now
    connection.execute("INSERT INTO schema_version VALUES (1, ?, ?)", [store_created, now])
    for table in ("sequence", "path", "global_parameter_set", "default_device_configuration"):
        connection.execute(f"DROP TABLE {table}")


def _v1_to_v2(connection: Any) -> None:
    for statement in SCHEMA_V2:
        connection.execute(statement)
    connection.execute("UPDATE schema_version SET version = 2, upgraded = ?", [utc_now()])


MIGRATIONS: dict[int, Callable[[Any], None]] = {0: _v0_to_v1, 1: _v1_to_v2}
"""Migration from version ``key`` to version ``key + 1``."""


def migrate(connection: Any, version: int) -> None:
    """Bring an open catalog of schema ``version`` to the current version, step by step."""
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](connection)
        version += 1
    if version != SCHEMA_VERSION:
        raise ValueError(f"no migration from schema version {version}")


__all__ = ["MIGRATIONS", "V0_STATES", "migrate"]
