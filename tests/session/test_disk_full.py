"""A full disk: on a real full filesystem (a small tmpfs) and by ENOSPC injected at the
operating-system call. Each time: a shotbook error naming the store and what to do, no
stored shot or sequence lost, and the store usable once space returns."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shotbook.registry import Serializer
from shotbook.session import (
    DuckDBConfig,
    ParquetShotStore,
    SQLiteConfig,
    StorageError,
    StoreFullError,
)
from shotbook.types import ParameterNamespace, StepsConfiguration, TimeLanes

from ..small_disk import SmallDisk, mounted_small_disk

T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 16 MB tmpfs at ``tmp_path / "disk"``, to fill up."""
    yield from mounted_small_disk(tmp_path / "disk")


def _shot(index: int) -> tuple[dict[str, float], dict[str, Any]]:
    return {"x": float(index)}, {"camera.image": np.full((64, 64), index, np.uint16)}


def _sequences(manager: Any) -> set[str]:
    with manager.session() as session:
        return {str(stats.path) for stats in session.sequences.all_sequences()}


def _create(manager: Any, path: str, steps: StepsConfiguration, lanes: TimeLanes) -> None:
    with manager.session() as session:
        session.sequences.create(path, steps, lanes)


def _full_disk_round(
    manager: Any,
    disk: SmallDisk,
    where: str,
    steps: StepsConfiguration,
    lanes: TimeLanes,
) -> None:
    """Creating sequences on a full disk: each call either succeeds (and the sequence is
    kept) or raises StoreFullError naming the store (and leaves nothing); then it works."""
    _create(manager, "/kept", steps, lanes)
    acknowledged = {"/kept"}
    refused = 0
    for leave in (0, 20_000, 300_000, 0):
        disk.fill(leave)
        path = f"/full {leave} {refused}"
        error: StoreFullError | None = None
        try:
            _create(manager, path, steps, lanes)
        except StoreFullError as caught:
            error = caught
        if error is None:
            acknowledged.add(path)
        else:
            refused += 1
            text = str(error)
            assert isinstance(error, StorageError)
            assert where in text
            assert "free space on" in text.lower()
            assert "No space left on device" in text or "disk is full" in text
        disk.free()
    assert refused >= 2  # at least the rounds filled to the byte
    _create(manager, "/after", steps, lanes)
    with manager.session() as session:
        session.sequences.set_notes("/after", "space is back")
    assert _sequences(manager) == acknowledged | {"/after"}


def test_duckdb_catalog_on_a_full_disk(
    disk: SmallDisk, serializer: Serializer, steps: StepsConfiguration, lanes: TimeLanes
) -> None:
    root = disk.mount / "store"
    manager = DuckDBConfig(root).create_storage_manager(serializer)
    manager.upgrade()
    _full_disk_round(manager, disk, str(root), steps, lanes)


def test_sqlite_on_a_full_disk(
    disk: SmallDisk, serializer: Serializer, steps: StepsConfiguration, lanes: TimeLanes
) -> None:
    path = disk.mount / "lab.sqlite"
    manager = SQLiteConfig(path).create_storage_manager(serializer)
    try:
        manager.upgrade()
        _full_disk_round(manager, disk, str(path), steps, lanes)
    finally:
        manager.close()


def _write_until_refused(writer: Any, first: int) -> None:
    for index in range(first, 10_000):
        writer.write_shot(index, *_shot(index), T0, T0)


def test_a_journal_append_on_a_full_disk_loses_no_stored_shot(disk: SmallDisk) -> None:
    store = ParquetShotStore(disk.mount / "seq", compact_every=1000)
    with store.writer() as writer:
        for index in range(3):
            writer.write_shot(index, *_shot(index), T0, T0)
        disk.fill()
        with pytest.raises(StoreFullError, match=r"(?i)free space on") as caught:
            _write_until_refused(writer, 3)
        assert str(store.folder) in str(caught.value)
        stored = store.shot_indices()
        assert stored[:3] == [0, 1, 2]
        assert stored == list(range(len(stored)))
        disk.free()
        writer.write_shot(len(stored), *_shot(len(stored)), T0, T0)  # space is back
    frame = store.read_polars()
    assert frame["shot_index"].to_list() == list(range(len(stored) + 1))
    assert frame["x"].to_list() == [float(i) for i in range(len(stored) + 1)]


def _enospc_on(
    monkeypatch: pytest.MonkeyPatch, name: str, when: Callable[..., bool], times: int = 1
) -> dict[str, int]:
    """Make ``os.<name>`` raise ENOSPC (``times`` times) for the calls ``when`` picks."""
    original = getattr(os, name)
    raised = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        if raised["n"] < times and when(*args):
            raised["n"] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(*args, **kwargs)

    monkeypatch.setattr(os, name, failing)
    return raised


def test_enospc_at_the_journal_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000, fsync=True)
    with store.writer() as writer:
        writer.write_shot(0, *_shot(0), T0, T0)
        raised = _enospc_on(monkeypatch, "fsync", lambda fd: True)
        with pytest.raises(StoreFullError, match=r"(?i)free space on"):
            writer.write_shot(1, *_shot(1), T0, T0)
        assert raised["n"] == 1
        writer.write_shot(2, *_shot(2), T0, T0)
    assert store.shot_indices() == [0, 2] or store.shot_indices() == [0, 1, 2]


def test_enospc_at_compaction_keeps_the_shots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000)
    writer = store.writer()
    for index in range(4):
        writer.write_shot(index, *_shot(index), T0, T0)
    raised = _enospc_on(monkeypatch, "replace", lambda _s, target: "part-" in str(target))
    with pytest.raises(StoreFullError, match=r"(?i)free space on") as caught:
        writer.compact()
    assert raised["n"] == 1
    assert str(store.folder) in str(caught.value)
    assert store.shot_indices() == [0, 1, 2, 3]
    assert not [p for p in store.folder.iterdir() if p.name.startswith(".tmp-")]
    writer.write_shot(4, *_shot(4), T0, T0)
    writer.close()  # compacts now that the disk has room
    assert store.read_polars()["x"].to_list() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_enospc_at_the_manifest_swap_stores_nothing_and_the_shot_can_be_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000)
    with store.writer() as writer:
        raised = _enospc_on(
            monkeypatch, "replace", lambda _s, target: str(target).endswith("manifest.json")
        )
        with pytest.raises(StoreFullError, match=r"(?i)free space on"):
            writer.write_shot(0, *_shot(0), T0, T0)  # its new columns go to the manifest
        assert raised["n"] == 1
        assert store.shot_indices() == []
        writer.write_shot(0, *_shot(0), T0, T0)
    assert store.shot_indices() == [0]


def test_enospc_at_the_catalog_commit(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    serializer: Serializer,
    steps: StepsConfiguration,
    lanes: TimeLanes,
    global_parameters: ParameterNamespace,
) -> None:
    from shotbook.session import RunOwner, State

    root = tmp_path / "store"
    manager = DuckDBConfig(root).create_storage_manager(serializer)
    _create(manager, "/seq", steps, lanes)
    with manager.session() as session:
        session.sequences.prepare("/seq", global_parameters, {}, RunOwner.current(), 3)
    # starting moves the sequence's shot-folder marker: written with the commit
    raised = _enospc_on(monkeypatch, "replace", lambda _s, target: Path(target).parent == root)
    with (
        pytest.raises(StoreFullError, match=r"(?i)free space on") as caught,
        manager.session() as s,
    ):
        s.sequences.start("/seq")
    assert raised["n"] == 1
    assert str(root) in str(caught.value)
    with manager.session() as session:
        assert session.sequences.get_state("/seq") is State.PREPARING
        session.sequences.start("/seq").close()
        assert session.sequences.get_state("/seq") is State.RUNNING
