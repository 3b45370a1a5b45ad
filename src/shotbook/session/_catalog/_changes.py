"""The catalog's change log: one row per committed write, so readers see changes cheaply.

Every write transaction of a session (create, rename, delete, run, notes, globals, ...)
appends one row to ``catalog_changes`` when it commits; heartbeats do not. A reader that
wants to know whether anything changed since it last looked counts the rows (one cheap
query) instead of listing every sequence. The rows are only appended, never updated, so
two writers never conflict on them. The table is created with the store, or added to an
existing one when a catalog is first opened; a store without it (opened read-only) has no
count, and readers then list everything.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from ._protocols import CatalogTransaction

CHANGE_LOG = "catalog_changes"
"""The name of the change log table."""

CREATE_CHANGE_LOG = f"CREATE TABLE IF NOT EXISTS {CHANGE_LOG} (at_us BIGINT NOT NULL)"
"""The statement that adds the change log (portable: DuckDB, SQLite, PostgreSQL)."""


def note_change(tx: CatalogTransaction) -> None:
    """Append one row to the change log as part of ``tx`` (once per transaction)."""
    if tx.changed:
        return  # a block of writes (session.transaction()) is one change
    tx.execute(f"INSERT INTO {CHANGE_LOG} (at_us) VALUES (?)", [time.time_ns() // 1000])
    tx.changed = True


def count_changes(tx: CatalogTransaction) -> int:
    """The number of writes committed so far (the rows of the change log)."""
    row = tx.one(f"SELECT count(*) FROM {CHANGE_LOG}")
    return 0 if row is None else int(row[0])


def has_change_log(tables: Iterable[str]) -> bool:
    """Whether a store with these table names has the change log."""
    return CHANGE_LOG in tables


__all__ = ["CHANGE_LOG", "CREATE_CHANGE_LOG", "count_changes", "has_change_log", "note_change"]
