"""The Pulse Streamer 8/2 as a sequencer configuration, and its compiler (no driver here).

A shot compiles to one run table per output port: ``(durations in ns, levels)`` with the
digital channels on the shot's 1 ns grid (or the configured multiple of it) and the analog
channels on their own ``analog_time_step`` grid, ramps sampled once per analog tick (never
per nanosecond). The device turns the tables into the client's ``Sequence``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from shotbook.compile import (
    PS_PER_SECOND,
    AnalogChannelConfiguration,
    CalibratedMapping,
    Concatenated,
    ConfigurationError,
    DigitalChannelConfiguration,
    ExternalTriggerStart,
    Instruction,
    LaneValues,
    LinearRamp,
    Repeated,
    SequenceCheckContext,
    SequencerCompiler,
    SequencerConfiguration,
    ShotContext,
    SoftwareTrigger,
)
from shotbook.types import AnalogTimeLane, Ramp

DIGITAL_PORTS = 8
"""Digital outputs of the Pulse Streamer 8/2 (D0..D7)."""
ANALOG_PORTS = 2
"""Analog outputs (A0, A1), ±1 V, 16 bit."""
ANALOG_RANGE = 1.0
"""Largest analog level in volts."""
ANALOG_SCALE = 0x7FFF
"""Client's conversion of volts to int16 levels (1 V → 32767)."""
MAX_PULSES = 2_000_000
"""The client refuses sequences of more than two million pulses (its ``enc_binary``)."""
NS = 1000
"""Picoseconds in one nanosecond, the box's clock period."""


@dataclass(frozen=True)
class PulseStreamerConfiguration(SequencerConfiguration):
    """A Swabian Pulse Streamer 8/2: 8 digital outputs at 1 ns and 2 analog outputs of ±1 V.

    ``channels`` are the usual channel configurations: the digital ones drive D0, D1, ... in
    their order, the analog ones A0 then A1 (output unit ``"V"``, ``output_range`` within
    ±1 V). ``time_step`` (ps) is the digital grid, a multiple of 1 ns (1000 ps: the box's
    resolution); ``analog_time_step`` (ps, a multiple of ``time_step``) is the analog grid:
    analog edges fall on it and ramps are sampled once per analog tick. ``trigger`` is
    :class:`~shotbook.compile.SoftwareTrigger` (start now) or
    :class:`~shotbook.compile.ExternalTriggerStart` (rising edge on the trigger input).
    ``address`` is the box's IP address, host name or serial; ``max_pulses`` the pulse memory
    (2,000,000 in the client): a longer shot is refused before anything is sent.

    Example:
        >>> from shotbook.compile import DigitalChannelConfiguration, LaneValues
        >>> PulseStreamerConfiguration(
        ...     time_step=1000,
        ...     channels=(DigitalChannelConfiguration("aom", LaneValues("aom")),),
        ...     address="192.168.1.100",
        ... ).digital_ports
        {'aom': 0}
    """

    address: str = "pulsestreamer"
    analog_time_step: int = 1_000_000
    max_pulses: int = MAX_PULSES

    device_type: ClassVar[str] = "pulse_streamer"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.time_step % NS:
            raise ConfigurationError(
                f"time_step is a multiple of 1 ns (1000 ps) on a Pulse Streamer, got "
                f"{self.time_step} ps"
            )
        step = self.analog_time_step
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise ConfigurationError(f"analog_time_step is an int of ps >= 1, got {step!r}")
        if step % self.time_step:
            raise ConfigurationError(
                f"analog_time_step ({step} ps) is a multiple of time_step ({self.time_step} ps)"
            )
        if not isinstance(self.address, str) or not self.address.strip():
            raise ConfigurationError(f"address is a host name, IP or serial, got {self.address!r}")
        pulses = self.max_pulses
        if isinstance(pulses, bool) or not isinstance(pulses, int) or pulses < 1:
            raise ConfigurationError(f"max_pulses is an int >= 1, got {pulses!r}")
        if not isinstance(self.trigger, SoftwareTrigger | ExternalTriggerStart):
            raise ConfigurationError(
                "a Pulse Streamer starts by software or on an external trigger edge "
                f"(SoftwareTrigger or ExternalTriggerStart), not {self.trigger!r}"
            )
        digital = self.digital_channels
        analog = self.analog_channels
        if len(digital) > DIGITAL_PORTS or len(analog) > ANALOG_PORTS:
            raise ConfigurationError(
                f"a Pulse Streamer 8/2 has {DIGITAL_PORTS} digital and {ANALOG_PORTS} analog "
                f"outputs; the configuration has {len(digital)} and {len(analog)}"
            )
        for channel in analog:
            low, high = channel.output_range
            if channel.output_unit != "V" or low < -ANALOG_RANGE or high > ANALOG_RANGE:
                raise ConfigurationError(
                    f"analog channel {channel.name!r} outputs volts within ±1 V on a Pulse "
                    f"Streamer: output_unit 'V' and output_range inside (-1, 1), got "
                    f"{channel.output_unit!r} and {channel.output_range}"
                )

    @property
    def digital_channels(self) -> tuple[DigitalChannelConfiguration, ...]:
        """The digital channels, on D0, D1, ... in this order."""
        return tuple(c for c in self.channels if isinstance(c, DigitalChannelConfiguration))

    @property
    def analog_channels(self) -> tuple[AnalogChannelConfiguration, ...]:
        """The analog channels, on A0 then A1."""
        return tuple(c for c in self.channels if isinstance(c, AnalogChannelConfiguration))

    @property
    def digital_ports(self) -> dict[str, int]:
        """Digital output number of each digital channel."""
        return {channel.name: port for port, channel in enumerate(self.digital_channels)}

    @property
    def analog_ports(self) -> dict[str, int]:
        """Analog output number of each analog channel."""
        return {channel.name: port for port, channel in enumerate(self.analog_channels)}


def _tree_runs(instruction: Instruction, limit: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, values)`` of an instruction tree, walked without expanding constants and
    repetitions of constants; a ramp or pattern gives its ticks (vectorised)."""
    value = instruction.constant_value()
    if value is not None:
        return np.array([len(instruction)], dtype=np.int64), np.array([value])
    if isinstance(instruction, Repeated):
        counts, values = _tree_runs(instruction.instruction, limit, where)
        if (len(counts) - 1) * instruction.repetitions > limit:
            raise PulseLimitError(where, limit)
        return np.tile(counts, instruction.repetitions), np.tile(values, instruction.repetitions)
    if isinstance(instruction, Concatenated):
        parts = [_tree_runs(child, limit, where) for child in instruction.children()]
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=instruction.dtype)
        return np.concatenate([c for c, _ in parts]), np.concatenate([v for _, v in parts])
    if isinstance(instruction, LinearRamp) and len(instruction) > limit:
        raise PulseLimitError(where, limit)
    values = instruction.to_array(max_length=max(len(instruction), 1))
    return np.ones(len(values), dtype=np.int64), values


def _runs(instruction: Instruction, scale_ns: int, limit: int, where: str) -> np.ndarray:
    """Merged runs of one channel as a ``(n, 2)`` array: ``[duration ns, value]`` rows (float
    values for analog channels). A ramp gives one run per tick of its grid."""
    counts, values = _tree_runs(instruction, limit, where)
    keep = counts > 0
    counts, values = counts[keep], values[keep]
    if len(counts):
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        counts, values = np.add.reduceat(counts, starts), values[starts]
    if len(counts) > limit:
        raise PulseLimitError(where, limit)
    kind = np.float64 if instruction.dtype.kind == "f" else np.int64
    runs = np.empty((len(counts), 2), dtype=kind)
    runs[:, 0] = counts * scale_ns
    runs[:, 1] = values
    return runs


class PulseLimitError(ValueError):
    """A channel alone has more runs than the box can hold."""

    def __init__(self, where: str, limit: int) -> None:
        super().__init__(f"{where} has more than {limit} level changes")
        self.limit = limit


def quantize(volts: np.ndarray) -> np.ndarray:
    """Volts as the box's int16 levels (as the client converts them: round(32767 * v))."""
    return np.round(np.asarray(volts, dtype=np.float64) * ANALOG_SCALE).astype(np.int16)


def count_pulses(tables: Mapping[str, Any], duration_ns: int) -> int:
    """The number of pulses of the merged sequence: distinct times where any output changes
    (after int16 quantisation of the analog levels), plus one."""
    edges = [np.array([duration_ns], dtype=np.int64)]
    for key in ("digital", "analog"):
        for durations, levels in tables[key].values():
            values = quantize(levels) if key == "analog" else np.asarray(levels)
            ends = np.cumsum(np.asarray(durations, dtype=np.int64))
            changes = np.flatnonzero(values[1:] != values[:-1])
            edges.append(ends[changes])
    return int(np.unique(np.concatenate(edges)).size)


class PulseStreamerCompiler(SequencerCompiler):
    """Compiles a :class:`PulseStreamerConfiguration` into per-port run tables.

    Shot parameters: ``{"digital": {port: (durations_ns, levels 0/1)}, "analog": {port:
    (durations_ns, volts)}, "duration_ns": int, "pulses": int}`` (numpy arrays, ports as
    str). The digital runs are exactly the channels' compiled instructions at ``time_step``;
    the analog runs those at ``analog_time_step`` (each ramp tick is one run), cut at the
    shot's end. A shot whose merged sequence exceeds ``max_pulses`` fails to compile, naming
    the device and the count, before anything reaches the box.
    """

    configuration: PulseStreamerConfiguration

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """``address``, ``software_trigger``, ``digital_ports`` and ``analog_ports``."""
        config = self.configuration
        return {
            "address": config.address,
            "software_trigger": isinstance(config.trigger, SoftwareTrigger),
            "digital_ports": config.digital_ports,
            "analog_ports": config.analog_ports,
        }

    def _part(self, context: ShotContext, time_step: int, channels: tuple[Any, ...]) -> Any:
        part = SequencerConfiguration(time_step=time_step, channels=channels)
        return SequencerCompiler(self.device_name, part).compile_shot_parameters(context)[
            "sequence"
        ]

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """The run tables of this shot (see the class docstring)."""
        config = self.configuration
        limit = config.max_pulses
        duration_ns = context.number_ticks(config.time_step) * (config.time_step // NS)
        tables: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {"digital": {}, "analog": {}}
        try:
            if config.digital_channels:
                sequence = self._part(context, config.time_step, config.digital_channels)
                for name, port in config.digital_ports.items():
                    runs = _runs(sequence.field(name), config.time_step // NS, limit, name)
                    tables["digital"][str(port)] = (runs[:, 0], runs[:, 1].astype(np.uint8))
            if config.analog_channels:
                step_ns = config.analog_time_step // NS
                sequence = self._part(context, config.analog_time_step, config.analog_channels)
                for name, port in config.analog_ports.items():
                    runs = _runs(sequence.field(name), step_ns, limit, name)
                    durations = runs[:, 0].astype(np.int64)
                    ends = np.minimum(np.cumsum(durations), duration_ns)
                    keep = int(np.searchsorted(ends, duration_ns, side="left")) + 1
                    ends = ends[:keep]
                    durations = np.diff(ends, prepend=0)
                    tables["analog"][str(port)] = (durations, runs[:keep, 1].copy())
        except PulseLimitError as error:
            raise context.error(
                f"channel {error}: the Pulse Streamer holds at most {limit} pulses",
                device=self.device_name,
            ) from None
        pulses = count_pulses(tables, duration_ns)
        if pulses > limit:
            raise context.error(
                f"the shot needs {pulses} pulses on the Pulse Streamer, more than its memory "
                f"of {limit} (fewer ramps, a coarser analog_time_step, or shorter clocks)",
                device=self.device_name,
            )
        return {"digital": tables["digital"], "analog": tables["analog"],
                "duration_ns": duration_ns, "pulses": pulses}  # fmt: skip

    def check_configuration(self, check: SequenceCheckContext) -> None:
        """The channels' checks, and the pulse memory: when the step durations are constants,
        the analog ramps alone (one pulse per analog tick) must fit in ``max_pulses``."""
        super().check_configuration(check)
        config = self.configuration
        durations: list[float] = []
        for duration in check.time_lanes.step_durations:
            value = check.constant_value(duration)
            if not isinstance(value, int | float) or not math.isfinite(value):
                return  # depends on the shot: checked when each shot compiles
            durations.append(float(value))
        samples = 0
        for channel in config.analog_channels:
            lane = _lane_of(channel.output)
            blocks = check.time_lanes.lanes.get(lane) if lane is not None else None
            if not isinstance(blocks, AnalogTimeLane):
                continue
            for (value, _), (first, stop) in zip(blocks.blocks, blocks.block_bounds(), strict=True):
                if isinstance(value, Ramp):
                    seconds = sum(durations[first:stop])
                    samples += math.ceil(seconds * PS_PER_SECOND / config.analog_time_step)
        if samples > config.max_pulses:
            check.report(
                f"the analog ramps alone need {samples} pulses at an analog_time_step of "
                f"{config.analog_time_step} ps, more than the Pulse Streamer's "
                f"{config.max_pulses} (use a coarser analog_time_step)",
                device=self.device_name,
            )


def _lane_of(node: Any) -> str | None:
    """The lane an analog channel follows directly or through a calibration, if any."""
    while isinstance(node, CalibratedMapping):
        node = node.input
    return node.lane if isinstance(node, LaneValues) else None
