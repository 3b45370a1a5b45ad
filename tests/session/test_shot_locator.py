"""``DuckDBStorageManager.locate_shots``: the shot folder of a path without opening the catalog.

The guarantee checked everywhere: the answer is ``None`` or the folder the catalog gives
(``root/sequences/<uuid of the sequence at that path>``), never another folder; after a
normal operation it is the folder. Crashes are real: a child process kills itself between
the marker removal and the commit, between the commit and the index, or while writing them.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shotbook.registry import Serializer
from shotbook.session import (
    DuckDBConfig,
    DuckDBStorageManager,
    PathIsNotSequenceError,
    PathNotFoundError,
    RunOwner,
    ShotFolders,
    SQLiteConfig,
    State,
)
from shotbook.session._parquet import _locator as _shot_locator
from shotbook.session._parquet._locator import INDEX_NAME, JOURNAL_NAME, MARKER_NAME
from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration, TimeLanes

from .test_duckdb_catalog import held_by_another_process

SRC = Path(__file__).resolve().parents[2] / "src"
PROCS = Path(__file__).parent / "procs"
STEPS = StepsConfiguration([ExecuteShot()])
LANES = TimeLanes(["only"], ["1 ms"])
T0 = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture
def manager(tmp_path: Path, serializer: Serializer) -> DuckDBStorageManager:
    manager = DuckDBStorageManager(serializer, DuckDBConfig(tmp_path / "store"))
    manager.upgrade()
    return manager


def run(manager: DuckDBStorageManager, path: str, *, finish: bool = True) -> Path:
    """Create and run a sequence with one shot; returns its shot folder."""
    with manager.session() as session:
        session.sequences.create(path, STEPS, LANES)
        session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), 1)
        with session.sequences.start(path) as writer:
            writer.write_shot(0, {"n": 1}, {"a.b": 2.0}, T0, T0 + timedelta(seconds=1))
        if finish:
            session.sequences.finish(path)
    return truth(manager, path)  # type: ignore[return-value]


def truth(manager: DuckDBStorageManager, path: str) -> Path | None:
    """The folder the catalog gives for ``path`` (``None``: no sequence, or a DRAFT)."""
    with manager.session() as session:
        try:
            state = session.sequences.get_state(path)
            folder = session.shot_folder(path)
        except (PathNotFoundError, PathIsNotSequenceError):
            return None
    return None if state is State.DRAFT else folder


def _as(path: str) -> Any:
    from shotbook.types._paths import PureSequencePath

    return PureSequencePath(path)


def check(manager: DuckDBStorageManager, *paths: str) -> list[Path | None]:
    """Every answer is ``None`` or the catalog's folder; returns the answers."""
    answers = []
    for path in paths:
        answer = manager.locate_shots(path)
        if answer is not None:
            assert answer == truth(manager, path), path
            assert answer.is_dir()
        answers.append(answer)
    return answers


def test_the_default_store_and_its_sessions_are_shot_folders(
    manager: DuckDBStorageManager, tmp_path: Path, serializer: Serializer
) -> None:
    """``ShotFolders``: the catalog's folder (``shot_folder``) and the sidecar's (``locate``)."""
    assert isinstance(manager, ShotFolders)
    folder = run(manager, "/a/seq")
    with manager.session() as session:
        assert isinstance(session, ShotFolders)
        assert session.shot_folder("/a/seq") == folder
        assert session.locate_shots("/a/seq") == folder
        session.sequences.create("/a/draft", STEPS, LANES)
        draft = session.shot_folder(_as("/a/draft"))  # where its shots will be, not made yet
        assert draft.parent == manager.config.sequences_folder
        assert not draft.exists()
        assert session.locate_shots("/a/draft") is None
        with pytest.raises(PathNotFoundError):
            session.shot_folder("/nowhere")
        with pytest.raises(PathIsNotSequenceError):
            session.shot_folder("/a")
    assert manager.shot_folder("/a/seq") == folder == manager.locate_shots("/a/seq")
    sql = SQLiteConfig(tmp_path / "other.sqlite").create_storage_manager(serializer)
    with sql.session() as sql_session:  # shots in tables: no folders to read
        assert not isinstance(sql, ShotFolders)
        assert not isinstance(sql_session, ShotFolders)
    sql.close()


def test_lookup_follows_create_rename_move_delete_and_recreate(
    manager: DuckDBStorageManager,
) -> None:
    folder = run(manager, "/a/seq")
    assert manager.locate_shots("/a/seq") == folder
    assert manager.locate_shots(_as("/a/seq")) == folder
    assert manager.locate_shots("/a") is None  # a folder
    assert manager.locate_shots("/nowhere") is None
    with manager.session() as session:
        session.sequences.create("/draft", STEPS, LANES)
        assert manager.locate_shots("/draft") is None  # never started: no shot folder

        session.paths.move("/a/seq", "/a/renamed")
        assert manager.locate_shots("/a/seq") is None
        assert manager.locate_shots("/a/renamed") == folder

        session.paths.move("/a", "/b/c")  # moving a parent changes its sequences' paths
        assert manager.locate_shots("/a/renamed") is None
        assert manager.locate_shots("/b/c/renamed") == folder

    newer = run(manager, "/a/renamed")  # a new sequence at an old name
    assert newer != folder
    assert manager.locate_shots("/a/renamed") == newer
    assert manager.locate_shots("/b/c/renamed") == folder

    with manager.session() as session:
        session.paths.delete("/b", delete_sequences=True)
        assert manager.locate_shots("/b/c/renamed") is None
        session.sequences.reset_to_draft("/a/renamed")
        assert manager.locate_shots("/a/renamed") is None
        assert not folder.exists()
        assert not newer.exists()
        session.paths.delete("/a/renamed", delete_sequences=True)
    again = run(manager, "/a/renamed")
    assert manager.locate_shots("/a/renamed") == again not in (folder, newer)


def test_a_running_sequence_is_located_and_its_shots_are_there(
    manager: DuckDBStorageManager,
) -> None:
    folder = run(manager, "/live", finish=False)
    assert manager.locate_shots("/live") == folder
    assert any(name.endswith(".parquet") for name in os.listdir(folder))


def test_lookup_never_opens_the_catalog(manager: DuckDBStorageManager) -> None:
    folder = run(manager, "/seq")
    with held_by_another_process(manager.config.catalog_path):
        assert manager.locate_shots("/seq") == folder
        assert manager.locate_shots("/other") is None


def test_a_commit_that_fails_after_the_markers_went_leaves_the_old_answer(
    manager: DuckDBStorageManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = run(manager, "/x/seq")
    original = _shot_locator.ShotLocator.commit

    def failing(self: Any, connection: Any, touched: Any, commit: Any) -> None:
        def refuse() -> None:
            assert not (folder / MARKER_NAME).exists()  # the marker is gone before the commit
            assert manager.locate_shots("/x/seq") is None
            raise OSError("simulated failure of the commit")

        original(self, connection, touched, refuse)

    monkeypatch.setattr(_shot_locator.ShotLocator, "commit", failing)
    with manager.session() as session, pytest.raises(OSError, match="simulated"):
        session.paths.move("/x", "/y")
    monkeypatch.setattr(_shot_locator.ShotLocator, "commit", original)
    assert check(manager, "/x/seq", "/y/seq") == [folder, None]
    assert not (manager.root / JOURNAL_NAME).exists()


@pytest.mark.parametrize("point", ["before-commit", "after-commit", "mid-settle"])
@pytest.mark.parametrize("operation", ["move", "delete", "reset"])
def test_a_crash_at_each_point_never_gives_a_wrong_folder(
    manager: DuckDBStorageManager, point: str, operation: str
) -> None:
    folder = run(manager, "/f/seq")
    other = run(manager, "/f/other")
    arguments = {
        "move": ["/f", "/g/h"],
        "delete": ["/f/seq"],
        "reset": ["/f/seq"],
    }[operation]
    child = subprocess.run(
        [
            sys.executable,
            str(PROCS / "locator_child.py"),
            str(manager.root),
            operation,
            *arguments,
            "--die",
            point,
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(PROCS)])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode != 0, child.stderr
    assert "done" not in child.stdout
    paths = ("/f/seq", "/f/other", "/g/h/seq", "/g/h/other")
    check(manager, *paths)
    # the next commit that moves sequences settles what the crash left
    with manager.session() as session:
        session.sequences.create("/unrelated", STEPS, LANES)
    assert not (manager.root / JOURNAL_NAME).exists()
    answers = dict(zip(paths, check(manager, *paths), strict=True))
    expected = {path: truth(manager, path) for path in paths}
    assert answers == expected
    assert other in answers.values()
    assert (folder in answers.values()) == (operation == "move" or point == "before-commit")


def test_another_process_rename_is_seen(manager: DuckDBStorageManager) -> None:
    folder = run(manager, "/p/seq")
    assert manager.locate_shots("/p/seq") == folder  # the index is now cached here
    child = subprocess.run(
        [sys.executable, str(PROCS / "locator_child.py"), str(manager.root), "move", "/p", "/q"],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(PROCS)])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.stdout.strip() == "done", child.stderr
    assert manager.locate_shots("/p/seq") is None
    assert manager.locate_shots("/q/seq") == folder


def test_a_store_without_sidecar_answers_none_until_upgrade_builds_it(
    manager: DuckDBStorageManager,
) -> None:
    first = run(manager, "/one")
    second = run(manager, "/two")
    (manager.root / INDEX_NAME).unlink()
    (first / MARKER_NAME).unlink()
    (second / MARKER_NAME).unlink()
    assert check(manager, "/one", "/two") == [None, None]
    assert manager.upgrade() is None
    assert check(manager, "/one", "/two") == [first, second]


def test_a_store_without_sidecar_is_built_by_the_first_move(
    manager: DuckDBStorageManager,
) -> None:
    first = run(manager, "/one")
    (manager.root / INDEX_NAME).unlink()
    (first / MARKER_NAME).unlink()
    with manager.session() as session:
        session.sequences.create("/new", STEPS, LANES)
    assert manager.locate_shots("/one") == first


def test_a_damaged_index_or_marker_gives_none(manager: DuckDBStorageManager) -> None:
    folder = run(manager, "/seq")
    index = manager.root / INDEX_NAME
    document = json.loads(index.read_text(encoding="utf-8"))
    document["paths"]["/elsewhere"] = document["paths"]["/seq"]
    document["paths"]["/escape"] = "../../etc"
    index.write_text(json.dumps(document), encoding="utf-8")
    assert check(manager, "/seq", "/elsewhere", "/escape") == [folder, None, None]
    (folder / MARKER_NAME).write_text("/other", encoding="utf-8")
    assert manager.locate_shots("/seq") is None
    index.write_text("{not json", encoding="utf-8")
    assert manager.locate_shots("/seq") is None
    with manager.session() as session:  # the next commit rebuilds a damaged index
        session.sequences.create("/new", STEPS, LANES)
    assert manager.locate_shots("/seq") == folder


def test_random_operations_keep_every_answer_right(
    manager: DuckDBStorageManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(20261125)
    names = ["/a/s1", "/a/s2", "/b/s1", "/b/c/s3", "/d"]
    original = _shot_locator.ShotLocator.commit
    fail = {"now": False}

    def sometimes_failing(self: Any, connection: Any, touched: Any, commit: Any) -> None:
        def maybe() -> object:
            if fail["now"]:
                raise OSError("simulated failure")
            return commit()

        original(self, connection, touched, maybe)

    monkeypatch.setattr(_shot_locator.ShotLocator, "commit", sometimes_failing)
    checked = 0
    for _ in range(60):
        fail["now"] = rng.random() < 0.2
        path = rng.choice(names)
        try:
            with manager.session() as session:
                existing = session.paths.exists(path)
                action = rng.choice(["run", "move", "delete", "reset", "move-parent"])
                if not existing:
                    fail["now"] = False
                    run(manager, path)
                elif action == "move":
                    target = rng.choice(names)
                    if not session.paths.exists(target):
                        session.paths.move(path, target)
                elif action == "move-parent" and path.count("/") > 1:
                    parent = path.rsplit("/", 1)[0]
                    target = rng.choice(["/x", "/a", "/b", "/b/c"])
                    if not session.paths.exists(target) and not target.startswith(parent):
                        session.paths.move(parent, target)
                elif action == "delete":
                    session.paths.delete(path, delete_sequences=True)
                elif (
                    action == "reset"
                    and session.sequences.is_sequence(path)
                    and session.sequences.get_state(path) is not State.DRAFT
                ):
                    session.sequences.reset_to_draft(path)
        except OSError:
            pass
        except PathIsNotSequenceError:
            pass
        fail["now"] = False
        with manager.session() as session:
            every = [str(p) for p in session.paths.all_paths()]
        for answer, known in zip(check(manager, *every, *names), [*every, *names], strict=True):
            expected = truth(manager, known)
            assert answer in (None, expected)
            checked += 1
            # with no crash, a started sequence is always found
            assert answer == expected, known
    assert checked > 100


def test_threads_moving_sequences_at_once_leave_every_answer_right(
    manager: DuckDBStorageManager,
) -> None:
    folders = {name: run(manager, f"/t/{name}") for name in ("a", "b", "c")}
    errors: list[BaseException] = []

    def shuffle(name: str) -> None:
        try:
            with manager.session() as session:
                for turn in range(6):
                    here, there = (f"/t/{name}", f"/u/{name}")[:: 1 if turn % 2 == 0 else -1]
                    session.paths.move(here, there)
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=shuffle, args=(name,)) for name in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for name, folder in folders.items():
        assert manager.locate_shots(f"/t/{name}") == folder
        assert manager.locate_shots(f"/u/{name}") is None


def test_with_fsync_the_marker_removals_reach_the_disk_before_the_commit(
    tmp_path: Path, serializer: Serializer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DuckDBConfig(fsync=True)``: a power cut after the commit cannot bring back a marker
    that the committed catalog contradicts."""
    config = DuckDBConfig(tmp_path / "store", fsync=True)
    manager = DuckDBStorageManager(serializer, config)
    folder = run(manager, "/a/seq")
    events: list[str] = []
    monkeypatch.setattr(
        _shot_locator, "fsync_directory", lambda path: events.append(f"fsync {Path(path).name}")
    )
    real_commit = _shot_locator.ShotLocator.commit

    def commit(self: Any, connection: Any, touched: Any, do_commit: Any) -> None:
        def recorded() -> object:
            events.append("commit")
            return do_commit()

        real_commit(self, connection, touched, recorded)

    monkeypatch.setattr(_shot_locator.ShotLocator, "commit", commit)
    with manager.session() as session:
        session.paths.move(_as("/a/seq"), _as("/b/seq"))
    assert events[:3] == [f"fsync {folder.name}", f"fsync {config.root.name}", "commit"]
    assert manager.locate_shots("/b/seq") == folder
    manager.close()
