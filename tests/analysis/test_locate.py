"""Reading shots without the catalog: managers that locate a sequence's shot folder.

``read_shots`` and ``scan_shots`` ask the storage manager's ``locate_shots(path)`` (when it
is ``ShotFolders``) for selections that name sequences by their exact paths, and open a session only
when some path is not vouched for, when the selection holds a pattern, or when the manager
cannot locate at all. These managers wrap a real store and count catalog opens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from shotbook.analysis import read_shots, scan_shots, units
from shotbook.session import ExperimentSession, Sequence, ShotFolders, StorageManager
from shotbook.types import PureSequencePath

from .helpers import draft, fill, image, new_manager, other_c, running, tof_a, tof_b, write


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageManager]:
    """/tof/a, /tof/b, /other/c (finished) and /tof/draft (a draft)."""
    manager = new_manager(tmp_path_factory.mktemp("locate") / "store")
    for spec in (tof_a(), tof_b(), other_c()):
        fill(manager, spec)
    draft(manager, "/tof/draft")
    yield manager
    manager.close()


def folder_of(manager: Any, path: str) -> Path | None:
    """The shot folder of a sequence, through the default backend's session (test only)."""
    assert isinstance(manager, ShotFolders)
    with manager.session() as session:
        if not session.sequences.is_sequence(PureSequencePath(path)):
            return None
    return manager.shot_folder(path)


class Sessions:
    """A storage manager that counts catalog opens and delegates them to a real one."""

    def __init__(self, manager: StorageManager) -> None:
        self.manager = manager
        self.opened = 0

    def session(self) -> AbstractContextManager[ExperimentSession]:
        self.opened += 1
        return self.manager.session()


class Locating(Sessions):
    """Also locates shot folders, with ``answer(path)``; records what it was asked."""

    def __init__(
        self,
        manager: StorageManager,
        answer: Callable[[str], Path | None] | None = None,
        sequences: tuple[str, ...] = ("/tof/a", "/tof/b", "/other/c"),
    ) -> None:
        super().__init__(manager)
        self.asked: list[str] = []
        self.folders = {path: folder_of(manager, path) for path in sequences}
        self.answer = answer if answer is not None else self.folders.get

    def locate_shots(self, path: PureSequencePath | str) -> Path | None:
        self.asked.append(str(path))
        return self.answer(str(path))

    def shot_folder(self, path: PureSequencePath | str) -> Path:
        """The catalog's answer (``ShotFolders`` needs both), through a counted session."""
        with self.session() as session:
            assert isinstance(session, ShotFolders)
            return session.shot_folder(path)


def test_exact_paths_are_read_without_opening_the_catalog(store: StorageManager) -> None:
    expected = read_shots(Sessions(store), ["/tof/a", "/tof/b"])  # type: ignore[arg-type]
    located = Locating(store)
    frame = read_shots(located, ["/tof/a", "/tof/b"])  # type: ignore[arg-type]
    assert located.opened == 0
    assert located.asked == ["/tof/a", "/tof/b"]
    assert_frame_equal(frame, expected)
    assert units(frame) == units(expected)
    assert units(frame)["mot.detuning"] == "MHz"  # /tof/b's kHz converted to /tof/a's unit
    handle = read_shots(located, Sequence("/other/c", store), ["shot_index"])  # type: ignore[arg-type]
    assert handle.get_column("shot_index").to_list() == [0, 1]
    picked = read_shots(
        located,  # type: ignore[arg-type]
        PureSequencePath("/tof/a"),
        ["shot_index", "camera.picture"],
        where=pl.col("repeat") == 1,
    )
    assert picked.get_column("shot_index").to_list() == [1, 3, 5]
    assert (picked.get_column("camera.picture")[0].to_numpy() == image(1)).all()
    assert located.opened == 0


def test_a_path_not_vouched_for_falls_back_to_the_catalog(store: StorageManager) -> None:
    expected = read_shots(Sessions(store), ["/tof/a", "/other/c"], ["sequence", "shot_index"])
    unsure = Locating(store)
    unsure.answer = lambda path: None if path == "/other/c" else unsure.folders.get(path)
    frame = read_shots(unsure, ["/tof/a", "/other/c"], ["sequence", "shot_index"])  # type: ignore[arg-type]
    assert unsure.opened == 1
    assert_frame_equal(frame, expected)
    never = Locating(store, lambda path: None)
    assert_frame_equal(
        read_shots(never, ["/tof/a", "/other/c"], ["sequence", "shot_index"]),  # type: ignore[arg-type]
        expected,
    )
    assert never.opened == 1


def test_a_selection_given_as_an_iterator_survives_the_fallback(store: StorageManager) -> None:
    never = Locating(store, lambda path: None)
    frame = read_shots(never, iter(["/tof/a", "/other/c"]), ["sequence"])  # type: ignore[arg-type]
    assert frame.get_column("sequence").unique(maintain_order=True).to_list() == [
        "/tof/a",
        "/other/c",
    ]
    assert never.asked == ["/tof/a"]  # not vouched for: the catalog answers for both
    assert never.opened == 1


def test_folders_patterns_and_drafts_go_through_the_catalog(store: StorageManager) -> None:
    located = Locating(store)
    folder = read_shots(located, "/tof", ["sequence"])  # type: ignore[arg-type]
    assert set(folder.get_column("sequence")) == {"/tof/a", "/tof/b"}
    assert located.asked == ["/tof"]
    assert located.opened == 1
    pattern = read_shots(located, ["/tof/a", "/t*/b"], ["sequence"])  # type: ignore[arg-type]
    assert pattern.get_column("sequence").unique(maintain_order=True).to_list() == [
        "/tof/a",
        "/tof/b",
    ]
    assert located.asked == ["/tof"]  # a pattern is not asked about at all
    assert located.opened == 2
    empty = read_shots(located, "/tof/draft")  # type: ignore[arg-type]
    assert empty.height == 0
    assert located.opened == 3
    with pytest.raises(LookupError):
        read_shots(located, "/nowhere")  # type: ignore[arg-type]


def test_managers_without_locate_shots_read_through_a_session(store: StorageManager) -> None:
    plain = Sessions(store)
    assert not hasattr(plain, "locate_shots")
    frame = read_shots(plain, "/tof/a", ["shot_index", "wait_time"])  # type: ignore[arg-type]
    assert plain.opened == 1
    assert frame.get_column("wait_time").to_list() == pytest.approx([1, 2, 3, 4, 5, 6])


def test_a_located_running_sequence_shows_new_shots(tmp_path: Path) -> None:
    manager = new_manager(tmp_path / "store", compact_every=3)
    spec = tof_a()
    spec.shots = 6
    with running(manager, spec) as writer:
        write(writer, spec, range(2))
        located = Locating(manager, sequences=("/tof/a",))
        assert located.folders["/tof/a"] is not None
        lazy = scan_shots(located, "/tof/a").select("shot_index", "camera.picture")  # type: ignore[arg-type]
        assert lazy.collect().height == 2
        write(writer, spec, range(2, 6))  # a compaction swaps files under the frame
        frame = lazy.collect()
        assert frame.get_column("shot_index").to_list() == list(range(6))
        assert (frame.get_column("camera.picture")[5].to_numpy() == image(5)).all()
        assert located.opened == 0
    manager.close()


def test_the_default_store_locates_when_it_can(store: StorageManager) -> None:
    """Whatever the default manager answers (a folder or None), the frame is the same."""
    expected = read_shots(Sessions(store), "/tof/a")  # type: ignore[arg-type]
    assert_frame_equal(read_shots(store, "/tof/a"), expected)
    locate = getattr(store, "locate_shots", None)
    if locate is not None:
        found = locate("/tof/a")
        assert found is None or Path(found) == folder_of(store, "/tof/a")


@pytest.mark.parametrize(
    ("columns", "where"),
    [
        (None, None),
        (["wait_time", "sequence", "shot_index"], None),
        (["shot_index", "camera.picture"], pl.col("repeat") == 1),
        (None, pl.col("wait_time") > 0.003),
        (["analysis.atom_number"], pl.col("camera.picture").is_not_null()),
        (["shot_index"], pl.col("wait_time") > 1.0),  # nothing matches
    ],
)
def test_one_located_sequence_is_read_at_once_as_the_lazy_frame_would(
    store: StorageManager,
    monkeypatch: pytest.MonkeyPatch,
    columns: list[str] | None,
    where: pl.Expr | None,
) -> None:
    """``read_shots`` of one vouched-for sequence skips the lazy plan; same frame, same units."""
    expected = read_shots(Sessions(store), "/tof/a", columns, where=where)  # type: ignore[arg-type]
    from shotbook.session._parquet import _read as _parquet_read

    plans: list[str] = []
    monkeypatch.setattr(
        _parquet_read, "lazy_shots", lambda *a, **k: plans.append("lazy") or pl.LazyFrame()
    )
    located = Locating(store)
    frame = read_shots(located, "/tof/a", columns, where=where)  # type: ignore[arg-type]
    assert plans == []  # read at once, no lazy frame made
    assert located.opened == 0
    assert_frame_equal(frame, expected)
    assert units(frame) == units(expected)
    if "wait_time" in frame.columns:
        assert units(frame)["wait_time"] == "ms"


def test_one_located_sequence_with_an_unknown_column_gets_the_usual_error(
    store: StorageManager,
) -> None:
    with pytest.raises(ValueError, match=r"no column 'wait_tim' in the shots of /tof/a"):
        read_shots(Locating(store), "/tof/a", ["wait_tim"])  # type: ignore[arg-type]
    frame = read_shots(  # a filter on the sequence column: the lazy path handles it
        Locating(store),  # type: ignore[arg-type]
        "/tof/a",
        ["shot_index"],
        where=pl.col("sequence") == "/tof/a",
    )
    assert frame.height == 6
