"""BaslerCamera against pylon's camera emulation: configuration, compiled shots, pixels,
ROI, pixel formats, errors, and the same camera behind a real device-server process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shotbook.compile import (
    ConfigurationError,
    SequenceCheckError,
    SequenceCompiler,
    check_sequence,
)
from shotbook.device import (
    CameraTimeoutError,
    DeviceError,
    DeviceTimeoutError,
    ShotRunner,
    open_devices,
)
from shotbook.device.basler import (
    BaslerCamera,
    BaslerCameraCompiler,
    BaslerCameraConfiguration,
    basler_device_extension,
    frame_of,
    register_basler_types,
)
from shotbook.device.remote import InsecureRPCConfiguration
from shotbook.registry import Serializer, default_registry
from shotbook.types import (
    CameraTimeLane,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
    parse_unit,
)

from .conftest import SENSOR, BaslerServer, file_features

COMPILERS: dict[type, Any] = {BaslerCameraConfiguration: BaslerCameraCompiler}


def lanes(load: str = "1 ms") -> TimeLanes:
    """Two pictures per shot: 'atoms' lasting ``exposure`` after ``load``, 'background' 2 ms
    later."""
    return TimeLanes(
        ["load", "atoms", "gap", "background", "end"],
        [load, "exposure", "2 ms", "exposure", "1 ms"],
        {"camera": CameraTimeLane([None, "atoms", None, "background", None])},
    )


def configuration(**options: Any) -> BaslerCameraConfiguration:
    values: dict[str, Any] = {
        "roi": (0, 0, 64, 48),
        "sensor_size": SENSOR,
        "trigger_source": "Software",
        "timeout": 2.0,
    }
    values.update(options)
    return BaslerCameraConfiguration(**values)


def compile_scan(
    config: BaslerCameraConfiguration, exposures: list[float], load: str = "1 ms"
) -> list[dict[str, Any]]:
    compiler = SequenceCompiler(lanes(load), {"camera": config}, compilers=COMPILERS)
    return [
        dict(compiler.compile_shot(ShotParameters({"exposure": e}, {"exposure": parse_unit("s")})))
        for e in exposures
    ]


def init(config: BaslerCameraConfiguration) -> dict[str, Any]:
    return dict(BaslerCameraCompiler("camera", config).compile_initialization_parameters())


def test_configuration_is_checked_and_serializable() -> None:
    config = configuration(
        pixel_format="Mono12", gain=3.5, features={"BinningHorizontal": 1}, serial="0815-0001"
    )
    registry = default_registry()
    register_basler_types(registry)
    serializer = Serializer(registry)
    assert serializer.loads(serializer.dumps(config)) == config
    with pytest.raises(ConfigurationError, match="pixel_format"):
        configuration(pixel_format="RGB8")
    with pytest.raises(ConfigurationError, match="gain"):
        configuration(gain="high")
    with pytest.raises(ConfigurationError, match="does not fit"):
        configuration(roi=(1000, 0, 64, 48))
    with pytest.raises(ConfigurationError, match="feature 'not a name'"):
        configuration(features={"not a name": 1})
    assert basler_device_extension().configuration_type is BaslerCameraConfiguration


def test_compiled_shot_gives_exposures_and_trigger_times() -> None:
    shots = compile_scan(configuration(), [1e-3, 3e-3])
    params = shots[1]["camera"]
    assert params["picture_names"] == ["atoms", "background"]
    assert params["exposures"] == pytest.approx([3e-3, 3e-3])
    assert params["trigger_times"] == pytest.approx([1e-3, 1e-3 + 3e-3 + 2e-3])
    assert params["timeout"] == pytest.approx(2.0 + 10e-3)


def test_static_check_refuses_a_camera_lane_of_another_kind() -> None:
    from shotbook.types import DigitalTimeLane

    bad = TimeLanes(["a"], ["1 ms"], {"camera": DigitalTimeLane([True])})
    with pytest.raises(SequenceCheckError, match="camera lane"):
        check_sequence(bad, StepsConfiguration([]), None, {"camera": configuration()},
                       compilers=COMPILERS)  # fmt: skip


@pytest.mark.parametrize(
    ("pixel_format", "frame", "dtype"),
    [
        ("Mono8", "mono8", np.uint8),
        ("Mono10", "mono10", np.uint16),
        ("Mono12", "mono12", np.uint16),
        ("Mono16", "mono16", np.uint16),
    ],
)
def test_scan_in_process_returns_the_served_pixels(
    frames: dict[str, Any], pixel_format: str, frame: str, dtype: type
) -> None:
    path, expected = frames[frame]
    config = configuration(pixel_format=pixel_format, features=file_features(path))
    exposures = [1e-3, 2e-3, 4e-3]
    with open_devices(
        {"camera": config}, _registry(), compilers=COMPILERS
    ) as devices, ShotRunner(devices) as runner:  # fmt: skip
        camera = devices["camera"]
        assert isinstance(camera, BaslerCamera)
        for exposure, shot in zip(exposures, compile_scan(config, exposures), strict=True):
            data = runner.run_shot(shot, timeout=5.0)
            assert list(data) == ["camera.atoms", "camera.background"]
            for picture in data.values():
                assert picture.dtype == dtype
                assert picture.shape == (48, 64)
                np.testing.assert_array_equal(picture, expected)
            assert camera.exposures_set == pytest.approx([exposure, exposure], abs=1e-6)
        assert camera.pictures_taken == 6


def test_roi_is_honoured_and_can_change_per_shot(frames: dict[str, Any]) -> None:
    path, expected = frames["mono8"]
    config = configuration(roi=(8, 4, 32, 16), features=file_features(path))
    with BaslerCamera("camera", **init(config)) as camera:
        for roi in [(8, 4, 32, 16), (0, 10, 64, 20)]:
            camera.update_parameters(
                exposures=[1e-3], picture_names=["p"], timeout=2.0, trigger_times=[0.0], roi=roi
            )
            (picture,) = camera.acquire(["p"])
            x, y, width, height = roi
            assert camera.roi == roi
            np.testing.assert_array_equal(picture, expected[y : y + height, x : x + width])


def test_software_trigger_fires_at_the_timeline_times(frames: dict[str, Any]) -> None:
    config = configuration(features=file_features(frames["mono8"][0]))
    import time

    with BaslerCamera("camera", **init(config)) as camera:
        camera.update_parameters(
            exposures=[1e-3, 1e-3], picture_names=["a", "b"], timeout=2.0,
            trigger_times=[0.0, 0.15],
        )  # fmt: skip
        armed = time.monotonic()
        pictures = camera.acquire(["a", "b"])
        next(pictures)
        assert time.monotonic() - armed < 0.1
        next(pictures)
        assert time.monotonic() - armed >= 0.15  # the second trigger waited for its time


def test_software_triggers_start_no_thread_per_shot(
    frames: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a thread started (and joined) for each shot's triggers cost ~0.3-0.6 ms a shot (#17):
    # the camera's one trigger thread lives as long as the camera is open
    import threading

    started: list[str] = []
    original = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    config = configuration(features=file_features(frames["mono8"][0]))
    shots = compile_scan(config, [1e-3, 2e-3, 1e-3, 2e-3])
    with BaslerCamera("camera", **init(config)) as camera:
        at_open = len(started)
        for shot in shots:
            camera.update_parameters(**shot["camera"])
            pictures = list(camera.acquire(["atoms", "background"]))
            np.testing.assert_array_equal(pictures[1], frames["mono8"][1])
        assert started[at_open:] == []
        assert camera.pictures_taken == 8
        assert camera.exposures_set == pytest.approx([2e-3, 2e-3], rel=1e-3)


class CheckingSequencer:
    """A master sequencer (mock) recording whether the camera was ready when it started."""

    name = "master"

    def __init__(self, camera: BaslerCamera) -> None:
        self.camera = camera
        self.camera_ready_at_start: list[bool] = []

    def update_parameters(self, **parameters: Any) -> None:
        pass

    def is_software_triggered(self) -> bool:
        return True

    def start(self) -> None:
        self.camera_ready_at_start.append(self.camera.ready_for_trigger)

    def wait_finished(self, timeout: float) -> None:
        pass


def test_the_master_starts_only_once_the_camera_is_ready_for_its_trigger(
    frames: dict[str, Any],
) -> None:
    config = configuration(features=file_features(frames["mono8"][0]))
    # software triggers are timed from arming (not hardware-timed): the first one comes 300 ms
    # after it, so that a loaded machine still starts the master before the camera fires
    shots = compile_scan(config, [1e-3, 2e-3], load="300 ms")
    with BaslerCamera("camera", **init(config)) as camera:
        assert not camera.ready_for_trigger
        master = CheckingSequencer(camera)
        with ShotRunner({"camera": camera, "master": master}) as runner:
            for shot in shots:
                runner.run_shot({**shot, "master": {}}, timeout=5.0)
        assert master.camera_ready_at_start == [True, True]
        assert not camera.ready_for_trigger  # every picture taken, grabbing stopped


def test_two_software_triggered_cameras_in_one_shot(frames: dict[str, Any]) -> None:
    # the runner collects the cameras one after the other on its own thread; each camera's
    # triggers fire from its own thread, so the second camera's picture still comes
    lanes = TimeLanes(
        ["a", "gap", "mid", "gap 2", "b"],
        ["1 ms", "50 ms", "1 ms", "50 ms", "1 ms"],
        {
            "first": CameraTimeLane(["atoms", None, None, None, "background"]),
            "second": CameraTimeLane([None, None, "side", None, None]),
        },
    )
    eight, twelve = frames["mono8"], frames["mono12"]
    configs = {
        "first": configuration(serial="0815-0000", features=file_features(eight[0])),
        "second": configuration(
            serial="0815-0001", pixel_format="Mono12", features=file_features(twelve[0])
        ),
    }
    shot = SequenceCompiler(lanes, configs, compilers=COMPILERS).compile_shot(
        ShotParameters({}, {})
    )
    with (
        open_devices(configs, _registry(), compilers=COMPILERS) as devices,
        ShotRunner(devices) as runner,
    ):
        data = runner.run_shot(shot, timeout=5.0)
    assert list(data) == ["first.atoms", "first.background", "second.side"]
    np.testing.assert_array_equal(data["first.background"], eight[1])
    np.testing.assert_array_equal(data["second.side"], twelve[1])


def test_hardware_trigger_line_is_configured_and_a_missing_trigger_times_out() -> None:
    config = configuration(trigger_source="Line1", timeout=0.3)
    shot = compile_scan(config, [1e-3])[0]
    with open_devices(
        {"camera": config}, _registry(), compilers=COMPILERS
    ) as devices, ShotRunner(devices) as runner:  # fmt: skip
        camera = devices["camera"]
        assert camera._get("TriggerSource") == "Line1"  # read back from the camera
        assert camera._get("TriggerMode") == "On"
        with pytest.raises(DeviceTimeoutError) as caught:
            runner.run_shot(shot, timeout=5.0)
        assert caught.value.device == "camera"
        assert caught.value.step == "acquire"
        assert "'atoms'" in str(caught.value)
        assert isinstance(caught.value.__cause__, CameraTimeoutError)
        # the camera recovers: the next shot is programmed again and arms
        camera.update_parameters(exposures=[1e-3], picture_names=["x"], timeout=0.2)
        with pytest.raises(CameraTimeoutError, match=r"picture 'x' within 0\.2 s"):
            next(camera.acquire(["x"]))


def test_a_feature_the_camera_refuses_is_named() -> None:
    camera = BaslerCamera(
        "camera", roi=(0, 0, 64, 48), sensor_size=SENSOR, features={"NoSuchFeature": 1}
    )
    with pytest.raises(DeviceError, match=r"refused NoSuchFeature = 1 \(open\)") as caught:
        camera.__enter__()
    assert caught.value.step == "open"
    assert camera.opened_serial == ""  # closed again


def test_camera_not_found_names_the_serials_seen() -> None:
    camera = BaslerCamera("camera", roi=(0, 0, 64, 48), sensor_size=SENSOR, serial="nope")
    with pytest.raises(DeviceError, match=r"serial nope\) not found.*0815-0000") as caught:
        camera.__enter__()
    assert caught.value.step == "open"


def test_camera_is_chosen_by_serial_or_first_found() -> None:
    options: dict[str, Any] = {"roi": (0, 0, 64, 48), "sensor_size": SENSOR}
    with BaslerCamera("second", serial="0815-0001", **options) as camera:
        assert camera.opened_serial == "0815-0001"
    with BaslerCamera("first", **options) as camera:
        assert camera.opened_serial == "0815-0000"
    assert camera.opened_serial == ""


def test_a_frame_of_the_wrong_size_is_an_error_naming_the_picture(
    frames: dict[str, Any],
) -> None:
    # the emulator serves the 64x48 file whatever the ROI: a frame that does not match
    config = configuration(roi=(0, 0, 128, 96), features=file_features(frames["mono8"][0]))
    with BaslerCamera("camera", **init(config)) as camera:
        camera.update_parameters(
            exposures=[1e-3], picture_names=["cloud"], timeout=2.0, trigger_times=[0.0]
        )
        with pytest.raises(DeviceError, match=r"picture 'cloud' came with shape \(48, 64\)"):
            next(camera.acquire(["cloud"]))


class FailedGrab:
    """Stand-in of a pylon grab result whose grab failed."""

    def GrabSucceeded(self) -> bool:  # noqa: N802 - pylon's name
        return False

    def GetErrorCode(self) -> int:  # noqa: N802
        return 0xE1000014

    def GetErrorDescription(self) -> str:  # noqa: N802
        return "The buffer was incompletely grabbed."


def test_a_failed_grab_names_the_picture_and_pylon_error() -> None:
    with pytest.raises(DeviceError, match=r"picture 'cloud' failed \(pylon error 0xe1000014: The"):
        frame_of(FailedGrab(), "cloud", "camera", np.dtype(np.uint8), (48, 64))


def test_scan_through_a_device_server(basler_server: BaslerServer, frames: dict[str, Any]) -> None:
    path, expected = frames["mono12"]
    config = configuration(
        pixel_format="Mono12", features=file_features(path), device_server="basler-pc"
    )
    servers = {"basler-pc": InsecureRPCConfiguration(port=basler_server.port)}
    shots = compile_scan(config, [1e-3, 2e-3])
    with open_devices(
        {"camera": config}, _registry(), servers, compilers=COMPILERS
    ) as devices, ShotRunner(devices) as runner:  # fmt: skip
        for shot in shots:
            data = runner.run_shot(shot, timeout=10.0)
            assert sorted(data) == ["camera.atoms", "camera.background"]
            for picture in data.values():
                assert picture.dtype == np.uint16
                np.testing.assert_array_equal(picture, expected)
        assert devices["camera"].pictures_taken == 4


def test_camera_timeout_through_a_device_server(basler_server: BaslerServer) -> None:
    config = configuration(trigger_source="Line1", timeout=0.3, device_server="basler-pc")
    servers = {"basler-pc": InsecureRPCConfiguration(port=basler_server.port)}
    with open_devices(
        {"camera": config}, _registry(), servers, compilers=COMPILERS
    ) as devices, ShotRunner(devices) as runner:  # fmt: skip
        with pytest.raises(DeviceError, match="atoms") as caught:
            runner.run_shot(compile_scan(config, [1e-3])[0], timeout=10.0)
        assert caught.value.device == "camera"


def test_missing_pypylon_asks_to_install_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['pypylon'] = None\n"
        "import shotbook, shotbook.device, shotbook.device.basler\n"
        "from shotbook.device.basler import BaslerCamera\n"
        "camera = BaslerCamera('camera', roi=(0, 0, 8, 8), sensor_size=(8, 8))\n"
        "try:\n"
        "    camera.__enter__()\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("install shotbook[basler] to use BaslerCamera")


def test_importing_shotbook_imports_no_driver() -> None:
    code = (
        "import sys\n"
        "import shotbook, shotbook.device, shotbook.device.basler, shotbook.device.pulsestreamer\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pypylon', 'pulsestreamer')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _registry() -> Any:
    registry = default_registry()
    register_basler_types(registry)
    return registry
