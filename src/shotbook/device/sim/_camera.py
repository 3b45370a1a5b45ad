"""A simulated camera seeing the atom cloud of :class:`AtomCloudModel`."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from .._protocols import CameraTimeoutError, remote
from ._atom_cloud import AtomCloudModel, ReplayImages, pregenerate_images

CLOUD_PARAMETERS = ("loading_time", "detuning", "time_of_flight")
"""The values (SI) a simulated camera needs per shot to draw the cloud."""


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
    """A camera whose pictures show the cloud of an :class:`AtomCloudModel`, seeded.

    Per shot it receives (see :func:`~shotbook.device.sim.register_sim_types`) the usual
    camera parameters plus ``cloud``: ``{"loading_time": s, "detuning": Hz,
    "time_of_flight": s}`` read from the shot's parameters. Pictures named in
    ``background_pictures`` see no atoms (read noise and bias only). The same ``seed`` and
    the same shots give the same pictures. With ``replay=N``, the first shot's cloud is
    drawn N times and those frames are cycled (to benchmark everything but the physics).
    A picture takes ``exposure * speed`` seconds (0 by default); if that exceeds the shot's
    ``timeout``, the picture fails with :class:`CameraTimeoutError`.

    Args:
        name: device name.
        sensor_size: ``(width, height)`` in pixels.
        roi: ``(x, y, width, height)``; default the whole sensor.
        model: keyword arguments of :class:`AtomCloudModel` (e.g. ``{"temperature": 2e-5}``).
        seed: random seed of the noise.
        replay: number of frames pre-generated and cycled; 0 draws each picture.
        speed: fraction of the exposure time a picture takes.
        background_pictures: names of pictures taken without atoms.

    Example:
        >>> with SimulatedCamera("camera", sensor_size=(64, 64), seed=1) as camera:
        ...     camera.update_parameters(exposures=[1e-3], picture_names=["cloud"], timeout=1.0,
        ...         cloud={"loading_time": 1.0, "detuning": -15e6, "time_of_flight": 1e-3})
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
        model: Mapping[str, Any] | None = None,
        seed: int = 0,
        replay: int = 0,
        speed: float = 0.0,
        background_pictures: Sequence[str] = ("background",),
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
        options = dict(model or {})
        if "initial_centre" in options:
            options["initial_centre"] = tuple(options["initial_centre"])
        try:
            self.model = AtomCloudModel(**options)
        except TypeError as exc:
            raise TypeError(f"{where}: bad model parameters: {exc}") from None
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"{where}: seed is an int >= 0, got {seed!r}")
        if isinstance(replay, bool) or not isinstance(replay, int) or replay < 0:
            raise ValueError(f"{where}: replay is an int >= 0, got {replay!r}")
        if not isinstance(speed, int | float) or speed < 0:
            raise ValueError(f"{where}: speed is a number >= 0, got {speed!r}")
        self.seed = seed
        self.replay = replay
        self.speed = float(speed)
        self.background_pictures = frozenset(background_pictures)
        self._rng: np.random.Generator | None = None
        self._replay: ReplayImages | None = None
        self._exposures: list[float] = []
        self._names: list[str] = []
        self._timeout = 1.0
        self._cloud: dict[str, float] | None = None
        self._pictures_taken = 0

    @property
    def name(self) -> str:
        """The device name."""
        return self._name

    def __enter__(self) -> SimulatedCamera:
        if self._rng is not None:
            raise RuntimeError(f"camera {self._name!r} is already open")
        self._rng = np.random.default_rng(self.seed)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._rng = None
        self._replay = None

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
        cloud: Mapping[str, float] | None = None,
    ) -> None:
        """Program the next shot's pictures (see the class docstring)."""
        where = f"camera {self._name!r}"
        if self._rng is None:
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
        new_cloud = None
        if cloud is not None:
            missing = [key for key in CLOUD_PARAMETERS if key not in cloud]
            if missing:
                raise ValueError(f"{where}: cloud values {missing} are missing")
            new_cloud = {key: float(cloud[key]) for key in CLOUD_PARAMETERS}
        self._roi = self._default_roi if roi is None else _roi(roi, self.sensor_size, where)
        self._exposures, self._names, self._timeout = values, names, float(timeout)
        self._cloud = new_cloud

    @remote
    def acquire(self, picture_names: Sequence[str]) -> Iterator[np.ndarray]:
        """Arm the camera; the iterator yields the pictures, in order, as they are taken."""
        names = list(picture_names)
        if self._rng is None:
            raise RuntimeError(f"camera {self._name!r} is not open (use it in a with block)")
        if names != self._names:
            raise ValueError(
                f"camera {self._name!r} was programmed for pictures {self._names}, "
                f"asked for {names}"
            )
        return self._pictures(list(zip(names, self._exposures, strict=True)))

    def _pictures(self, plan: list[tuple[str, float]]) -> Iterator[np.ndarray]:
        for name, exposure in plan:
            delay = exposure * self.speed
            if delay > self._timeout:
                time.sleep(self._timeout)
                raise CameraTimeoutError(self._name, name, self._timeout)
            if delay > 0:
                time.sleep(delay)
            picture = self._draw(name)
            self._pictures_taken += 1
            yield picture

    def _draw(self, picture: str) -> np.ndarray:
        rng = self._rng
        if rng is None:
            raise RuntimeError(f"camera {self._name!r} was closed during the acquisition")
        cloud = self._cloud or {"loading_time": 0.0, "detuning": 0.0, "time_of_flight": 0.0}
        if picture in self.background_pictures:
            cloud = {**cloud, "loading_time": 0.0}
        width, height = self.sensor_size
        if self.replay:
            if self._replay is None:
                frames = _replay_frames(
                    self.model, self.replay, self.seed, self._roi, (height, width), **cloud
                )
                self._replay = ReplayImages(list(frames))
            return next(self._replay)
        return self.model.image(rng=rng, roi=self._roi, shape=(height, width), **cloud)

    def __repr__(self) -> str:
        return f"SimulatedCamera({self._name!r}, sensor_size={self.sensor_size})"


@functools.lru_cache(maxsize=4)
def _replay_frames(
    model: AtomCloudModel,
    count: int,
    seed: int,
    roi: tuple[int, int, int, int],
    shape: tuple[int, int],
    **cloud: float,
) -> tuple[np.ndarray, ...]:
    """The frames a replaying camera shows, generated once per process for the same model,
    seed, region and cloud (each open camera would draw the same ones: the seed fixes them)."""
    frames = pregenerate_images(model, count, seed=seed, roi=roi, shape=shape, **cloud)
    for frame in frames:
        frame.flags.writeable = False
    return tuple(frames)
