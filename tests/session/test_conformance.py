"""The storage conformance suite: what every backend must do, through public interfaces only.

Each test runs once per backend of ``conftest.BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

import shotbook
from shotbook.session import (
    InvalidStateTransitionError,
    PathExistsError,
    PathHasChildrenError,
    PathIsNotSequenceError,
    PathIsSequenceError,
    PathNotFoundError,
    RunOwner,
    Sequence,
    SequenceNotEditableError,
    SequenceStats,
    Shot,
    ShotNotFoundError,
    ShotSchemaError,
    ShotWriter,
    State,
    StorageError,
    StoreLockedError,
    StoreVersionError,
)
from shotbook.types import (
    ExecuteShot,
    ParameterNamespace,
    PureSequencePath,
    StepsConfiguration,
    TimeLanes,
)

from .conftest import CameraConfiguration

P = PureSequencePath
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def image(index: int) -> np.ndarray:
    return np.full((4, 6), index, dtype=np.uint16) + np.arange(24, dtype=np.uint16).reshape(4, 6)


def write_shots(
    writer: ShotWriter, steps: StepsConfiguration, globals_: ParameterNamespace, start: int = 0
) -> list[int]:
    """Write one shot per point of the scan, with an image and a scalar; return the indices."""
    written = []
    for offset, parameters in enumerate(steps.walk(globals_)):
        index = start + offset
        begin = T0 + timedelta(seconds=index)
        writer.write_shot(
            index,
            parameters,
            {"camera.picture": image(index), "analysis.atom_number": 1000.0 + index},
            begin,
            begin + timedelta(milliseconds=145),
        )
        written.append(index)
    return written


def run_to_running(
    session: Any, path: str, globals_: ParameterNamespace, expected: int | None = 3
) -> ShotWriter:
    session.sequences.prepare(
        path,
        globals_,
        {"camera": CameraConfiguration(0.01, 2, "cam")},
        RunOwner.current(),
        expected,
    )
    return session.sequences.start(path)  # type: ignore[no-any-return]


@pytest.fixture
def finished(session: Any, steps: Any, lanes: Any, global_parameters: Any) -> Iterator[str]:
    """A FINISHED sequence ``/done/scan`` with 3 shots."""
    session.sequences.create("/done/scan", steps, lanes)
    with run_to_running(session, "/done/scan", global_parameters) as writer:
        write_shots(writer, steps, global_parameters)
    session.sequences.finish("/done/scan")
    return "/done/scan"


# --- paths ------------------------------------------------------------------------------------


def test_a_new_store_has_only_the_root(session: Any) -> None:
    assert session.paths.exists("/")
    assert session.paths.children("/") == set()
    assert session.paths.all_paths() == set()
    assert session.sequences.all_sequences() == []
    assert not session.paths.exists("/anything")


def test_create_makes_missing_parents_and_returns_them_top_first(session: Any) -> None:
    assert session.paths.create("/a/b/c") == [P("/a"), P("/a/b"), P("/a/b/c")]
    assert session.paths.create(P("/a/b/d")) == [P("/a/b/d")]
    assert session.paths.create("/a/b") == []
    assert session.paths.create("/") == []
    assert session.paths.children("/a/b") == {P("/a/b/c"), P("/a/b/d")}
    assert session.paths.children("/") == {P("/a")}
    assert session.paths.all_paths() == {P("/a"), P("/a/b"), P("/a/b/c"), P("/a/b/d")}
    assert session.paths.exists("/a/b/c")


def test_folders_cannot_go_under_a_sequence(session: Any, steps: Any, lanes: Any) -> None:
    session.sequences.create("/f/seq", steps, lanes)
    with pytest.raises(PathIsSequenceError, match=r"/f/seq/sub.*under /f/seq.*sequence"):
        session.paths.create("/f/seq/sub")
    with pytest.raises(PathIsSequenceError, match=r"/f/seq: a sequence is already"):
        session.paths.create("/f/seq")
    with pytest.raises(PathIsSequenceError, match="under /f/seq"):
        session.sequences.create("/f/seq/inner", steps, lanes)
    assert session.paths.all_paths() == {P("/f"), P("/f/seq")}


def test_children_errors_name_the_path(session: Any, steps: Any, lanes: Any) -> None:
    with pytest.raises(PathNotFoundError, match="/missing"):
        session.paths.children("/missing")
    session.sequences.create("/s", steps, lanes)
    with pytest.raises(PathIsSequenceError, match="/s: it is a sequence"):
        session.paths.children("/s")


def test_creation_dates_are_utc(session: Any, steps: Any, lanes: Any) -> None:
    before = datetime.now(UTC)
    session.paths.create("/dated")
    session.sequences.create("/dated/seq", steps, lanes)
    after = datetime.now(UTC)
    for path in ("/dated", "/dated/seq"):
        created = session.paths.creation_date(path)
        assert created.tzinfo is not None
        assert before - timedelta(seconds=1) <= created <= after + timedelta(seconds=1)
    assert session.paths.creation_date("/") <= session.paths.creation_date("/dated")
    with pytest.raises(PathNotFoundError, match="/nope"):
        session.paths.creation_date("/nope")


def test_delete_folder_tree_without_sequences(session: Any) -> None:
    session.paths.create("/t/u/v")
    session.paths.create("/t/w")
    session.paths.create("/tt")
    session.paths.delete("/t")
    assert session.paths.all_paths() == {P("/tt")}
    with pytest.raises(PathNotFoundError, match="/t: nothing to delete"):
        session.paths.delete("/t")
    with pytest.raises(StorageError, match="root"):
        session.paths.delete("/")


def test_delete_sequences_only_when_allowed(
    session: Any, finished: str, steps: Any, lanes: Any
) -> None:
    session.sequences.create("/done/other", steps, lanes)
    with pytest.raises(PathIsSequenceError, match=r"/done/scan.*delete_sequences=True"):
        session.paths.delete(finished)
    with pytest.raises(PathHasChildrenError, match=r"/done: .*2 sequence\(s\).*/done/scan"):
        session.paths.delete("/done")
    assert session.sequences.is_sequence(finished)
    session.paths.delete(finished, delete_sequences=True)
    assert not session.paths.exists(finished)
    session.paths.delete("/done", delete_sequences=True)
    assert session.paths.all_paths() == set()
    assert session.sequences.all_sequences() == []


def test_a_running_sequence_is_never_deleted(
    session: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    session.sequences.create("/r/run", steps, lanes)
    with run_to_running(session, "/r/run", global_parameters) as writer:
        with pytest.raises(SequenceNotEditableError, match=r"/r/run.*being run"):
            session.paths.delete("/r", delete_sequences=True)
        write_shots(writer, steps, global_parameters)
    session.sequences.interrupt("/r/run")
    session.paths.delete("/r", delete_sequences=True)
    assert not session.paths.exists("/r")


def test_move_a_folder_keeps_its_sequences_and_shots(
    session: Any, finished: str, steps: Any, lanes: Any
) -> None:
    session.sequences.set_notes(finished, "keep me")
    session.sequences.create("/done/sub/draft", steps, lanes)
    before = session.sequences.read(finished)
    session.paths.move("/done", "/archive/2026/done")
    assert not session.paths.exists("/done")
    assert session.paths.children("/archive/2026") == {P("/archive/2026/done")}
    assert session.paths.children("/archive/2026/done") == {
        P("/archive/2026/done/scan"),
        P("/archive/2026/done/sub"),
    }
    moved = "/archive/2026/done/scan"
    assert session.sequences.get_state(moved) is State.FINISHED
    assert session.sequences.get_notes(moved) == "keep me"
    assert session.sequences.get_stats(moved).number_of_shots == 3
    assert session.sequences.read(moved).equals(before)
    assert session.sequences.get_shot(moved, 2)["camera.picture"].tolist() == image(2).tolist()
    assert session.sequences.is_sequence("/archive/2026/done/sub/draft")
    assert [s.path for s in session.sequences.list("/archive")] == [
        P(moved),
        P("/archive/2026/done/sub/draft"),
    ]


def test_rename_a_sequence(session: Any, finished: str) -> None:
    session.paths.move(finished, "/done/renamed")
    assert session.paths.children("/done") == {P("/done/renamed")}
    assert len(session.sequences.get_shots("/done/renamed")) == 3
    with pytest.raises(PathNotFoundError, match="/done/scan"):
        session.sequences.get_state(finished)


def test_move_errors_name_the_paths(session: Any, finished: str, steps: Any, lanes: Any) -> None:
    session.paths.create("/other")
    with pytest.raises(PathNotFoundError, match="/ghost"):
        session.paths.move("/ghost", "/x")
    with pytest.raises(PathExistsError, match="/other: cannot move /done here"):
        session.paths.move("/done", "/other")
    with pytest.raises(StorageError, match=r"/done.*into itself"):
        session.paths.move("/done", "/done/deeper")
    with pytest.raises(PathIsSequenceError, match="under /done/scan"):
        session.paths.move("/other", "/done/scan/other")
    with pytest.raises(StorageError, match="root"):
        session.paths.move("/", "/x")
    assert session.paths.all_paths() == {P("/done"), P("/done/scan"), P("/other")}


# --- sequence content -------------------------------------------------------------------------


def test_create_and_read_a_sequence(
    session: Any, steps: Any, lanes: Any, storage_manager: Any
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    sequence = session.sequences.create("/mot/scan", steps, lanes)
    assert isinstance(sequence, Sequence)
    assert sequence.path == P("/mot/scan")
    assert session.sequences.is_sequence("/mot/scan")
    assert not session.sequences.is_sequence("/mot")
    assert session.sequences.get_iteration("/mot/scan") == steps
    assert session.sequences.get_time_lanes("/mot/scan") == lanes
    assert session.sequences.get_state("/mot/scan") is State.DRAFT
    assert session.sequences.get_notes("/mot/scan") == ""
    assert session.sequences.get_traceback("/mot/scan") is None
    assert session.sequences.get_global_parameters("/mot/scan") is None
    assert session.sequences.get_device_configurations("/mot/scan") is None
    stats = session.sequences.get_stats("/mot/scan")
    assert isinstance(stats, SequenceStats)
    assert stats.path == P("/mot/scan")
    assert (stats.state, stats.number_of_shots, stats.expected_number_of_shots) == (
        State.DRAFT,
        0,
        None,
    )
    assert stats.created >= before
    assert (stats.start_time, stats.stop_time, stats.owner, stats.ran_by) == (None,) * 4
    assert session.get_sequence("/mot/scan") == Sequence("/mot/scan", storage_manager)


def test_sequence_errors_name_the_path(session: Any, steps: Any, lanes: Any) -> None:
    session.sequences.create("/a/seq", steps, lanes)
    with pytest.raises(PathExistsError, match="/a/seq: a sequence is already"):
        session.sequences.create("/a/seq", steps, lanes)
    with pytest.raises(PathExistsError, match="/a: a folder is already"):
        session.sequences.create("/a", steps, lanes)
    with pytest.raises(PathExistsError, match="root"):
        session.sequences.create("/", steps, lanes)
    with pytest.raises(PathIsNotSequenceError, match="/a: it is a folder"):
        session.sequences.get_state("/a")
    with pytest.raises(PathIsNotSequenceError, match="/a"):
        session.get_sequence("/a")
    with pytest.raises(PathNotFoundError, match="/a/missing"):
        session.sequences.get_iteration("/a/missing")
    with pytest.raises(PathNotFoundError, match="/nowhere"):
        session.get_sequence("/nowhere")
    with pytest.raises(PathNotFoundError, match="/nowhere"):
        session.sequences.is_sequence("/nowhere")


def test_edit_only_a_draft(session: Any, steps: Any, lanes: Any, global_parameters: Any) -> None:
    session.sequences.create("/e", steps, lanes)
    shorter = StepsConfiguration([ExecuteShot()])
    other_lanes = TimeLanes(["only"], ["1 ms"])
    session.sequences.set_iteration("/e", shorter)
    session.sequences.set_time_lanes("/e", other_lanes)
    assert session.sequences.get_iteration("/e") == shorter
    assert session.sequences.get_time_lanes("/e") == other_lanes
    session.sequences.prepare("/e", global_parameters, {}, RunOwner.current(), 1)
    with pytest.raises(SequenceNotEditableError, match=r"/e: its scan .* PREPARING, only a DRAFT"):
        session.sequences.set_iteration("/e", steps)
    with pytest.raises(SequenceNotEditableError, match="/e: its time lanes"):
        session.sequences.set_time_lanes("/e", lanes)
    assert session.sequences.get_iteration("/e") == shorter


def test_notes_are_editable_in_every_state(
    session: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    session.sequences.create("/n", steps, lanes)
    session.sequences.set_notes("/n", "draft note")
    assert session.sequences.get_notes("/n") == "draft note"
    session.sequences.prepare("/n", global_parameters, {}, RunOwner.current(), 3)
    session.sequences.set_notes("/n", "preparing")
    with session.sequences.start("/n") as writer:
        session.sequences.set_notes("/n", "running ✓ — multi\nline")
        assert session.sequences.get_notes("/n") == "running ✓ — multi\nline"
        write_shots(writer, steps, global_parameters)
    session.sequences.finish("/n")
    session.sequences.set_notes("/n", "finished")
    assert session.sequences.get_notes("/n") == "finished"
    with pytest.raises(TypeError, match="/n"):
        session.sequences.set_notes("/n", 3)


def test_duplicate(session: Any, finished: str, steps: Any, lanes: Any) -> None:
    session.sequences.set_notes(finished, "original notes")
    copy = session.sequences.duplicate(finished, "/copies/scan again")
    assert copy.path == P("/copies/scan again")
    assert session.sequences.get_state("/copies/scan again") is State.DRAFT
    assert session.sequences.get_iteration("/copies/scan again") == steps
    assert session.sequences.get_time_lanes("/copies/scan again") == lanes
    assert session.sequences.get_notes("/copies/scan again") == "original notes"
    assert session.sequences.get_shots("/copies/scan again") == []
    assert session.sequences.get_global_parameters("/copies/scan again") is None
    assert session.sequences.get_stats(finished).number_of_shots == 3
    with pytest.raises(PathExistsError, match="/copies/scan again: cannot duplicate /done/scan"):
        session.sequences.duplicate(finished, "/copies/scan again")
    with pytest.raises(PathNotFoundError, match="/ghost"):
        session.sequences.duplicate("/ghost", "/copies/x")
    with pytest.raises(PathIsNotSequenceError, match="/copies"):
        session.sequences.duplicate("/copies", "/copies/y")


def test_global_parameters(session: Any, global_parameters: Any) -> None:
    assert session.get_global_parameters() == ParameterNamespace.empty()
    session.set_global_parameters(global_parameters)
    assert session.get_global_parameters() == global_parameters
    changed = ParameterNamespace.from_mapping({"x": "1 s"})
    session.set_global_parameters(changed)
    assert session.get_global_parameters() == changed


def test_default_device_configurations_behave_as_a_mapping(session: Any) -> None:
    configurations = session.default_device_configurations
    assert len(configurations) == 0
    assert list(configurations) == []
    camera = CameraConfiguration(0.02, 4, "andor")
    configurations["camera"] = camera
    configurations["other"] = {"plain": [1, 2.5, "x"]}
    assert configurations["camera"] == camera
    assert dict(configurations) == {"camera": camera, "other": {"plain": [1, 2.5, "x"]}}
    configurations["camera"] = CameraConfiguration(0.03, 4, "andor")
    assert configurations["camera"].exposure == 0.03
    del configurations["other"]
    assert list(configurations) == ["camera"]
    assert "other" not in configurations
    with pytest.raises(KeyError, match="'ghost'"):
        configurations["ghost"]
    with pytest.raises(KeyError, match="'ghost'"):
        del configurations["ghost"]


# --- life cycle -------------------------------------------------------------------------------


def test_full_life_cycle(session: Any, steps: Any, lanes: Any, global_parameters: Any) -> None:
    session.sequences.create("/life", steps, lanes)
    session.set_global_parameters(global_parameters)
    camera = CameraConfiguration(0.01, 2, "cam")
    session.default_device_configurations["camera"] = camera
    owner = RunOwner("lab-pc", 4242, "alice")
    before = datetime.now(UTC) - timedelta(seconds=1)
    session.sequences.prepare(
        "/life",
        session.get_global_parameters(),
        dict(session.default_device_configurations),
        owner,
        3,
        ran_by="bob",
        host="office-pc",
    )
    # snapshots do not follow later edits
    session.set_global_parameters(ParameterNamespace.from_mapping({"changed": "1 s"}))
    session.default_device_configurations["camera"] = CameraConfiguration(9.0, 9, "other")
    assert session.sequences.get_global_parameters("/life") == global_parameters
    assert session.sequences.get_device_configurations("/life") == {"camera": camera}
    stats = session.sequences.get_stats("/life")
    assert stats.state is State.PREPARING
    assert stats.owner == owner
    assert (stats.ran_by, stats.host) == ("bob", "office-pc")
    assert stats.shotbook_version == shotbook.__version__
    assert stats.expected_number_of_shots == 3
    assert stats.start_time is not None
    assert stats.start_time >= before
    assert stats.stop_time is None
    writer = session.sequences.start("/life")
    assert isinstance(writer, ShotWriter)
    assert session.sequences.get_state("/life") is State.RUNNING
    with writer:
        write_shots(writer, steps, global_parameters)
    session.sequences.finish("/life")
    stats = session.sequences.get_stats("/life")
    assert stats.state is State.FINISHED
    assert stats.number_of_shots == 3
    assert stats.stop_time is not None
    assert stats.stop_time >= stats.start_time
    assert stats.owner == owner
    assert session.sequences.running_sequences() == []


def test_defaults_of_prepare_come_from_the_owner(
    session: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    session.sequences.create("/o", steps, lanes)
    owner = RunOwner.current()
    session.sequences.prepare("/o", global_parameters, {}, owner, None)
    stats = session.sequences.get_stats("/o")
    assert (stats.ran_by, stats.host, stats.expected_number_of_shots) == (
        owner.user,
        owner.host,
        None,
    )
    assert session.sequences.get_device_configurations("/o") == {}


@pytest.mark.parametrize(
    ("setup", "action", "current", "requested"),
    [
        ([], "start", "DRAFT", "RUNNING"),
        ([], "finish", "DRAFT", "FINISHED"),
        ([], "interrupt", "DRAFT", "INTERRUPTED"),
        ([], "crash", "DRAFT", "CRASHED"),
        ([], "reset_to_draft", "DRAFT", "DRAFT"),
        (["prepare"], "prepare", "PREPARING", "PREPARING"),
        (["prepare"], "finish", "PREPARING", "FINISHED"),
        (["prepare", "start"], "reset_to_draft", "RUNNING", "DRAFT"),
        (["prepare", "start"], "start", "RUNNING", "RUNNING"),
        (["prepare", "start", "finish"], "prepare", "FINISHED", "PREPARING"),
        (["prepare", "start", "finish"], "crash", "FINISHED", "CRASHED"),
        (["prepare", "interrupt"], "start", "INTERRUPTED", "RUNNING"),
    ],
)
def test_invalid_transitions_are_refused(
    session: Any,
    steps: Any,
    lanes: Any,
    global_parameters: Any,
    setup: list[str],
    action: str,
    current: str,
    requested: str,
) -> None:
    session.sequences.create("/t/seq", steps, lanes)
    calls = {
        "prepare": lambda: session.sequences.prepare(
            "/t/seq", global_parameters, {}, RunOwner.current(), 3
        ),
        "start": lambda: session.sequences.start("/t/seq").close(),
        "finish": lambda: session.sequences.finish("/t/seq"),
        "interrupt": lambda: session.sequences.interrupt("/t/seq"),
        "crash": lambda: session.sequences.crash("/t/seq", "tb"),
        "reset_to_draft": lambda: session.sequences.reset_to_draft("/t/seq"),
    }
    for step in setup:
        calls[step]()
    with pytest.raises(InvalidStateTransitionError) as caught:
        calls[action]()
    message = str(caught.value)
    assert message.startswith("/t/seq: ")
    assert f"from {current} to {requested}" in message
    assert caught.value.path == P("/t/seq")
    assert session.sequences.get_state("/t/seq") is State[current]


def test_interrupt_and_crash_keep_the_written_shots(
    session: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    session.sequences.create("/i", steps, lanes)
    session.sequences.prepare("/i", global_parameters, {}, RunOwner.current(), 3)
    session.sequences.interrupt("/i")
    assert session.sequences.get_stats("/i").number_of_shots == 0
    assert session.sequences.get_traceback("/i") is None

    session.sequences.create("/c", steps, lanes)
    with run_to_running(session, "/c", global_parameters) as writer:
        write_shots(writer, StepsConfiguration([ExecuteShot(), ExecuteShot()]), global_parameters)
    traceback = 'Traceback (most recent call last):\n  File "x.py"\nValueError: boom at shot 2'
    session.sequences.crash("/c", traceback)
    assert session.sequences.get_state("/c") is State.CRASHED
    assert session.sequences.get_traceback("/c") == traceback
    assert session.sequences.get_stats("/c").number_of_shots == 2
    assert [shot.index for shot in session.sequences.get_shots("/c")] == [0, 1]

    session.sequences.create("/p", steps, lanes)
    session.sequences.prepare("/p", global_parameters, {}, RunOwner.current(), 3)
    session.sequences.crash("/p", "failed while preparing")
    assert session.sequences.get_traceback("/p") == "failed while preparing"


def test_reset_to_draft_deletes_shots_and_snapshots(
    session: Any, finished: str, steps: Any, global_parameters: Any
) -> None:
    session.sequences.set_notes(finished, "notes survive")
    session.sequences.reset_to_draft(finished)
    assert session.sequences.get_state(finished) is State.DRAFT
    assert session.sequences.get_shots(finished) == []
    assert session.sequences.read(finished).height == 0
    assert session.sequences.get_global_parameters(finished) is None
    assert session.sequences.get_device_configurations(finished) is None
    assert session.sequences.get_notes(finished) == "notes survive"
    stats = session.sequences.get_stats(finished)
    assert (stats.number_of_shots, stats.owner, stats.start_time, stats.stop_time) == (
        0,
        None,
        None,
        None,
    )
    with pytest.raises(ShotNotFoundError):
        session.sequences.get_shot(finished, 0)
    # it runs again from scratch, reusing shot indices
    with run_to_running(session, finished, global_parameters) as writer:
        write_shots(writer, steps, global_parameters)
    session.sequences.finish(finished)
    assert session.sequences.get_stats(finished).number_of_shots == 3


def test_heartbeat_and_running_sequences(
    session: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    session.sequences.create("/h/one", steps, lanes)
    session.sequences.create("/h/two", steps, lanes)
    session.sequences.create("/h/draft", steps, lanes)
    owner = RunOwner("lab", 99999, "carol")
    session.sequences.prepare("/h/one", global_parameters, {}, owner, 3)
    first = session.sequences.running_sequences()
    assert [(r.path, r.owner) for r in first] == [(P("/h/one"), owner)]
    beat = session.sequences.heartbeat("/h/one")
    assert beat.tzinfo is not None
    path, recorded_owner, last = session.sequences.running_sequences()[0]
    assert (path, recorded_owner, last) == (P("/h/one"), owner, beat)
    assert first[0].last_heartbeat is not None
    assert last >= first[0].last_heartbeat
    session.sequences.prepare("/h/two", global_parameters, {}, RunOwner.current(), 3)
    session.sequences.start("/h/two").close()
    assert [r.path for r in session.sequences.running_sequences()] == [P("/h/one"), P("/h/two")]
    with pytest.raises(StorageError, match=r"/h/draft: no heartbeat .* DRAFT"):
        session.sequences.heartbeat("/h/draft")
    # a manager marks crashed the sequences whose owner is gone
    session.sequences.crash("/h/one", "owner lab/99999 is gone")
    assert [r.path for r in session.sequences.running_sequences()] == [P("/h/two")]


def test_list_returns_the_stats_of_many_sequences(
    session: Any, finished: str, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    with session.transaction():
        for name in ("b", "a", "c"):
            session.sequences.create(f"/many/{name}", steps, lanes)
        session.sequences.create("/many/deep/z", steps, lanes)
        session.sequences.create("/many b", steps, lanes)
    session.sequences.prepare("/many/c", global_parameters, {}, RunOwner.current(), 3)
    listed = session.sequences.list("/many")
    assert [str(s.path) for s in listed] == ["/many/a", "/many/b", "/many/c", "/many/deep/z"]
    assert [s.state for s in listed] == [State.DRAFT, State.DRAFT, State.PREPARING, State.DRAFT]
    everything = session.sequences.all_sequences()
    assert [str(s.path) for s in everything] == [
        "/done/scan",
        "/many/a",
        "/many/b",
        "/many/c",
        "/many/deep/z",
        "/many b",
    ]
    by_path = {str(s.path): s for s in everything}
    assert by_path["/done/scan"].number_of_shots == 3
    assert by_path["/done/scan"] == session.sequences.get_stats("/done/scan")
    only = session.sequences.list(states=[State.FINISHED, State.PREPARING])
    assert [str(s.path) for s in only] == ["/done/scan", "/many/c"]
    assert session.sequences.list("/many/deep") == [session.sequences.get_stats("/many/deep/z")]
    with pytest.raises(PathNotFoundError, match="/nothing"):
        session.sequences.list("/nothing")
    with pytest.raises(PathIsSequenceError, match="/many/a"):
        session.sequences.list("/many/a")


def test_transaction_rolls_back_every_change_on_error(session: Any, steps: Any, lanes: Any) -> None:
    def edit_then_fail() -> None:
        with session.transaction():
            session.paths.create("/tx/one")
            session.sequences.create("/tx/seq", steps, lanes)
            assert session.paths.exists("/tx/seq")
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        edit_then_fail()
    assert not session.paths.exists("/tx")
    with session.transaction():
        session.paths.create("/tx/one")
        with session.transaction():  # nested blocks join the outer one
            session.sequences.create("/tx/seq", steps, lanes)
    assert session.paths.all_paths() == {P("/tx"), P("/tx/one"), P("/tx/seq")}


# --- shots ------------------------------------------------------------------------------------


def test_shots_written_by_the_writer_are_read_back(session: Any, finished: str) -> None:
    shots = session.sequences.get_shots(finished)
    assert [shot.index for shot in shots] == [0, 1, 2]
    shot = session.sequences.get_shot(finished, 1)
    assert isinstance(shot, Shot)
    assert shot == shots[1]
    assert shot.sequence_path == P(finished)
    assert shot["camera.picture"].dtype == np.uint16
    assert shot["camera.picture"].tolist() == image(1).tolist()
    assert shot["analysis.atom_number"] == 1001.0
    assert shot.parameters["wait_time"] == pytest.approx(2.0)  # display unit: ms
    assert shot.units["wait_time"] == "ms"
    assert shot["wait_time"] == pytest.approx(2.0)
    assert shot.parameters["mot.detuning"] == pytest.approx(-2.0)
    assert shot.start_time == T0 + timedelta(seconds=1)
    assert shot.end_time == T0 + timedelta(seconds=1, milliseconds=145)
    assert set(shot.data) == {"camera.picture", "analysis.atom_number"}
    with pytest.raises(KeyError, match="no data or parameter 'nope'"):
        shot["nope"]
    with pytest.raises(
        ShotNotFoundError, match=r"/done/scan: the sequence has no shot 7"
    ) as caught:
        session.sequences.get_shot(finished, 7)
    assert caught.value.index == 7


def test_scan_and_read_give_one_row_per_shot(session: Any, finished: str) -> None:
    frame = session.sequences.read(finished)
    assert isinstance(frame, pl.DataFrame)
    assert frame.height == 3
    assert frame["shot_index"].to_list() == [0, 1, 2]
    assert frame["analysis.atom_number"].to_list() == [1000.0, 1001.0, 1002.0]
    assert frame["wait_time"].to_list() == pytest.approx([1.0, 2.0, 3.0])
    lazy = session.sequences.scan(finished)
    assert isinstance(lazy, pl.LazyFrame)
    picked = lazy.filter(pl.col("shot_index") >= 1).select("shot_index", "wait_time").collect()
    assert picked["shot_index"].to_list() == [1, 2]


def test_data_units_are_stored_with_their_columns_and_read_back(
    storage_manager: Any, session: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    from shotbook.analysis import read_shots

    session.sequences.create("/units/meter", steps, lanes)
    units = {"dmm.voltage": "V", "camera.picture": "count", "dmm.ok": "V", "dmm.n": None}
    with run_to_running(session, "/units/meter", global_parameters) as writer:
        for index, parameters in enumerate(steps.walk(global_parameters)):
            data = {"dmm.voltage": 0.5 + index, "camera.picture": image(index), "dmm.ok": True}
            begin = T0 + timedelta(seconds=index)
            writer.write_shot(index, parameters, {**data, "dmm.n": index}, begin, begin,
                              data_units=units)  # fmt: skip
        with pytest.raises(ShotSchemaError, match=r"'dmm.voltage' was a float scalar in V .* mV"):
            writer.write_shot(3, {}, {"dmm.voltage": 1.0}, T0, T0, data_units={"dmm.voltage": "mV"})
    session.sequences.finish("/units/meter")
    shot = session.sequences.get_shot("/units/meter", 2)
    assert shot.data_units == {"dmm.voltage": "V", "camera.picture": "count"}  # bools: none
    assert shot["dmm.voltage"] == 2.5  # stored as given
    assert shot.units["wait_time"] == "ms"  # parameters keep theirs
    frame = read_shots(storage_manager, "/units/meter")
    assert frame.height == 3
    assert frame.units["dmm.voltage"] == "V"
    assert frame.units["camera.picture"] == "count"
    assert frame.units["dmm.n"] is None
    assert frame.units["dmm.ok"] is None
    assert frame.units["wait_time"] == "ms"
    picked = read_shots(storage_manager, "/units/meter", ["dmm.voltage"])
    assert picked.units["dmm.voltage"] == "V"


def test_a_draft_has_no_shots(session: Any, steps: Any, lanes: Any) -> None:
    session.sequences.create("/d", steps, lanes)
    assert session.sequences.get_shots("/d") == []
    assert session.sequences.read("/d").height == 0
    assert session.sequences.scan("/d").collect().height == 0
    with pytest.raises(ShotNotFoundError, match="/d: the sequence has no shot 0"):
        session.sequences.get_shot("/d", 0)


def test_a_running_sequence_is_readable_mid_run(
    session: Any, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    session.sequences.create("/live", steps, lanes)
    with run_to_running(session, "/live", global_parameters, expected=6) as writer:
        write_shots(writer, steps, global_parameters)
        assert session.sequences.get_stats("/live").number_of_shots == 3
        assert session.sequences.read("/live")["shot_index"].to_list() == [0, 1, 2]
        write_shots(writer, steps, global_parameters, start=3)
        assert session.sequences.get_stats("/live").number_of_shots == 6
        assert session.sequences.scan("/live").collect().height == 6
        assert session.sequences.get_shot("/live", 5)["analysis.atom_number"] == 1005.0
        assert [s.number_of_shots for s in session.sequences.all_sequences()] == [6]
    session.sequences.finish("/live")
    assert session.sequences.get_stats("/live").number_of_shots == 6


# --- the Sequence handle ----------------------------------------------------------------------


def test_sequence_handle_reads_the_store(
    storage_manager: Any, finished: str, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    sequence = Sequence(finished, storage_manager)
    assert sequence.state is State.FINISHED
    assert len(sequence) == 3
    assert sequence.iteration == steps
    assert sequence.time_lanes == lanes
    assert sequence.global_parameters == global_parameters
    assert sequence.device_configurations == {"camera": CameraConfiguration(0.01, 2, "cam")}
    assert sequence.owner == RunOwner.current()
    assert sequence.ran_by == RunOwner.current().user
    assert sequence.host == RunOwner.current().host
    assert sequence.shotbook_version == shotbook.__version__
    assert sequence.traceback is None
    assert sequence.stats.number_of_shots == 3
    assert [shot.index for shot in sequence.shots] == [0, 1, 2]
    assert sequence.get_shot(0)["analysis.atom_number"] == 1000.0
    assert sequence.read().height == 3
    assert sequence.scan().collect().height == 3
    sequence.notes = "set through the handle"
    assert sequence.notes == "set through the handle"
    assert repr(sequence) == "Sequence('/done/scan', state=FINISHED, shots=3)"
    copy = sequence.duplicate("/done/copy")
    assert copy.state is State.DRAFT
    copy.iteration = StepsConfiguration([ExecuteShot()])
    assert copy.iteration == StepsConfiguration([ExecuteShot()])
    copy.time_lanes = TimeLanes(["x"], ["1 ms"])
    assert copy.time_lanes == TimeLanes(["x"], ["1 ms"])
    with pytest.raises(SequenceNotEditableError, match="/done/scan"):
        sequence.iteration = steps
    gone = Sequence("/not/there", storage_manager)
    assert repr(gone) == "Sequence('/not/there')"
    with pytest.raises(PathNotFoundError, match="/not/there"):
        gone.state  # noqa: B018


def test_every_error_is_a_storage_error() -> None:
    for error in (
        PathNotFoundError,
        PathIsSequenceError,
        PathIsNotSequenceError,
        PathHasChildrenError,
        PathExistsError,
        SequenceNotEditableError,
        InvalidStateTransitionError,
        ShotNotFoundError,
        StoreLockedError,
        StoreVersionError,
    ):
        assert issubclass(error, StorageError)
    assert issubclass(PathNotFoundError, LookupError)
    assert issubclass(ShotNotFoundError, LookupError)
