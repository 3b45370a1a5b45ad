"""The shot context: one shot's parameters, exact step times, and cached lane compilations."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    CompiledExpression,
    DigitalTimeLane,
    Dimension,
    Expression,
    ExpressionError,
    Ramp,
    ShotParameters,
    TakePicture,
    TimeLane,
    TimeLanes,
)

from ._errors import ShotCompilationError, describe_location
from ._instructions import Instruction, _new_ramp, concatenate, constant, empty, pattern
from ._runs import RunEncoder
from ._timing import PS_PER_SECOND, seconds_to_ps, ticks_at

__all__ = [
    "DeviceCompiler",
    "Picture",
    "ShotContext",
    "TriggerSource",
    "parameter_dimensions",
]

TIME = Dimension(time=1)
CHUNK_TICKS = 1 << 16
"""Time-dependent digital blocks are evaluated this many ticks at a time."""


@runtime_checkable
class DeviceCompiler(Protocol):
    """Turns a sequence's configuration of one device into what the device needs.

    A compiler is built once per sequence from ``(device_name, configuration)``;
    :meth:`compile_initialization_parameters` is called once, before the device opens, and
    :meth:`compile_shot_parameters` once per shot.
    """

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """What the device needs to open (keyword arguments of its constructor)."""
        ...

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """What the device needs to run one shot."""
        ...


@runtime_checkable
class TriggerSource(Protocol):
    """A compiler whose device can be started (or clocked) by another device's channel."""

    def compile_trigger(self, context: ShotContext, time_step: int) -> Instruction:
        """The digital signal the device needs, on a clock of ``time_step`` picoseconds, for
        the whole shot (``ceil(duration / time_step)`` ticks)."""
        ...


class Picture:
    """One picture of a camera lane: its name and exact start and stop (picoseconds)."""

    __slots__ = ("name", "start", "step", "stop")

    def __init__(self, name: str, start: int, stop: int, step: str) -> None:
        self.name = name
        self.start = start
        self.stop = stop
        self.step = step

    @property
    def exposure(self) -> float:
        """The exposure in seconds."""
        return (self.stop - self.start) / PS_PER_SECOND

    def __repr__(self) -> str:
        return f"Picture({self.name!r}, start={self.start}, stop={self.stop})"


_SAME_DIMENSION: dict[tuple[int, int], tuple[Dimension, Dimension, bool]] = {}


def same_dimension(a: Dimension, b: Dimension) -> bool:
    """``a == b``, cached by identity (dimensions are compared on every shot; the cache keeps
    the objects alive, so their ids stay theirs)."""
    if a is b:
        return True
    key = (id(a), id(b))
    found = _SAME_DIMENSION.get(key)
    if found is None:
        if len(_SAME_DIMENSION) > 4096:
            _SAME_DIMENSION.clear()
        found = _SAME_DIMENSION[key] = (a, b, a == b)
    return found[2]


def parameter_dimensions(parameters: ShotParameters) -> dict[str, Dimension]:
    """The dimension of each parameter, from its value and display unit."""
    units = parameters.units
    dimensions = {}
    for name, value in parameters.items():
        if isinstance(value, bool | np.bool_):
            dimensions[name] = Dimension.BOOL
        else:
            unit = units.get(name)
            dimensions[name] = unit.dimension if unit is not None else Dimension.NONE
    return dimensions


class SequenceData:
    """What every shot of a sequence shares: lanes, configurations, compilers and compiled
    expressions (rebuilt when the parameters' dimensions change)."""

    def __init__(
        self,
        time_lanes: TimeLanes,
        configurations: Mapping[str, Any],
        compilers: Mapping[str, Any],
    ) -> None:
        self.time_lanes = time_lanes
        self.configurations = configurations
        self.compilers = compilers
        self._dimensions: dict[str, Dimension] | None = None
        self._compiled: dict[Expression, CompiledExpression] = {}
        self.lane_dimensions: dict[str, Dimension] = {}
        self.parameters_key: Any = None
        self.parameters_units: Any = None
        self._lane_blocks: dict[str, tuple[Any, Any, list[tuple[Any, str, int, int]]]] = {}
        self._trigger_sources: dict[str, tuple[Any, bool]] = {}

    def lane_blocks(self, name: str, lane: TimeLane[Any]) -> list[tuple[Any, str, int, int]]:
        """``(value, step name, first step, stop step)`` per block of ``lane`` (cached while
        the lane called ``name`` is this lane object: lanes are immutable)."""
        cached = self._lane_blocks.get(name)
        if cached is None or cached[0] is not lane or cached[1] is not self.time_lanes:
            names = self.time_lanes.step_names
            blocks = [
                (value, names[first], first, stop)
                for (value, _), (first, stop) in zip(lane.blocks, lane.block_bounds(), strict=True)
            ]
            cached = self._lane_blocks[name] = (lane, self.time_lanes, blocks)
        return cached[2]

    def is_trigger_source(self, name: str, compiler: Any) -> bool:
        """``isinstance(compiler, TriggerSource)``, cached per device while its compiler is
        the same object (a protocol check is slow)."""
        cached = self._trigger_sources.get(name)
        if cached is None or cached[0] is not compiler:
            cached = self._trigger_sources[name] = (compiler, isinstance(compiler, TriggerSource))
        return cached[1]

    def use_dimensions(self, dimensions: dict[str, Dimension]) -> None:
        if dimensions != self._dimensions:
            self._dimensions = dimensions
            self._compiled = {}
            self.lane_dimensions = {}

    def compiled(self, expression: Expression) -> CompiledExpression:
        compiled = self._compiled.get(expression)
        if compiled is None:
            compiled = expression.compile(self._dimensions or {})
            self._compiled[expression] = compiled
        return compiled


class ShotContext:
    """One shot being compiled, as seen by the compiler of one device.

    It evaluates each step duration and each lane once per shot (cached: two devices on the
    same clock share a lane's instruction), tracks which lanes were used, and lets a compiler
    ask another device for its trigger with :meth:`get_trigger`. Times are integer
    picoseconds: step ``k`` runs from ``step_starts[k]`` to ``step_starts[k + 1]``.

    Lanes on a clock of ``dt``: a block covers ticks ``ceil(start / dt)`` to
    ``ceil(stop / dt)`` (excluded). Time-dependent blocks see ``t`` = seconds since the block's
    start at each tick (digital blocks half a picosecond later, below the time resolution, so
    that an edge falling exactly on a tick is resolved the same way in every period). A ramp
    goes linearly in time from the previous block's value at its end to the next block's
    value at its start. Analog values are SI magnitudes until a channel converts them.
    """

    def __init__(self, state: _ShotState, device_name: str | None) -> None:
        self._state = state
        self.device_name = device_name

    # --- facts ---
    @property
    def parameters(self) -> ShotParameters:
        """The shot's parameters (SI magnitudes)."""
        return self._state.parameters

    @property
    def time_lanes(self) -> TimeLanes:
        """The sequence's lanes."""
        return self._state.sequence.time_lanes

    @property
    def device_configurations(self) -> Mapping[str, Any]:
        """Every device configuration of the sequence, by device name."""
        return self._state.sequence.configurations

    @property
    def step_names(self) -> tuple[str, ...]:
        """The names of the steps."""
        return self._state.sequence.time_lanes.step_names

    @property
    def step_starts(self) -> tuple[int, ...]:
        """Start of each step and end of the shot, in picoseconds (``len(steps) + 1`` values)."""
        return self._state.starts

    @property
    def duration(self) -> int:
        """The shot's duration in picoseconds."""
        return self._state.starts[-1]

    def number_ticks(self, time_step: int) -> int:
        """How many ticks of ``time_step`` the shot lasts: ``ceil(duration / time_step)``."""
        return ticks_at(self._state.starts[-1], time_step)

    def step_ticks(self, time_step: int) -> list[tuple[int, int]]:
        """The ``[first, stop)`` ticks of each step on a clock of ``time_step``."""
        ticks = [ticks_at(start, time_step) for start in self._state.starts]
        return list(itertools.pairwise(ticks))

    def step_at_tick(self, tick: int, time_step: int) -> str:
        """The name of the step playing at ``tick``."""
        for name, (first, stop) in zip(self.step_names, self.step_ticks(time_step), strict=True):
            if first <= tick < stop:
                return name
        return self.step_names[-1]

    @property
    def used_lanes(self) -> frozenset[str]:
        """The lanes used so far in this shot."""
        return frozenset(self._state.used)

    def for_device(self, device_name: str) -> ShotContext:
        """The same shot, seen by another device's compiler."""
        return ShotContext(self._state, device_name)

    # --- errors and expressions ---
    def error(self, reason: str, **location: Any) -> ShotCompilationError:
        """A :class:`ShotCompilationError` located at this device and holding the parameters."""
        location.setdefault("device", self.device_name)
        location.setdefault("parameters", self._state.parameters)
        return ShotCompilationError(reason, **location)

    def evaluate(self, expression: Expression, t: np.ndarray | None = None, **location: Any) -> Any:
        """Evaluate ``expression`` with the shot's parameters (and ``t`` in seconds, if given).

        An expression error becomes a :class:`ShotCompilationError` at ``location`` (lane,
        step, channel...), chained to the located expression error.
        """
        state = self._state
        try:
            compiled = state.sequence.compiled(expression)
            if t is None:
                return compiled(state.values)
            values = dict(state.values)
            values["t"] = t
            return compiled(values)
        except ExpressionError as error:
            where = describe_location(device=self.device_name, **location)
            located = error.located(where) if where else error
            raise self.error(error.message, expression=expression.text, **location) from located

    def dimension_of(self, expression: Expression, **location: Any) -> Dimension:
        """The dimension of ``expression`` given the parameters' dimensions."""
        try:
            return self._state.sequence.compiled(expression).dimension
        except ExpressionError as error:
            raise self.error(error.message, expression=expression.text, **location) from error

    # --- lanes ---
    def lane(self, name: str) -> TimeLane[Any]:
        """The lane called ``name`` (marked as used)."""
        try:
            lane = self.time_lanes.lanes[name]
        except KeyError:
            raise self.error(
                f"no lane named {name!r}; lanes are {', '.join(self.time_lanes.lanes) or 'none'}",
                lane=name,
            ) from None
        self._state.used.add(name)
        return lane

    def has_lane(self, name: str) -> bool:
        """Whether the sequence has a lane called ``name``."""
        return name in self.time_lanes.lanes

    def digital_lane(self, name: str, time_step: int) -> Instruction:
        """The digital lane ``name`` on a clock of ``time_step`` picoseconds (bool values)."""
        key = (name, time_step)
        cached = self._state.lanes.get(key)
        if cached is None:
            lane = self.lane(name)
            if not isinstance(lane, DigitalTimeLane):
                raise self.error(
                    f"a digital output needs a digital lane, but this is a {lane.kind} lane",
                    lane=name,
                )
            cached = self._compile_digital(name, lane, time_step)
            self._state.lanes[key] = cached
        else:
            self._state.used.add(name)
        return cached

    def analog_lane(self, name: str, time_step: int) -> tuple[Instruction, Dimension]:
        """The analog lane ``name`` on a clock of ``time_step`` picoseconds: SI magnitudes
        (float64) and the lane's dimension."""
        key = (name, time_step)
        cached = self._state.lanes.get(key)
        if cached is None:
            lane = self.lane(name)
            if not isinstance(lane, AnalogTimeLane):
                raise self.error(
                    f"an analog output needs an analog lane, but this is a {lane.kind} lane",
                    lane=name,
                )
            cached = self._compile_analog(name, lane, time_step)
            self._state.lanes[key] = cached
        else:
            self._state.used.add(name)
        return cached, self.analog_lane_dimension(name)

    def analog_lane_dimension(self, name: str) -> Dimension:
        """The dimension shared by every block of the analog lane ``name``."""
        dimensions = self._state.sequence.lane_dimensions
        dimension = dimensions.get(name)
        if dimension is not None:
            return dimension
        lane = self.time_lanes.lanes[name]
        first: tuple[str, Dimension] | None = None
        for (value, _), (start, _) in zip(lane.blocks, lane.block_bounds(), strict=True):
            if isinstance(value, Ramp):
                continue
            step = self.step_names[start]
            found = self.dimension_of(value, lane=name, step=step)
            if found.is_boolean:
                raise self.error(
                    f"'{value}' is a bool; an analog lane needs numbers", lane=name, step=step
                )
            if first is None:
                first = (step, found)
            elif found != first[1]:
                raise self.error(
                    f"step {first[0]!r} is {first[1]} but '{value}' is {found}: the blocks of "
                    "a lane share one dimension",
                    lane=name,
                    step=step,
                )
        dimension = first[1] if first is not None else Dimension.NONE
        dimensions[name] = dimension
        return dimension

    def camera_pictures(self, name: str) -> list[Picture]:
        """The pictures of the camera lane ``name`` with their exact times (marks it used)."""
        lane = self.lane(name)
        if not isinstance(lane, CameraTimeLane):
            raise self.error(
                f"a camera needs a camera lane named like it, but this is a {lane.kind} lane",
                lane=name,
            )
        starts = self._state.starts
        pictures = []
        for (value, _), (first, stop) in zip(lane.blocks, lane.block_bounds(), strict=True):
            if isinstance(value, TakePicture):
                pictures.append(
                    Picture(value.picture, starts[first], starts[stop], self.step_names[first])
                )
        return pictures

    def get_trigger(self, device_name: str, time_step: int | None = None) -> Instruction:
        """The trigger signal device ``device_name`` needs, on a clock of ``time_step``
        picoseconds (default: the asking device's ``time_step``), for the whole shot."""
        if time_step is None:
            configuration = self.device_configurations.get(self.device_name or "")
            time_step = getattr(configuration, "time_step", None)
            if not isinstance(time_step, int):
                raise self.error(
                    f"asking for the trigger of {device_name!r} needs a time step: pass "
                    "time_step to get_trigger"
                )
        key = (device_name, time_step)
        cached = self._state.triggers.get(key)
        if cached is not None:
            return cached
        compiler = self._state.sequence.compilers.get(device_name)
        if compiler is None:
            raise self.error(
                f"a channel needs the trigger of device {device_name!r}, which is not in the "
                f"sequence (devices: {', '.join(self._state.sequence.compilers) or 'none'})"
            )
        if not self._state.sequence.is_trigger_source(device_name, compiler):
            raise self.error(f"device {device_name!r} has no trigger signal to compute")
        if device_name in self._state.trigger_stack:
            chain = " -> ".join([*self._state.trigger_stack, device_name])
            raise self.error(f"devices trigger each other in a loop: {chain}")
        self._state.trigger_stack.append(device_name)
        try:
            trigger = compiler.compile_trigger(self.for_device(device_name), time_step)
        finally:
            self._state.trigger_stack.pop()
        expected = self.number_ticks(time_step)
        if trigger.length != expected or trigger.dtype != np.bool_:
            raise self.error(
                f"the trigger of {device_name!r} has {trigger.length} ticks of {trigger.dtype}, "
                f"expected {expected} bool ticks"
            )
        self._state.triggers[key] = trigger
        return trigger

    # --- lane compilation ---
    def _blocks(
        self, name: str, lane: TimeLane[Any], time_step: int
    ) -> list[tuple[Any, str, int, int, int, int]]:
        """``(value, step name, start ps, stop ps, first tick, stop tick)`` per block (ticks:
        :func:`ticks_at`, inlined)."""
        starts = self._state.starts
        out = []
        for value, step, first, stop in self._state.sequence.lane_blocks(name, lane):
            t0, t1 = starts[first], starts[stop]
            out.append((value, step, t0, t1, -(-t0 // time_step), -(-t1 // time_step)))
        return out

    def _compile_digital(self, name: str, lane: DigitalTimeLane, time_step: int) -> Instruction:
        pieces = []
        for value, step, t0, _, first, stop in self._blocks(name, lane, time_step):
            if isinstance(value, bool):
                pieces.append(constant(value, stop - first, np.bool_))
                continue
            if not value.uses_time:
                result = self.evaluate(value, lane=name, step=step)
                pieces.append(
                    constant(self._as_bool(result, value, name, step), stop - first, np.bool_)
                )
                continue
            encoder = RunEncoder(np.bool_)
            for chunk in range(first, stop, CHUNK_TICKS):
                ticks = np.arange(chunk, min(chunk + CHUNK_TICKS, stop), dtype=np.int64)
                # half a picosecond after each tick (below the time resolution): an edge that
                # falls exactly on a tick is resolved the same way in every period, whatever
                # the float rounding of t (a right-continuous square wave stays periodic)
                t = (2 * (ticks * time_step - t0) + 1) / (2 * PS_PER_SECOND)
                result = self.evaluate(value, t, lane=name, step=step)
                array = np.broadcast_to(np.asarray(result), t.shape)
                if array.dtype != np.bool_:
                    self._as_bool(result, value, name, step)
                encoder.add_values(array)
            pieces.append(encoder.finish())
        return concatenate(*pieces) if pieces else empty(np.bool_)

    def _as_bool(self, result: Any, value: Expression, lane: str, step: str) -> bool:
        if isinstance(result, bool | np.bool_):
            return bool(result)
        raise self.error(
            f"'{value}' gives {result!r}, but a digital lane needs a bool (a comparison, "
            "Enabled/Disabled, square_wave(...))",
            lane=lane,
            step=step,
            expression=value.text,
        )

    def _analog_value(self, value: Expression, lane: str, step: str, t: np.ndarray | None) -> Any:
        result = self.evaluate(value, t, lane=lane, step=step)
        if t is None and type(result) is float and math.isfinite(result):
            return result
        array = np.asarray(result)
        if array.dtype == np.bool_ or array.dtype.kind not in "fiu":
            raise self.error(
                f"'{value}' gives {result!r}, but an analog lane needs numbers",
                lane=lane,
                step=step,
                expression=value.text,
            )
        if not np.all(np.isfinite(array)):
            raise self.error(
                f"'{value}' is not finite ({result!r})", lane=lane, step=step, expression=value.text
            )
        if t is not None:
            return np.broadcast_to(array.astype(np.float64), t.shape)
        return float(result)

    def _compile_analog(self, name: str, lane: AnalogTimeLane, time_step: int) -> Instruction:
        blocks = self._blocks(name, lane, time_step)
        known: dict[int, float] = {}  # values of the blocks without t, each evaluated once
        pieces: list[Instruction] = []
        for index, (value, step, t0, t1, first, stop) in enumerate(blocks):
            count = stop - first
            if isinstance(value, Ramp):
                if count == 0:
                    continue
                previous, previous_step, p0, p1, _, _ = blocks[index - 1]
                following, next_step, _, _, _, _ = blocks[index + 1]
                begin = known.get(index - 1)
                if begin is None:
                    begin = self._edge_value(previous, name, previous_step, (p1 - p0))
                end = self._edge_value(following, name, next_step, 0)
                if not following.uses_time:
                    known[index + 1] = end
                span = t1 - t0
                start_value = begin + (end - begin) * ((first * time_step - t0) / span)
                stop_value = begin + (end - begin) * ((stop * time_step - t0) / span)
                pieces.append(_ramp_piece(start_value, stop_value, count))
            elif not value.uses_time:
                result = known.get(index)
                if result is None:
                    result = known[index] = self._analog_value(value, name, step, None)
                pieces.append(constant(result, count, np.float64))
            else:
                for chunk in range(first, stop, 1 << 20):
                    ticks = np.arange(chunk, min(chunk + (1 << 20), stop), dtype=np.int64)
                    t = (ticks * time_step - t0) / PS_PER_SECOND
                    pieces.append(pattern(self._analog_value(value, name, step, t)))
        return concatenate(*pieces) if pieces else empty(np.float64)

    def _edge_value(self, value: Expression, lane: str, step: str, at_ps: int) -> float:
        """A block's value ``at_ps`` after its start (for ramps joining it)."""
        if not value.uses_time:
            return float(self._analog_value(value, lane, step, None))
        t = np.array([at_ps / PS_PER_SECOND])
        return float(self._analog_value(value, lane, step, t)[0])


def _ramp_piece(start: float, stop: float, count: int) -> Instruction:
    """``count`` (>= 1) float64 ticks from ``start`` towards ``stop``, a constant if equal."""
    if start == stop:
        return constant(start, count, np.float64)
    start_array = np.array(start, dtype=np.float64)
    stop_array = np.array(stop, dtype=np.float64)
    start_array.flags.writeable = stop_array.flags.writeable = False
    return _new_ramp(start_array, stop_array, count, 0, count)


class _ShotState:
    """The caches of one shot, shared by every device's context."""

    def __init__(
        self, sequence: SequenceData, parameters: ShotParameters, values: dict[str, Any]
    ) -> None:
        self.sequence = sequence
        self.parameters = parameters
        self.values = values
        self.used: set[str] = set()
        self.lanes: dict[tuple[str, int], Any] = {}
        self.triggers: dict[tuple[str, int], Instruction] = {}
        self.trigger_stack: list[str] = []
        self.starts = self._step_starts()

    def _step_starts(self) -> tuple[int, ...]:
        context = ShotContext(self, None)
        lanes = self.sequence.time_lanes
        starts = [0]
        for name, duration in zip(lanes.step_names, lanes.step_durations, strict=True):
            dimension = context.dimension_of(duration, step=name)
            if not same_dimension(dimension, TIME):
                raise context.error(
                    f"the duration '{duration}' is {dimension}, not a time",
                    step=name,
                    expression=duration.text,
                )
            seconds = context.evaluate(duration, step=name)
            try:
                ps = seconds_to_ps(float(seconds))
            except ValueError as error:
                raise context.error(str(error), step=name, expression=duration.text) from None
            if ps < 0:
                raise context.error(
                    f"the duration '{duration}' is negative ({seconds:.6g} s)",
                    step=name,
                    expression=duration.text,
                )
            starts.append(starts[-1] + ps)
        return tuple(starts)


def new_shot_context(sequence: SequenceData, parameters: ShotParameters) -> ShotContext:
    """A context for one shot (evaluates the step durations)."""
    values = dict(parameters)
    key = (tuple(values), tuple(map(type, values.values())))
    # the units mapping is held (not only its id), so identity means the same units
    if parameters.units is not sequence.parameters_units or key != sequence.parameters_key:
        sequence.use_dimensions(parameter_dimensions(parameters))
        sequence.parameters_key = key
        sequence.parameters_units = parameters.units
    return ShotContext(_ShotState(sequence, parameters, values), None)
