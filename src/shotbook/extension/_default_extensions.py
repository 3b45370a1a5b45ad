"""The extensions every lab gets: digital, analog and camera lanes; the simulated lab; the
real instruments whose drivers the field keeps (each driver imported only when its device
opens)."""

from __future__ import annotations

from shotbook.registry import DeviceExtension, TimeLaneExtension, TypeRegistry
from shotbook.types import AnalogTimeLane, CameraTimeLane, DigitalTimeLane


def _core_types_already_registered(registry: TypeRegistry) -> None:
    """The built-in lanes are part of the core registry; nothing more to add."""


digital_time_lane_extension = TimeLaneExtension(
    label="digital",
    lane_type=DigitalTimeLane,
    register_types=_core_types_already_registered,
    lane_factory=lambda steps: DigitalTimeLane.from_blocks([(False, steps)]),
    cell_editor="toggle",
)

analog_time_lane_extension = TimeLaneExtension(
    label="analog",
    lane_type=AnalogTimeLane,
    register_types=_core_types_already_registered,
    lane_factory=lambda steps: AnalogTimeLane.from_blocks([("0 V", steps)]),
    cell_editor="text",
)

camera_time_lane_extension = TimeLaneExtension(
    label="camera",
    lane_type=CameraTimeLane,
    register_types=_core_types_already_registered,
    lane_factory=lambda steps: CameraTimeLane.from_blocks([(None, steps)]),
    cell_editor="text",
)

DEFAULT_TIME_LANE_EXTENSIONS = (
    digital_time_lane_extension,
    analog_time_lane_extension,
    camera_time_lane_extension,
)


def _register_sim_types(registry: TypeRegistry) -> None:
    from shotbook.device.sim import register_sim_types

    register_sim_types(registry)


def simulated_device_extensions() -> tuple[DeviceExtension, ...]:
    """The simulated pulse sequencer and camera, as device extensions."""
    from shotbook.device.sim import (
        SimulatedCamera,
        SimulatedCameraCompiler,
        SimulatedCameraConfiguration,
        SimulatedSequencer,
        SimulatedSequencerCompiler,
        SimulatedSequencerConfiguration,
        simulated_lab,
    )

    return (
        DeviceExtension(
            label="simulated sequencer",
            configuration_type=SimulatedSequencerConfiguration,
            configuration_factory=lambda: simulated_lab()["digital"],
            register_types=_register_sim_types,
            compiler_type=SimulatedSequencerCompiler,
            device_type=SimulatedSequencer,
            description="A pulse sequencer that checks and keeps its instructions",
        ),
        DeviceExtension(
            label="simulated camera",
            configuration_type=SimulatedCameraConfiguration,
            configuration_factory=lambda: simulated_lab()["camera"],
            register_types=_register_sim_types,
            compiler_type=SimulatedCameraCompiler,
            device_type=SimulatedCamera,
            description="A camera imaging a simulated rubidium-87 cloud",
        ),
    )


def instrument_device_extensions() -> tuple[DeviceExtension, ...]:
    """Basler cameras, the Pulse Streamer 8/2, QCoDeS and SCPI (PyVISA) instruments.

    Registering them imports none of their drivers: a device that needs pypylon, QCoDeS or
    PyVISA imports it when it opens, and says which extra to install if it is missing.
    """
    from shotbook.device.basler import basler_device_extension
    from shotbook.device.pulsestreamer import pulse_streamer_device_extension
    from shotbook.device.qcodes import qcodes_device_extension
    from shotbook.device.visa import visa_device_extension

    return (
        basler_device_extension(),
        pulse_streamer_device_extension(),
        qcodes_device_extension(),
        visa_device_extension(),
    )
