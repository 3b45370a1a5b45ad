"""Device configurations: frozen dataclasses saved with each sequence.

A sequencer's channels each compute their output with a small graph of nodes::

    aom = AnalogChannelConfiguration(
        "mot aom",
        CalibratedMapping(LaneValues("mot.detuning"), ((70, 0.0), (90, 1.0)), "MHz", "V"),
        output_unit="V",
        output_range=(0.0, 1.0),
    )
    trigger = DigitalChannelConfiguration("analog card trigger", DeviceTrigger("analog card"))
    shutter = DigitalChannelConfiguration(
        "mot shutter", Broaden(LaneValues("mot.light", default=False), "2 ms")
    )

Nodes: :class:`LaneValues` (a lane's values, or ``default`` when the sequence has no such
lane), :class:`Constant`, :class:`DeviceTrigger` (the trigger another device needs, on this
device's clock), :class:`CalibratedMapping` (piecewise-linear, e.g. MHz → V), :class:`Advance`
and :class:`Delay` (shift in time), :class:`Broaden` (widen high periods), and the logic gates
:class:`Not`, :class:`And`, :class:`Or`, :class:`Xor`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from shotbook.registry import TypeRegistry
from shotbook.types import Expression

__all__ = [
    "Advance",
    "AnalogChannelConfiguration",
    "And",
    "Broaden",
    "CalibratedMapping",
    "CameraConfiguration",
    "ChannelConfiguration",
    "Constant",
    "Delay",
    "DeviceTrigger",
    "DigitalChannelConfiguration",
    "ExternalClock",
    "ExternalTriggerStart",
    "LaneValues",
    "Not",
    "Or",
    "OutputNode",
    "SequencerConfiguration",
    "SoftwareTrigger",
    "Trigger",
    "Xor",
]


class ConfigurationError(ValueError):
    """A device configuration that is not well formed; the message says which field."""


def _expression(value: Any, where: str) -> Expression:
    if isinstance(value, Expression):
        return value
    if isinstance(value, str):
        return Expression(value)
    raise ConfigurationError(f"{where} is an expression (str), got {value!r}")


def _value(value: Any, where: str) -> bool | float | Expression:
    if isinstance(value, bool | Expression):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return Expression(value)
    raise ConfigurationError(f"{where} is a bool, a number or an expression, got {value!r}")


# --- triggers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftwareTrigger:
    """The device starts when the program tells it to (it needs no trigger signal)."""


@dataclass(frozen=True)
class ExternalTriggerStart:
    """The device starts its sequence on a rising edge of its trigger input.

    A channel with ``DeviceTrigger(name)`` sends it a pulse high for the first half of the
    shot (long enough for any trigger input, one rising edge at the shot's start).
    """


@dataclass(frozen=True)
class ExternalClock:
    """The device plays one tick per rising edge of an external clock.

    A channel with ``DeviceTrigger(name)`` sends it a clock of period the device's time step
    (which must be a multiple of 2 ticks of the sending device), for the whole shot.
    """


Trigger = SoftwareTrigger | ExternalTriggerStart | ExternalClock


# --- output graph nodes ------------------------------------------------------------------------


@dataclass(frozen=True)
class LaneValues:
    """The values of the lane named ``lane``; ``default`` when the sequence has no such lane
    (``None``: the lane is required)."""

    lane: str
    default: bool | float | Expression | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.lane, str) or not self.lane:
            raise ConfigurationError(f"LaneValues needs a lane name, got {self.lane!r}")
        if self.default is not None:
            object.__setattr__(self, "default", _value(self.default, "LaneValues.default"))

    def __str__(self) -> str:
        return f"lane {self.lane!r}"


@dataclass(frozen=True)
class Constant:
    """One value for the whole shot (a bool, a number, or an expression without ``t``)."""

    value: bool | float | Expression

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _value(self.value, "Constant.value"))

    def __str__(self) -> str:
        return f"constant {self.value}"


@dataclass(frozen=True)
class DeviceTrigger:
    """The trigger signal that device ``device`` needs, computed on this channel's clock.

    ``default`` is output when the sequence does not use that device (``None``: it must).
    """

    device: str
    default: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.device, str) or not self.device:
            raise ConfigurationError(f"DeviceTrigger needs a device name, got {self.device!r}")

    def __str__(self) -> str:
        return f"trigger of {self.device!r}"


@dataclass(frozen=True)
class CalibratedMapping:
    """Piecewise-linear map of ``input`` through calibration ``points`` ``((x, y), ...)``.

    ``x`` is in ``input_unit`` and ``y`` in ``output_unit`` (``None``: dimensionless); the
    ``x`` are strictly increasing. An input outside ``[x_first, x_last]`` is an error (no
    extrapolation). Example: an AOM driver, ``((70, 0.0), (90, 1.0))`` from MHz to V.
    """

    input: OutputNode
    points: tuple[tuple[float, float], ...]
    input_unit: str | None = None
    output_unit: str | None = None

    def __post_init__(self) -> None:
        try:
            points = tuple((float(x), float(y)) for x, y in self.points)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"calibration points are (x, y) number pairs, got {self.points!r}"
            ) from None
        if len(points) < 2:
            raise ConfigurationError("a calibration needs at least two points")
        if not all(math.isfinite(v) for point in points for v in point):
            raise ConfigurationError(f"calibration points must be finite, got {points}")
        xs = [x for x, _ in points]
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise ConfigurationError(f"calibration x values must strictly increase, got {xs}")
        object.__setattr__(self, "points", points)

    def __str__(self) -> str:
        return f"calibration {self.input_unit or '1'} -> {self.output_unit or '1'}"


@dataclass(frozen=True)
class Advance:
    """``input`` played ``duration`` earlier (the end holds the last value)."""

    input: OutputNode
    duration: Expression

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", _expression(self.duration, "Advance.duration"))


@dataclass(frozen=True)
class Delay:
    """``input`` played ``duration`` later (the start holds the first value)."""

    input: OutputNode
    duration: Expression

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", _expression(self.duration, "Delay.duration"))


@dataclass(frozen=True)
class Broaden:
    """Every high period of a digital ``input`` widened by ``duration``.

    ``side`` is ``"both"`` (start earlier and end later), ``"left"`` (start earlier) or
    ``"right"`` (end later). Useful for shutters that need time to open.
    """

    input: OutputNode
    duration: Expression
    side: str = "both"

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", _expression(self.duration, "Broaden.duration"))
        if self.side not in ("both", "left", "right"):
            raise ConfigurationError(
                f"Broaden.side is 'both', 'left' or 'right', got {self.side!r}"
            )


@dataclass(frozen=True)
class Not:
    """Logical not of a digital input."""

    input: OutputNode


@dataclass(frozen=True)
class And:
    """Logical and of two digital inputs."""

    left: OutputNode
    right: OutputNode


@dataclass(frozen=True)
class Or:
    """Logical or of two digital inputs."""

    left: OutputNode
    right: OutputNode


@dataclass(frozen=True)
class Xor:
    """Logical exclusive or of two digital inputs."""

    left: OutputNode
    right: OutputNode


OutputNode = (
    LaneValues
    | Constant
    | DeviceTrigger
    | CalibratedMapping
    | Advance
    | Delay
    | Broaden
    | Not
    | And
    | Or
    | Xor
)
NODE_TYPES: tuple[type, ...] = (
    LaneValues,
    Constant,
    DeviceTrigger,
    CalibratedMapping,
    Advance,
    Delay,
    Broaden,
    Not,
    And,
    Or,
    Xor,
)


def node_inputs(node: Any) -> tuple[Any, ...]:
    """The input nodes of a node."""
    if isinstance(node, CalibratedMapping | Advance | Delay | Broaden | Not):
        return (node.input,)
    if isinstance(node, And | Or | Xor):
        return (node.left, node.right)
    return ()


# --- channels and devices ----------------------------------------------------------------------


def _check_channel_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"a channel name is a non-empty str, got {name!r}")


@dataclass(frozen=True)
class DigitalChannelConfiguration:
    """An on/off output: its ``name`` and the graph computing its ``output``."""

    name: str
    output: OutputNode
    description: str = ""

    def __post_init__(self) -> None:
        _check_channel_name(self.name)


@dataclass(frozen=True)
class AnalogChannelConfiguration:
    """A continuous output in ``output_unit`` (``None``: dimensionless), limited to
    ``output_range`` ``(low, high)``: a value outside fails compilation."""

    name: str
    output: OutputNode
    output_unit: str | None
    output_range: tuple[float, float]
    description: str = ""

    def __post_init__(self) -> None:
        _check_channel_name(self.name)
        try:
            low, high = (float(v) for v in self.output_range)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"channel {self.name!r}: output_range is (low, high), got {self.output_range!r}"
            ) from None
        if not low <= high:
            raise ConfigurationError(
                f"channel {self.name!r}: output_range needs low <= high, got ({low}, {high})"
            )
        object.__setattr__(self, "output_range", (low, high))


ChannelConfiguration = DigitalChannelConfiguration | AnalogChannelConfiguration


@dataclass(frozen=True)
class SequencerConfiguration:
    """A device that plays one value per channel per tick of ``time_step`` picoseconds.

    ``trigger`` says how it starts; ``device_server`` names the device server that runs it
    (``None``: in the experiment's process).

    >>> SequencerConfiguration(
    ...     time_step=50_000,
    ...     channels=(DigitalChannelConfiguration("camera", DeviceTrigger("camera")),),
    ... ).time_step
    50000
    """

    time_step: int
    channels: tuple[ChannelConfiguration, ...]
    trigger: Trigger = field(default_factory=SoftwareTrigger)
    device_server: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.time_step, bool) or not isinstance(self.time_step, int):
            raise ConfigurationError(
                f"time_step is an integer number of picoseconds, got {self.time_step!r}"
            )
        if self.time_step < 1:
            raise ConfigurationError(f"time_step must be >= 1 ps, got {self.time_step}")
        channels = tuple(self.channels)
        names = [channel.name for channel in channels]
        for channel in channels:
            if not isinstance(channel, DigitalChannelConfiguration | AnalogChannelConfiguration):
                raise ConfigurationError(f"not a channel configuration: {channel!r}")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigurationError(f"channel name(s) used twice: {', '.join(duplicates)}")
        if not isinstance(self.trigger, SoftwareTrigger | ExternalTriggerStart | ExternalClock):
            raise ConfigurationError(f"unknown trigger {self.trigger!r}")
        object.__setattr__(self, "channels", channels)


@dataclass(frozen=True)
class CameraConfiguration:
    """A camera taking the pictures of the camera lane named like the device.

    Each picture's exposure is the duration of its block; the camera's trigger (for a
    ``DeviceTrigger`` channel) is high while a picture is taken. ``roi`` is
    ``(x, y, width, height)`` inside ``sensor_size`` ``(width, height)``; ``timeout`` (seconds)
    is added to the shot's duration to give how long to wait for the pictures.
    """

    roi: tuple[int, int, int, int]
    sensor_size: tuple[int, int]
    timeout: float = 1.0
    device_server: str | None = None

    def __post_init__(self) -> None:
        try:
            x, y, width, height = (int(v) for v in self.roi)
            sensor_width, sensor_height = (int(v) for v in self.sensor_size)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"roi is (x, y, width, height) and sensor_size (width, height), got "
                f"{self.roi!r} and {self.sensor_size!r}"
            ) from None
        if min(x, y) < 0 or min(width, height) < 1:
            raise ConfigurationError(f"roi {self.roi} needs x, y >= 0 and a size >= 1")
        if x + width > sensor_width or y + height > sensor_height:
            raise ConfigurationError(
                f"roi {(x, y, width, height)} does not fit in the {sensor_width}x"
                f"{sensor_height} sensor"
            )
        if not (isinstance(self.timeout, int | float) and self.timeout >= 0):
            raise ConfigurationError(f"timeout is a number of seconds >= 0, got {self.timeout!r}")
        object.__setattr__(self, "roi", (x, y, width, height))
        object.__setattr__(self, "sensor_size", (sensor_width, sensor_height))
        object.__setattr__(self, "timeout", float(self.timeout))


def register_compile_types(registry: TypeRegistry) -> None:
    """Register the configuration types of this package in a ``TypeRegistry``.

    >>> from shotbook.registry import default_registry
    >>> registry = default_registry()
    >>> register_compile_types(registry)
    >>> registry.tag_of(SequencerConfiguration)
    'sequencer_configuration'
    """
    for tag, cls in (
        ("software_trigger", SoftwareTrigger),
        ("external_trigger_start", ExternalTriggerStart),
        ("external_clock", ExternalClock),
        ("lane_values", LaneValues),
        ("constant_output", Constant),
        ("device_trigger", DeviceTrigger),
        ("calibrated_mapping", CalibratedMapping),
        ("advance", Advance),
        ("delay", Delay),
        ("broaden", Broaden),
        ("not", Not),
        ("and", And),
        ("or", Or),
        ("xor", Xor),
        ("digital_channel", DigitalChannelConfiguration),
        ("analog_channel", AnalogChannelConfiguration),
        ("sequencer_configuration", SequencerConfiguration),
        ("camera_configuration", CameraConfiguration),
    ):
        registry.register(tag, cls)
