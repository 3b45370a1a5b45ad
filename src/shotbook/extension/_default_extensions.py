"""The extensions every lab gets: digital, analog and camera lanes."""

from __future__ import annotations

from shotbook.registry import TimeLaneExtension, TypeRegistry
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
