"""Export a sequence as one YAML file and import it back (``shotbook-sequence`` v1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shotbook.cli._demo_scan import demo_scan
from shotbook.device.sim import simulated_lab
from shotbook.extension import Experiment, SequenceFileError, TimeLaneExtension, import_caqtus
from shotbook.session import DuckDBConfig, RunOwner
from shotbook.types import (
    ArangeLoop,
    ExecuteShot,
    ParameterNamespace,
    StepsConfiguration,
    TimeLane,
    TimeLanes,
)

from ..control.lab import lab_lanes, tof_scan
from ..ui.editors.conftest import demo_lanes
from ..ui.editors.conftest import demo_scan as editor_scan
from ..ui.lab import tof_lanes
from ..ui.lab import tof_scan as ui_scan
from .caqtus_fixture import fixture_dir


class ValveLane(TimeLane[str]):
    """A lane type of an extension: open or closed."""

    kind = "valve"

    def check_value(self, value: Any) -> str:
        if value not in ("open", "closed"):
            raise ValueError(f"a valve is open or closed, got {value!r}")
        return str(value)


VALVES = TimeLaneExtension(
    label="valve",
    lane_type=ValveLane,
    register_types=lambda registry: registry.register(
        "test_valve_lane",
        ValveLane,
        encode=lambda lane, _: [[v, s] for v, s in lane.blocks],
        decode=lambda data, _: ValveLane.from_blocks((v, s) for v, s in data),
    ),
    lane_factory=lambda steps: ValveLane.from_blocks([("closed", steps)]),
)


def _experiment(root: Path, *, valves: bool = True) -> Experiment:
    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    if valves:
        experiment.register_time_lane_extension(VALVES)
    experiment.upgrade_database()
    return experiment


def _examples() -> dict[str, tuple[StepsConfiguration, TimeLanes]]:
    lanes = lab_lanes()
    with_valve = lanes.with_lane("gas valve", ValveLane(["open"] * lanes.number_steps))
    nested = StepsConfiguration(
        [ArangeLoop("rep", "0", "3", "1", [*tof_scan(3).steps, ExecuteShot()])]
    )
    return {
        "/control/tof": (tof_scan(), lab_lanes()),
        "/control/valve": (nested, with_valve),
        "/ui/tof": (ui_scan(), tof_lanes()),
        "/editors/demo": (editor_scan(), demo_lanes()),
        "/cli/demo": (demo_scan(), tof_lanes()),
    }


def test_round_trip_of_every_example_sequence(tmp_path: Path) -> None:
    source = _experiment(tmp_path / "a")
    target = _experiment(tmp_path / "b")
    manager = source.get_storage_manager()
    import_caqtus(fixture_dir() / "caqtus.sqlite", manager, {}, progress=False, warn=len)
    with source.storage_session() as session:
        for path, (steps, lanes) in _examples().items():
            session.sequences.create(path, steps, lanes)
            session.sequences.set_notes(path, f"example {path}\nsecond line: ü µs")
        paths = [stats.path for stats in session.sequences.all_sequences()]
    assert len(paths) == 9  # the examples and the 4 sequences of the caqtus fixture
    for path in paths:
        file = tmp_path / f"{path.name}.yaml"
        text = source.export_sequence(path, file)
        assert file.read_text(encoding="utf-8") == text
        assert source.export_sequence(path) == text  # deterministic
        assert "start_time" not in text  # settings only: no times, no run
        assert "\nrun:" not in text
        target.import_sequence(file, path)
        assert target.export_sequence(path) == text  # same bytes from the other store
        with source.storage_session() as a, target.storage_session() as b:
            assert b.sequences.get_iteration(path) == a.sequences.get_iteration(path)
            assert b.sequences.get_time_lanes(path) == a.sequences.get_time_lanes(path)
            assert b.sequences.get_notes(path) == a.sequences.get_notes(path)


def test_with_settings_carries_the_snapshot(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path / "a")
    lab = simulated_lab()
    globals_ = ParameterNamespace.from_mapping({"mot": {"loading_time": "20 ms"}})
    with experiment.storage_session() as session:
        session.sequences.create("/ran", tof_scan(), lab_lanes())
        session.sequences.prepare(
            "/ran", globals_, {"camera": lab["camera"]}, RunOwner.current(), 5
        )
        session.sequences.interrupt("/ran")
    text = experiment.export_sequence("/ran", with_settings=True)
    assert "source: snapshot" in text
    assert "state: interrupted" in text
    content = _experiment(tmp_path / "b").import_sequence(_write(tmp_path, text), "/copy")
    assert content.global_parameters == globals_
    assert content.device_configurations == {"camera": lab["camera"]}


def _write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "sequence.yaml"
    file.write_text(text, encoding="utf-8")
    return file


def test_import_refuses_unknown_types_and_versions_by_name(tmp_path: Path) -> None:
    source = _experiment(tmp_path / "a")
    with source.storage_session() as session:
        steps, lanes = _examples()["/control/valve"]
        session.sequences.create("/valve", steps, lanes)
    text = source.export_sequence("/valve")
    plain = _experiment(tmp_path / "b", valves=False)  # no valve extension there
    with pytest.raises(SequenceFileError, match="'test_valve_lane' at file → time_lanes"):
        plain.import_sequence(_write(tmp_path, text), "/valve")
    with plain.storage_session() as session:
        assert not session.paths.exists("/valve")  # nothing imported
    newer = text.replace("version: 1", "version: 2")
    with pytest.raises(SequenceFileError, match="version 2 of the sequence file format"):
        source.import_sequence(_write(tmp_path, newer), "/newer")
    with pytest.raises(SequenceFileError, match="not a shotbook sequence file"):
        source.import_sequence(_write(tmp_path, "just: text\n"), "/junk")
    device = text.replace("format: shotbook-sequence\n", "format: shotbook-sequence\n") + (
        "settings:\n  source: snapshot\n  device_configurations:\n    $dict:\n      laser:\n"
        "        $type: toptica_dlc_configuration\n        $data: {}\n"
    )
    with pytest.raises(SequenceFileError, match="'toptica_dlc_configuration' at file → settings"):
        source.import_sequence(_write(tmp_path, device), "/device")
