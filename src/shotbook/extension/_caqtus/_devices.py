"""Device configurations: caqtus type name → a converter building shotbook's configuration.

caqtus registers no configuration types of its own (labs write them), so the import takes a
mapping ``{caqtus type name: converter}``; a converter receives the stored fields (cattrs
JSON) and returns a shotbook configuration. :func:`sequencer_converter` and
:func:`camera_converter` read caqtus's common sequencer and camera fields into any
:class:`~shotbook.compile.SequencerConfiguration` / ``CameraConfiguration`` subclass.

>>> from shotbook.device.sim import SimulatedSequencerConfiguration
>>> convert = sequencer_converter(SimulatedSequencerConfiguration)
>>> convert({"time_step": "50.000", "trigger": {"trigger type": "SoftwareTrigger"},
...          "channels": []}).time_step
50000
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from shotbook.compile import (
    AnalogChannelConfiguration,
    CalibratedMapping,
    ChannelConfiguration,
    Constant,
    DeviceTrigger,
    DigitalChannelConfiguration,
    ExternalTriggerStart,
    LaneValues,
    OutputNode,
    SoftwareTrigger,
    Trigger,
)
from shotbook.registry import OpaqueDeviceConfiguration
from shotbook.types import Expression

DeviceConverter = Callable[[Mapping[str, Any]], Any]
"""Builds a shotbook device configuration from a caqtus configuration's stored fields."""


class UnsupportedConfigurationError(ValueError):
    """A caqtus configuration field the converter cannot translate (the message says which)."""


def _value(text: Any, digital: bool) -> bool | float | Expression:
    if isinstance(text, bool | int | float):
        return text
    text = str(text).strip()
    if text in ("Enabled", "True"):
        return True if digital else Expression("Enabled")
    if text in ("Disabled", "False"):
        return False if digital else Expression("Disabled")
    return Expression(text)


def _node(raw: Any, digital: bool, where: str) -> OutputNode:
    if not isinstance(raw, dict):
        raise UnsupportedConfigurationError(f"{where}: {raw!r} is not an output node")
    kind = raw.get("type")
    if kind == "LaneValues":
        default = raw.get("default")
        value = None if default is None else _default(default, digital, where)
        return LaneValues(str(raw["lane"]), default=value)
    if kind == "DeviceTrigger":
        default = raw.get("default")
        return DeviceTrigger(
            str(raw["device_name"]),
            default=None if default is None else bool(_default(default, True, where)),
        )
    if kind == "Constant":
        return Constant(_value(raw["value"], digital))
    if kind == "CalibratedAnalogMapping":
        points = tuple((float(x), float(y)) for x, y in raw.get("measured_data_points", []))
        return CalibratedMapping(
            _node(raw["input_"], False, where),
            points,
            raw.get("input_units") or None,
            raw.get("output_units") or None,
        )
    raise UnsupportedConfigurationError(f"{where}: output node type {kind!r} is not converted")


def _default(raw: Any, digital: bool, where: str) -> Any:
    if isinstance(raw, dict) and raw.get("type") == "Constant":
        return _value(raw["value"], digital)
    raise UnsupportedConfigurationError(f"{where}: default {raw!r} is not a constant")


def _time_step_ps(text: Any) -> int:
    try:
        picoseconds = Decimal(str(text)) * 1000
    except InvalidOperation:
        raise UnsupportedConfigurationError(f"time_step {text!r} is not a number of ns") from None
    if picoseconds != picoseconds.to_integral_value():
        raise UnsupportedConfigurationError(f"time_step {text} ns is not a whole number of ps")
    return int(picoseconds)


def _trigger(raw: Any) -> Trigger:
    kind = raw.get("trigger type") if isinstance(raw, dict) else None
    if kind == "SoftwareTrigger":
        return SoftwareTrigger()
    if kind == "ExternalTriggerStart":
        return ExternalTriggerStart()
    raise UnsupportedConfigurationError(f"trigger {raw!r} is not converted")


def _channels(raw: Any) -> tuple[ChannelConfiguration, ...]:
    channels: list[ChannelConfiguration] = []
    used: set[str] = set()
    for index, channel in enumerate(raw or []):
        description = str(channel.get("description") or "")
        name = description or f"channel {index}"
        if name in used:
            name = f"{name} ({index})"
        used.add(name)
        where = f"channel {index} ({description or 'no description'})"
        if "output_unit" in channel:
            channels.append(
                AnalogChannelConfiguration(
                    name,
                    _node(channel["output"], False, where),
                    channel.get("output_unit") or None,
                    (float("-inf"), float("inf")),
                    description,
                )
            )
        else:
            channels.append(
                DigitalChannelConfiguration(
                    name, _node(channel["output"], True, where), description
                )
            )
    return tuple(channels)


def sequencer_converter(cls: type, **fields: Any) -> DeviceConverter:
    """A converter of caqtus sequencer fields (``time_step`` in ns, ``trigger``,
    ``channels``) into ``cls(time_step=..., channels=..., trigger=..., **fields)``.

    A channel is named by its caqtus description (else ``channel N``); an analog channel
    (one with ``output_unit``) gets an unlimited output range.
    """

    def convert(content: Mapping[str, Any]) -> Any:
        return cls(
            time_step=_time_step_ps(content["time_step"]),
            channels=_channels(content.get("channels")),
            trigger=_trigger(content.get("trigger")),
            **fields,
        )

    return convert


def camera_converter(cls: type, **fields: Any) -> DeviceConverter:
    """A converter of caqtus camera fields (``roi``) into ``cls(roi=..., sensor_size=...)``."""

    def convert(content: Mapping[str, Any]) -> Any:
        roi = content["roi"]
        width, height = roi["original_image_size"]
        return cls(
            roi=(int(roi["x"]), int(roi["y"]), int(roi["width"]), int(roi["height"])),
            sensor_size=(int(width), int(height)),
            **fields,
        )

    return convert


def convert_configuration(
    name: str,
    type_name: str,
    content: Any,
    mapping: Mapping[str, DeviceConverter],
    warn: Callable[[str], None],
    where: str,
) -> Any:
    """The shotbook configuration of device ``name``, or an opaque one with a warning."""
    converter = mapping.get(type_name)
    reason = f"no mapping for caqtus type {type_name!r}"
    if converter is not None:
        try:
            return converter(content)
        except (UnsupportedConfigurationError, KeyError, TypeError, ValueError) as error:
            reason = f"its {type_name} could not be converted ({error!s})"
    warn(f"{where}: device {name!r} kept as an opaque configuration: {reason}")
    text = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return OpaqueDeviceConfiguration("caqtus", type_name, text)


__all__ = [
    "DeviceConverter",
    "UnsupportedConfigurationError",
    "camera_converter",
    "convert_configuration",
    "sequencer_converter",
]
