"""The audit log: deletes, resets, renames and interrupts, with who and when, on every store."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from shotbook.session import RunOwner, StoreVersionError
from shotbook.types import ParameterNamespace, StepsConfiguration, TimeLanes


def _run(session: Any, path: str, steps: StepsConfiguration, lanes: TimeLanes) -> None:
    session.sequences.create(path, steps, lanes)
    session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), 3)
    session.sequences.start(path).close()


def test_deletes_resets_renames_and_interrupts_are_recorded(
    session: Any, steps: StepsConfiguration, lanes: TimeLanes
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    _run(session, "/scans/a", steps, lanes)
    session.sequences.interrupt("/scans/a")  # by this process
    session.sequences.reset_to_draft("/scans/a")
    session.paths.move("/scans/a", "/scans/b")
    _run(session, "/scans/c", steps, lanes)
    client = RunOwner(host="lab-pc-2", pid=4242, user="")
    session.sequences.interrupt("/scans/c", client, "through the experiment server")
    session.paths.delete("/scans", delete_sequences=True)
    session.sequences.create("/other", steps, lanes)
    session.paths.move("/other", "/elsewhere/other")

    log = session.audit_log()
    assert [(e.action, e.path, e.target) for e in log] == [
        ("interrupt", "/scans/a", None),
        ("reset", "/scans/a", None),
        ("rename", "/scans/a", "/scans/b"),
        ("interrupt", "/scans/c", None),
        ("delete", "/scans/b", None),
        ("delete", "/scans/c", None),
        ("delete", "/scans", None),
        ("rename", "/other", "/elsewhere/other"),
    ]
    me = RunOwner.current()
    for entry in log[:3] + log[4:]:
        assert (entry.user, entry.host, entry.pid) == (me.user, me.host, me.pid)
        assert before <= entry.time <= datetime.now(UTC) + timedelta(seconds=5)
        assert entry.time.tzinfo is not None
    remote = log[3]
    assert (remote.user, remote.host, remote.pid) == (None, "lab-pc-2", 4242)
    assert remote.detail == "through the experiment server"
    assert f"by lab-pc-2 pid 4242 ({remote.detail})" in str(remote)
    # the reset changed the sequence's id: the record keeps the one it had
    assert log[0].sequence_id == log[1].sequence_id != log[2].sequence_id is not None
    assert log[6].sequence_id is None  # a folder
    # by path: the sequence as it was and as it was renamed to, and what is under a folder
    assert [e.action for e in session.audit_log("/scans/b")] == ["rename", "delete"]
    assert len(session.audit_log("/scans")) == 7
    assert [e.action for e in session.audit_log("/elsewhere/other")] == ["rename"]
    assert session.audit_log("/nothing/here") == []


def test_an_older_store_gets_the_audit_log_through_upgrade(storage_manager: Any) -> None:
    """A store of schema version 1 (before the audit log) is refused, then migrated."""
    with storage_manager.session() as session:
        session.paths.create("/kept")
    storage_manager.close()
    config = storage_manager.config
    statements = ["DROP TABLE audit_log", "UPDATE schema_version SET version = 1"]
    if hasattr(config, "catalog_path"):  # DuckDB
        connection = duckdb.connect(str(config.catalog_path))
        for statement in statements:
            connection.execute(statement)
        connection.close()
    else:
        raw = config.create_storage_manager(storage_manager.serializer)
        raw.catalog.run(lambda tx: [tx.execute(s) for s in statements], check=False)
        raw.close()
    old = config.create_storage_manager(storage_manager.serializer)
    try:
        with old.session() as session, pytest.raises(StoreVersionError, match="version 1"):
            session.paths.exists("/kept")
        old.upgrade()
        with old.session() as session:
            assert session.paths.exists("/kept")
            session.paths.move("/kept", "/moved")
            (entry,) = session.audit_log()
            assert (entry.action, entry.pid, entry.host) == (
                "rename",
                os.getpid(),
                socket.gethostname(),
            )
    finally:
        old.close()
