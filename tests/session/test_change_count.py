"""The catalog's change count: one cheap query tells a reader (the panel) that the store
changed, on every backend."""

from __future__ import annotations

from typing import Any

from shotbook.session import ChangeCounting
from tests.session.test_conformance import run_to_running


def test_every_write_counts_once_and_reads_and_heartbeats_do_not(
    storage_manager: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    with storage_manager.session() as session:
        assert isinstance(session, ChangeCounting)
        start = session.change_count()
        assert start is not None
        session.sequences.create("/a/one", steps, lanes)
        created = session.change_count()
        assert created == start + 1
        session.sequences.list()
        session.paths.all_paths()
        assert session.change_count() == created  # reads are not changes
        with session.transaction():  # a block of writes is one change
            session.sequences.create("/a/two", steps, lanes)
            session.sequences.set_notes("/a/two", "n")
        assert session.change_count() == created + 1
        session.paths.move("/a/two", "/a/owt")  # a rename changes nothing a count could see
        renamed = session.change_count()
        assert renamed == created + 2
        with run_to_running(session, "/a/one", global_parameters):
            running = session.change_count()
            assert running is not None
            assert running > renamed
            session.sequences.heartbeat("/a/one")
            assert session.change_count() == running  # a heartbeat is not a change
        session.sequences.finish("/a/one")
        finished = session.change_count()
        assert finished is not None
        assert finished > running
    # a new session reads the count the store keeps
    with storage_manager.session() as session:
        session.paths.delete("/a/owt", delete_sequences=True)
        assert session.change_count() == finished + 1
