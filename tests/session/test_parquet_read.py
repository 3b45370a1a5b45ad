"""The public read side of a Parquet shot folder: snapshots and the polars scan.

``scan_shot_folder`` reads the small columns with polars' Parquet reader and the arrays with
pyarrow; these tests check that the two halves line up, that filters reach the row groups,
and that a read started again (a file gone, a changed folder) gives the right shots.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

import shotbook.session as session_package
from shotbook.session import (
    LiveFile,
    ParquetShotStore,
    ShotFolderSnapshot,
    ShotStoreError,
    decode_array_columns,
    scan_shot_folder,
    snapshot_shot_folder,
)
from shotbook.session._parquet import _read as _parquet_read

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BIG = (1024, 1024)  # 1 MiB of uint8: 8 shots per 8 MiB row group of a compacted part


def picture(index: int, shape: tuple[int, ...] = (6, 5)) -> np.ndarray:
    """A distinct uint16 picture per shot."""
    return np.random.default_rng(index).integers(0, 4096, size=shape, dtype=np.uint16)


def big(index: int) -> np.ndarray:
    """A distinct 1 MiB uint8 frame per shot (cheap to make, compresses well)."""
    frame = np.full(BIG, index % 251, dtype=np.uint8)
    frame[0, :8] = np.arange(8) + index
    return frame


def fill(store: ParquetShotStore, indices: range, data: Any = None) -> None:
    with store.writer() as writer:
        for index in indices:
            values = {"c.p": picture(index), "a.n": float(index)} if data is None else data(index)
            writer.write_shot(index, {"repeat": index, "wait_time": 0.5 * index}, values, T0, T0)


def test_snapshot_lists_live_files_and_columns(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=4)
    fill(store, range(6))  # a part of 0-3, then 4 and 5 compacted at close: two parts
    snapshot = snapshot_shot_folder(store.folder)
    assert isinstance(snapshot, ShotFolderSnapshot)
    assert all(isinstance(live, LiveFile) for live in snapshot.files)
    assert snapshot.shot_indices() == list(range(6))
    assert list(snapshot.columns) == ["repeat", "wait_time", "c.p", "a.n"]
    assert snapshot.columns == store.schema()
    assert snapshot.columns["c.p"].shape == (6, 5)
    empty = snapshot_shot_folder(tmp_path / "no such folder")
    assert empty.files == ()
    assert empty.columns == {}
    assert session_package.scan_shot_folder is scan_shot_folder  # public, from the package


def test_snapshots_follow_every_change_of_listing_or_manifest(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000)
    with store.writer() as writer:
        writer.write_shot(0, {"repeat": 0}, {}, T0, T0)
        first = snapshot_shot_folder(store.folder)
        assert snapshot_shot_folder(store.folder) is first  # nothing changed: made once
        writer.write_shot(1, {"repeat": 1}, {"a.n": 1.0}, T0, T0)
        second = snapshot_shot_folder(store.folder)
        assert second.shot_indices() == [0, 1]
        assert list(second.columns) == ["repeat", "a.n"]
        writer.compact()
        third = snapshot_shot_folder(store.folder)
        assert [(live.shots, live.compacted) for live in third.files] == [((0, 1), True)]
    manifest = store.folder / "manifest.json"
    document = json.loads(manifest.read_text())
    document["columns"] = document["columns"][:1]  # same files, another manifest
    manifest.write_text(json.dumps(document))
    assert list(snapshot_shot_folder(store.folder).columns) == ["repeat"]
    manifest.write_text("{not json")
    with pytest.raises(ShotStoreError, match="not valid JSON"):
        snapshot_shot_folder(store.folder)


def test_scan_matches_the_pyarrow_reader_with_nulls_and_late_columns(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000)

    def data(index: int) -> dict[str, Any]:
        values: dict[str, Any] = {"c.p": None if index == 4 else picture(index)}
        if index >= 2:
            values["late.scalar"] = float(index)
            values["late.array"] = picture(100 + index, (2, 2))
        return values

    with store.writer() as writer:  # parts of 0-2 and 3-5, shots 6 and 7 in the journal
        for index in range(8):
            params = {"repeat": index, "wait_time": 0.5 * index}
            writer.write_shot(index, params, data(index), T0, T0)
            if index in (2, 5):
                writer.compact()
        live = snapshot_shot_folder(store.folder).files
        assert [(f.shots, f.compacted) for f in live] == [
            ((0, 1, 2), True),
            ((3, 4, 5), True),
            ((6, 7), False),
        ]
        frame = scan_shot_folder(store.folder).collect()
        assert_frame_equal(frame, store.read_polars())
    assert frame.get_column("c.p").is_null().to_list() == [i == 4 for i in range(8)]
    assert frame.get_column("late.scalar").to_list() == [None, None, *map(float, range(2, 8))]
    assert frame.get_column("late.array").is_null().to_list() == [i < 2 for i in range(8)]
    np.testing.assert_array_equal(frame.get_column("c.p")[7].to_numpy(), picture(7))
    raw = scan_shot_folder(store.folder, decode_arrays=False).collect()
    assert raw.schema["c.p"] == pl.Binary
    assert raw.get_column("c.p")[3] == picture(3).tobytes()
    assert_frame_equal(decode_array_columns(raw, store.schema()), frame)


@pytest.mark.parametrize("dense", [False, True])
def test_filters_on_scalars_read_arrays_only_from_matching_row_groups(
    tmp_path: Path, dense: bool
) -> None:
    """A few shots (polars, page by page) or most of them (pyarrow, whole row groups)."""
    store = ParquetShotStore(tmp_path / "seq", compact_every=24)
    fill(store, range(24), lambda i: {"cam.big": big(i), "a.n": float(i)})
    (part,) = snapshot_shot_folder(store.folder).files
    metadata = pq.read_metadata(part.path)
    position = metadata.schema.to_arrow_schema().get_field_index("shot_index")
    ranges = []
    for group in range(metadata.num_row_groups):
        statistics = metadata.row_group(group).column(position).statistics
        ranges.append((statistics.min, statistics.max))
    assert len(ranges) == 4  # ~8 MiB row groups of 1 MiB frames: 7, 7, 7 and 3 shots
    kept = [1, 2] if dense else [1]
    low, high = ranges[kept[0]][0], ranges[kept[-1]][1]
    if not dense:
        high = low + 1
    lazy = scan_shot_folder(store.folder)
    damage_row_groups(part.path, "cam.big", [g for g in range(len(ranges)) if g not in kept])
    picked = lazy.filter(pl.col("repeat").is_between(low, high)).select("shot_index", "cam.big")
    frame = picked.collect()
    assert frame.get_column("shot_index").to_list() == list(range(low, high + 1))
    np.testing.assert_array_equal(frame.get_column("cam.big")[1].to_numpy(), big(low + 1))
    np.testing.assert_array_equal(frame.get_column("cam.big")[-1].to_numpy(), big(high))
    assert lazy.filter(pl.col("a.n") > 100).select("cam.big").collect().height == 0
    with pytest.raises((pl.exceptions.ComputeError, OSError)):
        lazy.select("cam.big").collect()  # the damaged row groups are really unreadable


def test_filters_on_arrays_run_after_reading(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=4)
    fill(store, range(6))
    lazy = scan_shot_folder(store.folder)
    first = int(picture(3)[0, 0])
    on_array = lazy.filter(pl.col("c.p").arr.first().arr.first() == first).select("repeat")
    assert 3 in on_array.collect().get_column("repeat").to_list()
    both = lazy.filter((pl.col("repeat") > 1) & (pl.col("c.p").arr.first().arr.first() == first))
    assert both.select("shot_index").collect().get_column("shot_index").to_list() == [3]


def test_an_empty_folder_gives_an_empty_frame_of_the_schema(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=4)
    fill(store, range(2))
    lazy = scan_shot_folder(store.folder)
    store.delete_all()
    frame = lazy.collect()
    assert frame.height == 0
    assert frame.schema == lazy.collect_schema()


def test_a_read_starts_again_when_a_listed_file_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=4)
    fill(store, range(6))
    lazy = scan_shot_folder(store.folder).select("shot_index", "c.p")
    real = _parquet_read.snapshot_shot_folder
    calls: list[int] = []

    def stale(folder: Path) -> ShotFolderSnapshot:
        snapshot = real(folder)
        calls.append(1)
        if len(calls) > 1:
            return snapshot
        gone = LiveFile(folder / "part-0099.parquet", (6,), True)  # compacted away meanwhile
        return ShotFolderSnapshot(snapshot.manifest, (*snapshot.files, gone))

    monkeypatch.setattr(_parquet_read, "snapshot_shot_folder", stale)
    frame = lazy.collect()
    assert len(calls) == 2
    assert frame.get_column("shot_index").to_list() == list(range(6))


def test_a_read_whose_two_halves_differ_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=4)
    fill(store, range(6))
    real = _parquet_read.read_files
    calls: list[int] = []

    def short_once(*args: Any, **kwargs: Any) -> Any:
        table = real(*args, **kwargs)
        calls.append(1)
        return table.slice(1) if len(calls) == 1 else table

    monkeypatch.setattr(_parquet_read, "read_files", short_once)
    frame = scan_shot_folder(store.folder).collect()
    assert len(calls) == 2
    assert_frame_equal(frame, store.read_polars())


def test_a_missing_file_that_no_compaction_explains_is_raised(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=4)
    fill(store, range(2))
    with pytest.raises(FileNotFoundError):
        _parquet_read._collect(
            (LiveFile(tmp_path / "nowhere.parquet", (0,), False),),
            store.schema(),
            ["shot_index"],
            None,
            True,
        )


def damage_row_groups(path: Path, column: str, groups: list[int]) -> None:
    """Overwrite the first page header of ``column`` in these row groups."""
    metadata = pq.read_metadata(path)
    position = metadata.schema.to_arrow_schema().get_field_index(column)
    with path.open("r+b") as file:
        for group in groups:
            chunk = metadata.row_group(group).column(position)
            file.seek(chunk.dictionary_page_offset or chunk.data_page_offset)
            file.write(b"\xff" * 16)


def test_reads_during_writes_and_compactions_see_each_shot_once(tmp_path: Path) -> None:
    """A thread writes (compacting in the background every 5 shots) while reads go on."""
    store = ParquetShotStore(tmp_path / "seq", compact_every=5)
    done = threading.Event()
    failure: list[BaseException] = []

    def writing() -> None:
        try:
            fill(store, range(60))
        except BaseException as error:  # reported by the main thread
            failure.append(error)
        finally:
            done.set()

    writer = threading.Thread(target=writing)
    seen = 0
    writer.start()
    try:
        reads = 0
        while not done.is_set() or reads == 0:
            reads += 1
            frame = scan_shot_folder(store.folder).collect()  # the columns known now
            indices = frame.get_column("shot_index").to_list()
            assert indices == list(range(len(indices)))  # a prefix, each shot once
            assert len(indices) >= seen  # never fewer than an earlier read saw
            seen = len(indices)
            if "c.p" in frame.columns and indices:
                pictures = frame.get_column("c.p")
                np.testing.assert_array_equal(pictures[-1].to_numpy(), picture(indices[-1]))
    finally:
        writer.join()
    assert not failure
    final = scan_shot_folder(store.folder).collect()
    assert final.get_column("shot_index").to_list() == list(range(60))
    assert_frame_equal(final, store.read_polars())
