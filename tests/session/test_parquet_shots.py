"""The Parquet shot store of one sequence: round trips, schema checks, compaction, sweep."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from shotbook.session import (
    ColumnInfo,
    ParquetShotStore,
    ShotExistsError,
    ShotSchemaError,
    decode_array_columns,
)
from shotbook.session._parquet import _read as _parquet_read
from shotbook.session._parquet import _writer as _parquet_writer
from shotbook.session._parquet._store import ShotNotFoundError
from shotbook.types import ShotParameters, parse_unit

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MS = parse_unit("ms")
MHZ = parse_unit("MHz")


def image(index: int, shape: tuple[int, ...] = (512, 512)) -> np.ndarray:
    """A distinct uint16 image per shot."""
    rng = np.random.default_rng(index)
    return rng.integers(0, 4096, size=shape, dtype=np.uint16)


def shot(index: int) -> tuple[ShotParameters, dict[str, Any]]:
    """Parameters (SI, with display units) and data of a test shot."""
    parameters = ShotParameters(
        {
            "mot.detuning": -2e6 + 1e5 * index,
            "wait_time": 0.001 * (index + 1),
            "repeat": index,
            "imaging.enabled": index % 2 == 0,
        },
        {"mot.detuning": MHZ, "wait_time": MS, "repeat": None, "imaging.enabled": None},
    )
    data = {
        "camera.picture": image(index),
        "fit.profile": np.linspace(0, 1, 21, dtype=np.float32).reshape(3, 7) * index,
        "mask.pixels": np.array([True, False, index % 3 == 0]),
        "analysis.atom_number": 1.5e5 + index,
        "analysis.count": 10 * index,
        "analysis.ok": index != 3,
    }
    return parameters, data


def write(store: ParquetShotStore, indices: range | list[int], **kw: Any) -> None:
    with store.writer() as writer:
        for index in indices:
            parameters, data = shot(index)
            writer.write_shot(
                index,
                parameters,
                data,
                T0 + timedelta(seconds=index),
                T0 + timedelta(seconds=index, milliseconds=145),
                **kw,
            )


def wait_for(condition: Callable[[], bool]) -> None:
    """Wait for the background compaction (a bounded wait, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the background compaction never ran"
        time.sleep(0.005)


def files(folder: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(prefix))


@pytest.fixture
def store(tmp_path: Path) -> ParquetShotStore:
    return ParquetShotStore(tmp_path / "3f2a9c1e-sequence", compact_every=4)


def test_round_trip_of_parameters_data_and_times(store: ParquetShotStore) -> None:
    write(store, range(6))
    assert store.shot_indices() == list(range(6))
    assert store.number_of_shots() == 6
    for index in range(6):
        record = store.read_shot(index)
        parameters, data = shot(index)
        assert record.index == index
        assert record.parameters == pytest.approx(parameters.display_values())
        assert type(record.parameters["repeat"]) is int
        assert type(record.parameters["imaging.enabled"]) is bool
        assert record.units == {
            "mot.detuning": "MHz",
            "wait_time": "ms",
            "repeat": None,
            "imaging.enabled": None,
        }
        assert record.start_time == T0 + timedelta(seconds=index)
        assert record.end_time == T0 + timedelta(seconds=index, milliseconds=145)
        assert record.start_time.tzinfo is not None
        for name in ("camera.picture", "fit.profile", "mask.pixels"):
            assert record.data[name].dtype == data[name].dtype
            np.testing.assert_array_equal(record.data[name], data[name])
        assert record.data["analysis.atom_number"] == data["analysis.atom_number"]
        assert record.data["analysis.count"] == data["analysis.count"]
        assert record.data["analysis.ok"] is data["analysis.ok"]
    assert store.read_shot(2).parameters["wait_time"] == pytest.approx(3.0)  # 3 ms shown in ms


def test_stored_types_and_field_metadata(store: ParquetShotStore) -> None:
    write(store, range(3))
    schema = store.read_table().schema
    assert schema.field("shot_index").type == pa.int64()
    assert schema.field("start_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("mot.detuning").type == pa.float64()
    assert schema.field("mot.detuning").metadata[b"unit"] == b"MHz"
    assert schema.field("repeat").type == pa.int64()
    assert schema.field("imaging.enabled").type == pa.bool_()
    picture = schema.field("camera.picture")
    assert picture.type == pa.binary(512 * 512 * 2)
    assert picture.metadata[b"dtype"] == b"<u2"
    assert json.loads(picture.metadata[b"shape"]) == [512, 512]
    # Also in the compacted files themselves, never as Parquet lists.
    for name in files(store.folder, "part-"):
        file_schema = pq.read_schema(store.folder / name)
        assert file_schema.field("camera.picture").metadata[b"dtype"] == b"<u2"
        assert not any(
            pa.types.is_list(f.type) or pa.types.is_fixed_size_list(f.type) for f in file_schema
        )
    assert store.schema()["camera.picture"] == ColumnInfo(
        "camera.picture", "array", "<u2", (512, 512)
    )
    assert store.schema()["wait_time"] == ColumnInfo("wait_time", "parameter", "<f8", (), "ms")
    assert store.schema()["analysis.count"] == ColumnInfo("analysis.count", "scalar", "<i8")


def test_read_polars_decodes_arrays_in_their_dtype(store: ParquetShotStore) -> None:
    write(store, range(5))
    frame = store.read_polars()
    assert frame.get_column("shot_index").to_list() == list(range(5))
    assert frame.schema["camera.picture"] == pl.Array(pl.UInt16, (512, 512))
    assert frame.schema["fit.profile"] == pl.Array(pl.Float32, (3, 7))
    assert frame.schema["mask.pixels"] == pl.Array(pl.Boolean, 3)
    assert frame.schema["start_time"] == pl.Datetime("us", "UTC")
    for index in range(5):
        _, data = shot(index)
        np.testing.assert_array_equal(
            frame.get_column("camera.picture")[index].to_numpy(), data["camera.picture"]
        )
        np.testing.assert_array_equal(
            frame.get_column("fit.profile")[index].to_numpy(), data["fit.profile"]
        )
        np.testing.assert_array_equal(
            frame.get_column("mask.pixels")[index].to_numpy(), data["mask.pixels"]
        )
    assert frame.get_column("mot.detuning").to_list() == pytest.approx(
        [-2.0, -1.9, -1.8, -1.7, -1.6]
    )
    raw = store.read_polars(["camera.picture"], decode_arrays=False)
    assert raw.schema["camera.picture"] == pl.Binary
    assert raw.get_column("camera.picture")[1] == image(1).tobytes()
    assert_frame_equal(decode_array_columns(raw, store.schema()), frame.select("camera.picture"))


def test_projection_reads_only_the_requested_columns(
    store: ParquetShotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(store, range(4))
    write(store, [4, 5])  # two compacted parts, then a journal
    with store.writer() as writer:
        for index in (6, 7):
            parameters, data = shot(index)
            writer.write_shot(index, parameters, data, T0, T0)
        read_columns: list[list[str]] = []
        original = pq.ParquetFile

        class SpyFile(original):  # type: ignore[misc, valid-type]
            def read(self, columns: list[str] | None = None, **kw: Any) -> pa.Table:
                read_columns.append(list(columns or self.schema_arrow.names))
                return super().read(columns=columns, **kw)

        monkeypatch.setattr(_parquet_read.pq, "ParquetFile", SpyFile)
        table = store.read_table(["wait_time", "analysis.atom_number"])
        assert table.column_names == ["wait_time", "analysis.atom_number"]
        assert table.num_rows == 8
        assert table.column("wait_time").to_pylist() == pytest.approx([i + 1 for i in range(8)])
        assert len(read_columns) == 2  # two parts (the journal is read by columns too)
        for columns in read_columns:
            assert set(columns) <= {"shot_index", "wait_time", "analysis.atom_number"}
        frame = store.read_polars(["shot_index", "camera.picture"])
        assert frame.columns == ["shot_index", "camera.picture"]
        assert all("mot.detuning" not in columns for columns in read_columns)


@pytest.mark.parametrize(
    ("change", "column", "expected", "got"),
    [
        (
            {"camera.picture": np.zeros((512, 256), np.uint16)},
            "camera.picture",
            "shape (512, 512)",
            "shape (512, 256)",
        ),
        ({"camera.picture": np.zeros((512, 512), np.float32)}, "camera.picture", "<u2", "<f4"),
        ({"analysis.atom_number": np.zeros(3)}, "analysis.atom_number", "float scalar", "array"),
        ({"analysis.count": 2.5}, "analysis.count", "int scalar", "float scalar"),
        ({"analysis.ok": 1}, "analysis.ok", "bool scalar", "int scalar"),
    ],
)
def test_schema_mismatch_is_refused_and_stores_nothing(
    store: ParquetShotStore, change: dict[str, Any], column: str, expected: str, got: str
) -> None:
    write(store, range(2))
    before = store.read_polars()
    names_before = sorted(p.name for p in store.folder.iterdir())
    with store.writer() as writer:
        parameters, data = shot(2)
        with pytest.raises(ShotSchemaError) as caught:
            writer.write_shot(2, parameters, {**data, **change}, T0, T0)
        message = str(caught.value)
        assert "shot 2" in message
        assert repr(column) in message
        assert expected in message
        assert got in message
        assert caught.value.column == column
        assert caught.value.shot_index == 2
        assert sorted(p.name for p in store.folder.iterdir()) == names_before
        writer.write_shot(2, parameters, data, T0, T0)  # the index is still free
    assert_frame_equal(store.read_polars().filter(pl.col("shot_index") < 2), before)
    assert store.shot_indices() == [0, 1, 2]


def test_parameter_unit_and_type_changes_are_refused(store: ParquetShotStore) -> None:
    with store.writer() as writer:
        writer.write_shot(0, {"wait_time": 0.001, "n": 3}, {}, T0, T0, units={"wait_time": MS})
        with pytest.raises(ShotSchemaError, match=r"in ms.*in s"):
            writer.write_shot(
                1, {"wait_time": 0.001, "n": 3}, {}, T0, T0, units={"wait_time": parse_unit("s")}
            )
        with pytest.raises(ShotSchemaError, match="'n'"):
            writer.write_shot(
                1, {"wait_time": 0.001, "n": 3.5}, {}, T0, T0, units={"wait_time": MS}
            )
        # An int where a float was stored is the same number.
        writer.write_shot(1, {"wait_time": 0, "n": 4}, {}, T0, T0, units={"wait_time": MS})
    assert store.read_table(["wait_time"]).column("wait_time").to_pylist() == [1.0, 0.0]


def test_bad_values_are_refused_with_clear_errors(store: ParquetShotStore) -> None:
    with store.writer() as writer:
        with pytest.raises(ValueError, match="no timezone"):
            writer.write_shot(0, {}, {}, datetime(2026, 1, 1), T0)
        with pytest.raises(TypeError, match=r"'camera\.name' is str"):
            writer.write_shot(0, {}, {"camera.name": "x"}, T0, T0)
        with pytest.raises(TypeError, match="dtype object"):
            writer.write_shot(0, {}, {"x.y": np.array([None])}, T0, T0)
        with pytest.raises(ValueError, match="fixed column"):
            writer.write_shot(0, {}, {"shot_index": 3}, T0, T0)
        with pytest.raises(ValueError, match="cannot share a name"):
            writer.write_shot(0, {"a.b": 1.0}, {"a.b": 2.0}, T0, T0)
        with pytest.raises(ValueError, match="int >= 0"):
            writer.write_shot(-1, {}, {}, T0, T0)
        writer.write_shot(0, {}, {}, T0.astimezone(timezone(timedelta(hours=2))), T0)
    assert store.read_shot(0).start_time == T0


def test_duplicate_index_is_refused(store: ParquetShotStore) -> None:
    with store.writer() as writer:
        writer.write_shot(0, {"a": 1.0}, {}, T0, T0)
        with pytest.raises(ShotExistsError, match="shot 0 is already stored"):
            writer.write_shot(0, {"a": 2.0}, {}, T0, T0)
        writer.compact()
        with pytest.raises(ShotExistsError):
            writer.write_shot(0, {"a": 2.0}, {}, T0, T0)
    with store.writer() as writer, pytest.raises(ShotExistsError):
        writer.write_shot(0, {"a": 3.0}, {}, T0, T0)
    assert store.read_table(["a"]).column("a").to_pylist() == [1.0]


def test_compaction_every_n_shots_and_at_close(store: ParquetShotStore) -> None:
    with store.writer() as writer:
        for index in range(4):
            writer.write_shot(index, *shot(index), T0, T0)
        # the part is renamed into place, then listed by the manifest, then the journal goes
        wait_for(lambda: files(store.folder, "journal-") == [])
        assert files(store.folder, "part-") == ["part-0001.parquet"]
        manifest = json.loads((store.folder / "manifest.json").read_text())
        assert manifest["parts"] == [{"file": "part-0001.parquet", "shots": [[0, 4]]}]
        for index in range(4, 10):
            writer.write_shot(index, *shot(index), T0, T0)
            if index == 5:
                mid_run = store.read_polars()
                assert mid_run.get_column("shot_index").to_list() == list(range(6))
        writer.compact()  # waits for a running background compaction, compacts the rest
        manifest = json.loads((store.folder / "manifest.json").read_text())
        covered = [i for part in manifest["parts"] for a, b in part["shots"] for i in range(a, b)]
        assert sorted(covered) == list(range(10))
        assert files(store.folder, "journal-") == []
    manifest = json.loads((store.folder / "manifest.json").read_text())
    assert [part["file"] for part in manifest["parts"]] == files(store.folder, "part-")
    assert files(store.folder, ".tmp-") == []
    after = store.read_polars()
    assert_frame_equal(after.head(6), mid_run)
    assert after.get_column("shot_index").to_list() == list(range(10))


def test_compaction_waits_for_a_gap_between_shots_but_not_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Back-to-back shots defer the background compaction, up to 10 x compact_every."""
    monkeypatch.setattr(_parquet_writer, "_IDLE_S", 3600.0)  # never a long enough gap
    store = ParquetShotStore(tmp_path / "seq", compact_every=2)
    with store.writer() as writer:
        for index in range(19):
            writer.write_shot(index, {"a": float(index)}, {"b.c": image(index, (8, 8))}, T0, T0)
        time.sleep(0.3)
        assert files(store.folder, "part-") == []  # due since shot 2, deferred
        assert [name[:12] for name in files(store.folder, "journal-")] == ["journal-0001"]
        assert store.number_of_shots() == 19
        writer.write_shot(19, {"a": 19.0}, {"b.c": image(19, (8, 8))}, T0, T0)  # 20 pending
        wait_for(lambda: files(store.folder, "journal-") == [])
        assert files(store.folder, "part-") == ["part-0001.parquet"]
    assert store.read_polars().get_column("shot_index").to_list() == list(range(20))


def test_a_gap_between_shots_lets_the_due_compaction_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_parquet_writer, "_IDLE_S", 0.05)
    store = ParquetShotStore(tmp_path / "seq", compact_every=2)
    with store.writer() as writer:
        for index in range(2):
            writer.write_shot(index, {"a": float(index)}, {"b.c": image(index, (8, 8))}, T0, T0)
        wait_for(lambda: files(store.folder, "journal-") == [])  # removed once compacted
        assert files(store.folder, "part-") == ["part-0001.parquet"]
        writer.write_shot(2, {"a": 2.0}, {"b.c": image(2, (8, 8))}, T0, T0)
    assert store.read_polars().get_column("shot_index").to_list() == list(range(3))


def test_background_compaction_runs_while_writing(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=2)
    with store.writer() as writer:
        for index in range(6):
            writer.write_shot(index, {"a": float(index)}, {"b.c": image(index, (8, 8))}, T0, T0)
            if index % 2 == 1:  # no compact() call: the background thread does it
                wait_for(lambda: files(store.folder, "journal-") == [])
        assert files(store.folder, "part-") == [f"part-000{n}.parquet" for n in (1, 2, 3)]
        assert store.read_table(["a"]).column("a").to_pylist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert files(store.folder, "part-") == [f"part-000{n}.parquet" for n in (1, 2, 3)]


def test_records_with_missing_and_new_columns(store: ParquetShotStore) -> None:
    with store.writer() as writer:
        writer.write_shot(0, {"a": 1.0}, {"cam.pic": image(0, (4, 4)), "fit.x": 1.0}, T0, T0)
        writer.write_shot(1, {"a": 2.0}, {"cam.pic": None, "fit.x": 2.0, "fit.y": 5}, T0, T0)
        writer.write_shot(2, {"a": 3.0, "b": True}, {"cam.pic": image(2, (4, 4))}, T0, T0)
    assert list(store.schema()) == ["a", "cam.pic", "fit.x", "fit.y", "b"]
    frame = store.read_polars()
    assert frame.get_column("fit.y").to_list() == [None, 5, None]
    assert frame.get_column("b").to_list() == [None, None, True]
    assert frame.get_column("cam.pic").is_null().to_list() == [False, True, False]
    np.testing.assert_array_equal(frame.get_column("cam.pic")[2].to_numpy(), image(2, (4, 4)))
    assert "cam.pic" not in store.read_shot(1).data
    assert store.read_shot(1).data == {"fit.x": 2.0, "fit.y": 5}
    assert store.read_shot(0).parameters == {"a": 1.0}


def test_odd_arrays_round_trip(store: ParquetShotStore) -> None:
    big_endian = np.arange(6, dtype=">i4").reshape(2, 3)
    strided = np.arange(20, dtype=np.float64).reshape(4, 5)[:, ::2]
    complex_values = np.array([1 + 2j, 3 - 1j])
    with store.writer() as writer:
        writer.write_shot(
            0, {}, {"a.big": big_endian, "a.strided": strided, "a.complex": complex_values}, T0, T0
        )
    record = store.read_shot(0)
    np.testing.assert_array_equal(record.data["a.big"], big_endian)
    np.testing.assert_array_equal(record.data["a.strided"], strided)
    np.testing.assert_array_equal(record.data["a.complex"], complex_values)
    frame = store.read_polars()
    assert frame.schema["a.big"] == pl.Array(pl.Int32, (2, 3))
    np.testing.assert_array_equal(frame.get_column("a.big")[0].to_numpy(), big_endian)
    assert frame.schema["a.complex"] == pl.Binary  # polars has no complex dtype


def test_scan_polars_is_lazy_current_and_pushes_filters(store: ParquetShotStore) -> None:
    write(store, range(6))
    lazy = store.scan_polars()
    assert lazy.collect_schema()["camera.picture"] == pl.Array(pl.UInt16, (512, 512))
    selected = lazy.filter(pl.col("repeat") >= 4).select("shot_index", "camera.picture").collect()
    assert selected.get_column("shot_index").to_list() == [4, 5]
    np.testing.assert_array_equal(selected.get_column("camera.picture")[1].to_numpy(), image(5))
    write(store, [6, 7])
    assert lazy.select("shot_index").collect().get_column("shot_index").to_list() == list(range(8))
    on_picture = lazy.filter(
        pl.col("camera.picture").arr.first().arr.first() == int(image(3)[0, 0])
    )
    assert 3 in on_picture.select("shot_index").collect().get_column("shot_index").to_list()
    raw = store.scan_polars(decode_arrays=False).select("camera.picture").head(2).collect()
    assert raw.schema["camera.picture"] == pl.Binary
    assert raw.get_column("camera.picture")[0] == image(0).tobytes()


def test_read_shot_of_missing_index(store: ParquetShotStore) -> None:
    with pytest.raises(ShotNotFoundError, match="shot 3 is not stored") as caught:
        store.read_shot(3)
    assert isinstance(caught.value, LookupError)
    write(store, [0, 1])
    with pytest.raises(ShotNotFoundError):
        store.read_shot(3)


def test_empty_store_reads(store: ParquetShotStore) -> None:
    assert store.shot_indices() == []
    assert store.read_table().num_rows == 0
    assert store.read_polars().columns == ["shot_index", "start_time", "end_time"]
    assert store.schema() == {}
    assert store.bytes_on_disk() == 0
    with pytest.raises(ValueError, match=r"no column 'camera\.picture'"):
        store.read_table(["camera.picture"])


def test_delete_all(store: ParquetShotStore) -> None:
    write(store, range(6))
    with store.writer() as writer:
        writer.write_shot(6, *shot(6), T0, T0)
        assert [name[:12] for name in files(store.folder, "journal-")] == ["journal-0001"]
        with pytest.raises(RuntimeError, match="while a shot writer"):
            store.delete_all()
        writer.compact()
        (store.folder / "shot-000007.parquet").write_bytes(b"")  # of an earlier version
        (store.folder / "journal-0009-0123abcd.arrows").write_bytes(b"")
    store.delete_all()
    assert store.folder.exists()
    assert list(store.folder.iterdir()) == []
    assert store.number_of_shots() == 0
    assert store.bytes_on_disk() == 0
    write(store, [0])
    assert store.shot_indices() == [0]


def test_sweep_removes_what_a_crash_leaves(store: ParquetShotStore) -> None:
    with store.writer() as writer:
        for index in range(3):
            writer.write_shot(index, *shot(index), T0, T0)
        (journal,) = files(store.folder, "journal-")
        kept = (store.folder / journal).read_bytes()
    (store.folder / journal).write_bytes(kept)  # covered by a part: a leftover
    (store.folder / "journal-0002-0123abcd.arrows").write_bytes(kept[:100])  # torn: no shot
    (store.folder / "shot-000001.parquet").write_bytes(b"covered; of an earlier version")
    (store.folder / ".tmp-0123abcd.parquet").write_bytes(b"half a file")
    (store.folder / ".tmp-4567.json").write_bytes(b"{")
    shutil.copy(store.folder / "part-0001.parquet", store.folder / "part-0009.parquet")
    assert store.shot_indices() == [0, 1, 2]  # readers see each shot once regardless
    assert store.read_table(["shot_index"]).column(0).to_pylist() == [0, 1, 2]
    store.sweep()
    assert sorted(p.name for p in store.folder.iterdir()) == ["manifest.json", "part-0001.parquet"]
    assert store.read_polars().height == 3
    store.sweep()  # idempotent, and fine on a folder that does not exist
    ParquetShotStore(store.folder.parent / "nothing").sweep()


def test_undeletable_files_wait_as_garbage(
    store: ParquetShotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse = True
    original = _parquet_writer.remove_quietly

    def remove(path: Path) -> bool:  # what Windows does while a reader holds the file
        return False if refuse and path.name.startswith("journal-") else original(path)

    monkeypatch.setattr(_parquet_writer, "remove_quietly", remove)
    with store.writer() as writer:
        for index in range(3):
            writer.write_shot(index, *shot(index), T0, T0)
        writer.compact()
        manifest = json.loads((store.folder / "manifest.json").read_text())
        assert manifest["garbage"] == files(store.folder, "journal-")
        assert [name[:12] for name in manifest["garbage"]] == ["journal-0001"]
        assert store.read_table(["shot_index"]).column(0).to_pylist() == [0, 1, 2]
        refuse = False
        writer.write_shot(3, *shot(3), T0, T0)
    assert json.loads((store.folder / "manifest.json").read_text())["garbage"] == []
    assert files(store.folder, "journal-") == []
    assert store.shot_indices() == [0, 1, 2, 3]


def test_one_writer_at_a_time_and_closed_writer(store: ParquetShotStore) -> None:
    writer = store.writer()
    with pytest.raises(RuntimeError, match="already open"):
        ParquetShotStore(store.folder).writer()
    with pytest.raises(RuntimeError, match="while a shot writer"):
        store.sweep()
    writer.close()
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.write_shot(0, {}, {}, T0, T0)
    store.writer().close()


def test_fsync_mode_writes_the_same_shots(tmp_path: Path) -> None:
    store = ParquetShotStore(tmp_path / "seq", fsync=True, compact_every=2)
    write(store, range(3))
    assert store.shot_indices() == [0, 1, 2]
    np.testing.assert_array_equal(store.read_shot(2).data["camera.picture"], image(2))


def test_bytes_on_disk_shrinks_with_compaction(tmp_path: Path) -> None:
    # random bytes: only zstd's entropy coding shrinks them (lz4 needs repeats)
    store = ParquetShotStore(tmp_path / "seq", compact_every=100, array_compression="zstd")
    with store.writer() as writer:
        for index in range(6):
            writer.write_shot(index, {}, {"camera.picture": image(index) // 16}, T0, T0)
        before = store.bytes_on_disk()
        assert before > 6 * 512 * 512 * 2
    assert 0 < store.bytes_on_disk() < before


@pytest.mark.parametrize("codec", ["lz4", "zstd", "none"])
def test_array_codec_of_compacted_parts(tmp_path: Path, codec: str) -> None:
    store = ParquetShotStore(tmp_path / "seq", compact_every=100, array_compression=codec)
    image = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    now = datetime.now(UTC)
    with store.writer() as writer:
        for index in range(3):
            writer.write_shot(index, {"x": float(index)}, {"camera.picture": image}, now, now)
    (part,) = sorted((tmp_path / "seq").glob("part-*.parquet"))
    columns = pq.ParquetFile(part).metadata.row_group(0)
    codecs = {
        columns.column(i).path_in_schema: columns.column(i).compression
        for i in range(columns.num_columns)
    }
    assert codecs["camera.picture"] == {"lz4": "LZ4", "zstd": "ZSTD", "none": "UNCOMPRESSED"}[codec]
    assert codecs["x"] == "ZSTD"
    assert np.array_equal(store.read_shot(2).data["camera.picture"], image)


def test_unknown_array_codec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="array_compression must be one of lz4, zstd, none"):
        ParquetShotStore(tmp_path, array_compression="gzip")
