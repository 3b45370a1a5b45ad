"""The Basler camera's configuration and its compiler (no pypylon needed here)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shotbook.compile import (
    PS_PER_SECOND,
    CameraCompiler,
    CameraConfiguration,
    ConfigurationError,
    ShotContext,
)

PIXEL_DTYPES: Mapping[str, str] = {
    "Mono8": "uint8",
    "Mono10": "uint16",
    "Mono12": "uint16",
    "Mono12p": "uint16",
    "Mono16": "uint16",
}
"""The pixel formats a :class:`BaslerCameraConfiguration` accepts, and their array dtype."""

SOFTWARE = "Software"
"""The ``trigger_source`` that makes the camera trigger itself (not hardware-timed)."""

_FEATURE_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class BaslerCameraConfiguration(CameraConfiguration):
    """A Basler (GenICam) camera driven through pypylon, taking the pictures of its lane.

    ``serial`` picks the camera (``None``: the first one found). Each picture's exposure is
    its camera-lane block's duration. ``roi`` ``(x, y, width, height)`` must fit in
    ``sensor_size``; ``pixel_format`` is ``"Mono8"`` (uint8 frames) or ``"Mono10"``,
    ``"Mono12"``, ``"Mono12p"``, ``"Mono16"`` (uint16 frames); ``gain`` in dB (``None``:
    left as it is). ``trigger_source`` is a hardware line (``"Line1"``...: each picture is
    taken on the line's rising edge, e.g. from a sequencer's ``DeviceTrigger`` channel) or
    ``"Software"``: the device fires each picture's trigger itself at the time the shot's
    timeline gives, counted from the moment the camera is armed (just before the sequencers
    start); this is **not hardware-timed** (jitter of a few ms). ``timeout`` (s) is added to
    the shot's duration to give how long a picture may take. ``features`` sets other GenICam
    features when the camera opens, in order (e.g. ``{"BinningHorizontal": 2}``).

    Example:
        >>> BaslerCameraConfiguration(roi=(0, 0, 640, 480), sensor_size=(1920, 1200),
        ...                           pixel_format="Mono12").pixel_format
        'Mono12'
    """

    serial: str | None = None
    pixel_format: str = "Mono8"
    gain: float | None = None
    trigger_source: str = "Line1"
    features: tuple[tuple[str, str | int | float | bool], ...] = field(default=())

    device_type: ClassVar[str] = "basler_camera"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.serial is not None and (not isinstance(self.serial, str) or not self.serial):
            raise ConfigurationError(f"serial is a non-empty str or None, got {self.serial!r}")
        if self.pixel_format not in PIXEL_DTYPES:
            raise ConfigurationError(
                f"pixel_format is one of {sorted(PIXEL_DTYPES)}, got {self.pixel_format!r}"
            )
        if self.gain is not None:
            if isinstance(self.gain, bool) or not isinstance(self.gain, int | float):
                raise ConfigurationError(f"gain is a number of dB or None, got {self.gain!r}")
            if not math.isfinite(self.gain):
                raise ConfigurationError(f"gain must be finite, got {self.gain!r}")
            object.__setattr__(self, "gain", float(self.gain))
        if not isinstance(self.trigger_source, str) or not self.trigger_source:
            raise ConfigurationError(
                f"trigger_source is 'Software' or a line such as 'Line1', got "
                f"{self.trigger_source!r}"
            )
        items = self.features.items() if isinstance(self.features, Mapping) else self.features
        try:
            features = tuple((str(name), value) for name, value in items)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"features are (name, value) pairs, got {self.features!r}"
            ) from None
        for name, value in features:
            if not name.isidentifier() or not isinstance(value, _FEATURE_TYPES):
                raise ConfigurationError(
                    f"feature {name!r}: a GenICam feature name and a str, int, float or bool "
                    f"value, got {value!r}"
                )
        object.__setattr__(self, "features", features)

    @property
    def software_trigger(self) -> bool:
        """Whether the device triggers itself (not hardware-timed)."""
        return self.trigger_source == SOFTWARE


class BaslerCameraCompiler(CameraCompiler):
    """Compiles a :class:`BaslerCameraConfiguration`.

    Shot parameters: those of :class:`~shotbook.compile.CameraCompiler` plus
    ``trigger_times``: each picture's start in seconds from the shot's start (used in
    software-trigger mode).
    """

    configuration: BaslerCameraConfiguration

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """``roi``, ``sensor_size``, ``serial``, ``pixel_format``, ``gain``,
        ``trigger_source`` and ``features``."""
        config = self.configuration
        return {
            **super().compile_initialization_parameters(),
            "serial": config.serial,
            "pixel_format": config.pixel_format,
            "gain": config.gain,
            "trigger_source": config.trigger_source,
            "features": [list(pair) for pair in config.features],
        }

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """The camera's shot parameters plus ``trigger_times`` (s)."""
        parameters = dict(super().compile_shot_parameters(context))
        pictures = self._pictures(context)
        parameters["trigger_times"] = [picture.start / PS_PER_SECOND for picture in pictures]
        return parameters
