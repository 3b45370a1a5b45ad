"""Import the caqtus 6.29 fixture database and compare everything with expected.json."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shotbook.compile import CalibratedMapping, DeviceTrigger, LaneValues
from shotbook.device.sim import (
    SimulatedCameraConfiguration,
    SimulatedSequencerConfiguration,
    SimulatedWorld,
)
from shotbook.extension import (
    CaqtusImportError,
    Experiment,
    camera_converter,
    import_caqtus,
    sequencer_converter,
)
from shotbook.registry import OpaqueDeviceConfiguration
from shotbook.session import DuckDBConfig, State, StorageManager
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Expression,
    Ramp,
    TakePicture,
)

from .caqtus_fixture import SCAN, fixture_dir, scaled_copy

MAPPING = {
    "DemoDigitalSequencerConfiguration": sequencer_converter(SimulatedSequencerConfiguration),
    "DemoAnalogSequencerConfiguration": sequencer_converter(SimulatedSequencerConfiguration),
    # the simulated world wired to the caqtus lab's own channels (named by their descriptions)
    "DemoCameraConfiguration": camera_converter(
        SimulatedCameraConfiguration,
        world=SimulatedWorld(
            cooling_light=("DigitalSeq", "MOT shutter"),
            repump=("DigitalSeq", "repump shutter"),
            coil_current=("AnalogSeq", "MOT coils current"),
            detuning=("AnalogSeq", "MOT detuning"),
        ),
        imaging_light=("DigitalSeq", "imaging AOM"),
    ),
}


def _manager(root: Path) -> StorageManager:
    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    manager = experiment.get_storage_manager()
    manager.upgrade()
    return manager


def _path(caqtus_path: str) -> str:
    return caqtus_path.replace("\\", "/")


def _lane_blocks(lane: Any) -> list[list[Any]]:
    """A shotbook lane's blocks in the form of expected.json's time_lanes_summary."""
    out: list[list[Any]] = []
    for value, span in lane.blocks:
        if isinstance(value, Expression):
            value = {"expression": value.text}
        elif isinstance(value, Ramp):
            value = "ramp"
        elif isinstance(value, TakePicture):
            value = {"take_picture": value.picture}
        out.append([value, span])
    return out


def _check_store(manager: StorageManager, expected: dict[str, Any]) -> None:
    with manager.session() as session:
        assert session.get_global_parameters().to_mapping() == expected["global_parameters"]["tree"]
        values = session.get_global_parameters().evaluate()  # shotbook's reading of the text
        for name, want_value in expected["global_parameters"]["evaluated"].items():
            if want_value["unit"] is None:
                assert values[name] == want_value["magnitude"], name
            else:
                got = values[name].to(want_value["unit"]).magnitude
                assert got == pytest.approx(want_value["magnitude"], rel=1e-12), name
        defaults = dict(session.default_device_configurations)
        assert sorted(defaults) == sorted(expected["default_device_configurations"])
        digital, analog, camera = defaults["DigitalSeq"], defaults["AnalogSeq"], defaults["Camera"]
        assert isinstance(digital, SimulatedSequencerConfiguration)
        assert digital.time_step == 50_000
        assert digital.channels[0].output == DeviceTrigger("AnalogSeq")
        assert digital.channels[3].output == LaneValues("Imaging \\ AOM", default=False)
        assert isinstance(analog, SimulatedSequencerConfiguration)
        assert analog.time_step == 2_500_000
        mapping = analog.channels[1].output
        assert isinstance(mapping, CalibratedMapping)
        assert mapping.points == ((-20.0, -6.0), (20.0, 6.0))
        assert mapping.input == LaneValues("MOT \\ detuning")
        assert isinstance(camera, SimulatedCameraConfiguration)
        assert camera.roi == (0, 0, 32, 32)

        paths = {str(p) for p in session.paths.all_paths()}
        assert paths == {_path(entry["path"]) for entry in expected["paths"]}
        for entry in expected["paths"]:
            created = session.paths.creation_date(_path(entry["path"]))
            assert created.isoformat() == entry["creation_date"], entry["path"]

        for caqtus_path, want in expected["sequences"].items():
            path = _path(caqtus_path)
            stats = session.sequences.get_stats(path)
            assert stats.state.name.lower() == want["state"], path
            assert stats.number_of_shots == want["number_of_shots"], path
            assert stats.expected_number_of_shots == want["expected_number_of_shots"], path
            for key in ("start_time", "stop_time"):
                value = getattr(stats, key)
                assert (None if value is None else value.isoformat()) == want[key], (path, key)
            lanes = session.sequences.get_time_lanes(path)
            summary = want["time_lanes_summary"]
            assert list(lanes.step_names) == summary["step_names"]
            assert [d.text for d in lanes.step_durations] == summary["step_durations"]
            kinds = {
                "DigitalTimeLane": DigitalTimeLane,
                "AnalogTimeLane": AnalogTimeLane,
                "CameraTimeLane": CameraTimeLane,
            }
            assert list(lanes.lanes) == list(summary["lanes"])
            for name, lane in summary["lanes"].items():
                assert type(lanes.lanes[name]) is kinds[lane["type"]], name
                assert _lane_blocks(lanes.lanes[name]) == lane["blocks"], name
            steps = session.sequences.get_iteration(path)
            assert _steps_json(steps) == _normalised_steps(want["iteration_json"]["steps"]), path
            snapshot = session.sequences.get_global_parameters(path)
            if want["global_parameters"] is None:
                assert snapshot is None
            else:
                flat = {str(name): e.text for name, e in snapshot.flatten()}
                assert flat == want["global_parameters"]
            devices = session.sequences.get_device_configurations(path)
            if want["device_configurations"]:
                assert sorted(devices or {}) == sorted(want["device_configurations"])
            notes = session.sequences.get_notes(path)
            assert notes.startswith("Imported from caqtus"), notes
            if want["state"] == "crashed":
                text = session.sequences.get_traceback(path) or ""
                assert "An error occurred while executing shot 2" in text
                assert "builtins.TimeoutError" in text
            shots = session.sequences.get_shots(path)
            assert [shot.index for shot in shots] == [s["index"] for s in want["shots"]]
            for shot, want_shot in zip(shots, want["shots"], strict=True):
                assert shot.start_time.isoformat() == want_shot["start_time"]
                assert shot.end_time.isoformat() == want_shot["end_time"]
                assert set(shot.parameters) == set(want_shot["parameters"])
                for name, p in want_shot["parameters"].items():
                    value = shot.parameters[name]
                    assert value == p["magnitude"], (path, shot.index, name)
                    assert type(value).__name__ == {"quantity": "float"}.get(p["type"], p["type"])
                    assert shot.units[name] == p["unit"], (path, shot.index, name)
                assert set(shot.data) == {label.replace("\\", ".") for label in want_shot["data"]}
                for label, d in want_shot["data"].items():
                    value = shot.data[label.replace("\\", ".")]
                    if d["kind"] == "array":
                        assert isinstance(value, np.ndarray)
                        assert str(value.dtype) == d["dtype"]
                        assert list(value.shape) == d["shape"]
                        assert hashlib.sha256(value.tobytes()).hexdigest() == d["sha256"]
                        assert int(value.sum()) == d["sum"]
                    else:
                        assert value == d["value"], (path, shot.index, label)


def _normalised_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for step in steps:
        step = dict(step)
        if step.get("value") in ("True", "False"):
            step["value"] = {"True": "Enabled", "False": "Disabled"}[step["value"]]
        if "sub_steps" in step:
            step["sub_steps"] = _normalised_steps(step["sub_steps"])
        out.append(step)
    return out


def _steps_json(steps: Any) -> list[dict[str, Any]]:
    def one(step: Any) -> dict[str, Any]:
        name = type(step).__name__
        if name == "ExecuteShot":
            return {"execute": "shot"}
        out: dict[str, Any] = {"variable": str(step.variable)}
        if name == "VariableDeclaration":
            out["value"] = step.value.text
            return out
        out["start"], out["stop"] = step.start.text, step.stop.text
        if name == "LinspaceLoop":
            out["num"] = step.num
        else:
            out["step"] = step.step.text
        out["sub_steps"] = [one(s) for s in step.sub_steps]
        return out

    return [one(step) for step in steps.steps]


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    return json.loads((fixture_dir() / "expected.json").read_text(encoding="utf-8"))


def test_import_the_fixture_into_duckdb(tmp_path: Path, expected: dict[str, Any]) -> None:
    manager = _manager(tmp_path / "store")
    summary = import_caqtus(fixture_dir() / "caqtus.sqlite", manager, MAPPING, progress=False)
    assert (summary.sequences_imported, summary.shots_written, summary.folders) == (4, 11, 6)
    assert summary.warnings == []
    assert summary.incomplete == {}
    _check_store(manager, expected)
    again = import_caqtus(fixture_dir() / "caqtus.sqlite", manager, MAPPING, progress=False)
    assert (again.sequences_skipped, again.shots_written) == (4, 0)
    _check_store(manager, expected)


def test_unmapped_devices_stay_opaque_with_a_warning(tmp_path: Path) -> None:
    manager = _manager(tmp_path / "store")
    warnings: list[str] = []
    import_caqtus(
        fixture_dir() / "caqtus.sqlite", manager, {}, progress=False, warn=warnings.append
    )
    assert any("'Camera' kept as an opaque configuration" in w for w in warnings)
    with manager.session() as session:
        camera = session.default_device_configurations["Camera"]
        assert isinstance(camera, OpaqueDeviceConfiguration)
        assert camera.type_name == "DemoCameraConfiguration"
        assert camera.fields()["roi"]["width"] == 32
        expected = json.loads((fixture_dir() / "expected.json").read_text(encoding="utf-8"))
        for name, want in expected["default_device_configurations"].items():
            stored = session.default_device_configurations[name]
            assert isinstance(stored, OpaqueDeviceConfiguration)
            assert stored.type_name == want["device_type"]
            assert stored.fields() == want["content"]


def _edited_copy(tmp_path: Path, *statements: tuple[str, list[Any]]) -> Path:
    target = tmp_path / "edited.sqlite"
    target.write_bytes((fixture_dir() / "caqtus.sqlite").read_bytes())
    connection = sqlite3.connect(target)
    with connection:
        for sql, parameters in statements:
            connection.execute(sql, parameters)
    connection.close()
    return target


def test_unparsable_expressions_and_refused_names(tmp_path: Path) -> None:
    lanes = (
        '{"step_names": ["a", "b"], "step_durations": ["t + 1 ms", "2 ms"], "lanes": '
        '{"L": {"type": "analog", "spanned_values": [[{"expression": "1 if x else 2"}, 1], '
        '[{"expression": "t * 1 V/s"}, 1]]}}}'
    )
    source = _edited_copy(
        tmp_path,
        ('UPDATE "sequence.time_lanes" SET content = ? WHERE sequence_id = 2', [lanes]),
        (
            "UPDATE parameters SET content = ? WHERE name = 'global'",
            ['[["t", "1 ms"], ["lambda", "2 * t"], ["mot", [["pass", "t + mot.x"], ["x", "1"]]]]'],
        ),
    )
    manager = _manager(tmp_path / "store")
    warnings: list[str] = []
    summary = import_caqtus(source, manager, MAPPING, progress=False, warn=warnings.append)
    assert summary.renamed == {"t": "t_", "lambda": "lambda_", "mot.pass": "mot.pass_"}
    fine = "/scans/2024/detuning/probe_detuning_fine"
    assert list(summary.incomplete) == [fine]
    (problem,) = summary.incomplete[fine]
    assert "lane 'L', step 'a'" in problem
    assert "'1 if x else 2'" in problem
    with manager.session() as session:
        assert session.get_global_parameters().to_mapping() == {
            "t_": "1 ms",
            "lambda_": "2 * t_",
            "mot": {"pass_": "t_ + mot.x", "x": "1"},
        }
        notes = session.sequences.get_notes(fine)
        assert notes.startswith("INCOMPLETE IMPORT")
        assert "1 if x else 2" in notes
        time_lanes = session.sequences.get_time_lanes(fine)
        assert [d.text for d in time_lanes.step_durations] == ["t_ + 1 ms", "2 ms"]
        # in a lane cell `t` is the time since the block's start, as in caqtus: kept
        assert time_lanes.lanes["L"].blocks[1] == (Expression("t * 1 V/s"), 1)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("UPDATE alembic_version SET version_num = 'ffff00001111'", []), "revision ffff00001111"),
        (('DROP TABLE "shot.data.arrays"', []), "table(s) shot.data.arrays missing"),
        (
            ("UPDATE \"shot.data.arrays\" SET bytes = x'0102' WHERE shot_id = 2", []),
            "sequence \\scans\\2024\\detuning\\probe_detuning_scan, shot 1",
        ),
    ],
)
def test_bad_input_names_what_is_wrong(
    tmp_path: Path, edit: tuple[str, list[Any]], message: str
) -> None:
    source = _edited_copy(tmp_path, edit)
    manager = _manager(tmp_path / "store")
    with pytest.raises(CaqtusImportError) as caught:
        import_caqtus(source, manager, MAPPING, progress=False)
    assert message in str(caught.value)
    with manager.session() as session:
        for stats in session.sequences.all_sequences():
            notes = session.sequences.get_notes(stats.path)
            assert notes.startswith(("Imported from caqtus", "caqtus import in progress"))
            if "shot 1" in message and stats.path.name == "probe_detuning_scan":
                assert notes.startswith("caqtus import in progress")
                assert "failed" in notes
                assert stats.state is State.INTERRUPTED


def test_not_a_caqtus_file(tmp_path: Path) -> None:
    junk = tmp_path / "notes.sqlite"
    junk.write_text("hello, this is not a database")
    with pytest.raises(CaqtusImportError, match="not a caqtus database"):
        import_caqtus(junk, _manager(tmp_path / "store"), MAPPING, progress=False)
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(CaqtusImportError, match="table\\(s\\) alembic_version"):
        import_caqtus(empty, _manager(tmp_path / "store2"), MAPPING, progress=False)


_CHILD = """
import sys
from shotbook.extension import Experiment, import_caqtus
from shotbook.session import DuckDBConfig
experiment = Experiment(DuckDBConfig(sys.argv[2]))
experiment.setup_default_extensions()
manager = experiment.get_storage_manager()
manager.upgrade()
import_caqtus(sys.argv[1], manager, {}, progress=False, warn=lambda message: None)
print("done", flush=True)
"""


def _shot_bytes(root: Path) -> int:
    """Bytes of shots written so far (journals and compacted parts of every sequence)."""
    total = 0
    for pattern in ("sequences/*/*.arrows", "sequences/*/*.parquet"):
        for file in root.glob(pattern):
            with contextlib.suppress(FileNotFoundError):  # compacted away meanwhile
                total += file.stat().st_size
    return total


def test_kill_9_mid_import_then_rerun_gives_every_shot_once(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("kill -9 is POSIX")
    source = scaled_copy(fixture_dir() / "caqtus.sqlite", tmp_path / "big.sqlite", 400)
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(source), str(store)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _shot_bytes(store) < 150_000 and child.poll() is None:
        assert time.monotonic() < deadline, "the import never started writing shots"
        time.sleep(0.01)
    assert child.poll() is None, "the import finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    manager = _manager(store)
    with manager.session() as session:
        partial = session.sequences.get_notes(_path(SCAN))
        assert partial.startswith("caqtus import in progress")
    summary = import_caqtus(source, manager, {}, progress=False, warn=lambda message: None)
    assert summary.sequences_imported >= 1
    with manager.session() as session:
        shots = session.sequences.get_shots(_path(SCAN))
        assert [shot.index for shot in shots] == list(range(400))
        assert session.sequences.get_state(_path(SCAN)) is State.FINISHED
        assert session.sequences.get_notes(_path(SCAN)).startswith("Imported from caqtus")
        assert sum(s.number_of_shots for s in session.sequences.all_sequences()) == 400 + 5


# --- PostgreSQL ---------------------------------------------------------------------------------

_PG_TYPES = {"JSON": "json", "DATETIME": "timestamp", "BLOB": "bytea", "INTEGER": "bigint"}


@pytest.fixture
def caqtus_postgres() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"caqtus_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True)
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL server at 127.0.0.1:5432: {error}")
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        _load_fixture_into(psycopg, url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _load_fixture_into(psycopg: Any, url: str) -> None:
    source = sqlite3.connect(fixture_dir() / "caqtus.sqlite")
    tables = [row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    with psycopg.connect(url) as target:
        for table in tables:
            columns = source.execute(f'PRAGMA table_info("{table}")').fetchall()
            definitions = ", ".join(
                f'"{c[1]}" {_PG_TYPES.get(c[2].split("(")[0], "text")}' for c in columns
            )
            target.execute(f'CREATE TABLE "{table}" ({definitions})')
            names = ", ".join(f'"{c[1]}"' for c in columns)
            marks = ", ".join(
                "%s::json" if c[2] == "JSON" else "%s::timestamp" if c[2] == "DATETIME" else "%s"
                for c in columns
            )
            for row in source.execute(f'SELECT * FROM "{table}"'):
                values = [
                    str(v) if c[2] == "JSON" and isinstance(v, int | float) else v
                    for v, c in zip(row, columns, strict=True)
                ]
                target.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', values)
    source.close()


@pytest.mark.postgres
def test_import_the_fixture_from_postgresql(
    tmp_path: Path, caqtus_postgres: str, expected: dict[str, Any]
) -> None:
    manager = _manager(tmp_path / "store")
    summary = import_caqtus(caqtus_postgres, manager, MAPPING, progress=False)
    assert (summary.sequences_imported, summary.shots_written) == (4, 11)
    _check_store(manager, expected)


def test_an_imported_sequence_runs_on_the_simulated_lab(tmp_path: Path) -> None:
    experiment = Experiment(DuckDBConfig(tmp_path / "store"))
    experiment.setup_default_extensions()
    try:
        experiment.import_caqtus(fixture_dir() / "caqtus.sqlite", MAPPING, progress=False)
        with experiment.storage_session() as session:
            session.sequences.duplicate(_path(SCAN), "/rerun")
        summary = experiment.get_local_experiment_manager().run_sequence("/rerun", progress=False)
        assert "finished after 6 / 6 shots" in str(summary)
        with experiment.storage_session() as session:
            shots = session.sequences.get_shots("/rerun")
            assert shots[5].parameters["probe_detuning"] == 4.0
            assert shots[5].data["Camera.atoms"].shape == (32, 32)
    finally:
        experiment.close()
