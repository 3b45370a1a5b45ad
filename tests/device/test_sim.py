"""The simulated lab: sequencer checks, camera physics and determinism, full shots."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shotbook.compile import (
    ExternalTriggerStart,
    SequenceCompiler,
    ShotCompilationError,
    constant,
    stack_channels,
)
from shotbook.device import (
    CameraTimeoutError,
    DeviceError,
    SequencerTimeoutError,
    ShotRunner,
    open_devices,
)
from shotbook.device.sim import (
    AtomCloudModel,
    SimulatedCamera,
    SimulatedCameraConfiguration,
    SimulatedSequencer,
    simulated_lab,
)
from shotbook.registry import Serializer, TypeRegistry
from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Ramp,
    ShotParameters,
    TakePicture,
    TimeLanes,
    parse_unit,
)

CLOUD = {"loading_time": 1.0, "detuning": -15e6, "time_of_flight": 5e-3}


def two_channels(length: int = 100) -> object:
    return stack_channels({"a": constant(True, length), "b": constant(False, length)})


# --------------------------------------------------------------------------- sequencer


def test_sequencer_keeps_what_it_is_programmed_with() -> None:
    sequence = two_channels()
    with SimulatedSequencer("pulser", channels=["a", "b"], time_step=50_000) as pulser:
        pulser.update_parameters(sequence=sequence, time_step=50_000)
        assert pulser.sequence == sequence
        assert pulser.duration() == pytest.approx(100 * 50e-9)
        pulser.start()
        pulser.wait_finished(timeout=1.0)
        assert pulser.is_finished()
        assert pulser.shots_run == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_step": 25_000}, "time step of 50000 ps but was programmed with 25000"),
        ({"sequence": stack_channels({"a": constant(True, 5)})}, r"missing \['b'\]"),
        (
            {"sequence": stack_channels({"a": constant(True, 5), "c": constant(True, 5)})},
            r"missing \['b'\], unknown \['c'\]",
        ),
        (
            {"sequence": stack_channels({"b": constant(True, 5), "a": constant(True, 5)})},
            "order",
        ),
        ({"sequence": constant(True, 5)}, r"missing \['a', 'b'\]"),
        ({"sequence": "not an instruction"}, "sequence is an Instruction"),
        ({"sequence": two_channels(0)}, "empty"),
    ],
)
def test_sequencer_refuses_bad_programs(kwargs: dict, message: str) -> None:
    arguments = {"sequence": two_channels(), "time_step": 50_000, **kwargs}
    with SimulatedSequencer("pulser", channels=["a", "b"], time_step=50_000) as pulser:
        with pytest.raises((ValueError, TypeError), match=message) as info:
            pulser.update_parameters(**arguments)
        assert "pulser" in str(info.value)
        assert pulser.sequence is None


def test_sequencer_checks_digital_and_analog_value_types() -> None:
    units = {"ttl": None, "aom": "V"}
    with SimulatedSequencer(
        "card", channels=["ttl", "aom"], time_step=1000, channel_units=units
    ) as card:
        wrong = stack_channels({"ttl": constant(1.0, 4), "aom": constant(0.5, 4)})
        with pytest.raises(TypeError, match=r"'ttl'.*expected bool"):
            card.update_parameters(sequence=wrong, time_step=1000)
        right = stack_channels({"ttl": constant(True, 4), "aom": constant(0.5, 4)})
        card.update_parameters(sequence=right, time_step=1000)


def test_sequencer_trigger_and_state_errors() -> None:
    external = SimulatedSequencer(
        "analog", channels=["a"], time_step=1000, trigger=ExternalTriggerStart()
    )
    assert not external.is_software_triggered()
    with pytest.raises(RuntimeError, match="not open"):
        external.start()
    with external:
        with pytest.raises(RuntimeError, match="not programmed"):
            external.start()
        with pytest.raises(RuntimeError, match="not started"):
            external.wait_finished(1.0)


def test_sequencer_at_real_speed_times_out_clearly() -> None:
    sequence = stack_channels({"a": constant(True, 10**6)})  # 1 s at 1 µs
    with SimulatedSequencer("slow", channels=["a"], time_step=1_000_000, speed=1.0) as slow:
        slow.update_parameters(sequence=sequence, time_step=1_000_000)
        slow.start()
        assert not slow.is_finished()
        with pytest.raises(SequencerTimeoutError, match=r"'slow' did not finish within 0.01 s"):
            slow.wait_finished(timeout=0.01)
        with pytest.raises(RuntimeError, match="still running"):
            slow.update_parameters(sequence=sequence, time_step=1_000_000)


# --------------------------------------------------------------------------- camera


def take(camera: SimulatedCamera, names: list[str], cloud=CLOUD, **kwargs) -> list[np.ndarray]:
    camera.update_parameters(
        exposures=[1e-3] * len(names), picture_names=names, timeout=1.0, cloud=cloud, **kwargs
    )
    return list(camera.acquire(names))


def test_camera_sees_the_cloud_where_the_physics_says() -> None:
    model = AtomCloudModel()
    with SimulatedCamera("camera", seed=4) as camera:
        cloud, background = take(camera, ["cloud", "background"])
    assert cloud.shape == (512, 512)
    assert cloud.dtype == np.uint16
    signal = cloud.astype(float) - model.bias
    rows, cols = np.indices(signal.shape)
    total = signal.sum()
    centre_x, centre_y = model.cloud_centre(CLOUD["time_of_flight"])
    pixel = model.effective_pixel_size
    assert (signal * cols).sum() / total == pytest.approx(centre_x / pixel, abs=1.0)
    assert (signal * rows).sum() / total == pytest.approx(centre_y / pixel, abs=1.0)
    expected = model.atom_number(1.0, -15e6) * model.counts_per_atom
    assert total == pytest.approx(expected, rel=0.02)
    # the background picture has no atoms: only bias and read noise
    assert abs(background.astype(float).mean() - model.bias) < 0.05
    assert background.astype(float).std() == pytest.approx(model.read_noise, rel=0.05)


def test_camera_roi_crops_the_sensor() -> None:
    with SimulatedCamera("camera", seed=9) as full:
        (whole,) = take(full, ["cloud"])
    with SimulatedCamera("camera", seed=9) as cropped:
        (part,) = take(cropped, ["cloud"], roi=(200, 100, 64, 32))
        assert cropped.roi == (200, 100, 64, 32)
    assert part.shape == (32, 64)
    expected = AtomCloudModel().expected_image(**CLOUD)[100:132, 200:264]
    deviation = np.abs(part.astype(float) - 100 - expected)
    assert np.all(deviation <= 6 * 3 + 6 * np.sqrt(expected))  # 6 sigma of read + shot noise
    assert abs((part.astype(float) - whole[100:132, 200:264]).mean()) < 1.0


def test_same_seed_same_pictures_other_seed_other_pictures() -> None:
    def shots(seed: int) -> list[np.ndarray]:
        with SimulatedCamera("camera", sensor_size=(64, 64), seed=seed) as camera:
            return take(camera, ["a"]) + take(camera, ["a"])

    first, again, other = shots(1), shots(1), shots(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])  # noise differs shot to shot


def test_replay_cycles_pre_drawn_frames() -> None:
    with SimulatedCamera("camera", sensor_size=(32, 32), replay=2) as camera:
        frames = take(camera, ["a", "b", "c"])
    np.testing.assert_array_equal(frames[0], frames[2])
    assert not np.array_equal(frames[0], frames[1])


def test_replay_frames_are_drawn_once_per_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    from shotbook.device.sim import _camera

    _camera._replay_frames.cache_clear()
    drawn: list[int] = []
    original = _camera.pregenerate_images

    def counting(*args: Any, **kwargs: Any) -> list[np.ndarray]:
        drawn.append(kwargs["seed"])
        return original(*args, **kwargs)

    monkeypatch.setattr(_camera, "pregenerate_images", counting)

    def replayed(seed: int) -> list[np.ndarray]:
        with SimulatedCamera("camera", sensor_size=(32, 32), replay=2, seed=seed) as camera:
            return take(camera, ["a", "b"])

    first, again, other = replayed(3), replayed(3), replayed(4)
    assert drawn == [3, 4]  # the second camera of seed 3 replays the same frames
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    with SimulatedCamera("camera", sensor_size=(32, 32), seed=3) as camera:
        fresh = take(camera, ["a"])  # what the same seed draws without replay
    np.testing.assert_array_equal(first[0], fresh[0])


def test_camera_timeout_names_camera_and_picture() -> None:
    with SimulatedCamera("slowcam", sensor_size=(8, 8), speed=1.0) as camera:
        camera.update_parameters(exposures=[0.0, 5.0], picture_names=["a", "b"], timeout=0.02)
        pictures = camera.acquire(["a", "b"])
        assert next(pictures).shape == (8, 8)
        with pytest.raises(CameraTimeoutError, match=r"'slowcam' got no picture 'b' within 0.02 s"):
            next(pictures)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exposures": [1e-3]}, "2 picture names for 1 exposures"),
        ({"exposures": [1e-3, -1.0]}, "exposures must be finite and >= 0"),
        ({"picture_names": ["a", "a"]}, "distinct"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"roi": (500, 0, 64, 64)}, "does not fit"),
        ({"cloud": {"loading_time": 1.0}}, r"\['detuning', 'time_of_flight'\] are missing"),
    ],
)
def test_camera_refuses_bad_parameters(kwargs: dict, message: str) -> None:
    arguments = {"exposures": [1e-3, 1e-3], "picture_names": ["a", "b"], "timeout": 1.0}
    arguments.update(kwargs)
    with SimulatedCamera("cam", sensor_size=(512, 512)) as camera:
        with pytest.raises((ValueError, TypeError), match=message):
            camera.update_parameters(**arguments)
        camera.update_parameters(exposures=[1e-3], picture_names=["a"], timeout=1.0)
        with pytest.raises(ValueError, match=r"programmed for pictures \['a'\], asked for"):
            camera.acquire(["b"])


# --------------------------------------------------------------------------- the lab


def lab_lanes() -> TimeLanes:
    return TimeLanes(
        ["load", "ramp", "tof", "image", "background"],
        ["mot.loading_time", "10 ms", "time_of_flight", "1 ms", "1 ms"],
        {
            "mot light": DigitalTimeLane([True, True, False, True, True]),
            "mot detuning": AnalogTimeLane.from_blocks(
                [("mot.detuning", 1), (Ramp(), 1), ("mot.detuning + 2 MHz", 3)]
            ),
            "coil current": AnalogTimeLane.from_blocks([("10 A", 2), ("0 A", 3)]),
            "camera": CameraTimeLane.from_blocks(
                [(None, 3), (TakePicture("cloud"), 1), (TakePicture("background"), 1)]
            ),
        },
    )


def lab_parameters(time_of_flight: float = 5e-3) -> ShotParameters:
    ms, mhz = parse_unit("ms"), parse_unit("MHz")
    return ShotParameters(
        {"mot.loading_time": 0.2, "mot.detuning": -15e6, "time_of_flight": time_of_flight},
        {"mot.loading_time": ms, "mot.detuning": mhz, "time_of_flight": ms},
    )


def test_simulated_lab_configurations_are_stored_and_read_back(registry: TypeRegistry) -> None:
    serializer = Serializer(registry)
    lab = simulated_lab(device_server="lab-pc-2", seed=3)
    assert serializer.loads(serializer.dumps(lab)) == lab
    assert len(lab["digital"].channels) == 8
    assert lab["digital"].time_step == 50_000
    assert len(lab["analog"].channels) == 4
    assert lab["analog"].time_step == 2_500_000
    assert lab["camera"].sensor_size == (512, 512)


def test_full_simulated_shot_in_process(registry: TypeRegistry) -> None:
    from shotbook.device.sim import sim_compilers

    configurations = simulated_lab(seed=5)
    compiler = SequenceCompiler(lab_lanes(), configurations, sim_compilers())
    model = AtomCloudModel()
    with open_devices(
        configurations, registry, initialization=compiler.compile_initialization_parameters()
    ) as devices:
        assert isinstance(devices["digital"], SimulatedSequencer)
        with ShotRunner(devices) as runner:
            assert runner.start_order == ["analog", "digital"]  # the master starts last
            centres = []
            for time_of_flight in (2e-3, 8e-3):
                shot = compiler.compile_shot(lab_parameters(time_of_flight))
                data = runner.run_shot(shot, timeout=10)
                assert set(data) == {"camera.cloud", "camera.background"}
                assert devices["digital"].sequence == shot["digital"]["sequence"]
                assert devices["analog"].sequence == shot["analog"]["sequence"]
                signal = data["camera.cloud"].astype(float) - model.bias
                rows = np.arange(signal.shape[0])
                centres.append((signal.sum(axis=1) * rows).sum() / signal.sum())
        assert devices["digital"].shots_run == 2
    pixel = model.effective_pixel_size
    for centre, time_of_flight in zip(centres, (2e-3, 8e-3), strict=True):
        assert centre == pytest.approx(model.cloud_centre(time_of_flight)[1] / pixel, abs=1.0)
    assert centres[1] > centres[0]  # the cloud fell


def test_sim_camera_parameters_are_checked_when_compiling(registry: TypeRegistry) -> None:
    from shotbook.device.sim import sim_compilers

    lab = simulated_lab()
    lab["camera"] = SimulatedCameraConfiguration(
        roi=(0, 0, 512, 512), sensor_size=(512, 512), time_of_flight="mot.detuning"
    )
    compiler = SequenceCompiler(lab_lanes(), lab, sim_compilers())
    with pytest.raises(ShotCompilationError, match=r"time_of_flight 'mot.detuning' is"):
        compiler.compile_shot(lab_parameters())


def test_sim_camera_expressions_are_checked_before_the_run() -> None:
    """A cloud expression naming no parameter of the sequence, or in the wrong unit, is
    reported by the static checks (not at the first shot), naming the camera."""
    from shotbook.compile import SequenceCheckError, check_sequence
    from shotbook.device.sim import sim_compilers
    from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration

    lab = simulated_lab()
    lab["camera"] = SimulatedCameraConfiguration(
        roi=(0, 0, 512, 512), sensor_size=(512, 512), time_of_flight="tof_wait"
    )
    lanes = lab_lanes()
    lanes = TimeLanes(lanes.step_names, ["mot.loading_time", "10 ms", "5 ms", "1 ms", "1 ms"],
                      lanes.lanes.items())  # fmt: skip
    globals_ = ParameterNamespace.from_mapping(
        {"mot": {"loading_time": "200 ms", "detuning": "-15 MHz"}}
    )
    scan = StepsConfiguration([ExecuteShot()])
    with pytest.raises(SequenceCheckError) as caught:
        check_sequence(lanes, scan, globals_, lab, compilers=sim_compilers())
    message = str(caught.value)
    assert "camera" in message
    assert "simulated camera's time_of_flight 'tof_wait'" in message
    lab["camera"] = SimulatedCameraConfiguration(
        roi=(0, 0, 512, 512), sensor_size=(512, 512), time_of_flight="mot.detuning"
    )
    with pytest.raises(SequenceCheckError, match=r"time_of_flight 'mot.detuning' is"):
        check_sequence(lanes, scan, globals_, lab, compilers=sim_compilers())
    lab["camera"] = SimulatedCameraConfiguration(
        roi=(0, 0, 512, 512), sensor_size=(512, 512), time_of_flight="5 ms"
    )
    check_sequence(lanes, scan, globals_, lab, compilers=sim_compilers())


def test_open_devices_closes_everything_when_one_fails(registry: TypeRegistry) -> None:
    from shotbook.device import DeviceSpec

    specs = {
        "seq": DeviceSpec("sim_sequencer", {"channels": ["a"], "time_step": 1000}),
        "broken": DeviceSpec("broken_device"),
    }
    opened: list[SimulatedSequencer] = []
    with pytest.raises(OSError, match="unplugged"), open_devices(specs, registry) as devices:
        opened.append(devices["seq"])  # never reached
    with (
        pytest.raises(LookupError, match=r"cannot build device 'x'.*unknown type tag"),
        open_devices({"x": DeviceSpec("no_such_device")}, registry),
    ):
        pass
    with (
        pytest.raises(ValueError, match=r"device server\(s\) \['pc'\] are used"),
        open_devices({"x": DeviceSpec("echo_device", device_server="pc")}, registry),
    ):
        pass
    assert opened == []


def test_open_devices_closes_devices_after_an_error_in_the_block(registry: TypeRegistry) -> None:
    from shotbook.device import DeviceSpec

    specs = {"seq": DeviceSpec("sim_sequencer", {"channels": ["a"], "time_step": 1000})}
    seen: list[SimulatedSequencer] = []

    def fail_inside() -> None:
        with open_devices(specs, registry) as devices:
            seen.append(devices["seq"])
            raise DeviceError("boom", device="seq")

    with pytest.raises(DeviceError, match="boom"):
        fail_inside()
    (sequencer,) = seen
    with pytest.raises(RuntimeError, match="not open"):
        sequencer.start()
