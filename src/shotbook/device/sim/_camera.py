"""A simulated camera: its pictures show what the simulated world puts in its exposures."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .._protocols import CameraTimeoutError, remote
from ._gates import LightGate, as_gates, gated
from ._imaging import AbsorptionImaging, as_absorption, fringe_phases, render_absorption
from ._signals import overlap
from ._world import (
    Optics,
    RenderBuffers,
    ShotNoise,
    SimulatedWorld,
    World,
    join_world,
    leave_world,
    render,
    shot_streams,
)


def _roi(value: Any, sensor: tuple[int, int], where: str) -> tuple[int, int, int, int]:
    try:
        x, y, width, height = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: roi is (x, y, width, height), got {value!r}") from None
    sensor_width, sensor_height = sensor
    if min(x, y) < 0 or min(width, height) < 1:
        raise ValueError(f"{where}: roi {value!r} needs x, y >= 0 and width, height >= 1")
    if x + width > sensor_width or y + height > sensor_height:
        raise ValueError(
            f"{where}: roi {(x, y, width, height)} does not fit in the "
            f"{sensor_width}x{sensor_height} sensor"
        )
    return x, y, width, height


class SimulatedCamera:
    """A camera of a simulated world (:class:`~shotbook.device.sim.SimulatedWorld`), seeded.

    Its exposure ``k`` starts when the channel wired to trigger it is high after exposure
    ``k - 1`` ended (a rising edge, or a trigger held high across back-to-back pictures) and
    lasts the programmed exposure; it collects the fluorescence of the world's cloud
    while the imaging light (``imaging_light``: ``(device, channel)``) is on during the
    exposure (see :mod:`shotbook.device.sim._world`), or, with ``absorption`` set, the probe
    transmitted through the cloud (see :mod:`shotbook.device.sim._imaging`). The light
    reaches the atoms only while each of ``imaging_gates`` (e.g. a shutter's TTL) passes it
    (see :mod:`shotbook.device.sim._gates`).
    Nothing comes from the shot's parameters. A picture whose trigger never comes fails with
    :class:`CameraTimeoutError`; a camera that nothing triggers takes dark pictures.

    Each shot's noise is drawn from a stream keyed by ``(seed, shot_key)``: the runner
    gives the shot's index as ``shot_key``; without one, the count of shots since the
    camera was opened is used. With ``replay=N``, the first shot's pictures are drawn N
    times and cycled (to benchmark everything but the physics). A picture takes
    ``exposure * speed`` seconds (0 by default).

    Args:
        name: device name.
        sensor_size: ``(width, height)`` in pixels.
        roi: ``(x, y, width, height)``; default the whole sensor.
        world: the physics (a :class:`SimulatedWorld` or its keyword arguments).
        imaging_light: the imaging light's ``(device, channel)``.
        imaging_gates: :class:`LightGate` the imaging light (and probe) passes through.
        absorption: :class:`AbsorptionImaging` settings; ``None``: fluorescence imaging.
        pixel_size, magnification, quantum_efficiency, photon_rate, read_noise, bias: the
            optics and sensor (see :class:`SimulatedCameraConfiguration`).
        seed: random seed of the noise.
        replay: number of frames pre-generated and cycled; 0 draws each picture.
        speed: fraction of the exposure time a picture takes.

    Example:
        >>> with SimulatedCamera("camera", sensor_size=(64, 64), seed=1) as camera:
        ...     camera.update_parameters(exposures=[1e-3], picture_names=["cloud"], timeout=1.0)
        ...     [picture.shape for picture in camera.acquire(["cloud"])]
        [(64, 64)]
    """

    shot_calls_inline: ClassVar[bool] = True
    """Its shot methods return at once or sleep for the simulated time (see ShotRunner)."""

    def __init__(
        self,
        name: str,
        *,
        sensor_size: Sequence[int] = (512, 512),
        roi: Sequence[int] | None = None,
        world: SimulatedWorld | Mapping[str, Any] | None = None,
        imaging_light: Sequence[str] = ("digital", "imaging light"),
        imaging_gates: Sequence[LightGate | Mapping[str, Any] | Sequence[Any]] = (),
        absorption: AbsorptionImaging | Mapping[str, Any] | None = None,
        pixel_size: float = 6.5e-6,
        magnification: float = 0.5,
        quantum_efficiency: float = 0.7,
        photon_rate: float = 1e5,
        read_noise: float = 3.0,
        bias: float = 100.0,
        seed: int = 0,
        replay: int = 0,
        speed: float = 0.0,
    ) -> None:
        where = f"camera {name!r}"
        try:
            width, height = (int(v) for v in sensor_size)
        except (TypeError, ValueError):
            raise TypeError(
                f"{where}: sensor_size is (width, height), got {sensor_size!r}"
            ) from None
        if width < 1 or height < 1:
            raise ValueError(f"{where}: sensor_size must be positive, got {sensor_size!r}")
        self._name = name
        self.sensor_size = (width, height)
        self._default_roi = (
            (0, 0, width, height) if roi is None else _roi(roi, (width, height), where)
        )
        self._roi = self._default_roi
        try:
            if world is None:
                self.world_settings = SimulatedWorld()
            elif isinstance(world, SimulatedWorld):
                self.world_settings = world
            else:
                self.world_settings = SimulatedWorld(**dict(world))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: bad world settings: {exc}") from None
        try:
            device, channel = imaging_light
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: imaging_light is (device, channel), got {imaging_light!r}"
            ) from None
        self.imaging_light = (str(device), str(channel))
        self.imaging_gates = as_gates(imaging_gates, where)
        self.absorption = as_absorption(absorption, where)
        numbers = {
            "pixel_size": pixel_size,
            "magnification": magnification,
            "quantum_efficiency": quantum_efficiency,
            "photon_rate": photon_rate,
            "read_noise": read_noise,
            "bias": bias,
        }
        for key, value in numbers.items():
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{where}: {key} is a finite number >= 0, got {value!r}")
        if pixel_size <= 0 or magnification <= 0 or quantum_efficiency > 1:
            raise ValueError(
                f"{where}: pixel_size and magnification must be > 0 and quantum_efficiency "
                "at most 1"
            )
        self.optics = Optics(**{key: float(value) for key, value in numbers.items()})
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"{where}: seed is an int >= 0, got {seed!r}")
        if isinstance(replay, bool) or not isinstance(replay, int) or replay < 0:
            raise ValueError(f"{where}: replay is an int >= 0, got {replay!r}")
        if not isinstance(speed, int | float) or speed < 0:
            raise ValueError(f"{where}: speed is a number >= 0, got {speed!r}")
        self.seed = seed
        self.replay = replay
        self.speed = float(speed)
        self._world: World | None = None
        self._replay: dict[str, list[np.ndarray]] = {}
        self._buffers = RenderBuffers()
        self._exposures: list[float] = []
        self._names: list[str] = []
        self._timeout = 1.0
        self._key: int | None = None
        self._shots = 0
        self._pictures_taken = 0

    @property
    def name(self) -> str:
        """The device name."""
        return self._name

    def __enter__(self) -> SimulatedCamera:
        if self._world is not None:
            raise RuntimeError(f"camera {self._name!r} is already open")
        world = join_world(self.world_settings.name, self._name, "camera")
        try:
            world.set_settings(self._name, self.world_settings)
        except ValueError:
            leave_world(self.world_settings.name, self._name)
            raise
        world.set_imaging_light(self._name, self.imaging_light)
        self._world = world
        self._shots = 0
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._world is not None:
            leave_world(self.world_settings.name, self._name)
        self._world = None
        self._replay = {}

    @property
    @remote
    def roi(self) -> tuple[int, int, int, int]:
        """The region of interest ``(x, y, width, height)`` of the next pictures."""
        return self._roi

    @property
    @remote
    def pictures_taken(self) -> int:
        """How many pictures were taken since the camera was opened."""
        return self._pictures_taken

    @remote
    def update_parameters(
        self,
        *,
        exposures: Sequence[float],
        picture_names: Sequence[str],
        timeout: float,
        roi: Sequence[int] | None = None,
        shot_key: int | None = None,
    ) -> None:
        """Program the next shot's pictures; ``shot_key`` keys its noise (see the class)."""
        where = f"camera {self._name!r}"
        if self._world is None:
            raise RuntimeError(f"{where} is not open (use it in a with block)")
        names = list(picture_names)
        values = [float(e) for e in exposures]
        if len(names) != len(values):
            raise ValueError(f"{where}: {len(names)} picture names for {len(values)} exposures")
        if any(not isinstance(n, str) for n in names) or len(set(names)) != len(names):
            raise ValueError(f"{where}: picture names must be distinct str, got {names}")
        if any(not math.isfinite(e) or e < 0 for e in values):
            raise ValueError(f"{where}: exposures must be finite and >= 0 s, got {values}")
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(f"{where}: timeout must be > 0 s, got {timeout!r}")
        if shot_key is not None and (
            isinstance(shot_key, bool) or not isinstance(shot_key, int) or shot_key < 0
        ):
            raise ValueError(f"{where}: shot_key is an int >= 0 or None, got {shot_key!r}")
        self._roi = self._default_roi if roi is None else _roi(roi, self.sensor_size, where)
        self._exposures, self._names, self._timeout = values, names, float(timeout)
        self._key = shot_key if shot_key is not None else self._shots
        self._shots += 1

    @remote
    def acquire(self, picture_names: Sequence[str]) -> Iterator[np.ndarray]:
        """Arm the camera; the iterator yields the pictures, in order, as they are taken."""
        names = list(picture_names)
        if self._world is None:
            raise RuntimeError(f"camera {self._name!r} is not open (use it in a with block)")
        if names != self._names:
            raise ValueError(
                f"camera {self._name!r} was programmed for pictures {self._names}, "
                f"asked for {names}"
            )
        return self._pictures(list(zip(names, self._exposures, strict=True)))

    def _pictures(self, plan: list[tuple[str, float]]) -> Iterator[np.ndarray]:
        for delay_name, exposure in plan:
            delay = exposure * self.speed
            if delay > self._timeout:
                time.sleep(self._timeout)
                raise CameraTimeoutError(self._name, delay_name, self._timeout)
            if delay > 0:
                time.sleep(delay)
        pictures = self._draw(plan)
        for picture in pictures:
            self._pictures_taken += 1
            yield picture

    def _draw(self, plan: list[tuple[str, float]]) -> list[np.ndarray]:
        world = self._world
        if world is None:
            raise RuntimeError(f"camera {self._name!r} was closed during the acquisition")
        if self.replay and self._replay:
            return [self._next_replayed(name) for name, _ in plan]
        settings = self.world_settings
        starts = world.exposure_starts(self._name, [exposure for _, exposure in plan])
        windows: list[tuple[float, float] | None] = []
        for index, (name, exposure) in enumerate(plan):
            if starts is None:
                windows.append(None)  # nothing triggers it: no light reaches it
            elif index >= len(starts):
                raise CameraTimeoutError(self._name, name, self._timeout)
            else:
                windows.append((starts[index], starts[index] + exposure))
        absorption = self.absorption
        light_ref = self.imaging_light
        if absorption is not None and absorption.probe_light is not None:
            light_ref = absorption.probe_light
        gates = [(gate, world.signal(gate.ref)) for gate in self.imaging_gates]
        light = gated(world.signal(light_ref), gates)
        seen: list[tuple[float, float]] = []
        for window in windows:
            if window is None:
                seen.append((0.0, 0.0))
                continue
            lit = [(max(a, window[0]), min(b, window[1])) for a, b in light]
            lit = [(a, b) for a, b in lit if b > a]
            duration = sum(b - a for a, b in lit)
            middle = sum((a + b) / 2 * (b - a) for a, b in lit) / duration if duration else 0.0
            seen.append((middle, overlap(light, *window)))
        clouds = world.evolve([middle for middle, _ in seen])
        key = self._key if self._key is not None else 0
        world_rng, camera_rng = shot_streams(self.seed, key, self._name)
        noise = ShotNoise.draw(settings, world_rng)
        phases = (
            fringe_phases(absorption, np.random.default_rng([self.seed, key, 2]), len(plan))
            if absorption is not None
            else [0.0] * len(plan)
        )
        count = max(self.replay, 1)
        out = []
        for (name, _), (middle, light_time), cloud, phase in zip(
            plan, seen, clouds, phases, strict=True
        ):
            frames = []
            for repeat in range(count):
                rng = camera_rng if repeat == 0 else np.random.default_rng([self.seed, repeat])
                if absorption is None:
                    frame = render(
                        settings=settings,
                        optics=self.optics,
                        cloud=cloud,
                        time=middle,
                        light_time=light_time,
                        noise=noise,
                        rng=rng,
                        roi=self._roi,
                        buffers=self._buffers,
                    )
                else:
                    frame = render_absorption(
                        settings=settings,
                        optics=self.optics,
                        imaging=absorption,
                        cloud=cloud,
                        time=middle,
                        light_time=light_time,
                        noise=noise,
                        phase=phase,
                        rng=rng,
                        roi=self._roi,
                    )
                frames.append(frame)
            if self.replay:
                for frame in frames:
                    frame.flags.writeable = False
                self._replay[name] = frames
                out.append(self._next_replayed(name))
            else:
                out.append(frames[0])
        return out

    def _next_replayed(self, name: str) -> np.ndarray:
        frames = self._replay.get(name)
        if not frames:
            raise RuntimeError(
                f"camera {self._name!r} replays the pictures of its first shot, which had no "
                f"picture {name!r}"
            )
        frames.append(frames.pop(0))
        return frames[-1]

    def __repr__(self) -> str:
        return f"SimulatedCamera({self._name!r}, sensor_size={self.sensor_size})"
