"""ShotRunner: order of a shot's steps, data, and errors naming the device."""

from __future__ import annotations

import threading

import pytest

from shotbook.device import DeviceError, DeviceTimeoutError, ShotRunner

from .lab_devices import InlineRecordingDevice, MeterDevice, RecordingDevice


def lab(log: list[str], **options: dict) -> dict[str, RecordingDevice]:
    return {
        "master": RecordingDevice("master", log, **options.get("master", {})),
        "camera": RecordingDevice("camera", log, kind="camera", **options.get("camera", {})),
        "slave": RecordingDevice("slave", log, software=False, **options.get("slave", {})),
    }


PARAMETERS = {
    "master": {"sequence": "m"},
    "camera": {"picture_names": ["cloud", "background"], "exposures": [1e-3, 1e-3]},
    "slave": {"sequence": "s"},
}


def test_a_shot_programs_arms_starts_then_collects() -> None:
    log: list[str] = []
    devices = lab(log)
    with ShotRunner(devices) as runner:
        assert runner.start_order == ["slave", "master"]
        assert runner.cameras == ["camera"]
        data = runner.run_shot(PARAMETERS, timeout=5)
    assert data == {"camera.cloud": "camera:cloud", "camera.background": "camera:background"}
    assert devices["camera"].parameters == PARAMETERS["camera"]
    assert sorted(log[:3]) == ["camera.update", "master.update", "slave.update"]
    assert log[3:6] == ["camera.arm", "slave.start", "master.start"]
    assert log[6:8] == ["camera.picture cloud", "camera.picture background"]
    assert sorted(log[8:]) == ["master.finished", "slave.finished"]


def test_explicit_start_order_is_followed_and_checked() -> None:
    log: list[str] = []
    devices = lab(log)
    with ShotRunner(devices, start_order=["master", "slave"]) as runner:
        runner.run_shot(PARAMETERS)
    assert log.index("master.start") < log.index("slave.start")
    with pytest.raises(ValueError, match=r"not sequencers: \['camera'\]"):
        ShotRunner(devices, start_order=["camera", "master", "slave"])
    with pytest.raises(ValueError, match=r"misses the sequencers \['slave'\]"):
        ShotRunner(devices, start_order=["master"])


def test_devices_without_parameters_are_left_alone() -> None:
    log: list[str] = []
    with ShotRunner(lab(log)) as runner:
        data = runner.run_shot({"master": {"sequence": "m"}})
    assert data == {}
    assert log == ["master.update", "master.start", "master.finished"]


@pytest.mark.parametrize("step", ["update", "arm", "start", "picture background", "finished"])
def test_a_failing_device_is_named_with_its_step(step: str) -> None:
    log: list[str] = []
    who = "camera" if step in ("arm", "picture background") else "slave"
    devices = lab(log, **{who: {"fail_at": step}})
    with ShotRunner(devices) as runner, pytest.raises(DeviceError) as info:
        runner.run_shot(PARAMETERS)
    error = info.value
    assert error.device == who
    assert f"device {who!r} failed to" in str(error)
    assert f"{who} broke during {step}" in str(error)
    assert isinstance(error.__cause__, RuntimeError)
    if step in ("update", "arm"):
        assert "master.start" not in log  # nothing starts after a failed preparation


def test_a_hanging_device_times_out_naming_it() -> None:
    log: list[str] = []
    block = threading.Event()
    devices = lab(log, slave={"block": block})
    parameters = {**PARAMETERS, "slave": {"sequence": "s", "hang": True}}
    try:
        with ShotRunner(devices) as runner, pytest.raises(DeviceTimeoutError) as info:
            runner.run_shot(parameters, timeout=0.2)
    finally:
        block.set()
    assert info.value.device == "slave"
    assert "['slave'] did not finish update_parameters within the shot's 0.2 s" in str(info.value)
    assert isinstance(info.value, TimeoutError)
    assert "master.start" not in log


def test_parameters_for_a_device_that_is_not_open() -> None:
    with ShotRunner(lab([])) as runner, pytest.raises(DeviceError, match=r"\['ghost'\]"):
        runner.run_shot({"ghost": {}})


def inline_lab(log: list[str], **options: dict) -> dict[str, InlineRecordingDevice]:
    return {
        "master": InlineRecordingDevice("master", log, **options.get("master", {})),
        "camera": InlineRecordingDevice("camera", log, kind="camera", **options.get("camera", {})),
        "slave": InlineRecordingDevice("slave", log, software=False, **options.get("slave", {})),
    }


def test_fast_devices_are_called_on_the_callers_thread_in_the_same_order() -> None:
    log: list[str] = []
    devices = inline_lab(log)
    with ShotRunner(devices) as runner:
        data = runner.run_shot(PARAMETERS, timeout=5)
        data_again = runner.run_shot(PARAMETERS, timeout=5)
    assert (
        data
        == data_again
        == {
            "camera.cloud": "camera:cloud",
            "camera.background": "camera:background",
        }
    )
    assert log[:8] == [
        "master.update", "camera.update", "slave.update",
        "camera.arm", "slave.start", "master.start",
        "camera.picture cloud", "camera.picture background",
    ]  # fmt: skip
    assert sorted(log[8:10]) == ["master.finished", "slave.finished"]
    assert all(device.threads == {threading.get_ident()} for device in devices.values())


def test_a_mix_of_fast_and_other_devices_keeps_the_worker_threads_for_the_others() -> None:
    log: list[str] = []
    devices: dict[str, RecordingDevice] = {**inline_lab(log)}
    devices["slave"] = RecordingDevice("slave", log, software=False)
    with ShotRunner(devices) as runner:
        runner.run_shot(PARAMETERS, timeout=5)
    assert devices["master"].threads == {threading.get_ident()}  # type: ignore[attr-defined]
    assert log.index("slave.start") < log.index("master.start")
    assert sorted(log[-2:]) == ["master.finished", "slave.finished"]


@pytest.mark.parametrize("step", ["update", "arm", "start", "picture background", "finished"])
def test_a_failing_fast_device_is_named_with_its_step(step: str) -> None:
    log: list[str] = []
    who = "camera" if step in ("arm", "picture background") else "slave"
    devices = inline_lab(log, **{who: {"fail_at": step}})
    with ShotRunner(devices) as runner, pytest.raises(DeviceError) as info:
        runner.run_shot(PARAMETERS)
    assert info.value.device == who
    assert f"device {who!r} failed to" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    if step in ("update", "arm"):
        assert "master.start" not in log


def test_a_fast_device_that_overruns_the_shot_times_out_naming_it() -> None:
    log: list[str] = []
    devices = inline_lab(log, camera={"delay": 0.3})
    with ShotRunner(devices) as runner, pytest.raises(DeviceTimeoutError) as info:
        runner.run_shot(PARAMETERS, timeout=0.1)
    assert info.value.device == "camera"
    assert info.value.step == "update_parameters"
    assert "did not finish update_parameters within the shot's 0.1 s" in str(info.value)
    assert "master.start" not in log


# --- devices that report data once per shot (DataSource) ------------------------------------


def test_a_data_source_is_read_after_the_sequencers_finish() -> None:
    from shotbook.device import DataSource

    log: list[str] = []
    devices: dict[str, object] = {**lab(log), "meter": MeterDevice("meter")}
    assert isinstance(devices["meter"], DataSource)
    with ShotRunner(devices) as runner:  # type: ignore[arg-type]
        assert runner.data_sources == ["meter"]
        data = runner.run_shot({**PARAMETERS, "meter": {"gain": 2.0}}, timeout=5)
        again = runner.run_shot({**PARAMETERS, "meter": {"gain": 2.0}}, timeout=5)
    assert list(data) == ["camera.cloud", "camera.background", "meter.power", "meter.trace"]
    assert data["meter.power"] == 2.0
    assert again["meter.power"] == 4.0  # read once per shot
    assert list(again["meter.trace"]) == [0.0, 2.0, 4.0, 6.0]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not a mapping", r"read_data\(\) returned list; it returns a mapping of label to value"),
        ("raises", "USB cable is loose"),
    ],
)
def test_a_data_source_failing_is_named_with_its_step(bad: str, message: str) -> None:
    log: list[str] = []
    devices: dict[str, object] = {**lab(log), "meter": MeterDevice("meter", bad=bad)}
    with (
        ShotRunner(devices) as runner,  # type: ignore[arg-type]
        pytest.raises(DeviceError, match=message) as info,
    ):
        runner.run_shot(PARAMETERS, timeout=5)
    assert (info.value.device, info.value.step) == ("meter", "read_data")


def test_the_units_a_data_source_declares_are_checked_and_named_with_its_step() -> None:
    from shotbook.device import data_units_of

    assert data_units_of({"meter": MeterDevice("meter"), "lamp": object()}) == {"meter.power": "W"}
    for bad, message in (
        ("bad units", r"device 'meter': data_units\(\) gave the unit 3 for 'power'"),
        ("raises", r"device 'meter' failed to give its data units: OSError: the meter does"),
    ):
        with pytest.raises(DeviceError, match=message) as info:
            data_units_of({"meter": MeterDevice("meter", bad=bad)})
        assert (info.value.device, info.value.step) == ("meter", "data_units")
