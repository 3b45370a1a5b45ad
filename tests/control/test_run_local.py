"""Running sequences in-process on the simulated lab: the whole flow, errors, retries."""

from __future__ import annotations

import dataclasses
import io
import math
import threading
from typing import Any

import numpy as np
import pytest

from shotbook.compile import (
    AnalogChannelConfiguration,
    Constant,
    DigitalChannelConfiguration,
    SequencerConfiguration,
)
from shotbook.control import (
    ATTEMPTS_COLUMN,
    AnalysisFailed,
    ManagerBusyError,
    SequenceFailedError,
    SequenceStateChanged,
    ShotRetried,
    ShotRetryConfig,
    ShotStored,
)
from shotbook.device.remote import InsecureRPCConfiguration
from shotbook.device.sim import SimulatedCameraConfiguration, SimulatedSequencerConfiguration
from shotbook.types import AnalogTimeLane, DigitalTimeLane

from .lab import (
    CountingSequencer,
    FlakyCamera,
    create_sequence,
    lab_lanes,
    setup_store,
    shots_of,
    state_of,
    tof_scan,
)


def atoms(data: Any, parameters: Any) -> float:
    return float(data["camera.cloud"].astype(float).sum() - data["camera.background"].sum())


def test_a_sequence_runs_to_the_end_and_every_shot_is_stored(storage: Any, make_manager) -> None:
    create_sequence(storage, "/scans/tof", tof_scan(6))
    manager = make_manager(analyses={"atoms": atoms, "pair": lambda d, p: {"a": 1.0, "b": 2}})
    events: list[Any] = []
    manager.subscribe(events.append)
    summary = manager.run_sequence("/scans/tof", progress=False)
    assert summary is not None
    assert summary.ok
    assert (summary.state, summary.number_of_shots, summary.expected_number_of_shots) == (
        "finished", 6, 6,
    )  # fmt: skip
    assert state_of(storage, "/scans/tof") == "finished"
    frame = shots_of(storage, "/scans/tof")
    assert frame["shot_index"].to_list() == list(range(6))
    assert frame["time_of_flight"].to_list() == pytest.approx([2, 3.6, 5.2, 6.8, 8.4, 10])
    assert frame[ATTEMPTS_COLUMN].to_list() == [1] * 6
    assert frame["analysis.pair.a"].to_list() == [1.0] * 6
    assert frame["analysis.atoms.failed"].to_list() == [False] * 6
    assert all(value > 0 for value in frame["analysis.atoms"].to_list())
    first = frame["camera.cloud"][0].to_numpy()
    assert first.shape == (512, 512)
    assert first.dtype == np.uint16
    manager.flush_events()
    states = [e.state for e in events if isinstance(e, SequenceStateChanged)]
    assert states == ["preparing", "running", "finished"]
    stored = [e for e in events if isinstance(e, ShotStored)]
    assert [e.index for e in stored] == list(range(6))
    assert stored[0].analysis["analysis.atoms"] == pytest.approx(frame["analysis.atoms"][0])
    assert all(e.start <= e.end for e in stored)
    assert manager.last_run() == summary
    assert not manager.is_running()


@pytest.mark.parametrize(
    ("change", "message", "location"),
    [
        ("undefined name", "mot.detunin", "lane 'mot detuning'"),
        ("units", "MHz", "channel 'mot detuning'"),
        ("unused lane", "no device uses this lane", "lane 'unused'"),
        ("out of range", "outside the output range", "channel 'spare 2'"),
        ("unknown configuration", "no compiler for configurations of type", "device 'extra'"),
        ("no device class", "no device class is known", "device 'extra'"),
        ("unregistered device class", "'not_registered' is not registered", "device 'extra'"),
        ("unreachable server", "did not answer a ping", None),
    ],
)
def test_static_errors_stop_the_sequence_before_any_device_is_built(
    storage: Any, make_manager, lab: Any, change: str, message: str, location: str | None
) -> None:
    registry, _ = lab
    lab_configurations = _counting_lab(storage)
    lanes = lab_lanes()
    servers: dict[str, Any] = {}
    device_classes: dict[type, str] = {SimulatedSequencerConfiguration: "counting_sequencer"}
    if change == "undefined name":
        lanes = lanes.with_lane(
            "mot detuning", AnalogTimeLane.from_blocks([("mot.detunin + 2 MHz", 5)])
        )
    elif change == "units":
        lanes = lanes.with_lane("mot detuning", AnalogTimeLane.from_blocks([("10 ms", 5)]))
    elif change == "unused lane":
        lanes = lanes.with_lane("unused", DigitalTimeLane([False] * 5))
    elif change == "out of range":
        analog = lab_configurations["analog"]
        channels = list(analog.channels)
        channels[2] = AnalogChannelConfiguration("spare 2", Constant("20 V"), "V", (-10.0, 10.0))
        lab_configurations["analog"] = _replace(analog, channels=tuple(channels))
    elif change == "unknown configuration":
        lab_configurations["extra"] = _Unknown()
        registry.register("unknown_configuration", _Unknown)
    elif change in ("no device class", "unregistered device class"):
        lab_configurations["extra"] = SequencerConfiguration(
            time_step=1_000_000, channels=(DigitalChannelConfiguration("x", Constant(False)),)
        )
        if change == "unregistered device class":
            device_classes[SequencerConfiguration] = "not_registered"
    elif change == "unreachable server":
        for name in ("digital", "analog", "camera"):
            lab_configurations[name] = _replace(lab_configurations[name], device_server="pc-2")
        servers = {"pc-2": InsecureRPCConfiguration("127.0.0.1", _free_port())}
    setup_store(storage, lab_configurations)
    create_sequence(storage, "/bad", tof_scan(3), lanes)
    manager = make_manager(device_servers=servers, device_classes=device_classes)
    before = CountingSequencer.instances
    with pytest.raises(SequenceFailedError, match=message) as caught:
        manager.run_sequence("/bad", progress=False)
    error = caught.value
    assert error.path == "/bad"
    assert error.shot_index is None
    assert error.state == "draft"
    if location is not None:
        assert location in str(error)
    assert error.__cause__ is not None
    assert state_of(storage, "/bad") == "draft"  # nothing changed: fix it and run again
    assert CountingSequencer.instances == before  # no device was built
    assert not manager.is_running()


@dataclasses.dataclass(frozen=True)
class _Unknown:
    """A device configuration without a device class."""

    value: int = 0


def _replace(configuration: Any, **changes: Any) -> Any:
    return dataclasses.replace(configuration, **changes)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _counting_lab(storage: Any) -> dict[str, Any]:
    with storage.session() as session:
        return dict(session.default_device_configurations.items())


def test_a_negative_duration_at_shot_k_crashes_there_and_keeps_the_shots_before(
    storage: Any, make_manager
) -> None:
    # time_of_flight goes 10, 9, ..., 2 ms; the step lasts time_of_flight - 4.5 ms
    create_sequence(
        storage, "/neg", tof_scan(9, "10 ms", "2 ms"), lab_lanes("time_of_flight - 4.5 ms")
    )
    manager = make_manager()
    events: list[Any] = []
    manager.subscribe(events.append)
    with pytest.raises(SequenceFailedError) as caught:
        manager.run_sequence("/neg", progress=False)
    error = caught.value
    assert error.shot_index == 6
    assert error.number_of_shots == 6
    assert error.state == "crashed"
    assert error.parameters is not None
    assert "time_of_flight" in error.parameters
    assert "step 'tof'" in str(error)
    assert "time_of_flight = 4 ms" in str(error)
    assert "negative" in str(error)
    assert state_of(storage, "/neg") == "crashed"
    assert shots_of(storage, "/neg")["shot_index"].to_list() == [0, 1, 2, 3, 4, 5]
    with storage.session() as session:
        stored = session.sequences.get_traceback("/neg")
    assert stored is not None
    assert "shot 6" in stored
    assert "Traceback" in stored
    manager.flush_events()
    assert [e.state for e in events if isinstance(e, SequenceStateChanged)][-1] == "crashed"


def test_an_analysis_that_raises_is_recorded_on_its_shot_and_the_run_goes_on(
    storage: Any, make_manager
) -> None:
    def picky(data: Any, parameters: Any) -> dict[str, float]:
        if parameters["time_of_flight"] > 5e-3:
            raise ValueError("cloud out of view")
        return {"x": 1.0, "y": 2.0}

    create_sequence(storage, "/analysis", tof_scan(4))
    manager = make_manager(analyses={"fit": picky, "bad_type": lambda d, p: "text"})
    events: list[Any] = []
    manager.subscribe(events.append)
    out = io.StringIO()
    summary = manager.run_sequence("/analysis", progress=False, stream=out)
    assert summary is not None
    assert summary.state == "finished"
    # the summary says it at the end too: which analysis, how many shots, the first error
    by_what = {problem.what: problem for problem in summary.problems}
    assert by_what["analysis 'fit' failed"].shots == 2
    assert by_what["analysis 'fit' failed"].first_shot == 2
    assert by_what["analysis 'fit' failed"].first_message == "ValueError: cloud out of view"
    assert by_what["analysis 'bad_type' failed"].shots == 4
    assert "returned str" in by_what["analysis 'bad_type' failed"].first_message
    assert (
        "/analysis: analysis 'fit' failed on 2 shots (first on shot 2: ValueError: cloud out "
        "of view)" in out.getvalue().splitlines()
    )
    assert str(summary).splitlines()[1].startswith("  analysis 'bad_type' failed on 4 shots")
    frame = shots_of(storage, "/analysis")
    assert frame["analysis.fit.failed"].to_list() == [False, False, True, True]
    x = frame["analysis.fit.x"].to_list()
    assert x[:2] == [1.0, 1.0]
    assert all(math.isnan(v) for v in x[2:])
    assert frame["analysis.bad_type.failed"].to_list() == [True] * 4
    manager.flush_events()
    failures = [e for e in events if isinstance(e, AnalysisFailed)]
    assert {(e.analysis, e.index) for e in failures} >= {("fit", 2), ("fit", 3)}
    assert any("cloud out of view" in e.error for e in failures)
    assert any("returned str" in e.error for e in failures)


def _flaky_lab(storage: Any) -> None:
    configurations = _counting_lab(storage)
    setup_store(storage, configurations)


def test_a_camera_that_times_out_once_is_retried(storage: Any, make_manager) -> None:
    create_sequence(storage, "/flaky", tof_scan(4))
    manager = make_manager(
        shot_retry_config=ShotRetryConfig((TimeoutError,), number_of_attempts=3),
        device_classes={SimulatedCameraConfiguration: "flaky_camera"},
    )
    events: list[Any] = []
    manager.subscribe(events.append)
    FlakyCamera.failures = 1
    summary = manager.run_sequence("/flaky", progress=False)
    assert summary is not None
    assert summary.state == "finished"
    assert summary.number_of_shots == 4
    [retries] = summary.problems
    assert (retries.what, retries.shots, retries.first_shot) == ("retried", 1, 0)
    assert "got no picture 'cloud'" in retries.first_message
    assert shots_of(storage, "/flaky")[ATTEMPTS_COLUMN].to_list() == [2, 1, 1, 1]
    manager.flush_events()
    retried = [e for e in events if isinstance(e, ShotRetried)]
    assert [(e.index, e.attempt) for e in retried] == [(0, 1)]
    assert "camera 'camera' got no picture 'cloud'" in retried[0].error


def test_a_camera_that_always_times_out_crashes_the_sequence(storage: Any, make_manager) -> None:
    create_sequence(storage, "/dead camera", tof_scan(4))
    manager = make_manager(
        shot_retry_config=ShotRetryConfig((TimeoutError,), number_of_attempts=2),
        device_classes={SimulatedCameraConfiguration: "flaky_camera"},
    )
    FlakyCamera.failures = 10**6
    try:
        with pytest.raises(SequenceFailedError, match="got no picture 'cloud'") as caught:
            manager.run_sequence("/dead camera", progress=False)
    finally:
        FlakyCamera.failures = 0
    assert caught.value.shot_index == 0
    assert "device 'camera'" in str(caught.value)
    assert state_of(storage, "/dead camera") == "crashed"
    assert len(shots_of(storage, "/dead camera")) == 0


def test_errors_not_listed_for_retry_crash_at_once(storage: Any, make_manager) -> None:
    create_sequence(storage, "/no retry", tof_scan(3))
    manager = make_manager(
        shot_retry_config=ShotRetryConfig((ConnectionError,), number_of_attempts=5),
        device_classes={SimulatedCameraConfiguration: "flaky_camera"},
    )
    events: list[Any] = []
    manager.subscribe(events.append)
    FlakyCamera.failures = 1
    with pytest.raises(SequenceFailedError):
        manager.run_sequence("/no retry", progress=False)
    manager.flush_events()
    assert not [e for e in events if isinstance(e, ShotRetried)]


def _slow_lab(storage: Any, speed: float = 0.5) -> None:
    configurations = _counting_lab(storage)
    for name in ("digital", "analog"):
        configurations[name] = _replace(configurations[name], speed=speed)
    setup_store(storage, configurations)


def test_interrupt_stops_at_a_shot_boundary_and_keeps_the_shots(storage: Any, make_manager) -> None:
    _slow_lab(storage)
    create_sequence(storage, "/long", tof_scan(40))
    manager = make_manager()
    three = threading.Event()
    manager.subscribe(lambda e: isinstance(e, ShotStored) and e.index == 2 and three.set())
    manager.start_sequence("/long")
    assert manager.is_running()
    assert manager.current() is not None
    assert three.wait(30)
    assert manager.interrupt()
    assert manager.wait(30)
    summary = manager.last_run()
    assert summary is not None
    assert summary.state == "interrupted"
    assert 3 <= summary.number_of_shots < 40
    assert state_of(storage, "/long") == "interrupted"
    frame = shots_of(storage, "/long")
    assert frame["shot_index"].to_list() == list(range(summary.number_of_shots))
    assert not manager.interrupt()  # nothing runs any more


def test_ctrl_c_in_run_sequence_interrupts_and_prints_one_line(storage: Any, make_manager) -> None:
    import os
    import signal

    _slow_lab(storage)
    create_sequence(storage, "/ctrl c", tof_scan(40))
    manager = make_manager()
    manager.subscribe(
        lambda e: isinstance(e, ShotStored) and e.index == 1 and os.kill(os.getpid(), signal.SIGINT)
    )
    out = io.StringIO()
    summary = manager.run_sequence("/ctrl c", stream=out)
    assert summary is not None
    assert summary.state == "interrupted"
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Interrupted")]
    assert lines == [f"Interrupted /ctrl c after {summary.number_of_shots} / 40 shots"]
    assert state_of(storage, "/ctrl c") == "interrupted"


def test_one_sequence_at_a_time(storage: Any, make_manager) -> None:
    _slow_lab(storage)
    create_sequence(storage, "/first", tof_scan(20))
    create_sequence(storage, "/second", tof_scan(2))
    manager = make_manager()
    manager.start_sequence("/first")
    with pytest.raises(ManagerBusyError, match="running /first") as caught:
        manager.start_sequence("/second")
    assert caught.value.running == "/first"
    assert caught.value.requested == "/second"
    assert state_of(storage, "/second") == "draft"
    manager.interrupt()
    assert manager.wait(30)
    summary = manager.run_sequence("/second", progress=False)
    assert summary is not None
    assert summary.ok


def test_a_finished_sequence_cannot_run_again(storage: Any, make_manager) -> None:
    create_sequence(storage, "/once", tof_scan(2))
    manager = make_manager()
    manager.run_sequence("/once", progress=False)
    with pytest.raises(SequenceFailedError, match=r"it is FINISHED.*reset it to draft"):
        manager.run_sequence("/once", progress=False)


def test_progress_is_plain_lines_when_not_a_terminal(storage: Any, make_manager) -> None:
    _slow_lab(storage, speed=0.05)
    create_sequence(storage, "/progress", tof_scan(5))
    manager = make_manager()
    out = io.StringIO()
    manager.run_sequence("/progress", stream=out)
    text = out.getvalue()
    assert "/progress: 5 / 5 shots (finished)" in text
    assert "\r" not in text


def test_heartbeats_are_recorded_while_running(storage: Any, make_manager) -> None:
    _slow_lab(storage, speed=1.0)  # ~40 ms per shot: the run outlasts the test
    create_sequence(storage, "/heart", tof_scan(40))
    manager = make_manager()
    beats: list[Any] = []
    manager.start_sequence("/heart")
    try:
        deadline = 50
        while len({b for b in beats if b is not None}) < 3 and deadline:
            with storage.session() as session:
                running = session.sequences.running_sequences()
            beats.extend(r.last_heartbeat for r in running if str(r.path) == "/heart")
            manager.wait(0.15)
            deadline -= 1
    finally:
        manager.interrupt()
        manager.wait(30)
    assert len({b for b in beats if b is not None}) >= 3


def test_the_watchdog_names_the_task_that_kept_the_runner_busy(
    storage: Any, make_manager, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SHOTBOOK_BLOCKING_TASK_DURATION_WARNING", "0.03")
    _slow_lab(storage, speed=3.0)  # each shot lasts ~100 ms
    create_sequence(storage, "/watched", tof_scan(2))
    manager = make_manager()
    with caplog.at_level("WARNING", logger="shotbook.control.watchdog"):
        manager.run_sequence("/watched", progress=False)
    messages = [r.getMessage() for r in caplog.records if r.name == "shotbook.control.watchdog"]
    assert any("'run shot 0 (attempt 1)'" in m and "/watched" in m for m in messages)


def test_a_write_error_ends_the_run_crashed(storage: Any, make_manager) -> None:
    # a global parameter named like the data column the runner adds: the store refuses shot 0
    from .lab import lab_globals

    globals_ = lab_globals()
    from shotbook.types import ParameterNamespace

    clashing = ParameterNamespace([*globals_.items(), ("shot", {"attempts": "3"})])
    setup_store(storage, _counting_lab(storage), clashing)
    create_sequence(storage, "/clash", tof_scan(3))
    manager = make_manager()
    with pytest.raises(SequenceFailedError, match="cannot share a name") as caught:
        manager.run_sequence("/clash", progress=False)
    assert caught.value.shot_index == 0
    assert state_of(storage, "/clash") == "crashed"


def test_only_sequences_whose_owner_is_gone_are_marked_crashed(
    storage: Any, make_manager, lab: Any
) -> None:
    import time

    from shotbook.control import LocalExperimentManagerConfiguration
    from shotbook.session import RunOwner

    from .lab import lab_globals

    quick = LocalExperimentManagerConfiguration(heartbeat_interval=0.05, stale_after=0.3)
    for path, host in (("/gone", "other-host"), ("/alive", "other-host")):
        create_sequence(storage, path, tof_scan(2))
        with storage.session() as session:
            session.sequences.prepare(path, lab_globals(), {}, RunOwner(host, 1, "u"), 2)
            session.sequences.start(path).close()
    time.sleep(0.4)
    with storage.session() as session:
        session.sequences.heartbeat("/alive")  # its owner is still beating
    manager = make_manager(configuration=quick)
    assert manager.recovered == ["/gone"]
    assert state_of(storage, "/gone") == "crashed"
    assert state_of(storage, "/alive") == "running"
    with storage.session() as session:
        text = session.sequences.get_traceback("/gone")
    assert text is not None
    assert "sent no heartbeat" in text
    assert "other-host" in text
