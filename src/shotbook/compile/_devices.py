"""Compilers of the built-in devices: sequencers and cameras.

Shot parameters contract (what the devices receive each shot):

* sequencer: ``{"sequence": Instruction, "time_step": int}`` – ``sequence`` has one tick per
  ``time_step`` picoseconds for the whole shot (``ceil(duration / time_step)`` ticks) and a
  structured dtype with one field per channel, named like the channel, in the configuration's
  order: ``bool`` for digital channels, ``float64`` in the channel's ``output_unit`` for analog
  ones. Initialization: ``{"time_step", "trigger", "channels", "channel_units"}``.
* camera: ``{"exposures": [seconds, ...], "picture_names": [...], "timeout": seconds,
  "roi": (x, y, width, height)}`` – one exposure per picture in shot order; ``timeout`` is the
  shot's duration plus the configuration's ``timeout``. Initialization:
  ``{"roi", "sensor_size"}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._configurations import (
    AnalogChannelConfiguration,
    CameraConfiguration,
    ExternalClock,
    ExternalTriggerStart,
    SequencerConfiguration,
)
from ._context import DeviceCompiler, ShotContext
from ._errors import ShotCompilationError
from ._instructions import Instruction, concatenate, constant, empty, repeat, stack_channels
from ._outputs import ChannelGraph
from ._static import SequenceCheckContext
from ._timing import PS_PER_SECOND, ticks_at

__all__ = ["CameraCompiler", "CompilerFactory", "SequencerCompiler", "default_compilers"]

CompilerFactory = Callable[[str, Any], DeviceCompiler]
"""Builds the compiler of one device from ``(device_name, configuration)``."""


class SequencerCompiler:
    """Compiles a :class:`SequencerConfiguration`: one instruction with a field per channel.

    Shot parameters: ``{"sequence": Instruction, "time_step": int}`` (see the module doc).
    """

    def __init__(self, device_name: str, configuration: SequencerConfiguration) -> None:
        self.device_name = device_name
        self.configuration = configuration

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """``time_step`` (ps), ``trigger``, ``channels`` (names) and ``channel_units``
        (``None`` for digital channels)."""
        channels = self.configuration.channels
        return {
            "time_step": self.configuration.time_step,
            "trigger": self.configuration.trigger,
            "channels": tuple(channel.name for channel in channels),
            "channel_units": {
                channel.name: (
                    channel.output_unit if isinstance(channel, AnalogChannelConfiguration) else None
                )
                for channel in channels
            },
        }

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """``{"sequence": Instruction, "time_step": int}`` for this shot."""
        time_step = self.configuration.time_step
        outputs: dict[str, Instruction] = {}
        for channel in self.configuration.channels:
            graph = ChannelGraph(context, time_step, channel.name)
            if isinstance(channel, AnalogChannelConfiguration):
                outputs[channel.name] = graph.analog_output(
                    channel.output, channel.output_unit, channel.output_range
                )
            else:
                outputs[channel.name] = graph.digital(channel.output)
        sequence = empty(np.dtype([])) if not outputs else stack_channels(outputs)
        return {"sequence": sequence, "time_step": time_step}

    def compile_trigger(self, context: ShotContext, time_step: int) -> Instruction:
        """Start trigger: high for the first half of the shot. Clock: one period per tick of
        this sequencer, high for its first half."""
        length = context.number_ticks(time_step)
        trigger = self.configuration.trigger
        if isinstance(trigger, ExternalTriggerStart):
            high = min(max(ticks_at(context.duration // 2, time_step), 1), length)
            return concatenate(
                constant(True, high, np.bool_), constant(False, length - high, np.bool_)
            )
        if isinstance(trigger, ExternalClock):
            period, remainder = divmod(self.configuration.time_step, time_step)
            if remainder or period < 2:
                raise context.error(
                    f"cannot clock {self.device_name!r} (time step "
                    f"{self.configuration.time_step} ps) from a channel of time step "
                    f"{time_step} ps: its time step must be a multiple of twice the channel's"
                )
            high = period // 2
            tick = concatenate(
                constant(True, high, np.bool_), constant(False, period - high, np.bool_)
            )
            count = context.number_ticks(self.configuration.time_step)
            return repeat(tick, count)[:length]
        raise context.error(
            f"device {self.device_name!r} starts by software; it takes no trigger signal"
        )

    def check_configuration(self, check: SequenceCheckContext) -> None:
        """Static checks of every channel (reported into ``check``)."""
        for channel in self.configuration.channels:
            if isinstance(channel, AnalogChannelConfiguration):
                check.check_analog_channel(
                    channel.output,
                    channel.output_unit,
                    channel.output_range,
                    self.device_name,
                    channel.name,
                )
            else:
                check.check_digital_node(channel.output, self.device_name, channel=channel.name)


class CameraCompiler:
    """Compiles a :class:`CameraConfiguration` from the camera lane named like the device.

    Shot parameters: ``{"exposures", "picture_names", "timeout", "roi"}`` (see the module doc).
    """

    def __init__(self, device_name: str, configuration: CameraConfiguration) -> None:
        self.device_name = device_name
        self.configuration = configuration

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """``roi`` and ``sensor_size``."""
        return {"roi": self.configuration.roi, "sensor_size": self.configuration.sensor_size}

    def _pictures(self, context: ShotContext) -> list[Any]:
        if not context.has_lane(self.device_name):
            return []
        return context.camera_pictures(self.device_name)

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """The exposures and names of this shot's pictures, the timeout and the roi."""
        pictures = self._pictures(context)
        return {
            "exposures": [picture.exposure for picture in pictures],
            "picture_names": [picture.name for picture in pictures],
            "timeout": context.duration / PS_PER_SECOND + self.configuration.timeout,
            "roi": self.configuration.roi,
        }

    def compile_trigger(self, context: ShotContext, time_step: int) -> Instruction:
        """High while each picture is taken (its block's ticks), low otherwise."""
        length = context.number_ticks(time_step)
        pieces = []
        position = 0
        for picture in self._pictures(context):
            first = ticks_at(picture.start, time_step)
            stop = ticks_at(picture.stop, time_step)
            if stop == first:
                raise context.error(
                    f"picture {picture.name!r} lasts less than one tick ({time_step} ps) of the "
                    "triggering channel: its trigger would never go high",
                    lane=self.device_name,
                    step=picture.step,
                )
            pieces.append(constant(False, first - position, np.bool_))
            pieces.append(constant(True, stop - first, np.bool_))
            position = stop
        pieces.append(constant(False, length - position, np.bool_))
        return concatenate(*pieces)

    def check_configuration(self, check: SequenceCheckContext) -> None:
        """The lane named like the camera, if any, must be a camera lane."""
        lane = check.time_lanes.lanes.get(self.device_name)
        if lane is None:
            return
        check.use_lane(self.device_name)
        if lane.kind != "camera":
            check.report(
                f"the lane named like camera {self.device_name!r} is a {lane.kind} lane; a "
                "camera takes the pictures of a camera lane named like it",
                device=self.device_name,
                lane=self.device_name,
            )


def default_compilers() -> dict[type, CompilerFactory]:
    """The compilers of the built-in configuration types (extensions add theirs)."""
    return {
        SequencerConfiguration: SequencerCompiler,
        CameraConfiguration: CameraCompiler,
    }


def find_compiler_factory(
    configuration: Any, compilers: Mapping[type, CompilerFactory], device_name: str
) -> CompilerFactory:
    """The factory registered for the configuration's type (or its nearest base class)."""
    for cls in type(configuration).__mro__:
        factory = compilers.get(cls)
        if factory is not None:
            return factory
    raise ShotCompilationError(
        f"no compiler for configurations of type {type(configuration).__qualname__}: register "
        "one (compilers={ConfigurationType: factory})",
        device=device_name,
    )
