"""The audit log: who deleted, reset, renamed or interrupted a sequence, and when.

Each record is written in the transaction of the change it records, so a change is never
stored without its record (nor a record without its change).
"""

from __future__ import annotations

from shotbook.types._paths import PureSequencePath

from .._interfaces import AuditRecord, RunOwner
from ._protocols import CatalogTransaction, utc_now

AUDIT_ACTIONS = ("delete", "reset", "rename", "interrupt")
"""What the audit log records."""

_COLUMNS = "time, action, path, target, sequence_id, user_name, host, pid, detail"


def record(
    tx: CatalogTransaction,
    action: str,
    path: PureSequencePath | str,
    *,
    target: PureSequencePath | str | None = None,
    sequence_id: str | None = None,
    by: RunOwner | None = None,
    detail: str = "",
) -> None:
    """Add a record to the audit log in ``tx`` (``by``: who asked; this process if ``None``)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(AUDIT_ACTIONS)}")
    actor = RunOwner.current() if by is None else by
    tx.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            tx.time(utc_now()),
            action,
            str(path),
            None if target is None else str(target),
            sequence_id,
            actor.user or None,
            actor.host,
            actor.pid if actor.pid > 0 else None,
            detail,
        ],
    )


def read_log(tx: CatalogTransaction, path: PureSequencePath | None = None) -> list[AuditRecord]:
    """The records about ``path`` and everything under it (as it was or was renamed to), or
    every record, oldest first."""
    condition, arguments = "1 = 1", []
    if path is not None and not path.is_root():
        prefix = f"{path}/"
        condition = "(path = ? OR target = ? OR substr(path, 1, ?) = ? OR substr(target, 1, ?) = ?)"
        arguments = [str(path), str(path), len(prefix), prefix, len(prefix), prefix]
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM audit_log WHERE {condition} ORDER BY time",
        arguments,
    )
    return [
        AuditRecord(
            time=tx.catalog.from_db_time(row[0]),
            action=str(row[1]),
            path=str(row[2]),
            target=None if row[3] is None else str(row[3]),
            sequence_id=None if row[4] is None else str(row[4]),
            user=None if row[5] is None else str(row[5]),
            host=str(row[6]),
            pid=None if row[7] is None else int(row[7]),
            detail=str(row[8]),
        )
        for row in rows
    ]


__all__ = ["AUDIT_ACTIONS", "read_log", "record"]
