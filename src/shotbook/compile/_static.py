"""Checks that need no shot values: names, dimensions, lane use, ranges of constants."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shotbook.types import (
    AnalogTimeLane,
    CompiledExpression,
    DigitalTimeLane,
    Dimension,
    Expression,
    ExpressionError,
    Ramp,
    TimeLanes,
    UnitError,
)

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
    SequencerConfiguration,
    SoftwareTrigger,
    Xor,
)
from ._context import TIME
from ._errors import ShotCompilationError
from ._outputs import unit_of

__all__ = ["SequenceCheckContext"]

_Values = list[tuple[float, str | None]]
"""Values known before the shot, with the step they play in (``None``: the whole shot)."""


class SequenceCheckContext:
    """What a compiler's static check sees: lanes, parameter dimensions, other devices.

    Problems are collected with :meth:`report` (never raised), so that one check reports them
    all. Lanes a device uses are marked with :meth:`use_lane`.
    """

    def __init__(
        self,
        time_lanes: TimeLanes,
        dimensions: Mapping[str, Dimension],
        device_configurations: Mapping[str, Any],
    ) -> None:
        self.time_lanes = time_lanes
        self.dimensions = dimensions
        self.device_configurations = device_configurations
        self.errors: list[Exception] = []
        self.used_lanes: set[str] = set()
        self.lane_dimensions: dict[str, Dimension | None] = {}

    def report(self, reason: str, **location: Any) -> None:
        """Record a problem at ``location`` (device, channel, lane, step, expression)."""
        self.errors.append(ShotCompilationError(reason, **location))

    def compile(self, expression: Expression, **location: Any) -> CompiledExpression | None:
        """``expression`` compiled with the parameters' dimensions, or ``None`` (reported)."""
        try:
            return expression.compile(self.dimensions)
        except ExpressionError as error:
            self.report(error.message, expression=expression.text, **location)
            return None

    def use_lane(self, name: str) -> None:
        """Mark the lane ``name`` as used by a device."""
        self.used_lanes.add(name)

    def constant_value(self, expression: Expression) -> Any | None:
        """The value of an expression with no parameter and no ``t``, else ``None``."""
        if not expression.is_constant:
            return None
        try:
            return expression.compile()({})
        except ExpressionError:
            return None

    # --- lanes ---
    def check_lanes(self) -> None:
        """Check every lane's expressions (digital: bools, analog: one dimension)."""
        for name, lane in self.time_lanes.lanes.items():
            if isinstance(lane, DigitalTimeLane):
                self._check_digital_lane(name, lane)
            elif isinstance(lane, AnalogTimeLane):
                self.lane_dimensions[name] = self._check_analog_lane(name, lane)

    def _blocks(self, lane: Any) -> list[tuple[Any, str]]:
        names = self.time_lanes.step_names
        return [
            (value, names[first])
            for (value, _), (first, _) in zip(lane.blocks, lane.block_bounds(), strict=True)
        ]

    def _check_digital_lane(self, name: str, lane: DigitalTimeLane) -> None:
        for value, step in self._blocks(lane):
            if isinstance(value, Expression):
                compiled = self.compile(value, lane=name, step=step)
                if compiled is not None and not compiled.dimension.is_boolean:
                    self.report(
                        f"'{value}' is {compiled.dimension}, but a digital lane needs a bool "
                        "(a comparison, Enabled/Disabled, square_wave(...))",
                        lane=name,
                        step=step,
                        expression=value.text,
                    )

    def _check_analog_lane(self, name: str, lane: AnalogTimeLane) -> Dimension | None:
        first: tuple[str, Dimension] | None = None
        for value, step in self._blocks(lane):
            if isinstance(value, Ramp):
                continue
            compiled = self.compile(value, lane=name, step=step)
            if compiled is None:
                return None
            dimension = compiled.dimension
            if dimension.is_boolean:
                self.report(
                    f"'{value}' is a bool, but an analog lane needs numbers",
                    lane=name,
                    step=step,
                    expression=value.text,
                )
                return None
            if first is None:
                first = (step, dimension)
            elif dimension != first[1]:
                self.report(
                    f"step {first[0]!r} is {first[1]} but '{value}' is {dimension}: the blocks "
                    "of a lane share one dimension",
                    lane=name,
                    step=step,
                    expression=value.text,
                )
                return None
        return first[1] if first is not None else Dimension.NONE

    def lane_constants(self, name: str) -> _Values:
        """The values of an analog lane's blocks that need no parameter, with their step."""
        out: _Values = []
        for value, step in self._blocks(self.time_lanes.lanes[name]):
            if isinstance(value, Expression):
                result = self.constant_value(value)
                if isinstance(result, int | float) and not isinstance(result, bool):
                    out.append((float(result), step))
        return out

    # --- output graphs ---
    def check_duration(self, duration: Expression, what: str, **location: Any) -> None:
        """A shift or broadening duration must be a time."""
        compiled = self.compile(duration, **location)
        if compiled is not None and compiled.dimension != TIME:
            self.report(
                f"{what} duration '{duration}' is {compiled.dimension}, not a time",
                expression=duration.text,
                **location,
            )

    def check_digital_node(self, node: Any, device: str, **location: Any) -> None:
        """Check the graph of a digital channel of ``device``."""
        where = {"device": device, **location}
        if isinstance(node, LaneValues):
            lane = self.time_lanes.lanes.get(node.lane)
            if lane is not None:
                self.use_lane(node.lane)
                if not isinstance(lane, DigitalTimeLane):
                    self.report(
                        f"a digital channel needs a digital lane, but this is a {lane.kind} lane",
                        lane=node.lane,
                        **where,
                    )
            elif node.default is None:
                self.report(
                    "the sequence has no such lane and the channel has no default",
                    lane=node.lane,
                    **where,
                )
            elif isinstance(node.default, Expression):
                self._check_bool(node.default, where)
            elif not isinstance(node.default, bool):
                self.report(f"default {node.default!r} is not a bool", **where)
        elif isinstance(node, Constant):
            if isinstance(node.value, Expression):
                self._check_bool(node.value, where)
            elif not isinstance(node.value, bool):
                self.report(f"constant {node.value!r} is not a bool", **where)
        elif isinstance(node, DeviceTrigger):
            target = self.device_configurations.get(node.device)
            if target is None and node.default is None:
                known = ", ".join(self.device_configurations) or "none"
                self.report(
                    f"the channel outputs the trigger of unknown device {node.device!r} "
                    f"(devices: {known}); give a default or add the device",
                    **where,
                )
            elif node.device == device:
                self.report("a device cannot trigger itself", **where)
            elif isinstance(target, SequencerConfiguration) and isinstance(
                target.trigger, SoftwareTrigger
            ):
                self.report(
                    f"device {node.device!r} starts by software (SoftwareTrigger), it takes "
                    "no trigger signal: give it ExternalTriggerStart or ExternalClock",
                    **where,
                )
        elif isinstance(node, Not):
            self.check_digital_node(node.input, device, **location)
        elif isinstance(node, And | Or | Xor):
            self.check_digital_node(node.left, device, **location)
            self.check_digital_node(node.right, device, **location)
        elif isinstance(node, Advance | Delay | Broaden):
            self.check_duration(node.duration, type(node).__name__, **where)
            self.check_digital_node(node.input, device, **location)
        else:
            self.report(f"{type(node).__name__} is not a digital output", **where)

    def _check_bool(self, expression: Expression, where: dict[str, Any]) -> None:
        compiled = self.compile(expression, **where)
        if compiled is not None and not compiled.dimension.is_boolean:
            self.report(
                f"'{expression}' is {compiled.dimension}, not a bool",
                expression=expression.text,
                **where,
            )

    def check_analog_node(
        self, node: Any, device: str, **location: Any
    ) -> tuple[Dimension | None, _Values]:
        """Check the graph of an analog channel: its dimension (``None`` if unknown after an
        error) and the values known before the shot (SI), with their steps."""
        where = {"device": device, **location}
        if isinstance(node, LaneValues):
            lane = self.time_lanes.lanes.get(node.lane)
            if lane is not None:
                self.use_lane(node.lane)
                if not isinstance(lane, AnalogTimeLane):
                    self.report(
                        f"an analog channel needs an analog lane, but this is a {lane.kind} lane",
                        lane=node.lane,
                        **where,
                    )
                    return None, []
                return self.lane_dimensions.get(node.lane), self.lane_constants(node.lane)
            if node.default is None:
                self.report(
                    "the sequence has no such lane and the channel has no default",
                    lane=node.lane,
                    **where,
                )
                return None, []
            return self._number(node.default, where)
        if isinstance(node, Constant):
            return self._number(node.value, where)
        if isinstance(node, CalibratedMapping):
            return self._check_calibration(node, device, where, location)
        if isinstance(node, Advance | Delay):
            self.check_duration(node.duration, type(node).__name__, **where)
            return self.check_analog_node(node.input, device, **location)
        self.report(f"{type(node).__name__} is not an analog output", **where)
        return None, []

    def _number(self, value: Any, where: dict[str, Any]) -> tuple[Dimension | None, _Values]:
        if isinstance(value, bool):
            self.report(f"{value!r} is a bool, an analog output needs a number", **where)
            return None, []
        if isinstance(value, float):
            constants: _Values = [(value, None)]
            return Dimension.NONE, constants
        compiled = self.compile(value, **where)
        if compiled is None:
            return None, []
        if compiled.dimension.is_boolean:
            self.report(f"'{value}' is a bool, an analog output needs a number", **where)
            return None, []
        result = self.constant_value(value)
        known: _Values = [(float(result), None)] if isinstance(result, float | int) else []
        return compiled.dimension, known

    def unit(self, symbol: str | None, what: str, where: dict[str, Any]) -> Any | None:
        """The unit ``symbol``, or ``None`` (reported) if it is not a unit."""
        try:
            return unit_of(symbol)
        except UnitError as error:
            self.report(f"{what} {symbol!r}: {error}", **where)
            return None

    def _check_calibration(
        self,
        node: CalibratedMapping,
        device: str,
        where: dict[str, Any],
        location: dict[str, Any],
    ) -> tuple[Dimension | None, _Values]:
        dimension, values = self.check_analog_node(node.input, device, **location)
        input_unit = self.unit(node.input_unit, "calibration input unit", where)
        output_unit = self.unit(node.output_unit, "calibration output unit", where)
        if input_unit is None or output_unit is None:
            return None, []
        if dimension is not None and dimension != input_unit.dimension:
            self.report(
                f"the calibration's input is in {node.input_unit or 'no unit'} "
                f"({input_unit.dimension}) but its input is {dimension}",
                **where,
            )
            return None, []
        xs = np.array([p[0] for p in node.points])
        ys = np.array([p[1] for p in node.points])
        mapped: _Values = []
        for value, step in values:
            x = float(input_unit.from_si(value))
            if not xs[0] <= x <= xs[-1]:
                self.report(
                    f"value {x:.6g} {node.input_unit or ''} is outside the calibration range "
                    f"[{xs[0]:.6g}, {xs[-1]:.6g}] {node.input_unit or ''}".replace("  ", " "),
                    step=step,
                    **where,
                )
                continue
            mapped.append((float(output_unit.to_si(float(np.interp(x, xs, ys)))), step))
        return output_unit.dimension, mapped

    def check_analog_channel(
        self,
        node: Any,
        unit_symbol: str | None,
        output_range: tuple[float, float],
        device: str,
        channel: str,
    ) -> None:
        """Check an analog channel: dimension against its unit, constant values in range."""
        where = {"device": device, "channel": channel}
        dimension, values = self.check_analog_node(node, device, channel=channel)
        unit = self.unit(unit_symbol, "output unit", where)
        if unit is None or dimension is None:
            return
        if dimension != unit.dimension:
            self.report(
                f"the output is {dimension} but the channel's output unit "
                f"{unit_symbol or '(none)'} is {unit.dimension}: convert it with a "
                "CalibratedMapping",
                **where,
            )
            return
        low, high = output_range
        for value, step in values:
            shown = float(unit.from_si(value))
            if not low <= shown <= high:
                self.report(
                    f"value {shown:.6g} {unit_symbol or ''} is outside the output range "
                    f"[{low:.6g}, {high:.6g}] {unit_symbol or ''}".replace("  ", " ").strip(),
                    step=step,
                    **where,
                )
