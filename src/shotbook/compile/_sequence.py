"""Compiling a sequence shot by shot, and checking it before it runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shotbook.types import (
    Dimension,
    ExpressionError,
    IterationError,
    ParameterNamespace,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
)

from ._context import TIME, SequenceData, ShotContext, new_shot_context
from ._devices import CompilerFactory, default_compilers, find_compiler_factory
from ._errors import SequenceCheckError, ShotCompilationError
from ._reserved import known_data_columns, reserved_name_problems
from ._static import SequenceCheckContext

__all__ = ["SequenceCompiler", "check_sequence", "find_sequence_problems"]


def _factories(compilers: Mapping[type, CompilerFactory] | None) -> dict[type, CompilerFactory]:
    factories = default_compilers()
    factories.update(compilers or {})
    return factories


class SequenceCompiler:
    """Compiles the shots of one sequence into each device's shot parameters.

    ``compilers`` maps configuration types to compiler factories
    ``(device_name, configuration) -> DeviceCompiler``; it is added to the built-in ones
    (sequencers and cameras), so extensions bring their own devices.

    >>> from shotbook.types import DigitalTimeLane, ShotParameters
    >>> from shotbook.compile import (DigitalChannelConfiguration, LaneValues,
    ...                               SequencerConfiguration)
    >>> lanes = TimeLanes(["load", "drop"], ["10 us", "5 us"],
    ...                   {"coils": DigitalTimeLane([True, False])})
    >>> sequencer = SequencerConfiguration(
    ...     time_step=1_000_000, channels=(DigitalChannelConfiguration("c", LaneValues("coils")),))
    >>> shot = SequenceCompiler(lanes, {"seq": sequencer}).compile_shot(ShotParameters({}, {}))
    >>> shot["seq"]["sequence"].field("c").to_segments()
    [(10, True), (5, False)]
    """

    def __init__(
        self,
        time_lanes: TimeLanes,
        device_configurations: Mapping[str, Any],
        compilers: Mapping[type, CompilerFactory] | None = None,
    ) -> None:
        factories = _factories(compilers)
        self.time_lanes = time_lanes
        self.device_configurations = dict(device_configurations)
        self.compilers: dict[str, Any] = {
            name: find_compiler_factory(configuration, factories, name)(name, configuration)
            for name, configuration in self.device_configurations.items()
        }
        self._sequence = SequenceData(time_lanes, self.device_configurations, self.compilers)

    def compile_initialization_parameters(self) -> dict[str, Mapping[str, Any]]:
        """Each device's initialization parameters, once per sequence."""
        return {
            name: compiler.compile_initialization_parameters()
            for name, compiler in self.compilers.items()
        }

    def context(self, parameters: ShotParameters) -> ShotContext:
        """A fresh context for one shot (evaluates its step durations)."""
        return new_shot_context(self._sequence, parameters)

    def compile_shot(
        self, parameters: ShotParameters, *, check_lane_use: bool = True
    ) -> dict[str, Mapping[str, Any]]:
        """Each device's shot parameters for the shot with ``parameters``.

        Raises :class:`ShotCompilationError` naming the device, channel, lane and step at
        fault, with the shot's parameters; and, with ``check_lane_use``, when a lane is used by
        no device.
        """
        context = new_shot_context(self._sequence, parameters)
        results: dict[str, Mapping[str, Any]] = {}
        for name, compiler in self.compilers.items():
            device_context = context.for_device(name)
            try:
                results[name] = compiler.compile_shot_parameters(device_context)
            except ShotCompilationError:
                raise
            except ExpressionError as error:
                raise device_context.error(error.message) from error.located(f"device {name!r}")
        if check_lane_use:
            unused = [lane for lane in self.time_lanes.lanes if lane not in context.used_lanes]
            if unused:
                raise context.error(
                    "no device uses this lane: connect it to a channel or remove it",
                    lane=unused[0],
                )
        return results


def _dimensions_of_scan(
    iteration: StepsConfiguration, global_parameters: ParameterNamespace | None
) -> dict[str, Dimension]:
    plan = iteration.compile(global_parameters)
    dimensions: dict[str, Dimension] = {
        name: (unit.dimension if unit is not None else Dimension.NONE)
        for name, unit in plan.units.items()
    }
    dimensions.update(plan.dimensions)  # a variable set to Enabled is a bool, not a number
    dimensions.update(plan.globals.dimensions)
    return dimensions


def find_sequence_problems(
    time_lanes: TimeLanes,
    iteration: StepsConfiguration,
    global_parameters: ParameterNamespace | None,
    device_configurations: Mapping[str, Any],
    *,
    compilers: Mapping[type, CompilerFactory] | None = None,
) -> list[Exception]:
    """Every problem :func:`check_sequence` would report, as a list (empty when all is well)."""
    try:
        dimensions = _dimensions_of_scan(iteration, global_parameters)
    except (ExpressionError, IterationError, ValueError) as error:
        return [error]
    check = SequenceCheckContext(time_lanes, dimensions, device_configurations)
    data_columns = known_data_columns(time_lanes, device_configurations)
    check.errors.extend(reserved_name_problems(dimensions, data_columns))
    for name, duration in zip(time_lanes.step_names, time_lanes.step_durations, strict=True):
        compiled = check.compile(duration, step=name)
        if compiled is not None and compiled.dimension != TIME:
            check.report(
                f"the duration '{duration}' is {compiled.dimension}, not a time",
                step=name,
                expression=duration.text,
            )
        elif compiled is not None:
            value = check.constant_value(duration)
            if isinstance(value, float | int) and value < 0:
                check.report(f"the duration '{duration}' is negative", step=name)
    check.check_lanes()
    factories = _factories(compilers)
    for name, configuration in device_configurations.items():
        try:
            compiler = find_compiler_factory(configuration, factories, name)(name, configuration)
        except ShotCompilationError as error:
            check.errors.append(error)
            continue
        except (TypeError, ValueError) as error:
            check.report(f"cannot build its compiler: {error}", device=name)
            continue
        checker = getattr(compiler, "check_configuration", None)
        if checker is not None:
            checker(check)
    for lane in time_lanes.lanes:
        if lane not in check.used_lanes:
            check.report(
                "no device uses this lane: connect it to a channel or remove it", lane=lane
            )
    return check.errors


def check_sequence(
    time_lanes: TimeLanes,
    iteration: StepsConfiguration,
    global_parameters: ParameterNamespace | None,
    device_configurations: Mapping[str, Any],
    *,
    compilers: Mapping[type, CompilerFactory] | None = None,
) -> None:
    """Run every check that needs no shot value, before the sequence runs.

    Checks expression syntax, parameter names and dimensions (durations are times, digital
    lanes bools, analog lanes one dimension matching their channel's unit or calibration),
    lane use (every lane drives a device; lanes named by channels exist), triggers (known
    devices that can be triggered), and constant values against calibration and output
    ranges. Touches no device. Raises :class:`SequenceCheckError` listing every problem.
    Device configuration types with their own compiler are checked by the compiler's
    ``check_configuration(check: SequenceCheckContext)`` method, if it has one.
    """
    problems = find_sequence_problems(
        time_lanes, iteration, global_parameters, device_configurations, compilers=compilers
    )
    if problems:
        raise SequenceCheckError(problems)
