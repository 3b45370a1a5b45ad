"""The Experiment facade: configuration, registries and storage."""

import subprocess
import sys
from pathlib import Path

import pytest

from shotbook.extension import DeviceExtension, Experiment, ExperimentConfigurationError
from shotbook.session import DuckDBConfig, PathExistsError
from shotbook.types import (
    DigitalTimeLane,
    ExecuteShot,
    ParameterNamespace,
    StepsConfiguration,
    TimeLanes,
)


@pytest.fixture
def experiment(tmp_path: Path) -> Experiment:
    experiment = Experiment(DuckDBConfig(tmp_path / "store"))
    experiment.setup_default_extensions()
    return experiment


def test_default_extensions_are_registered(experiment: Experiment) -> None:
    assert set(experiment.time_lane_extensions) == {"digital", "analog", "camera"}
    assert set(experiment.device_extensions) == {
        "simulated sequencer",
        "simulated camera",
        "basler camera",
        "pulse streamer 8/2",
        "QCoDeS instrument",
        "SCPI instrument (PyVISA)",
    }
    registry = experiment.build_registry()
    assert "sim_camera_configuration" in registry
    assert "digital_lane" in registry


def test_device_configurations_round_trip_through_the_store(experiment: Experiment) -> None:
    from shotbook.device.sim import simulated_lab

    lab = simulated_lab()
    with experiment.storage_session() as session:
        for name, configuration in lab.items():
            session.default_device_configurations[name] = configuration
        session.set_global_parameters(ParameterNamespace.from_mapping({"mot": {"x": "1 MHz"}}))
    with experiment.storage_session() as session:
        assert dict(session.default_device_configurations) == lab
        assert session.get_global_parameters().names() == ["mot.x"]


def test_sessions_create_sequences_and_errors_name_paths(experiment: Experiment) -> None:
    lanes = TimeLanes(["a"], ["1 ms"], {"mot light": DigitalTimeLane([True])})
    with experiment.storage_session() as session:
        session.paths.create("/calibrations")
        session.sequences.create("/calibrations/tof", StepsConfiguration([ExecuteShot()]), lanes)
        with pytest.raises(PathExistsError, match="/calibrations/tof"):
            session.sequences.create(
                "/calibrations/tof", StepsConfiguration([ExecuteShot()]), lanes
            )
    assert experiment.get_storage_manager() is experiment.get_storage_manager()  # cached


def test_default_store_is_announced_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    experiment = Experiment()
    experiment.get_storage_manager()
    experiment.get_storage_manager()
    out = capsys.readouterr().out
    assert out.count("storing data in") == 1
    assert str(tmp_path / "shotbook-data") in out


def test_bad_storage_configuration_says_what_to_use() -> None:
    experiment = Experiment(storage_config="postgres://nope")
    with pytest.raises(ExperimentConfigurationError, match="DuckDBConfig"):
        experiment.get_storage_manager()


def test_registering_wrong_things_is_refused(experiment: Experiment) -> None:
    with pytest.raises(TypeError, match="DeviceExtension"):
        experiment.register_device_extension("camera")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty name"):
        experiment.register_device_server("", object())
    with pytest.raises(TypeError, match="callable"):
        experiment.add_shot_analysis("x", 3)  # type: ignore[arg-type]
    assert isinstance(next(iter(experiment.device_extensions.values())), DeviceExtension)


def test_upgrade_database_creates_the_store(experiment: Experiment, tmp_path: Path) -> None:
    experiment.upgrade_database()
    assert (tmp_path / "store" / "catalog.duckdb").exists()


def test_build_storage_manager_passes_the_serializer(experiment: Experiment) -> None:
    seen = []

    def backend(serializer: object, flag: int) -> str:
        seen.append((serializer, flag))
        return "ok"

    assert experiment.build_storage_manager(backend, 3) == "ok"
    assert seen[0][1] == 3
    assert hasattr(seen[0][0], "dumps")


def test_sql_and_read_shots_over_a_demo_run(tmp_path: Path) -> None:
    from shotbook.cli._demo import build_demo_experiment, create_demo_sequence

    experiment = build_demo_experiment(tmp_path / "demo")
    path = create_demo_sequence(experiment, points=3, repetitions=2, seed=0)
    experiment.get_local_experiment_manager().run_sequence(path, progress=False)
    table = experiment.sql(
        'select "time_of_flight", count(*) as n, avg("analysis.cloud.sigma_x") as sigma '
        "from shots group by 1 order by 1"
    )
    assert table["n"].to_list() == [2, 2, 2]
    assert table["sigma"].is_sorted()  # the cloud grows with the time of flight
    frame = experiment.read_shots("/demo/*", columns=["time_of_flight", "camera.atoms"])
    assert frame.height == 6
    assert frame["camera.atoms"].dtype.shape == (512, 512)  # type: ignore[attr-defined]
    experiment.close()


def test_the_experiment_renders_as_the_panel(tmp_path: Path) -> None:
    from shotbook.cli._demo import build_demo_experiment, create_demo_sequence

    experiment = build_demo_experiment(tmp_path / "demo")
    path = create_demo_sequence(experiment, points=2, repetitions=1, seed=0)
    experiment.get_local_experiment_manager().run_sequence(path, progress=False)
    bundle = experiment._repr_mimebundle_()
    assert path.name in bundle["text/html"]  # the static table, for saved notebooks
    view = experiment.panel()
    assert view is experiment.panel()
    assert list(view.widget.titles) == ["Sequences", "Edit sequence", "Globals", "Devices"]
    view.edit(str(path))
    assert view.editors is not None
    assert view.editors.lanes.read_only  # a finished sequence is not editable
    experiment.close()


def test_default_extensions_import_no_driver() -> None:
    """The real instruments are registered by default, their drivers imported only on open."""
    code = (
        "import sys\n"
        "from shotbook.extension import Experiment\n"
        "experiment = Experiment()\n"
        "experiment.setup_default_extensions()\n"
        "registry = experiment.build_registry()\n"
        "assert 'qcodes_instrument' in registry and 'sim_camera' in registry\n"
        "drivers = ('pypylon', 'qcodes', 'pyvisa', 'pulsestreamer')\n"
        "loaded = [m for m in drivers if m in sys.modules]\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
