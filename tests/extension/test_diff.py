"""experiment.diff(a, b): globals, scan, steps, lane cells, device fields, shot counts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from shotbook.device.sim import simulated_lab
from shotbook.extension import Difference, Experiment, import_caqtus
from shotbook.session import DuckDBConfig, RunOwner
from shotbook.types import DigitalTimeLane, ParameterNamespace

from ..control.lab import lab_lanes, tof_scan
from .caqtus_fixture import fixture_dir


def _experiment(root: Path) -> Experiment:
    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    experiment.upgrade_database()
    return experiment


def test_two_drafts_differ_in_scan_steps_and_cells(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path / "store")
    lanes = lab_lanes()
    first_lane = next(iter(lanes.lanes))
    steps = lanes.number_steps
    edited = lanes.with_duration(1, "7 ms").with_lane(first_lane, DigitalTimeLane([True] * steps))
    with experiment.storage_session() as session:
        session.sequences.create("/a", tof_scan(5), lanes)
        session.sequences.create("/b", tof_scan(7), edited)
        session.sequences.create("/same", tof_scan(5), lanes)
    assert not experiment.diff("/a", "/same")
    assert str(experiment.diff("/a", "/same")) == "/a → /same: no difference"
    diff = experiment.diff("/a", "/b")
    assert diff.of_kind("scan") == [
        Difference(
            "scan",
            "step 1",
            "for time_of_flight = 2 ms to 10 ms with 5 steps",
            "for time_of_flight = 2 ms to 10 ms with 7 steps",
        )
    ]
    (duration,) = diff.of_kind("duration")
    assert duration.where.startswith("step 2 (")
    assert duration.new == "7 ms"
    cells = diff.of_kind("cell")
    old_cells = list(lanes.lanes[first_lane])
    changed = [i for i, value in enumerate(old_cells) if value is not True]
    assert [c.where.split(", ")[1].split(" (")[0] for c in cells] == [
        f"step {i + 1}" for i in changed
    ]
    assert all(c.new == "True" for c in cells)
    html = diff._repr_html_()
    assert html.count("<tr>") == len(diff) + 1
    assert "7 ms" in html
    assert "&#x27;" in html or "'" not in html  # lane names are escaped
    assert str(diff).splitlines()[0] == f"/a → /b: {len(diff)} differences"


def test_a_run_against_the_current_settings(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path / "store")
    lab = simulated_lab()
    ran_with = ParameterNamespace.from_mapping({"mot": {"loading_time": "20 ms"}, "x": "1"})
    now = ParameterNamespace.from_mapping({"mot": {"loading_time": "25 ms"}, "y": "2"})
    with experiment.storage_session() as session:
        session.sequences.create("/run", tof_scan(), lab_lanes())
        session.sequences.prepare(
            "/run", ran_with, {"camera": lab["camera"]}, RunOwner.current(), 5
        )
        session.sequences.interrupt("/run")
        session.set_global_parameters(now)
        session.default_device_configurations["camera"] = dataclasses.replace(
            lab["camera"], seed=lab["camera"].seed + 1
        )
        session.default_device_configurations["sequencer"] = lab["digital"]
    diff = experiment.diff("/run")
    assert diff.of_kind("global") == [
        Difference("global", "mot.loading_time", "20 ms", "25 ms"),
        Difference("global", "x", "1", None),
        Difference("global", "y", None, "2"),
    ]
    seed = lab["camera"].seed
    assert Difference("device", "camera.seed", str(seed), str(seed + 1)) in diff.differences
    assert (
        Difference("device", "sequencer", None, type(lab["digital"]).__name__) in diff.differences
    )
    assert diff.of_kind("scan", "cell", "shots") == []  # the current settings have no scan


def test_two_imported_caqtus_runs(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path / "store")
    manager = experiment.get_storage_manager()
    import_caqtus(fixture_dir() / "caqtus.sqlite", manager, {}, progress=False, warn=len)
    diff = experiment.diff(
        "/scans/2024/detuning/probe_detuning_scan", "/calibrations/tof/tof_expansion"
    )
    assert diff.of_kind("shots") == [Difference("shots", "number of shots", "6", "2")]
    assert diff.of_kind("software") == []  # both imported: no shotbook version recorded
    assert diff.of_kind("global", "cell", "duration", "device") == []
    scan = {d.where: (d.old, d.new) for d in diff.of_kind("scan")}
    assert scan["step 1"] == ("tof_time = 2 ms", "probe_detuning = 0 MHz")


def test_software_versions_of_two_runs(tmp_path: Path) -> None:
    experiment = _experiment(tmp_path / "store")
    globals_ = ParameterNamespace.from_mapping({"x": "1"})
    with experiment.storage_session() as session:
        for path in ("/old", "/new"):
            session.sequences.create(path, tof_scan(), lab_lanes())
            session.sequences.prepare(path, globals_, {}, RunOwner.current(), 5)
            session.sequences.interrupt(path)
        stats = session.sequences.get_stats("/old")
        restore = session.sequences.restore_record  # type: ignore[attr-defined]
        restore("/old", dataclasses.replace(stats, shotbook_version="0.0.1"))
        now = session.sequences.get_stats("/new").shotbook_version
    diff = experiment.diff("/old", "/new")
    assert now != "0.0.1"
    assert diff.differences == (Difference("software", "shotbook", "0.0.1", now),)
