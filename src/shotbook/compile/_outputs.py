"""Evaluating a channel's output graph into an instruction, for one shot."""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from shotbook.types import Dimension, Expression, Unit, UnitError, parse_unit

from ._configurations import (
    Advance,
    And,
    Broaden,
    CalibratedMapping,
    Constant,
    Delay,
    DeviceTrigger,
    LaneValues,
    Not,
    Or,
    Xor,
)
from ._context import TIME, ShotContext, same_dimension
from ._errors import ShotCompilationError
from ._instructions import (
    Concatenated,
    Instruction,
    InstructionError,
    LinearRamp,
    Pattern,
    Repeated,
    _constant_runs,
    _map_leaves,
    _new_pattern,
    _new_ramp,
    _read_only,
    concatenate,
    constant,
    map_values,
    pattern,
)
from ._runs import RunEncoder
from ._timing import seconds_to_ps, ticks_at

__all__ = ["ChannelGraph", "unit_of", "value_range"]


@functools.lru_cache(maxsize=512)
def _parse_unit(symbol: str) -> Unit:
    return parse_unit(symbol)


def unit_of(symbol: str | None) -> Unit:
    """The unit written ``symbol`` (``None``: dimensionless). Raises ``UnitError``."""
    if symbol is None or symbol == "":
        return Unit("", 1.0, Dimension.NONE)
    return _parse_unit(symbol)


def value_range(instruction: Instruction) -> tuple[float, float]:
    """The smallest and largest value of a float instruction (NaN if any value is NaN)."""
    kind = type(instruction)
    if kind is Repeated:
        return value_range(instruction.instruction)  # type: ignore[attr-defined]
    if kind is Pattern:
        values = instruction.values  # type: ignore[attr-defined]
        if len(values) == 1:
            value = float(values[0])
            return (value, value)
        if not len(values):
            return (math.inf, -math.inf)
        low, high = float(values.min()), float(values.max())
        if math.isnan(low) or math.isnan(high):
            return (math.nan, math.nan)
        return low, high
    if kind is LinearRamp:
        a = float(instruction.value_at(0))
        b = float(instruction.value_at(instruction.length - 1))
        return _ramp_range(a, b)
    if kind is Concatenated:
        low, high = math.inf, -math.inf
        for part in instruction.parts:  # type: ignore[attr-defined]
            part_low, part_high = value_range(part)
            if math.isnan(part_low):
                return (math.nan, math.nan)
            low = min(low, part_low)
            high = max(high, part_high)
        return low, high
    array = instruction.to_array()
    return float(array.min()), float(array.max())


def _single(value: float) -> Instruction:
    return _new_pattern(_read_only(np.array([value], dtype=np.float64)))


def _ramp(node: LinearRamp, scale: float, offset: float) -> Instruction:
    """``node`` mapped by ``value * scale + offset`` (still a ramp)."""
    start, stop = node.start * scale + offset, node.stop * scale + offset
    if node.dtype.kind != "f":  # not a plain float ramp: let the constructor check it
        return LinearRamp(start, stop, node.span, node.first, node.length)
    start_array = _read_only(np.array(start))
    return _new_ramp(
        start_array, _read_only(np.array(stop, dtype=start_array.dtype)), node.span, node.first,
        node.length,
    )  # fmt: skip


def affine(instruction: Instruction, scale: float, offset: float) -> Instruction:
    """``value * scale + offset`` at every tick; ramps stay ramps."""
    if scale == 1.0 and offset == 0.0:
        return instruction

    def leaf(node: Instruction) -> Instruction:
        if type(node) is Pattern and node.length == 1:
            return _single(float(node.values[0]) * scale + offset)
        if isinstance(node, LinearRamp):
            return _ramp(node, scale, offset)
        return pattern(node.to_array() * scale + offset)

    return _map_leaves(instruction, leaf)


def pointwise(
    instruction: Instruction, function: Callable[[np.ndarray], np.ndarray]
) -> Instruction:
    """``function`` applied to every value (ramps are expanded)."""

    def leaf(node: Instruction) -> Instruction:
        return pattern(np.asarray(function(node.to_array()), dtype=np.float64))

    return _map_leaves(instruction, leaf)


def to_si(unit: Unit, instruction: Instruction) -> Instruction:
    """Magnitudes in ``unit`` to SI."""
    if unit.logarithmic:
        return pointwise(instruction, unit.to_si)
    return affine(instruction, unit.scale, 0.0)


def from_si(unit: Unit, instruction: Instruction) -> Instruction:
    """SI magnitudes to ``unit``."""
    if unit.logarithmic:
        return pointwise(instruction, unit.from_si)
    return affine(instruction, 1.0 / unit.scale, 0.0)


def piecewise(instruction: Instruction, xs: np.ndarray, ys: np.ndarray) -> Instruction:
    """The piecewise-linear map through ``(xs, ys)``; a ramp inside one segment stays a ramp."""
    x_list, y_list = xs.tolist(), ys.tolist()  # float arithmetic: the same as numpy's float64

    def slope_of(segment: int) -> float:
        return (y_list[segment + 1] - y_list[segment]) / (x_list[segment + 1] - x_list[segment])

    def on_segment(node: Instruction, segment: int) -> Instruction:
        slope = slope_of(segment)
        return affine(node, slope, y_list[segment] - slope * x_list[segment])

    def segment_of(value: float) -> int:
        segment = bisect.bisect_right(x_list, value) - 1
        return min(max(segment, 0), len(x_list) - 2)

    def leaf(node: Instruction) -> Instruction:
        if type(node) is Pattern and node.length == 1:
            value = float(node.values[0])
            segment = segment_of(value)
            return _single(y_list[segment] + slope_of(segment) * (value - x_list[segment]))
        if not isinstance(node, LinearRamp) or node.length < 2:
            return pattern(np.interp(node.to_array(), xs, ys))
        return ramp(node)

    def ramp(node: LinearRamp) -> Instruction:
        start, stop = float(node.start), float(node.stop)
        first_value, last_value = float(node.value_at(0)), float(node.value_at(-1))
        low, high = _ramp_range(first_value, last_value)
        inside = [x for x in x_list[1:-1] if low < x < high]
        if not inside:  # one segment: the whole ramp, as the general case below gives it
            return on_segment(node, segment_of((first_value + last_value) / 2))
        # ticks where the line crosses a calibration point: each piece is on one segment
        cuts = sorted(
            {
                min(max(math.ceil((x - start) * node.span / (stop - start)) - node.first, 1),
                    node.length - 1)
                for x in inside
            }
        )  # fmt: skip
        bounds = [0, *cuts, node.length]
        pieces = []
        for first, last in itertools.pairwise(bounds):
            piece = node[first:last]
            middle = (float(piece.value_at(0)) + float(piece.value_at(-1))) / 2
            pieces.append(on_segment(piece, segment_of(middle)))
        return concatenate(*pieces)

    return _map_leaves(instruction, leaf)


def _ramp_range(a: float, b: float) -> tuple[float, float]:
    """:func:`value_range` of a ramp from its first and last values."""
    if math.isnan(a) or math.isnan(b):
        return (math.nan, math.nan)
    return (a, b) if a <= b else (b, a)


def shift(instruction: Instruction, ticks: int) -> Instruction:
    """Played ``ticks`` later (> 0, the start holds the first value) or earlier (< 0, the end
    holds the last value)."""
    length = instruction.length
    if ticks == 0 or length == 0:
        return instruction
    if abs(ticks) >= length:
        value = instruction.value_at(0 if ticks > 0 else -1)
        return constant(value, length, instruction.dtype)
    if ticks > 0:
        head = constant(instruction.value_at(0), ticks, instruction.dtype)
        return concatenate(head, instruction[: length - ticks])
    tail = constant(instruction.value_at(-1), -ticks, instruction.dtype)
    return concatenate(instruction[-ticks:], tail)


def broaden(instruction: Instruction, left: int, right: int) -> Instruction:
    """Each high period starts ``left`` ticks earlier and ends ``right`` ticks later."""
    length = instruction.length
    intervals: list[list[int]] = []
    position = 0
    runs = _constant_runs(instruction)
    segments = runs if runs is not None else instruction.to_segments()
    for count, value in segments:
        if value:
            start, stop = max(position - left, 0), min(position + count + right, length)
            if intervals and start <= intervals[-1][1]:
                intervals[-1][1] = max(intervals[-1][1], stop)
            else:
                intervals.append([start, stop])
        position += count
    encoder = RunEncoder(np.bool_)
    position = 0
    for start, stop in intervals:
        encoder.add_run(start - position, False)
        encoder.add_run(stop - start, True)
        position = stop
    encoder.add_run(length - position, False)
    return encoder.finish()


@functools.lru_cache(maxsize=256)
def _calibration(
    points: tuple[tuple[float, float], ...], x_scale: float | None, y_scale: float | None
) -> tuple[np.ndarray, np.ndarray]:
    xs = np.array([p[0] for p in points]) * (x_scale or 1.0)
    ys = np.array([p[1] for p in points]) * (y_scale or 1.0)
    return xs, ys


class ChannelGraph:
    """Evaluates the output graph of one channel on one device's clock, for one shot."""

    def __init__(self, context: ShotContext, time_step: int, channel: str) -> None:
        self.context = context
        self.time_step = time_step
        self.channel = channel
        self.length = context.number_ticks(time_step)

    def error(self, reason: str, **location: Any) -> ShotCompilationError:
        return self.context.error(reason, channel=self.channel, **location)

    # --- digital ---
    def digital(self, node: Any) -> Instruction:
        """A bool instruction for ``node``."""
        context = self.context
        if isinstance(node, LaneValues):
            if context.has_lane(node.lane):
                return context.digital_lane(node.lane, self.time_step)
            if node.default is None:
                raise self.error(
                    "the sequence has no lane for this channel and the channel has no default",
                    lane=node.lane,
                )
            return constant(self._bool(node.default), self.length, np.bool_)
        if isinstance(node, Constant):
            return constant(self._bool(node.value), self.length, np.bool_)
        if isinstance(node, DeviceTrigger):
            if node.device in context.device_configurations:
                return context.get_trigger(node.device, self.time_step)
            if node.default is None:
                raise self.error(
                    f"the channel outputs the trigger of device {node.device!r}, which the "
                    "sequence does not use, and has no default"
                )
            return constant(node.default, self.length, np.bool_)
        if isinstance(node, Not):
            return map_values(np.logical_not, self.digital(node.input), dtype=np.bool_)
        if isinstance(node, And | Or | Xor):
            function = {And: np.logical_and, Or: np.logical_or, Xor: np.logical_xor}[type(node)]
            return map_values(
                function, self.digital(node.left), self.digital(node.right), dtype=np.bool_
            )
        if isinstance(node, Advance | Delay):
            ticks = self._ticks(node.duration, type(node).__name__)
            return shift(self.digital(node.input), ticks if isinstance(node, Delay) else -ticks)
        if isinstance(node, Broaden):
            ticks = self._ticks(node.duration, "Broaden")
            left = ticks if node.side in ("both", "left") else 0
            right = ticks if node.side in ("both", "right") else 0
            try:
                return broaden(self.digital(node.input), left, right)
            except InstructionError as error:
                raise self.error(f"cannot broaden: {error}") from None
        raise self.error(f"{type(node).__name__} is not a digital output; it cannot be used here")

    def _bool(self, value: bool | float | Expression) -> bool:
        if isinstance(value, Expression):
            result = self.context.evaluate(value, channel=self.channel)
            if isinstance(result, bool | np.bool_):
                return bool(result)
        elif isinstance(value, bool):
            return value
        raise self.error(f"{value!r} is not a bool, a digital output needs one")

    def _ticks(self, duration: Expression, what: str) -> int:
        context = self.context
        dimension = context.dimension_of(duration, channel=self.channel)
        if not same_dimension(dimension, TIME):
            raise self.error(f"{what} duration '{duration}' is {dimension}, not a time")
        seconds = float(context.evaluate(duration, channel=self.channel))
        if not seconds >= 0:
            raise self.error(f"{what} duration '{duration}' is negative ({seconds:.6g} s)")
        return ticks_at(seconds_to_ps(seconds), self.time_step)

    # --- analog ---
    def analog(self, node: Any) -> tuple[Instruction, Dimension]:
        """A float instruction (SI magnitudes) for ``node``, and its dimension."""
        context = self.context
        if isinstance(node, LaneValues):
            if context.has_lane(node.lane):
                return context.analog_lane(node.lane, self.time_step)
            if node.default is None:
                raise self.error(
                    "the sequence has no lane for this channel and the channel has no default",
                    lane=node.lane,
                )
            return self._number(node.default)
        if isinstance(node, Constant):
            return self._number(node.value)
        if isinstance(node, CalibratedMapping):
            return self._calibrated(node)
        if isinstance(node, Advance | Delay):
            ticks = self._ticks(node.duration, type(node).__name__)
            values, dimension = self.analog(node.input)
            return shift(values, ticks if isinstance(node, Delay) else -ticks), dimension
        raise self.error(f"{type(node).__name__} is not an analog output; it cannot be used here")

    def _number(self, value: bool | float | Expression) -> tuple[Instruction, Dimension]:
        if isinstance(value, Expression):
            dimension = self.context.dimension_of(value, channel=self.channel)
            result = self.context.evaluate(value, channel=self.channel)
            if not isinstance(result, bool | np.bool_) and np.ndim(result) == 0:
                return constant(float(result), self.length, np.float64), dimension
        elif not isinstance(value, bool):
            return constant(float(value), self.length, np.float64), Dimension.NONE
        raise self.error(f"{value!r} is not a number, an analog output needs one")

    def unit(self, symbol: str | None, what: str) -> Unit:
        try:
            return unit_of(symbol)
        except UnitError as error:
            raise self.error(f"{what} {symbol!r}: {error}") from None

    def _calibrated(self, node: CalibratedMapping) -> tuple[Instruction, Dimension]:
        values, dimension = self.analog(node.input)
        input_unit = self.unit(node.input_unit, "calibration input unit")
        output_unit = self.unit(node.output_unit, "calibration output unit")
        if not same_dimension(dimension, input_unit.dimension):
            raise self.error(
                f"the calibration's input is in {node.input_unit or 'no unit'} "
                f"({input_unit.dimension}) but its input is {dimension}"
            )
        if input_unit.logarithmic or output_unit.logarithmic:
            x = from_si(input_unit, values)
            xs, ys = _calibration(node.points, None, None)
        else:  # work in SI: the units' scales are folded into the calibration points
            x = values
            xs, ys = _calibration(node.points, input_unit.scale, output_unit.scale)
        low, high = value_range(x)
        if math.isnan(low) or low < xs[0] or high > xs[-1]:
            bad = low if math.isnan(low) or low < xs[0] else high
            step = self._step_of(x, lambda a, b: np.isnan(a) or a < xs[0] or b > xs[-1])
            first, last = node.points[0][0], node.points[-1][0]
            shown = bad if x is not values else float(input_unit.from_si(bad))
            raise self.error(
                f"value {shown:.6g} {node.input_unit or ''} is outside the calibration range "
                f"[{first:.6g}, {last:.6g}] {node.input_unit or ''}".replace("  ", " "),
                step=step,
            )
        mapped = piecewise(x, xs, ys)
        if x is values:
            return mapped, output_unit.dimension
        return to_si(output_unit, mapped), output_unit.dimension

    def _step_of(self, values: Instruction, bad: Callable[[float, float], bool]) -> str | None:
        """The first step where ``bad(low, high)`` holds for the values' range."""
        for name, (first, stop) in zip(
            self.context.step_names, self.context.step_ticks(self.time_step), strict=True
        ):
            if stop > first and bad(*value_range(values[first:stop])):
                return name
        return None

    def analog_output(
        self, node: Any, unit_symbol: str | None, output_range: tuple[float, float]
    ) -> Instruction:
        """The channel's values in its output unit, checked against its range."""
        values, dimension = self.analog(node)
        unit = self.unit(unit_symbol, "output unit")
        if not same_dimension(dimension, unit.dimension):
            raise self.error(
                f"the output is {dimension} but the channel's output unit "
                f"{unit_symbol or '(none)'} is {unit.dimension}: convert it with a "
                "CalibratedMapping"
            )
        output = from_si(unit, values)
        low, high = value_range(output)
        lower, upper = output_range
        if math.isnan(low) or low < lower or high > upper:
            bad = low if math.isnan(low) or low < lower else high
            step = self._step_of(output, lambda a, b: np.isnan(a) or a < lower or b > upper)
            raise self.error(
                f"value {bad:.6g} {unit_symbol or ''} is outside the output range "
                f"[{lower:.6g}, {upper:.6g}] {unit_symbol or ''}".replace("  ", " ").strip(),
                step=step,
            )
        return output
