"""Registering the Pulse Streamer: configuration type, compiler and device class."""

from __future__ import annotations

from collections.abc import MutableMapping

from shotbook.compile import (
    CompilerFactory,
    DigitalChannelConfiguration,
    LaneValues,
    register_compile_types,
)
from shotbook.registry import DeviceExtension, TypeRegistry

from .._registration import register_device_class
from ._configuration import PulseStreamerCompiler, PulseStreamerConfiguration
from ._device import PulseStreamerSequencer


def register_pulse_streamer_types(
    registry: TypeRegistry, compilers: MutableMapping[type, CompilerFactory] | None = None
) -> dict[type, CompilerFactory]:
    """Register ``"pulse_streamer_configuration"`` and the device class ``"pulse_streamer"``;
    returns the compiler (also added to ``compilers`` when given). Imports no driver."""
    register_compile_types(registry)
    if not registry.is_registered(PulseStreamerConfiguration):
        registry.register("pulse_streamer_configuration", PulseStreamerConfiguration)
    if not registry.is_registered(PulseStreamerSequencer):
        register_device_class(registry, "pulse_streamer", PulseStreamerSequencer)
    added: dict[type, CompilerFactory] = {PulseStreamerConfiguration: PulseStreamerCompiler}
    if compilers is not None:
        compilers.update(added)
    return added


def _register(registry: TypeRegistry) -> None:
    register_pulse_streamer_types(registry)


def _example() -> PulseStreamerConfiguration:
    return PulseStreamerConfiguration(
        time_step=1000,
        channels=(DigitalChannelConfiguration("D0", LaneValues("D0", default=False)),),
    )


def pulse_streamer_device_extension() -> DeviceExtension:
    """The Pulse Streamer 8/2 as a device extension (``register_device_extension(...)``)."""
    return DeviceExtension(
        label="pulse streamer 8/2",
        configuration_type=PulseStreamerConfiguration,
        configuration_factory=_example,
        register_types=_register,
        compiler_type=PulseStreamerCompiler,
        device_type=PulseStreamerSequencer,
        description="Swabian Pulse Streamer 8/2 through its pulsestreamer client",
    )
