"""Loading shots into polars: selection, stacking, a running sequence, pushdown, arrays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from shotbook.analysis import (
    FIXED_COLUMNS,
    NoSequenceMatchError,
    _loading,
    crop,
    matches_pattern,
    read_shots,
    roi_sum,
    scan_shots,
    stack_arrays,
    units,
)
from shotbook.session import PathNotFoundError, Sequence, State, StorageManager

from .helpers import (
    IMAGE_SHAPE,
    T0,
    SequenceSpec,
    draft,
    fill,
    image,
    new_manager,
    other_c,
    running,
    tof_a,
    tof_b,
    tof_sub_d,
    write,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageManager]:
    """/tof/a, /tof/b, /tof/sub/d, /other/c (finished) and /tof/draft (a draft)."""
    manager = new_manager(tmp_path_factory.mktemp("analysis") / "store")
    for spec in (tof_a(), tof_b(), tof_sub_d(), other_c()):
        fill(manager, spec)
    draft(manager, "/tof/draft")
    yield manager
    manager.close()


@pytest.fixture(params=["parquet-fast-path", "storage-interface"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Read through polars' Parquet reader (default backend) or the generic storage interface.

    The generic way (``sequences.scan(path)`` and the first shot for units) is what every
    other backend uses.
    """
    if request.param == "storage-interface":
        monkeypatch.setattr(_loading, "parquet_part", lambda session, path: None)
        monkeypatch.setattr(_loading, "locate_folders", lambda manager, what: None)
    return str(request.param)


# --- one sequence ---------------------------------------------------------------------------


def test_read_one_sequence_gives_every_column_with_its_values(
    store: StorageManager, reader: str
) -> None:
    frame = read_shots(store, "/tof/a")
    spec = tof_a()
    assert frame.columns == [
        *FIXED_COLUMNS,
        "mot.detuning",
        "wait_time",
        "repeat",
        "imaging.enabled",
        "camera.picture",
        "analysis.atom_number",
    ]
    assert frame.schema["sequence"] == pl.String
    assert frame.schema["start_time"] == pl.Datetime("us", "UTC")
    assert frame.schema["camera.picture"] == pl.Array(pl.UInt16, IMAGE_SHAPE)
    assert frame.schema["repeat"] == pl.Int64
    assert frame.schema["imaging.enabled"] == pl.Boolean
    assert frame.get_column("sequence").to_list() == ["/tof/a"] * spec.shots
    assert frame.get_column("shot_index").to_list() == list(range(spec.shots))
    # parameters come back in their display units
    assert frame.get_column("mot.detuning").to_list() == pytest.approx(
        [-2.0 + 0.1 * i for i in range(6)]
    )
    assert frame.get_column("wait_time").to_list() == pytest.approx(
        [1.0 * (i + 1) for i in range(6)]
    )
    assert frame.get_column("imaging.enabled").to_list() == [i % 3 != 0 for i in range(6)]
    assert frame.get_column("start_time")[2] == T0.replace(second=2)
    pictures = stack_arrays(frame, "camera.picture")
    assert pictures.dtype == np.uint16
    np.testing.assert_array_equal(pictures, np.stack([image(i) for i in range(6)]))
    assert units(frame) == {
        **dict.fromkeys(FIXED_COLUMNS),
        "mot.detuning": "MHz",
        "wait_time": "ms",
        "repeat": None,
        "imaging.enabled": None,
        "camera.picture": None,
        "analysis.atom_number": None,
    }


def test_columns_and_where_read_only_what_is_asked(store: StorageManager, reader: str) -> None:
    frame = read_shots(
        store,
        "/tof/a",
        ["analysis.atom_number", "sequence", "analysis.atom_number"],
        where=pl.col("repeat") == 1,
    )
    assert frame.columns == ["analysis.atom_number", "sequence"]
    assert frame.get_column("analysis.atom_number").to_list() == [1001.0, 1003.0, 1005.0]
    assert units(frame) == {"analysis.atom_number": None, "sequence": None}


def test_unknown_columns_are_named_with_what_exists(store: StorageManager) -> None:
    with pytest.raises(ValueError, match=r"no column 'mot\.detunning'.*/tof/a.*mot\.detuning"):
        read_shots(store, "/tof/a", ["mot.detunning"])
    with pytest.raises(TypeError, match="list of names"):
        read_shots(store, "/tof/a", "wait_time")  # type: ignore[arg-type]


def test_a_draft_gives_an_empty_frame_with_the_fixed_columns(
    store: StorageManager, reader: str
) -> None:
    frame = read_shots(store, "/tof/draft")
    assert frame.columns == list(FIXED_COLUMNS)
    assert frame.height == 0
    assert frame.schema["shot_index"] == pl.Int64


# --- selecting sequences ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/tof/*", "/tof/a", True),
        ("/tof/*", "/tof/sub/d", False),
        ("/tof/**", "/tof/sub/d", True),
        ("/tof/**", "/tof/a", True),
        ("/**/d", "/tof/sub/d", True),
        ("/**/d", "/d", True),
        ("/tof/?", "/tof/a", True),
        ("/tof/?", "/tof/ab", False),
        ("/t*/*", "/tof/a", True),
        ("/tof/a*", "/tof/a b", True),
        ("/tof/[a]", "/tof/a", False),  # brackets are plain characters
        ("/tof/[a]", "/tof/[a]", True),
        ("/**", "/x/y/z", True),
    ],
)
def test_patterns_match_whole_names(pattern: str, path: str, expected: bool) -> None:
    assert matches_pattern(pattern, path) is expected


def _sequences(frame: pl.DataFrame) -> list[str]:
    return frame.get_column("sequence").unique(maintain_order=True).to_list()


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("/tof/*", ["/tof/a", "/tof/b"]),  # the draft is left out, /tof/sub/d is deeper
        ("/tof/**", ["/tof/a", "/tof/b", "/tof/sub/d"]),
        ("/tof", ["/tof/a", "/tof/b", "/tof/sub/d"]),  # a folder: everything under it
        ("/**/?", ["/other/c", "/tof/a", "/tof/b", "/tof/sub/d"]),
        (["/tof/b", "/tof/sub/d", "/tof/b"], ["/tof/b", "/tof/sub/d"]),  # given order, once
        (["/tof/sub/*", "/tof/a"], ["/tof/sub/d", "/tof/a"]),
    ],
)
def test_sequences_are_selected_by_path_folder_pattern_or_list(
    store: StorageManager, what: Any, expected: list[str]
) -> None:
    frame = read_shots(store, what, ["sequence", "shot_index"])
    assert _sequences(frame) == expected
    counts = Counter(frame.get_column("sequence").to_list())
    shots = {"/tof/a": 6, "/tof/b": 5, "/tof/sub/d": 3, "/other/c": 2}
    assert counts == {path: shots[path] for path in expected}


def test_sequence_handles_select_their_sequence(store: StorageManager) -> None:
    handle = Sequence("/tof/b", store)
    frame = read_shots(store, [handle, "/other/c"], ["sequence", "wait_time"])
    assert _sequences(frame) == ["/tof/b", "/other/c"]
    assert read_shots(store, handle, ["shot_index"]).height == 5


def test_selection_errors_say_what_is_wrong(store: StorageManager) -> None:
    with pytest.raises(NoSequenceMatchError, match=r"'/tof/x\*'.*'\*\*' spans.*/tof/a"):
        scan_shots(store, "/tof/x*")
    with pytest.raises(PathNotFoundError, match="/nowhere"):
        scan_shots(store, "/nowhere")
    with pytest.raises(ValueError, match="empty"):
        scan_shots(store, [])
    with pytest.raises(TypeError, match="a path"):
        scan_shots(store, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must start with '/'"):
        scan_shots(store, "tof/*")


# --- several sequences ------------------------------------------------------------------------


def test_sequences_with_different_columns_stack_with_nulls(
    store: StorageManager, reader: str
) -> None:
    frame = read_shots(store, "/tof/*")
    a = frame.filter(pl.col("sequence") == "/tof/a")
    b = frame.filter(pl.col("sequence") == "/tof/b")
    assert frame.columns[-1] == "probe.power"  # first seen in /tof/b
    assert a.get_column("probe.power").null_count() == 6
    assert b.get_column("imaging.enabled").null_count() == 5
    assert b.get_column("probe.power").to_list() == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(
        stack_arrays(b, "camera.picture"), np.stack([image(100 + i) for i in range(5)])
    )


def test_a_column_in_other_units_is_converted_to_the_first_sequence_unit(
    store: StorageManager, reader: str
) -> None:
    frame = read_shots(store, ["/tof/b", "/tof/a"], ["sequence", "mot.detuning"])
    # /tof/b (first) stores kHz, /tof/a stores MHz: everything in kHz
    assert units(frame)["mot.detuning"] == "kHz"
    b = frame.filter(pl.col("sequence") == "/tof/b").get_column("mot.detuning").to_list()
    a = frame.filter(pl.col("sequence") == "/tof/a").get_column("mot.detuning").to_list()
    assert b == pytest.approx([-1500.0 + 250.0 * i for i in range(5)])
    assert a == pytest.approx([-2000.0 + 100.0 * i for i in range(6)])
    swapped = read_shots(store, ["/tof/a", "/tof/b"], ["sequence", "mot.detuning"])
    assert units(swapped)["mot.detuning"] == "MHz"
    assert swapped.get_column("mot.detuning").to_list()[6:] == pytest.approx(
        [-1.5 + 0.25 * i for i in range(5)]
    )


def test_arrays_of_other_shapes_cannot_be_stacked_but_other_columns_can(
    store: StorageManager,
) -> None:
    with pytest.raises(
        ValueError, match=r"'camera\.picture' cannot be stacked.*\(4, 4\).*/other/c"
    ):
        scan_shots(store, ["/tof/a", "/other/c"])
    frame = read_shots(store, ["/tof/a", "/other/c"], ["sequence", "wait_time"])
    assert frame.height == 8


# --- a running sequence -----------------------------------------------------------------------


def test_a_running_sequence_is_read_while_its_writer_is_open(tmp_path: Path, reader: str) -> None:
    manager = new_manager(tmp_path / "store", compact_every=4)
    spec = SequenceSpec(
        "/live/run",
        10,
        lambda i: {"wait_time": 1e-3 * i},
        {"wait_time": "ms"},
        lambda i: {"camera.picture": image(i), "analysis.atom_number": float(i)},
    )
    with running(manager, spec) as writer:
        write(writer, spec, range(3))
        assert Sequence("/live/run", manager).state is State.RUNNING
        frame = read_shots(manager, "/live/*")
        assert frame.get_column("shot_index").to_list() == [0, 1, 2]
        lazy = scan_shots(manager, "/live/run").select("shot_index", "camera.picture")
        write(writer, spec, range(3, 9))  # crosses compactions (every 4 shots)
        later = lazy.collect()
        assert later.get_column("shot_index").to_list() == list(range(9))
        np.testing.assert_array_equal(
            stack_arrays(later, "camera.picture"), np.stack([image(i) for i in range(9)])
        )
    assert read_shots(manager, "/live/run", ["shot_index"]).height == 9
    manager.close()


def test_columns_that_appear_mid_sequence_are_null_before(tmp_path: Path, reader: str) -> None:
    manager = new_manager(tmp_path / "store", compact_every=4)
    spec = SequenceSpec(
        "/late",
        7,
        lambda i: {"wait_time": 1e-3 * i},
        {"wait_time": "ms"},
        lambda i: {"analysis.late": float(i) if i >= 3 else None, "c.p": image(i, (2, 3))},
    )
    with running(manager, spec) as writer:
        write(writer, spec, range(5))  # shots 0-3 compacted together (or not yet), 4 alone
        lazy = scan_shots(manager, "/late")
        write(writer, spec, range(5, 7))
        frame = lazy.collect()  # the same frame, collected later: sees shots 5 and 6
        assert frame.get_column("analysis.late").to_list() == [None, None, None, 3.0, 4.0, 5.0, 6.0]
        np.testing.assert_array_equal(
            stack_arrays(frame, "c.p"), np.stack([image(i, (2, 3)) for i in range(7)])
        )
    final = read_shots(manager, "/late", where=pl.col("analysis.late").is_null())
    assert final.get_column("shot_index").to_list() == [0, 1, 2]
    manager.close()


# --- pushdown, proven by what is read from the files ----------------------------------------
#
# A column's pages are made unreadable (their page headers overwritten); a query that
# succeeds has not decoded them, and the full read failing shows the damage is real.


def damage(path: Path, column: str) -> Callable[[], None]:
    """Overwrite the first page header of ``column`` in each row group; return the repair."""
    metadata = pq.read_metadata(path)
    position = metadata.schema.to_arrow_schema().get_field_index(column)
    saved: list[tuple[int, bytes]] = []
    with path.open("r+b") as file:
        for group in range(metadata.num_row_groups):
            chunk = metadata.row_group(group).column(position)
            offset = chunk.dictionary_page_offset or chunk.data_page_offset
            file.seek(offset)
            saved.append((offset, file.read(16)))
            file.seek(offset)
            file.write(b"\xff" * 16)

    def repair() -> None:
        with path.open("r+b") as file:
            for offset, original in saved:
                file.seek(offset)
                file.write(original)

    return repair


def parquet_files(manager: StorageManager) -> list[Path]:
    """The Parquet files of the store (its only sequence)."""
    return sorted((manager.root / "sequences").glob("*/*.parquet"))  # type: ignore[attr-defined]


def noisy(index: int) -> np.ndarray:
    """A 64x64 image of noise, distinct per shot."""
    return image(1000 + index, (64, 64))


def test_projection_reads_only_the_selected_columns(tmp_path: Path, reader: str) -> None:
    manager = new_manager(tmp_path / "store", compact_every=4)
    spec = SequenceSpec(
        "/p",
        12,
        lambda i: {"wait_time": 1e-3 * i},
        {"wait_time": "ms"},
        lambda i: {"camera.picture": noisy(i), "analysis.atom_number": float(i)},
    )
    fill(manager, spec)  # compacted, zstd
    lazy = scan_shots(manager, "/p")
    for path in parquet_files(manager):
        damage(path, "camera.picture")
    selected = lazy.select("sequence", "wait_time", "analysis.atom_number")
    frame = selected.collect()
    assert frame.get_column("wait_time").to_list() == pytest.approx(list(range(12)))
    assert frame.get_column("analysis.atom_number").to_list() == [float(i) for i in range(12)]
    assert lazy.filter(pl.col("wait_time") < 0).collect().height == 0
    with pytest.raises((pl.exceptions.ComputeError, OSError)):
        lazy.collect()  # the images are really unreadable
    plan = selected.explain()
    assert "shotbook-parquet-polars" in plan  # the store's own scan is polars' reader too
    assert "PROJECT 2/" in plan  # two columns asked of the scan
    manager.close()


def test_a_filter_runs_before_arrays_are_read(tmp_path: Path, reader: str) -> None:
    manager = new_manager(tmp_path / "store", compact_every=1000)
    spec = SequenceSpec(
        "/f", 8, lambda i: {"wait_time": 1e-3 * i}, {"wait_time": "ms"}, lambda i: {"c.p": noisy(i)}
    )
    with running(manager, spec) as writer:  # shots 0-6 compacted, 7 in the writer's journal
        write(writer, spec, range(7))
        writer.compact()
        write(writer, spec, [7])
        lazy = scan_shots(manager, "/f")
        repairs = [damage(path, "c.p") for path in parquet_files(manager)]
        assert len(repairs) == 1
        filtered = lazy.filter(pl.col("wait_time") > 6.5).select("shot_index", "c.p")
        frame = filtered.collect()
        assert frame.get_column("shot_index").to_list() == [7]
        np.testing.assert_array_equal(stack_arrays(frame, "c.p")[0], noisy(7))
        with pytest.raises((pl.exceptions.ComputeError, OSError)):
            lazy.select("c.p").collect()
        assert 'SELECTION: col("wait_time") > 6.5' in filtered.explain()  # pushed into the scan
        for repair in repairs:
            repair()  # the writer compacts the files when it closes
    assert read_shots(manager, "/f", ["shot_index"]).height == 8
    manager.close()


# --- arrays -------------------------------------------------------------------------------------


def test_crop_and_roi_sum_match_numpy_per_shot(store: StorageManager) -> None:
    frame = read_shots(store, "/tof/a", ["shot_index", "camera.picture"])
    images = [image(i) for i in range(6)]
    sums = roi_sum(frame, "camera.picture", (2, 1, 5, 3))  # x, y, width, height
    assert sums.dtype == pl.Int64
    assert sums.to_list() == [int(im[1:4, 2:7].sum()) for im in images]
    assert roi_sum(frame, "camera.picture").to_list() == [int(im.sum()) for im in images]
    cropped = crop(frame, "camera.picture", np.s_[1:4, 2:7])
    assert cropped.dtype == pl.Array(pl.UInt16, (3, 5))
    np.testing.assert_array_equal(cropped.to_numpy(), np.stack([im[1:4, 2:7] for im in images]))
    same = crop(frame, "camera.picture", (2, 1, 5, 3))
    assert same.equals(cropped)


def test_arrays_with_missing_shots_give_nulls() -> None:
    stack = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    series = pl.Series("cam.pic", stack)
    frame = pl.DataFrame({"cam.pic": series}).with_columns(
        pl.when(pl.Series([True, False, True, True])).then(pl.col("cam.pic")).alias("cam.pic")
    )
    sums = roi_sum(frame, "cam.pic", np.s_[1:, :])
    assert sums.dtype == pl.Float64
    assert sums.to_list() == [
        float(stack[0, 1:].sum()),
        None,
        float(stack[2, 1:].sum()),
        float(stack[3, 1:].sum()),
    ]
    cropped = crop(frame, "cam.pic", np.s_[:1])
    assert cropped.null_count() == 1
    assert cropped.to_list()[2] == [[12.0, 13.0]]
    with pytest.raises(ValueError, match=r"null in rows \[1\].*drop_nulls"):
        stack_arrays(frame, "cam.pic")
    vectors = pl.DataFrame({"v": np.array([[True, False, True], [True, True, True]])})
    assert roi_sum(vectors, "v", np.s_[1:]).to_list() == [1, 2]
    assert crop(vectors, "v", slice(0, 2)).dtype == pl.Array(pl.Boolean, 2)


@pytest.mark.parametrize(
    ("roi", "message"),
    [
        ((0, 0, 11, 1), r"not inside the images.*10 columns x 8 rows"),
        ((-1, 0, 2, 2), "not inside"),
        ((0, 0, 0, 2), "not inside"),
        (np.s_[5:5, :], "selects nothing"),
        (np.s_[:, :, :], "3 slices"),
        ((1.5, 0, 2, 2), "integer pixels"),
        ("all", "numpy slices"),
    ],
)
def test_bad_regions_are_refused_clearly(store: StorageManager, roi: Any, message: str) -> None:
    frame = read_shots(store, "/tof/a", ["camera.picture"])
    with pytest.raises((ValueError, TypeError), match=message):
        roi_sum(frame, "camera.picture", roi)


def test_array_helpers_name_the_wrong_column(store: StorageManager) -> None:
    frame = read_shots(store, "/tof/a", ["wait_time", "camera.picture"])
    with pytest.raises(ValueError, match=r"no column 'camera'.*camera\.picture"):
        roi_sum(frame, "camera", None)
    with pytest.raises(TypeError, match="'wait_time' is Float64, not an array"):
        crop(frame, "wait_time", np.s_[:1])
    with pytest.raises(TypeError, match="collect"):
        stack_arrays(frame.lazy(), "camera.picture")  # type: ignore[arg-type]
