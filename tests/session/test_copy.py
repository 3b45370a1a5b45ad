"""copy_store: DuckDB → SQLite → PostgreSQL keeps everything, verified shot by shot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from shotbook.registry import Serializer
from shotbook.session import (
    CopyProgress,
    CopyVerificationError,
    DuckDBConfig,
    RunOwner,
    SQLiteConfig,
    State,
    StorageError,
    copy_store,
)
from shotbook.session._copy import _verify
from shotbook.types import ExecuteShot, ParameterNamespace, PureSequencePath, StepsConfiguration

from .conftest import CameraConfiguration
from .test_sql_stores import postgresql_config

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def fill(manager: Any, steps: Any, lanes: Any, global_parameters: Any) -> None:
    """Folders, sequences in every state, globals, device configurations and varied shots."""
    owner = RunOwner("lab-pc", 1234, "alice")
    camera = CameraConfiguration(0.01, 2, "cam")
    with manager.session() as session:
        session.paths.create("/empty/folder")
        session.set_global_parameters(global_parameters)
        session.default_device_configurations["camera"] = camera
        session.default_device_configurations["plain"] = {"gain": [1, 2.5]}
        session.sequences.create("/runs/draft", steps, lanes)
        session.sequences.set_notes("/runs/draft", "a draft ✓")
        for name in ("finished", "running", "interrupted", "crashed", "preparing", "stopped"):
            session.sequences.create(f"/runs/{name}", steps, lanes)
            session.sequences.set_notes(f"/runs/{name}", f"notes of {name}")
            session.sequences.prepare(
                f"/runs/{name}", global_parameters, {"camera": camera}, owner, 3,
                ran_by="bob", host="office",
            )  # fmt: skip
        for name, count in (("finished", 3), ("running", 2), ("crashed", 1), ("stopped", 2)):
            with session.sequences.start(f"/runs/{name}") as writer:
                for index, parameters in enumerate(steps.walk(global_parameters)):
                    if index == count:
                        break
                    begin = T0 + timedelta(seconds=index)
                    data: dict[str, Any] = {
                        "camera.picture": np.arange(24, dtype=np.uint16).reshape(4, 6) + index,
                        "analysis.atom_number": float("nan") if index == 1 else 1e6 + index,
                        "analysis.ok": index % 2 == 0,
                        "analysis.count": index * 7,
                        "probe.trace": np.linspace(0, 1, 5, dtype=np.float32) * index,
                    }
                    if index == 2:
                        data["probe.trace"] = None  # missing in one shot
                    writer.write_shot(
                        index, parameters, data, begin, begin + timedelta(milliseconds=145),
                        data_units={"probe.trace": "V"},
                    )  # fmt: skip
        session.sequences.finish("/runs/finished")
        session.sequences.crash("/runs/crashed", "Traceback ...\nValueError: boom at shot 1")
        session.sequences.interrupt("/runs/interrupted")  # from PREPARING: no shots
        session.sequences.interrupt("/runs/stopped")  # from RUNNING: 2 shots


def snapshot(manager: Any) -> dict[str, Any]:
    """Everything a store holds, in comparable form."""
    with manager.session() as session:
        stats = session.sequences.all_sequences()
        sequences = {}
        for entry in stats:
            path = entry.path
            sequences[str(path)] = {
                "stats": entry,
                "iteration": session.sequences.get_iteration(path),
                "lanes": session.sequences.get_time_lanes(path),
                "notes": session.sequences.get_notes(path),
                "traceback": session.sequences.get_traceback(path),
                "globals": session.sequences.get_global_parameters(path),
                "devices": session.sequences.get_device_configurations(path),
                "frame": session.sequences.read(path),
                "shots": [
                    (s.index, s.parameters, s.units, s.start_time, s.end_time, s.data, s.data_units)
                    for s in session.sequences.get_shots(path)
                ],
            }
        return {
            "paths": session.paths.all_paths(),
            "folder dates": {
                p: session.paths.creation_date(p)
                for p in session.paths.all_paths()
                if str(p) not in sequences
            },
            "globals": session.get_global_parameters(),
            "devices": dict(session.default_device_configurations),
            "sequences": sequences,
        }


def assert_same_store(a: dict[str, Any], b: dict[str, Any], *, times: bool = True) -> None:
    assert a["paths"] == b["paths"]
    assert a["globals"] == b["globals"]
    assert a["devices"] == b["devices"]
    if times:
        assert a["folder dates"] == b["folder dates"]
    assert a["sequences"].keys() == b["sequences"].keys()
    for path, one in a["sequences"].items():
        other = b["sequences"][path]
        if times:
            assert one["stats"] == other["stats"], path
        else:
            keep = ("state", "number_of_shots", "expected_number_of_shots", "owner", "ran_by")
            assert [getattr(one["stats"], k) for k in keep] == [
                getattr(other["stats"], k) for k in keep
            ], path
        for key in ("iteration", "lanes", "notes", "traceback", "globals", "devices"):
            assert one[key] == other[key], (path, key)
        assert one["frame"].equals(other["frame"]), path
        assert len(one["shots"]) == len(other["shots"])
        for shot, copied in zip(one["shots"], other["shots"], strict=True):
            assert shot[:5] == copied[:5] or _nan_equal(shot[1], copied[1])
            assert shot[6] == copied[6]  # data units
            assert shot[5].keys() == copied[5].keys()
            for key, value in shot[5].items():
                if isinstance(value, np.ndarray):
                    assert value.dtype == copied[5][key].dtype
                    np.testing.assert_array_equal(value, copied[5][key])
                else:
                    assert value == copied[5][key] or (value != value and copied[5][key] != value)


def _nan_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(
        x == b[k] or (x != x and b[k] != b[k]) for k, x in a.items()
    )


def test_copy_duckdb_to_sqlite_to_postgresql(
    tmp_path: Path, serializer: Serializer, steps: Any, lanes: Any, global_parameters: Any
) -> None:
    duck = DuckDBConfig(tmp_path / "duck", compact_every=2).create_storage_manager(serializer)
    lite = SQLiteConfig(tmp_path / "copy.sqlite").create_storage_manager(serializer)
    postgres = postgresql_config().create_storage_manager(serializer)
    try:
        fill(duck, steps, lanes, global_parameters)
        seen: list[CopyProgress] = []
        summary = copy_store(duck, lite, seen.append)
        assert (summary.folders, summary.sequences, summary.shots) == (3, 7, 8)
        assert summary.default_device_configurations == 2
        assert [p.sequences_done for p in seen] == list(range(1, 8))
        assert seen[-1].shots_copied == 8
        original = snapshot(duck)
        assert original["sequences"]["/runs/crashed"]["stats"].state is State.CRASHED
        assert original["sequences"]["/runs/finished"]["frame"].height == 3
        assert_same_store(original, snapshot(lite))
        copy_store(lite, postgres)
        assert_same_store(original, snapshot(postgres))
        # the copy is a store of its own: it runs sequences like any other
        with postgres.session() as session:
            session.sequences.reset_to_draft("/runs/finished")
            assert session.sequences.get_state("/runs/finished") is State.DRAFT
        with lite.session() as session:
            assert session.sequences.get_stats("/runs/finished").number_of_shots == 3
        # and it copies back into the default backend, record times included
        back = DuckDBConfig(tmp_path / "back").create_storage_manager(serializer)
        copy_store(lite, back)
        assert_same_store(original, snapshot(back))
        back.close()
    finally:
        for manager in (duck, lite, postgres):
            manager.close()


def test_copy_refuses_a_store_that_is_not_empty(
    tmp_path: Path, serializer: Serializer, steps: Any, lanes: Any
) -> None:
    source = SQLiteConfig(tmp_path / "a.sqlite").create_storage_manager(serializer)
    target = SQLiteConfig(tmp_path / "b.sqlite").create_storage_manager(serializer)
    with source.session() as session:
        session.sequences.create("/s", steps, lanes)
    with target.session() as session:
        session.paths.create("/existing")
    with pytest.raises(StorageError, match="destination store is not empty"):
        copy_store(source, target)
    with target.session() as session:
        assert session.paths.all_paths() == {PureSequencePath("/existing")}
    source.close()
    target.close()


def test_verification_names_the_sequence_and_shot() -> None:
    shot = SimpleNamespace(
        index=4,
        parameters={"x": 1.0},
        units={"x": "ms"},
        start_time=T0,
        end_time=T0,
        data={"camera.picture": np.zeros((2, 2), np.uint16), "a.n": float("nan")},
        data_units={"a.n": "V"},
    )
    _verify(PureSequencePath("/s"), shot, shot)  # NaN equals NaN here
    unitless = SimpleNamespace(**{**vars(shot), "data_units": {}})
    with pytest.raises(CopyVerificationError, match=r"data units \{'a.n': 'V'\} became \{\}"):
        _verify(PureSequencePath("/s"), shot, unitless)
    changed = SimpleNamespace(**{**vars(shot), "data": {**shot.data}})
    changed.data["camera.picture"] = np.ones((2, 2), np.uint16)
    with pytest.raises(CopyVerificationError, match=r"/s: shot 4 differs .*camera.picture"):
        _verify(PureSequencePath("/s"), shot, changed)
    retyped = SimpleNamespace(**{**vars(shot), "parameters": {"x": 1}})
    with pytest.raises(CopyVerificationError, match="parameters"):
        _verify(PureSequencePath("/s"), shot, retyped)


def test_a_draft_only_store_copies_without_shots(
    tmp_path: Path, serializer: Serializer, lanes: Any
) -> None:
    source = DuckDBConfig(tmp_path / "d").create_storage_manager(serializer)
    target = SQLiteConfig(tmp_path / "t.sqlite").create_storage_manager(serializer)
    steps = StepsConfiguration([ExecuteShot()])
    with source.session() as session:
        session.sequences.create("/a/b", steps, lanes)
        session.set_global_parameters(ParameterNamespace.from_mapping({"x": "1 s"}))
    summary = copy_store(source, target)
    assert (summary.sequences, summary.shots, summary.folders) == (1, 0, 1)
    assert_same_store(snapshot(source), snapshot(target))
    source.close()
    target.close()
