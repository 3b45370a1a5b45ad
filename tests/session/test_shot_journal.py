"""The writer's shot journal: torn tails, failed appends, growth seen by readers, and the
per-shot Parquet files of earlier versions still read and compacted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shotbook.session import ParquetShotStore, snapshot_shot_folder
from shotbook.session._parquet._journal import (
    JournalSegment,
    journal_file_name,
    journal_shots,
    read_journal,
    read_journal_table,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def shot(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(index)
    return {"repeat": index, "wait_time": 0.001 * index}, {
        "cam.pic": rng.integers(0, 4096, (16, 16), dtype=np.uint16),
        "fit.x": float(index),
    }


def batch(index: int) -> pa.RecordBatch:
    return pa.record_batch({"shot_index": pa.array([index], pa.int64()), "x": [float(index)]})


def files(folder: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(prefix))


def test_a_torn_tail_is_not_a_shot(tmp_path: Path) -> None:
    path = tmp_path / journal_file_name(1)
    journal = JournalSegment(path, batch(0).schema, fsync=False)
    for index in range(3):
        journal.append(batch(index), index)
    complete = path.read_bytes()
    message = batch(3).serialize().to_pybytes()
    for cut in (1, 7, len(message) // 2, len(message) - 1):  # a crash in the middle
        path.write_bytes(complete + message[:cut])
        assert journal_shots(path) == (0, 1, 2)
        table = read_journal_table(path, batch(0).schema, shots=[1, 2])
        assert table.column("x").to_pylist() == [1.0, 2.0]
    path.write_bytes(complete[:10])  # not even the schema
    assert read_journal(path) == []
    journal.close()


def test_a_failed_append_starts_a_new_journal_and_loses_no_stored_shot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000)
    original = JournalSegment.append
    calls = {"n": 0}

    def flaky(self: JournalSegment, batch: pa.RecordBatch, index: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # half the batch reaches the file, then the disk fails
            message = batch.serialize().to_pybytes()
            with open(self.path, "ab") as file:
                file.write(message[: len(message) // 2])
            self.broken = True
            raise OSError("No space left on device")
        original(self, batch, index)

    monkeypatch.setattr(JournalSegment, "append", flaky)
    with store.writer() as writer:
        writer.write_shot(0, *shot(0), T0, T0)
        writer.write_shot(1, *shot(1), T0, T0)
        with pytest.raises(OSError, match="No space"):
            writer.write_shot(2, *shot(2), T0, T0)
        assert store.shot_indices() == [0, 1]
        writer.write_shot(2, *shot(2), T0, T0)  # not stored: it can be written again
        writer.write_shot(3, *shot(3), T0, T0)
        journals = files(store.folder, "journal-")
        assert [name[:12] for name in journals] == ["journal-0001", "journal-0002"]
        assert store.shot_indices() == [0, 1, 2, 3]
        frame = store.read_polars()
        assert frame.get_column("fit.x").to_list() == [0.0, 1.0, 2.0, 3.0]
    assert files(store.folder, "journal-") == []  # compacted at close
    assert store.read_polars().get_column("repeat").to_list() == [0, 1, 2, 3]


def test_readers_see_a_journal_grow(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000)
    with store.writer() as writer:
        writer.write_shot(0, *shot(0), T0, T0)
        first = snapshot_shot_folder(store.folder)
        lazy = store.scan_polars()
        assert lazy.collect().height == 1
        writer.write_shot(1, *shot(1), T0, T0)
        assert first.shot_indices() == [0]  # a snapshot does not change
        assert snapshot_shot_folder(store.folder).shot_indices() == [0, 1]
        assert lazy.collect().get_column("shot_index").to_list() == [0, 1]
        picked = lazy.filter(pl.col("repeat") == 1).select("shot_index", "cam.pic").collect()
        assert picked.get_column("shot_index").to_list() == [1]
        np.testing.assert_array_equal(
            picked.get_column("cam.pic")[0].to_numpy(), shot(1)[1]["cam.pic"]
        )
        np.testing.assert_array_equal(store.read_shot(1).data["cam.pic"], shot(1)[1]["cam.pic"])


def test_per_shot_files_of_earlier_versions_are_read_and_compacted(tmp_path: Path) -> None:
    folder = tmp_path / "seq"
    store = ParquetShotStore(folder, compact_every=1000)
    with store.writer() as writer:
        for index in range(3):
            writer.write_shot(index, *shot(index), T0, T0)
        (journal,) = files(folder, "journal-")
        table = pa.Table.from_batches(read_journal(folder / journal))
    # what an earlier writer left: shots 1 and 2 as per-shot Parquet files, not compacted
    for position, index in enumerate((1, 2)):
        row = table.slice(position + 1, 1).replace_schema_metadata(None)
        pq.write_table(
            row.rename_columns(table.column_names), folder / f"shot-00000{index}.parquet"
        )
    for name in [*files(folder, "part-"), "manifest.json"]:
        (folder / name).unlink()
    (folder / journal).write_bytes(b"")  # an empty journal: nothing in it
    with store.writer() as writer:  # the sweep removes the empty journal
        assert store.shot_indices() == [1, 2]
        assert store.read_polars().get_column("fit.x").to_list() == [1.0, 2.0]
        writer.write_shot(3, *shot(3), T0, T0)
        assert store.shot_indices() == [1, 2, 3]
    assert files(folder, "shot-") == files(folder, "journal-") == []
    frame = store.read_polars()
    assert frame.get_column("shot_index").to_list() == [1, 2, 3]
    np.testing.assert_array_equal(frame.get_column("cam.pic")[1].to_numpy(), shot(2)[1]["cam.pic"])


def test_a_filter_picks_shots_from_parts_and_the_journal_alike(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=1000)
    with store.writer() as writer:
        for index in range(7):
            writer.write_shot(index, *shot(index), T0, T0)
        writer.compact()  # shots 0-6 in a part, 7-9 in the journal
        for index in range(7, 10):
            writer.write_shot(index, *shot(index), T0, T0)
        lazy = store.scan_polars()
        for wanted in ([3, 8], [1, 2, 4, 9], [8], [5]):
            picked = (
                lazy.filter(pl.col("repeat").is_in(wanted))
                .select("shot_index", "fit.x", "cam.pic")
                .collect()
            )
            assert picked.get_column("shot_index").to_list() == wanted
            assert picked.get_column("fit.x").to_list() == [float(i) for i in wanted]
            for row, index in enumerate(wanted):
                np.testing.assert_array_equal(
                    picked.get_column("cam.pic")[row].to_numpy(), shot(index)[1]["cam.pic"]
                )
