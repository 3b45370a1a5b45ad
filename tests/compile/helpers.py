"""Small builders shared by the compile tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shotbook.compile import (
    AnalogChannelConfiguration,
    DigitalChannelConfiguration,
    LaneValues,
    SequenceCompiler,
    SequencerConfiguration,
)
from shotbook.types import Dimension, ShotParameters, TimeLanes, Unit, parse_unit


def shot(values: Mapping[str, Any] | None = None, units: Mapping[str, str] | None = None) -> Any:
    """ShotParameters from SI values and unit symbols (``{"wait": "ms"}``)."""
    parsed: dict[str, Unit | None] = {
        name: parse_unit(symbol) for name, symbol in (units or {}).items()
    }
    return ShotParameters(dict(values or {}), parsed)


def digital_sequencer(time_step: int, **channels: Any) -> SequencerConfiguration:
    """A sequencer whose digital channels are ``name=output node`` (a str means LaneValues)."""
    return SequencerConfiguration(
        time_step=time_step,
        channels=tuple(
            DigitalChannelConfiguration(name, LaneValues(node) if isinstance(node, str) else node)
            for name, node in channels.items()
        ),
    )


def analog_channel(
    name: str, node: Any, unit: str | None = "V", low: float = -10.0, high: float = 10.0
) -> AnalogChannelConfiguration:
    return AnalogChannelConfiguration(
        name, LaneValues(node) if isinstance(node, str) else node, unit, (low, high)
    )


def compile_one(
    lanes: TimeLanes, devices: Mapping[str, Any], parameters: Any = None, **kwargs: Any
) -> dict[str, Any]:
    return SequenceCompiler(lanes, devices).compile_shot(
        parameters if parameters is not None else shot(), **kwargs
    )


FREQUENCY = Dimension(time=-1)
