"""Runs on a full disk: the run stops, every stored shot survives, and the sequence ends
CRASHED with the reason, written once space returns or by the next manager at start-up."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shotbook.control import ShotStored
from shotbook.device.sim import simulated_lab
from shotbook.registry import Serializer
from shotbook.session import DuckDBConfig, RunOwner
from shotbook.types import ParameterNamespace

from ..small_disk import SmallDisk, mounted_small_disk
from .lab import create_sequence, lab_globals, setup_store, shots_of, state_of, tof_scan
from .test_run_local import _slow_lab

T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 16 MB tmpfs at ``tmp_path / "disk"``, to fill up."""
    yield from mounted_small_disk(tmp_path / "disk")


def _store(root: Path, lab: Any, compact_every: int = 1000, long_reason: bool = False) -> Any:
    """The simulated lab's store; ``long_reason``: 150 more globals, so that a crash's reason
    (which lists the shot's parameters) takes more than a page of the catalog's log: then
    storing it needs new space (a short one may fit in the log's last page on a full disk)."""
    registry, _ = lab
    config = DuckDBConfig(root, compact_every=compact_every)
    storage = config.create_storage_manager(Serializer(registry))
    storage.upgrade()
    globals_ = lab_globals()
    if long_reason:
        padding = {f"unused_parameter_padding_the_reason_{i:03d}": "1 ms" for i in range(150)}
        globals_ = ParameterNamespace([*globals_.items(), ("pad", padding)])
    setup_store(storage, simulated_lab(replay=2), globals_)
    return storage


def _eventually(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if condition():
            return True
        pause.wait(0.1)
    return condition()


def _traceback(storage: Any, path: str) -> str:
    with storage.session() as session:
        return session.sequences.get_traceback(path) or ""


def _run_until_the_disk_is_full(storage: Any, disk: SmallDisk, make_manager: Any) -> Any:
    """Run a long scan of 1 MB shots; the disk is kept full to the byte from shot 2 on."""
    create_sequence(storage, "/fill", tof_scan(200))
    manager = make_manager(storage=storage)
    manager.subscribe(lambda e: isinstance(e, ShotStored) and e.index == 2 and disk.keep_full())
    manager.start_sequence("/fill")
    assert manager.wait(120)
    summary = manager.last_run()
    assert summary is not None
    assert summary.state == "crashed"
    assert summary.number_of_shots >= 3
    assert "disk is full" in str(summary.failure)
    assert "free space on" in str(summary.failure).lower()
    return manager, summary


def test_the_crash_reason_is_written_once_space_returns(
    disk: SmallDisk, lab: Any, make_manager: Any, caplog: pytest.LogCaptureFixture
) -> None:
    storage = _store(disk.mount / "store", lab, long_reason=True)
    with caplog.at_level("WARNING", logger="shotbook.control"):
        _, summary = _run_until_the_disk_is_full(storage, disk, make_manager)
        notes = list((disk.mount / "store" / "run-notes").glob("*.run-note"))
        assert len(notes) == 1  # the reason, written over the note's allocated bytes
        assert b"No space left on device" in notes[0].read_bytes()
        assert _eventually(disk.is_full)
        disk.free()
        assert _eventually(lambda: state_of(storage, "/fill") == "crashed")
        assert _eventually(lambda: "its end (CRASHED) is written now" in caplog.text)
    assert "its end (CRASHED) is kept and written once the store takes it" in caplog.text
    text = _traceback(storage, "/fill")
    assert "No space left on device" in text
    assert "crashed at shot" in text
    frame = shots_of(storage, "/fill")
    assert frame["shot_index"].to_list() == list(range(summary.number_of_shots))


def test_the_next_manager_writes_the_crash_reason_kept_on_disk(
    disk: SmallDisk, lab: Any, make_manager: Any
) -> None:
    storage = _store(disk.mount / "store", lab, long_reason=True)
    manager, summary = _run_until_the_disk_is_full(storage, disk, make_manager)
    manager.close(timeout=30)  # one last try, then gives up: the disk is still full
    disk.free()
    # (the last try may have found the few pages the final compaction freed before the
    # test's filler took them back: then the reason is stored already, as it should be)
    if state_of(storage, "/fill") == "running":
        recovering = make_manager(storage=storage)
        assert recovering.recovered == ["/fill"]
    assert state_of(storage, "/fill") == "crashed"
    text = _traceback(storage, "/fill")
    assert "No space left on device" in text
    assert "crashed at shot" in text
    frame = shots_of(storage, "/fill")
    assert frame["shot_index"].to_list() == list(range(summary.number_of_shots))
    assert not list((disk.mount / "store").glob("**/*.run-note"))  # cleared


def _enospc_on_replace(monkeypatch: pytest.MonkeyPatch, when: Callable[[str], bool]) -> list[str]:
    original = os.replace
    raised: list[str] = []

    def failing(source: Any, target: Any, **kwargs: Any) -> None:
        if not raised and when(str(target)):
            raised.append(str(target))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", failing)
    return raised


@pytest.mark.parametrize(
    ("where", "target"),
    [
        ("manifest swap", "manifest.json"),
        ("compaction", "part-"),
        ("catalog commit", "shot-index.pending"),  # written with the commit to RUNNING
    ],
)
def test_enospc_in_a_run_crashes_it_with_the_reason_and_the_store_stays_usable(
    tmp_path: Path,
    lab: Any,
    make_manager: Any,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    target: str,
) -> None:
    storage = _store(tmp_path / "store", lab, compact_every=2)
    _slow_lab(storage, speed=1.0)  # ~40 ms a shot: compactions run between shots
    create_sequence(storage, "/enospc", tof_scan(30))
    manager = make_manager(storage=storage)
    raised = _enospc_on_replace(monkeypatch, lambda name: target in name)
    summary = manager.run_sequence("/enospc", progress=False, wait=False) or None
    assert summary is None
    assert manager.wait(120)
    summary = manager.last_run()
    assert summary is not None
    assert raised, f"no ENOSPC was injected at the {where}: {summary}"
    assert summary.state == "crashed"
    assert state_of(storage, "/enospc") == "crashed"
    assert "disk is full" in _traceback(storage, "/enospc")
    frame = shots_of(storage, "/enospc")
    assert frame["shot_index"].to_list() == list(range(summary.number_of_shots))
    with storage.session() as session:
        session.sequences.reset_to_draft("/enospc")
    again = manager.run_sequence("/enospc", progress=False)
    assert again is not None
    assert again.state == "finished"
    assert len(shots_of(storage, "/enospc")) == 30


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(60)
    return process.pid


def test_recovery_removes_the_temporary_files_of_an_abandoned_run(
    storage: Any, make_manager: Any
) -> None:
    create_sequence(storage, "/killed", tof_scan(2))
    owner = RunOwner(RunOwner.current().host, _dead_pid(), "u")
    with storage.session() as session:
        session.sequences.prepare("/killed", lab_globals(), {}, owner, 2)
        with session.sequences.start("/killed") as writer:
            writer.write_shot(0, {"x": 1.0}, {}, T0, T0)
        folder = session.shot_folder("/killed")
    half_written = folder / ".tmp-3f2a9c0d5e6b4a7c8d9e0f1a2b3c4d5e.parquet"
    half_written.write_bytes(b"PAR1" + b"\0" * 100_000)
    # the killed process had met a full disk at its end: its note holds the reason
    from shotbook.control._run_notes import RunNote

    note = RunNote.create(storage.run_notes_folder(), "/killed", owner)
    note.record("sequence /killed crashed at shot 1: the disk is full (No space left on device)")
    manager = make_manager()
    assert manager.recovered == ["/killed"]
    assert not half_written.exists()
    assert shots_of(storage, "/killed")["shot_index"].to_list() == [0]
    text = _traceback(storage, "/killed")
    assert text.startswith("sequence /killed crashed at shot 1: the disk is full")
    assert "is no longer running" in text
    assert not note.file.exists()


def test_recovery_removes_the_temporary_files_of_a_run_killed_in_its_final_compaction(
    storage: Any, make_manager: Any
) -> None:
    from shotbook.control._run_notes import RunNote

    create_sequence(storage, "/compacting", tof_scan(2))
    owner = RunOwner(RunOwner.current().host, _dead_pid(), "u")
    with storage.session() as session:
        session.sequences.prepare("/compacting", lab_globals(), {}, owner, 2)
        with session.sequences.start("/compacting") as writer:
            writer.write_shot(0, {"x": 1.0}, {}, T0, T0)
        session.sequences.finish("/compacting")
        folder = session.shot_folder("/compacting")
    # what the killed process left: its run note (the end stored, the compaction not over)
    # and the part it was writing
    note = RunNote.create(storage.run_notes_folder(), "/compacting", owner)
    note.record_folder(folder)
    half_written = folder / ".tmp-0123456789abcdef0123456789abcdef.parquet"
    half_written.write_bytes(b"PAR1" + b"\0" * 100_000)
    manager = make_manager()
    assert manager.recovered == []
    assert not half_written.exists()
    assert not note.file.exists()
    assert state_of(storage, "/compacting") == "finished"
    assert shots_of(storage, "/compacting")["shot_index"].to_list() == [0]
