"""BaslerCamera: a Basler (GenICam) camera through pypylon, imported only when it opens."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from .._protocols import CameraTimeoutError, DeviceError, remote
from ._configuration import PIXEL_DTYPES, SOFTWARE
from ._triggers import SoftwareTriggers

INSTALL_HINT = "install shotbook[basler] to use BaslerCamera"


def import_pylon() -> ModuleType:
    """The ``pypylon.pylon`` module, or an ``ImportError`` saying which extra to install."""
    try:
        from pypylon import pylon
    except ImportError as error:
        raise ImportError(f"{INSTALL_HINT} (pypylon cannot be imported: {error})") from None
    return pylon


def _roi(value: Any, sensor: tuple[int, int], where: str) -> tuple[int, int, int, int]:
    try:
        x, y, width, height = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: roi is (x, y, width, height), got {value!r}") from None
    if min(x, y) < 0 or min(width, height) < 1:
        raise ValueError(f"{where}: roi {value!r} needs x, y >= 0 and width, height >= 1")
    if x + width > sensor[0] or y + height > sensor[1]:
        raise ValueError(
            f"{where}: roi {(x, y, width, height)} does not fit in the {sensor[0]}x{sensor[1]} "
            "sensor"
        )
    return x, y, width, height


class BaslerTimeoutError(CameraTimeoutError):
    """A picture that did not come in time; the message also names the camera's serial."""

    def __init__(self, camera: str, picture: str, timeout: float, serial: str) -> None:
        super().__init__(camera, picture, timeout)
        self.serial = serial
        self.args = (
            f"camera {camera!r} (serial {serial}) got no picture {picture!r} within "
            f"{timeout:g} s (was it triggered?)",
        )


class BaslerCamera:
    """A Basler camera taking a shot's pictures on triggers, through pypylon.

    Construction does no I/O; ``__enter__`` imports pypylon (``ImportError`` "install
    shotbook[basler] to use BaslerCamera" without it), finds the camera (by ``serial``, else
    the first one), opens it and sets the pixel format, gain, ROI, frame-start trigger and
    ``features``. Each shot, :meth:`acquire` sets the first picture's exposure, starts
    grabbing and returns once the camera reports ready for its trigger; each picture is then
    read in order (the next picture's exposure is set once the camera is ready for it),
    as a ``uint8`` (Mono8) or ``uint16`` array of shape ``(height, width)``.

    With ``trigger_source="Software"`` the device fires each trigger itself at the picture's
    time in the shot (``trigger_times``) counted from the moment the camera was armed (just
    before the sequencers start): not hardware-timed. They are fired by a thread of the
    camera's own, started when it opens (or by the collection of the pictures, when a
    trigger is already due as the collection reaches it).

    Errors name the camera: not found (with the serials seen), a picture that does not come
    within the shot's timeout (:class:`~shotbook.device.CameraTimeoutError` naming the
    picture), a frame that failed (pylon's error code and text), a feature the camera refuses.

    Example::

        with BaslerCamera("camera", roi=(0, 0, 640, 480), sensor_size=(1920, 1200)) as camera:
            camera.update_parameters(exposures=[1e-3], picture_names=["cloud"], timeout=1.0)
            pictures = camera.acquire(["cloud"])   # armed, ready for the trigger
            ...                                    # the sequencer triggers Line1
            cloud = next(pictures)                 # uint8 array (480, 640)
    """

    shot_calls_inline: ClassVar[bool] = True
    """The shot runner calls it on its own thread (no worker-thread hand-offs, ~1 ms a shot
    on a loaded machine): every blocking pylon call of a shot takes the time left before the
    shot's deadline as its timeout, and software triggers fire from the device's own thread
    (:class:`SoftwareTriggers`), so collecting one camera after another delays no trigger."""

    def __init__(
        self,
        name: str,
        *,
        roi: Sequence[int],
        sensor_size: Sequence[int],
        serial: str | None = None,
        pixel_format: str = "Mono8",
        gain: float | None = None,
        trigger_source: str = "Line1",
        features: Sequence[Sequence[Any]] | Mapping[str, Any] = (),
    ) -> None:
        where = f"camera {name!r}"
        try:
            width, height = (int(v) for v in sensor_size)
        except (TypeError, ValueError):
            raise TypeError(
                f"{where}: sensor_size is (width, height), got {sensor_size!r}"
            ) from None
        if pixel_format not in PIXEL_DTYPES:
            raise ValueError(
                f"{where}: pixel_format is one of {sorted(PIXEL_DTYPES)}, got {pixel_format!r}"
            )
        if gain is not None and not (isinstance(gain, int | float) and math.isfinite(gain)):
            raise ValueError(f"{where}: gain is a number of dB or None, got {gain!r}")
        items = features.items() if isinstance(features, Mapping) else features
        self._name = name
        self.sensor_size = (width, height)
        self._default_roi = _roi(roi, self.sensor_size, where)
        self._roi = self._default_roi
        self.serial = serial
        self.pixel_format = pixel_format
        self.dtype = np.dtype(PIXEL_DTYPES[pixel_format])
        self.gain = None if gain is None else float(gain)
        self.trigger_source = str(trigger_source)
        self.features = [(str(feature), value) for feature, value in items]
        self._pylon: ModuleType | None = None
        self._camera: Any = None
        self._exposures: list[float] = []
        self._names: list[str] = []
        self._times: list[float] = []
        self._timeout = 1.0
        self._pictures_taken = 0
        self._exposures_set: list[float] = []
        self._opened_serial = ""
        self._deadline = 0.0
        self._triggers: SoftwareTriggers | None = None

    @property
    @remote
    def opened_serial(self) -> str:
        """The serial number of the camera opened ('' while closed)."""
        return self._opened_serial if self._camera is not None else ""

    @property
    def name(self) -> str:
        """The device name."""
        return self._name

    @property
    def software_triggered(self) -> bool:
        """Whether the device fires the triggers itself (not hardware-timed)."""
        return self.trigger_source == SOFTWARE

    # --- opening and closing ------------------------------------------------------------------

    def _describe(self) -> str:
        wanted = f"serial {self.serial}" if self.serial else "the first camera found"
        return f"camera {self._name!r} ({wanted})"

    def __enter__(self) -> BaslerCamera:
        if self._camera is not None:
            raise RuntimeError(f"camera {self._name!r} is already open")
        pylon = import_pylon()
        factory = pylon.TlFactory.GetInstance()
        found = list(factory.EnumerateDevices())
        chosen = found[0] if found and self.serial is None else None
        for info in found:
            if self.serial is not None and info.GetSerialNumber() == self.serial:
                chosen = info
        if chosen is None:
            serials = [info.GetSerialNumber() for info in found]
            raise DeviceError(
                f"{self._describe()} not found: the cameras seen are {serials or 'none'} "
                "(connected, powered, not used by another program?)",
                device=self._name,
                step="open",
            )
        try:
            camera = pylon.InstantCamera(factory.CreateDevice(chosen))
            camera.Open()
        except Exception as error:
            raise DeviceError(
                f"{self._describe()} cannot be opened (busy?): {type(error).__name__}: {error}",
                device=self._name,
                step="open",
            ) from error
        self._pylon, self._camera = pylon, camera
        self._opened_serial = str(chosen.GetSerialNumber())
        try:
            self._configure()
            if self.software_triggered:
                self._triggers = SoftwareTriggers(self._name, self._fire)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _set(self, feature: str, value: Any, step: str = "open") -> None:
        try:
            node = self._camera.GetNodeMap().GetNode(feature)
            if node is None:
                raise LookupError("the camera has no such feature")
            node.SetValue(value)
        except Exception as error:
            raise DeviceError(
                f"{self._describe()} refused {feature} = {value!r} ({step}): {error}",
                device=self._name,
                step=step,
            ) from error

    def _has(self, feature: str) -> bool:
        node = self._camera.GetNodeMap().GetNode(feature)
        return node is not None and self._pylon is not None and _available(node)

    def _configure(self) -> None:
        maximum = (self._get("WidthMax"), self._get("HeightMax"))
        if maximum[0] < self.sensor_size[0] or maximum[1] < self.sensor_size[1]:
            raise DeviceError(
                f"{self._describe()} has a {maximum[0]}x{maximum[1]} sensor, smaller than the "
                f"configured sensor_size {self.sensor_size}",
                device=self._name,
                step="configure",
            )
        self._set("PixelFormat", self.pixel_format)
        for feature in ("ExposureAuto", "GainAuto"):
            if self._has(feature):
                self._set(feature, "Off")
        if self.gain is not None:
            self._set("Gain", self.gain)
        self._set("TriggerSelector", "FrameStart")
        self._set("TriggerMode", "On")
        self._set("TriggerSource", self.trigger_source)
        self._set_roi(self._default_roi)
        for feature, value in self.features:
            self._set(feature, value)

    def _get(self, feature: str) -> Any:
        return self._camera.GetNodeMap().GetNode(feature).GetValue()

    def _set_roi(self, roi: tuple[int, int, int, int], step: str = "open") -> None:
        x, y, width, height = roi
        for feature, value in (("OffsetX", 0), ("OffsetY", 0), ("Width", width),
                               ("Height", height), ("OffsetX", x), ("OffsetY", y)):  # fmt: skip
            self._set(feature, value, step)
        self._roi = roi

    def __exit__(self, *exc_info: object) -> None:
        triggers, self._triggers = self._triggers, None
        if triggers is not None:
            triggers.close()
        camera, self._camera = self._camera, None
        if camera is None:
            return
        try:
            if camera.IsGrabbing():
                camera.StopGrabbing()
        finally:
            camera.Close()
            camera.DestroyDevice()

    # --- shots --------------------------------------------------------------------------------

    def _check_open(self) -> Any:
        if self._camera is None:
            raise RuntimeError(f"camera {self._name!r} is not open (use it in a with block)")
        return self._camera

    @property
    @remote
    def roi(self) -> tuple[int, int, int, int]:
        """The region of interest ``(x, y, width, height)`` of the next pictures."""
        return self._roi

    @property
    @remote
    def ready_for_trigger(self) -> bool:
        """Whether the camera is grabbing and ready for its next frame trigger now."""
        camera, pylon = self._camera, self._pylon
        if camera is None or pylon is None or not camera.IsGrabbing():
            return False
        return bool(camera.WaitForFrameTriggerReady(0, pylon.TimeoutHandling_Return))

    @property
    @remote
    def pictures_taken(self) -> int:
        """How many pictures were read since the camera was opened."""
        return self._pictures_taken

    @remote
    def update_parameters(
        self,
        *,
        exposures: Sequence[float],
        picture_names: Sequence[str],
        timeout: float,
        roi: Sequence[int] | None = None,
        trigger_times: Sequence[float] | None = None,
    ) -> None:
        """Program the next shot's pictures: exposures (s), names, timeout (s), roi and,
        for software triggering, each picture's time in the shot (s)."""
        camera = self._check_open()
        where = f"camera {self._name!r}"
        names = [str(n) for n in picture_names]
        values = [float(e) for e in exposures]
        times = [float(t) for t in trigger_times] if trigger_times is not None else []
        if len(names) != len(values) or (trigger_times is not None and len(times) != len(names)):
            raise ValueError(
                f"{where}: {len(names)} picture names for {len(values)} exposures and "
                f"{len(times)} trigger times"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: picture names must be distinct, got {names}")
        if any(not math.isfinite(e) or e <= 0 for e in values):
            raise ValueError(f"{where}: exposures must be finite and > 0 s, got {values}")
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"{where}: timeout must be > 0 s, got {timeout!r}")
        if self.software_triggered and trigger_times is None and names:
            raise ValueError(f"{where}: software triggering needs each picture's trigger_times")
        new_roi = self._default_roi if roi is None else _roi(roi, self.sensor_size, where)
        if camera.IsGrabbing():
            camera.StopGrabbing()
        if new_roi != self._roi:
            self._set_roi(new_roi, "update_parameters")
        self._exposures, self._names, self._times = values, names, times
        self._timeout = float(timeout)

    @remote
    def acquire(self, picture_names: Sequence[str]) -> Iterator[np.ndarray]:
        """Start grabbing the programmed pictures; returns once the camera is ready for its
        first trigger. The iterator yields the frames, in order, as they arrive."""
        camera = self._check_open()
        names = list(picture_names)
        if names != self._names:
            raise ValueError(
                f"camera {self._name!r} was programmed for pictures {self._names}, "
                f"asked for {names}"
            )
        deadline = time.monotonic() + self._timeout
        self._deadline = deadline
        self._exposures_set = []
        triggers = self._triggers
        if names:
            self._set_exposure(0)
            camera.StartGrabbingMax(len(names))
            self._wait_ready(names[0], deadline)
            if triggers is not None:
                triggers.arm(time.monotonic(), self._times)
        return self._pictures(deadline, triggers if names else None)

    def _fire(self, index: int) -> None:
        """Software mode: fire picture ``index``'s trigger (called at its time, in order, by
        :class:`SoftwareTriggers`, on its thread or the collection's)."""
        if index:  # acquire() set the first exposure and waited for the camera
            self._wait_ready(self._names[index], self._deadline)
            self._set_exposure(index)
        self._camera.ExecuteSoftwareTrigger()

    def _set_exposure(self, index: int) -> None:
        self._set("ExposureTime", self._exposures[index] * 1e6, "acquire")
        self._exposures_set.append(float(self._get("ExposureTime")) * 1e-6)

    @property
    @remote
    def exposures_set(self) -> list[float]:
        """The exposures (s) the camera reported after each was set, in the last shot."""
        return list(self._exposures_set)

    def _wait_ready(self, picture: str, deadline: float) -> None:
        pylon = self._pylon
        assert pylon is not None
        milliseconds = max(int((deadline - time.monotonic()) * 1000), 1)
        if not self._camera.WaitForFrameTriggerReady(milliseconds, pylon.TimeoutHandling_Return):
            raise BaslerTimeoutError(self._name, picture, self._timeout, self._opened_serial)

    def _pictures(self, deadline: float, triggers: SoftwareTriggers | None) -> Iterator[np.ndarray]:
        pylon = self._pylon
        camera = self._camera
        assert pylon is not None
        shape = (self._roi[3], self._roi[2])
        try:
            for index, picture in enumerate(self._names):
                if triggers is not None:
                    triggers.fire_due(index)  # when due, without waking the thread
                elif index:  # hardware trigger: after the last frame
                    self._set_exposure(index)
                milliseconds = max(int((deadline - time.monotonic()) * 1000), 1)
                result = camera.RetrieveResult(milliseconds, pylon.TimeoutHandling_Return)
                if result is None or not result.IsValid():
                    if triggers is not None and triggers.error is not None:
                        raise triggers.error
                    raise BaslerTimeoutError(
                        self._name, picture, self._timeout, self._opened_serial
                    )
                try:
                    frame = frame_of(result, picture, self._name, self.dtype, shape)
                finally:
                    result.Release()
                self._pictures_taken += 1
                yield frame
        finally:
            if triggers is not None:
                triggers.disarm(0.0)
            if camera is not None and self._camera is camera and camera.IsGrabbing():
                camera.StopGrabbing()
            if triggers is not None:
                triggers.disarm(max(deadline - time.monotonic(), 0.0) + 1.0)

    def __repr__(self) -> str:
        return f"BaslerCamera({self._name!r}, serial={self.serial!r})"


def _available(node: Any) -> bool:
    from pypylon import genicam

    return bool(genicam.IsAvailable(node))


def frame_of(
    result: Any, picture: str, camera: str, dtype: np.dtype[Any], shape: tuple[int, int]
) -> np.ndarray:
    """The picture of a pylon grab result as an owned array of ``dtype`` and ``shape``
    ``(height, width)``; a failed grab, or a frame of another type or size, raises
    :class:`~shotbook.device.DeviceError` naming the camera, the picture and what is wrong
    (pylon's error code and description for a failed grab)."""
    if not result.GrabSucceeded():
        raise DeviceError(
            f"camera {camera!r}: picture {picture!r} failed (pylon error "
            f"{result.GetErrorCode():#x}: {result.GetErrorDescription()})",
            device=camera,
            step="acquire",
        )
    zero_copy = getattr(result, "GetArrayZeroCopy", None)
    if zero_copy is None:
        return _checked_copy(np.asarray(result.GetArray()), picture, camera, dtype, shape)
    with zero_copy() as view:  # pylon's buffer, copied once into the picture
        return _checked_copy(view, picture, camera, dtype, shape)


def _checked_copy(
    array: np.ndarray, picture: str, camera: str, dtype: np.dtype[Any], shape: tuple[int, int]
) -> np.ndarray:
    if array.dtype != dtype:
        raise DeviceError(
            f"camera {camera!r}: picture {picture!r} came as {array.dtype}, expected {dtype}",
            device=camera,
            step="acquire",
        )
    if array.shape != shape:
        raise DeviceError(
            f"camera {camera!r}: picture {picture!r} came with shape {array.shape}, expected "
            f"{shape} (the ROI's height, width)",
            device=camera,
            step="acquire",
        )
    return np.array(array, copy=True)
