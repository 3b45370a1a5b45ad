"""What is specific to the DuckDB backend: layout, the file lock, configuration, garbage."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from shotbook.registry import Serializer
from shotbook.session import (
    DuckDBConfig,
    DuckDBStorageManager,
    RunOwner,
    StorageError,
    StoreLockedError,
)
from shotbook.types import (
    ExecuteShot,
    ParameterNamespace,
    StepsConfiguration,
    TimeLanes,
)
from shotbook.types import PureSequencePath as PurePath

HOLDER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
connection.close()
"""

STEPS = StepsConfiguration([ExecuteShot(), ExecuteShot()])
LANES = TimeLanes(["only"], ["1 ms"])
T0 = datetime(2026, 11, 25, tzinfo=UTC)


@contextmanager
def held_by_another_process(catalog: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the catalog file until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(catalog)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "holding"
        yield process
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=30)


def can_open_from_another_process(catalog: Path) -> bool:
    code = "import sys, duckdb; duckdb.connect(sys.argv[1]).close()"
    return subprocess.run([sys.executable, "-c", code, str(catalog)], check=False).returncode == 0


@pytest.fixture
def manager(tmp_path: Path, serializer: Serializer) -> DuckDBStorageManager:
    manager = DuckDBStorageManager(
        serializer, DuckDBConfig(tmp_path / "store", lock_timeout=10.0, compact_every=2)
    )
    manager.upgrade()
    return manager


def finished_sequence(manager: DuckDBStorageManager, path: str) -> None:
    with manager.session() as session:
        session.sequences.create(path, STEPS, LANES)
        session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), 2)
        with session.sequences.start(path) as writer:
            for index in range(2):
                writer.write_shot(
                    index,
                    {"n": index},
                    {"camera.picture": np.zeros((2, 2), np.uint8)},
                    T0,
                    T0 + timedelta(seconds=1),
                )
        session.sequences.finish(path)


def data_folders(manager: DuckDBStorageManager) -> dict[str, set[str]]:
    folder = manager.config.sequences_folder
    return {entry.name: set(os.listdir(entry)) for entry in folder.iterdir()}


def test_layout_and_moves_never_touch_data(manager: DuckDBStorageManager) -> None:
    finished_sequence(manager, "/a/seq")
    assert manager.config.catalog_path.is_file()
    before = data_folders(manager)
    [(uuid, files)] = before.items()
    assert len(uuid) == 36
    assert any(name.endswith(".parquet") for name in files)
    with manager.session() as session:
        session.paths.move("/a", "/b/c")
        assert session.sequences.get_stats("/b/c/seq").number_of_shots == 2
    assert data_folders(manager) == before


def test_reset_and_delete_remove_the_data_folder(manager: DuckDBStorageManager) -> None:
    finished_sequence(manager, "/r")
    [old] = data_folders(manager)
    with manager.session() as session:
        session.sequences.reset_to_draft("/r")
    assert data_folders(manager) == {}
    finished_sequence(manager, "/d")
    with manager.session() as session:
        session.paths.delete("/d", delete_sequences=True)
    assert data_folders(manager) == {}
    assert old not in os.listdir(manager.config.sequences_folder)


def test_collect_garbage_removes_only_unused_folders(manager: DuckDBStorageManager) -> None:
    finished_sequence(manager, "/kept")
    [used] = data_folders(manager)
    orphan = manager.config.sequences_folder / "00000000-0000-4000-8000-000000000000"
    orphan.mkdir()
    (orphan / "shot-000000.parquet").write_bytes(b"left by a crash")
    assert manager.collect_garbage() == [orphan]
    assert set(data_folders(manager)) == {used}
    with manager.session() as session:
        assert session.sequences.read("/kept").height == 2


def test_a_held_catalog_raises_store_locked_naming_the_holder(
    tmp_path: Path, serializer: Serializer
) -> None:
    config = DuckDBConfig(tmp_path / "store", lock_timeout=0.3)
    manager = DuckDBStorageManager(serializer, config)
    manager.upgrade()
    with held_by_another_process(config.catalog_path) as holder:
        with manager.session() as session, pytest.raises(StoreLockedError) as caught:
            session.paths.create("/x")
        message = str(caught.value)
        assert str(config.catalog_path) in message
        assert f"PID {holder.pid}" in message
        assert "waited 0.3 s" in message
        assert "lock_timeout" in message
    with manager.session() as session:  # released: works again, and nothing was half done
        assert session.paths.all_paths() == set()


def test_a_call_waits_for_a_short_hold(tmp_path: Path, serializer: Serializer) -> None:
    config = DuckDBConfig(tmp_path / "store", lock_timeout=20.0)
    manager = DuckDBStorageManager(serializer, config)
    manager.upgrade()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLDER.replace("sys.stdin.readline()", "import time; time.sleep(0.5)"),
            str(config.catalog_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    with manager.session() as session:
        assert session.paths.create("/after") == [PurePath("/after")]
    holder.wait(timeout=30)


def test_an_open_session_does_not_hold_the_catalog(manager: DuckDBStorageManager) -> None:
    with manager.session() as session:
        session.paths.create("/x")
        _ = session.sequences.all_sequences()
        assert can_open_from_another_process(manager.config.catalog_path)
        session.paths.create("/y")
    assert can_open_from_another_process(manager.config.catalog_path)


def test_the_writer_never_reads_the_catalog(manager: DuckDBStorageManager) -> None:
    with manager.session() as session:
        session.sequences.create("/w", STEPS, LANES)
        session.sequences.prepare("/w", ParameterNamespace.empty(), {}, RunOwner.current(), 2)
        writer = session.sequences.start("/w")
    with held_by_another_process(manager.config.catalog_path):
        for index in range(3):  # would wait for the lock (10 s) if it touched the catalog
            writer.write_shot(index, {"n": index}, {"x.y": 1.0}, T0, T0)
        writer.close()
    with manager.session() as session:
        session.sequences.finish("/w")
        assert session.sequences.get_stats("/w").number_of_shots == 3


def test_config_defaults_and_validation(tmp_path: Path, serializer: Serializer) -> None:
    config = DuckDBConfig()
    assert (config.root, config.fsync, config.compact_every, config.lock_timeout) == (
        Path("shotbook-data"),
        False,
        50,
        10.0,
    )
    assert DuckDBConfig(str(tmp_path)).catalog_path == tmp_path / "catalog.duckdb"
    assert DuckDBConfig(tmp_path).sequences_folder == tmp_path / "sequences"
    assert DuckDBConfig(tmp_path, fsync=True) == DuckDBConfig(tmp_path, fsync=True)
    with pytest.raises(ValueError, match="compact_every must be >= 1, got 0"):
        DuckDBConfig(tmp_path, compact_every=0)
    with pytest.raises(ValueError, match="lock_timeout must be >= 0 s"):
        DuckDBConfig(tmp_path, lock_timeout=-1)
    with pytest.raises(ValueError, match="lock_timeout must be a finite number"):
        DuckDBConfig(tmp_path, lock_timeout=float("inf"))
    with pytest.raises(AttributeError):
        config.fsync = True  # type: ignore[misc]
    manager = DuckDBConfig(tmp_path / "s").create_storage_manager(serializer)
    assert isinstance(manager, DuckDBStorageManager)
    manager.close()
    with pytest.raises(StorageError, match="closed"), manager.session():
        pass


def test_a_missing_store_is_created_on_first_use(tmp_path: Path, serializer: Serializer) -> None:
    config = DuckDBConfig(tmp_path / "deep" / "store")
    manager = DuckDBStorageManager(serializer, config)
    with manager.session() as session:
        assert session.paths.create("/first") == [PurePath("/first")]
    connection = duckdb.connect(str(config.catalog_path), read_only=True)
    assert connection.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
    connection.close()


def test_threads_of_one_process_share_the_catalog(manager: DuckDBStorageManager) -> None:
    with manager.session() as session:
        for name in "abcd":
            session.sequences.create(f"/threads/{name}", STEPS, LANES)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with manager.session() as session:
                for round_number in range(8):
                    session.sequences.set_notes(f"/threads/{name}", f"{name}{round_number}")
                    session.set_global_parameters(ParameterNamespace.from_mapping({"x": "1 s"}))
                    assert len(session.sequences.list("/threads")) == 4
        except BaseException as error:  # collected and re-raised in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with manager.session() as session:
        assert [session.sequences.get_notes(f"/threads/{n}") for n in "abcd"] == [
            f"{n}7" for n in "abcd"
        ]
