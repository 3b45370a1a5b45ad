"""The simulated lab: sequencer checks, camera physics and determinism, full shots."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shotbook.compile import (
    ExternalTriggerStart,
    SequenceCompiler,
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


def take(camera: SimulatedCamera, names: list[str], **kwargs: Any) -> list[np.ndarray]:
    camera.update_parameters(
        exposures=[1e-3] * len(names), picture_names=names, timeout=1.0, **kwargs
    )
    return list(camera.acquire(names))


def test_a_camera_nothing_triggers_takes_dark_pictures() -> None:
    """Alone (no sequencer of its world triggers it), no light reaches it: bias and read
    noise only, whatever the exposure."""
    with SimulatedCamera("camera", seed=4, read_noise=3.0, bias=100.0) as camera:
        (picture,) = take(camera, ["cloud"])
    assert picture.shape == (512, 512)
    assert picture.dtype == np.uint16
    assert abs(picture.astype(float).mean() - 100.0) < 0.05
    assert picture.astype(float).std() == pytest.approx(3.0, rel=0.05)


def test_camera_roi_crops_the_sensor() -> None:
    with SimulatedCamera("camera", seed=9) as cropped:
        (part,) = take(cropped, ["cloud"], roi=(200, 100, 64, 32))
        assert cropped.roi == (200, 100, 64, 32)
    assert part.shape == (32, 64)


def test_same_seed_and_key_same_pictures_other_seed_or_key_other_pictures() -> None:
    def shots(seed: int, keys: tuple[int | None, ...] = (None, None)) -> list[np.ndarray]:
        with SimulatedCamera("camera", sensor_size=(64, 64), seed=seed) as camera:
            return [take(camera, ["a"], shot_key=key)[0] for key in keys]

    first, again, other = shots(1), shots(1), shots(2)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[0], first[1])  # noise differs shot to shot
    # without a key, the n-th shot since opening is keyed n: the same as key n
    np.testing.assert_array_equal(shots(1, (5, 1))[1], first[1])


def test_replay_cycles_pre_drawn_frames() -> None:
    with SimulatedCamera("camera", sensor_size=(32, 32), replay=2) as camera:
        frames = [take(camera, ["a"])[0] for _ in range(3)]
    np.testing.assert_array_equal(frames[0], frames[2])
    assert not np.array_equal(frames[0], frames[1])


def test_camera_timeout_names_camera_and_picture() -> None:
    with SimulatedCamera("slowcam", sensor_size=(8, 8), speed=1.0) as camera:
        camera.update_parameters(exposures=[0.0, 5.0], picture_names=["a", "b"], timeout=0.02)
        pictures = camera.acquire(["a", "b"])
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
        ({"shot_key": -1}, "shot_key is an int >= 0"),
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


def test_two_cameras_of_one_world_must_agree_on_its_physics() -> None:
    with SimulatedCamera("one", sensor_size=(8, 8)):
        other = SimulatedCamera("two", sensor_size=(8, 8), world={"capture_rate": 2e6})
        with pytest.raises(ValueError, match="'two' joins the simulated world 'lab' with other"):
            other.__enter__()
        with SimulatedCamera("three", sensor_size=(8, 8)):
            pass


# --------------------------------------------------------------------------- the lab


def lab_lanes() -> TimeLanes:
    """Load, ramp, fly, image, wait for the cloud to fall out of view, background."""
    return TimeLanes(
        ["load", "ramp", "tof", "image", "wait", "background"],
        ["mot.loading_time", "10 ms", "time_of_flight", "1 ms", "100 ms", "1 ms"],
        {
            "mot light": DigitalTimeLane([True, True, False, False, False, False]),
            "repump": DigitalTimeLane([True, True, False, True, False, True]),
            "imaging light": DigitalTimeLane([False, False, False, True, False, True]),
            "mot detuning": AnalogTimeLane.from_blocks(
                [("mot.detuning", 1), (Ramp(), 1), ("mot.detuning - 20 MHz", 4)]
            ),
            "coil current": AnalogTimeLane.from_blocks([("10 A", 1), ("0 A", 5)]),
            "camera": CameraTimeLane.from_blocks(
                [(None, 3), (TakePicture("cloud"), 1), (None, 1), (TakePicture("background"), 1)]
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
    world = configurations["camera"].world
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
                signal = data["camera.cloud"].astype(float) - data["camera.background"]
                rows = np.arange(signal.shape[0])
                centres.append((signal.sum(axis=1) * rows).sum() / signal.sum())
        assert devices["digital"].shots_run == 2
    pixel = configurations["camera"].effective_pixel_size
    for centre, time_of_flight in zip(centres, (2e-3, 8e-3), strict=True):
        t = time_of_flight + 0.5e-3  # to the middle of the 1 ms imaging pulse
        expected = world.initial_centre[1] + 0.5 * world.gravity * t**2
        assert centre == pytest.approx(expected / pixel, abs=1.0)
    assert centres[1] > centres[0]  # the cloud fell


def test_stored_cameras_of_the_parameter_driven_model_still_open(
    registry: TypeRegistry, recwarn: pytest.WarningsChecker
) -> None:
    """Old stores hold loading_time / detuning / time_of_flight / temperature /
    background_pictures: they are ignored, with one warning per process."""
    import json

    from shotbook.device.sim import _lab

    serializer = Serializer(registry)
    stored = json.loads(serializer.dumps(SimulatedCameraConfiguration((0, 0, 8, 8), (8, 8))))
    data = stored["value"]["$data"]
    data.pop("world")
    data.update(
        {"loading_time": "mot.loading_time", "detuning": "mot.detuning",
         "time_of_flight": "time_of_flight", "temperature": 2e-5,
         "background_pictures": ["background"]}
    )  # fmt: skip
    _lab._warned_old_fields = False
    first = serializer.loads(json.dumps(stored))
    second = serializer.loads(json.dumps(stored))
    assert first == second == SimulatedCameraConfiguration((0, 0, 8, 8), (8, 8))
    messages = [str(w.message) for w in recwarn.list if "old parameter-driven" in str(w.message)]
    assert len(messages) == 1
    assert "'time_of_flight'" in messages[0]


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


def test_the_world_on_a_device_server_reads_the_timeline_as_in_process(
    registry: TypeRegistry, shared_server: Any
) -> None:
    """All devices of the world on one device server: the same pictures as in this process
    for the same seed and shot keys; the MOT light off gives no atoms; the flight step's
    duration sets how far the cloud fell."""
    from shotbook.control._runner import with_shot_key
    from shotbook.device.remote import InsecureRPCConfiguration
    from shotbook.device.sim import sim_compilers

    dark_lanes = lab_lanes().with_lane("mot light", DigitalTimeLane([False] * 6))

    def run(device_server: str | None) -> list[dict[str, np.ndarray]]:
        configurations = simulated_lab(device_server=device_server, seed=12)
        servers = {"pc": InsecureRPCConfiguration(port=shared_server.port)}
        out = []
        for lanes, flights in ((lab_lanes(), (2e-3, 8e-3)), (dark_lanes, (2e-3,))):
            compiler = SequenceCompiler(lanes, configurations, sim_compilers())
            with (
                open_devices(
                    configurations,
                    registry,
                    servers,
                    initialization=compiler.compile_initialization_parameters(),
                ) as devices,
                ShotRunner(devices) as runner,
            ):
                for key, flight in enumerate(flights):
                    shot = with_shot_key(compiler.compile_shot(lab_parameters(flight)), key)
                    out.append(runner.run_shot(shot, timeout=10))
        return out

    local, remote = run(None), run("pc")
    for a, b in zip(local, remote, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    early, late, dark = (d["camera.cloud"].astype(float) - d["camera.background"] for d in remote)
    rows = np.arange(512)
    assert early.sum() > 1e5  # a cloud of ~1e5 atoms × 70 counts
    assert abs(dark.sum()) < 0.01 * early.sum()  # no MOT light: no atoms
    centre = [(p.sum(axis=1) * rows).sum() / p.sum() for p in (early, late)]
    fall = 0.5 * 9.80665 * ((8.5e-3) ** 2 - (2.5e-3) ** 2) / 13e-6  # pixels
    assert centre[1] - centre[0] == pytest.approx(fall, abs=1.0)


def test_absorption_through_a_gate_on_a_device_server_as_in_process(
    registry: TypeRegistry, shared_server: Any
) -> None:
    """The absorption settings and light gates travel to a device server (registered types,
    no pickles) and give there the pictures they give in this process."""
    import dataclasses

    from shotbook.analysis import absorption_atom_number, optical_density
    from shotbook.control._runner import with_shot_key
    from shotbook.device.remote import InsecureRPCConfiguration
    from shotbook.device.sim import AbsorptionImaging, LightGate, sim_compilers
    from tests.sim.lab import parameters
    from tests.sim.test_imaging import SMALL_ROI, absorption_lanes

    def run(device_server: str | None) -> dict[str, np.ndarray]:
        configurations = simulated_lab(device_server=device_server, seed=4)
        configurations["camera"] = dataclasses.replace(
            configurations["camera"],
            roi=SMALL_ROI,
            absorption=AbsorptionImaging(),
            imaging_gates=(LightGate("digital", "camera trigger"),),  # high while exposing
        )
        compiler = SequenceCompiler(absorption_lanes(), configurations, sim_compilers())
        servers = {"pc": InsecureRPCConfiguration(port=shared_server.port)}
        with (
            open_devices(
                configurations,
                registry,
                servers,
                initialization=compiler.compile_initialization_parameters(),
            ) as devices,
            ShotRunner(devices) as runner,
        ):
            shot = with_shot_key(compiler.compile_shot(parameters(flight=1e-3)), 0)
            return runner.run_shot(shot, timeout=10)

    local, remote = run(None), run("pc")
    for key in local:
        np.testing.assert_array_equal(local[key], remote[key])
    od = optical_density(remote["camera.atoms"], remote["camera.probe"], remote["camera.dark"])
    number = absorption_atom_number(od, pixel_size=6.5e-6, magnification=0.5)
    assert 1e5 < number < 5e5  # ~3e5 atoms after 500 ms of loading
