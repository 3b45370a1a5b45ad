"""Forms generated from configuration dataclasses: one field per dataclass field.

A field's ``kind`` says how it is shown and parsed: ``int``, ``float``, ``bool``, ``text``,
``optional_text`` (empty means ``None``), ``ints`` / ``floats`` / ``texts`` (comma-separated
tuples), ``expression``, ``trigger`` (a choice), ``channels`` (a sequencer's channel table)
and ``fixed`` (shown, not editable).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from typing import Any

from shotbook.compile import (
    AnalogChannelConfiguration,
    DigitalChannelConfiguration,
    ExternalClock,
    ExternalTriggerStart,
    SoftwareTrigger,
)
from shotbook.types import Expression

from ._graph_text import format_node, parse_node

TRIGGERS: dict[str, type] = {
    "software": SoftwareTrigger,
    "external start": ExternalTriggerStart,
    "external clock": ExternalClock,
}
"""The trigger choices, as shown."""

_TRIGGER_NAMES = {cls: name for name, cls in TRIGGERS.items()}

CHANNEL_FIELDS = ("name", "output", "output_unit", "output_range", "description")
"""The editable fields of a channel (``output_unit`` and ``output_range``: analog only)."""


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference the module cannot resolve: use the values
        return {}


def _allows_none(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return type(None) in typing.get_args(hint)
    return False


def _optional_text(hint: Any) -> bool:
    """``str | None``: text, or nothing (not an optional object typed as text)."""
    others = [a for a in typing.get_args(hint) if a is not type(None)]
    return _allows_none(hint) and all(a is str for a in others)


def _tuple_kind(value: tuple[Any, ...], hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not Ellipsis]
    sample = list(value) or args
    if all(isinstance(v, str) or v is str for v in sample):
        return "texts"
    if all((isinstance(v, int) and not isinstance(v, bool)) or v is int for v in sample):
        return "ints"
    if all(
        (isinstance(v, int | float) and not isinstance(v, bool)) or v in (int, float)
        for v in sample
    ):
        return "floats"
    return "fixed"


def field_kind(value: Any, hint: Any, name: str) -> str:
    """How a field holding ``value`` (annotated ``hint``) is edited."""
    if (
        name == "channels"
        and isinstance(value, tuple)
        and all(
            isinstance(c, DigitalChannelConfiguration | AnalogChannelConfiguration) for c in value
        )
    ):
        return "channels"
    if type(value) in _TRIGGER_NAMES:
        return "trigger"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Expression):
        return "expression"
    if isinstance(value, str):
        return "optional_text" if _allows_none(hint) else "text"
    if value is None:
        return "optional_text" if _optional_text(hint) else "fixed"
    if isinstance(value, tuple):
        return _tuple_kind(value, hint)
    return "fixed"


def show(value: Any, kind: str) -> str:
    """A field's value as text in its input."""
    if kind == "trigger":
        return _TRIGGER_NAMES[type(value)]
    if kind in ("ints", "floats", "texts"):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, Expression):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _split(text: str) -> list[str]:
    stripped = text.strip().strip("()[]")
    return [part.strip() for part in stripped.split(",") if part.strip()]


def parse(text: Any, kind: str, name: str) -> Any:
    """What a person typed in a field of ``kind``, as the field's value."""
    if kind == "bool":
        if isinstance(text, bool):
            return text
        lowered = str(text).strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"{name} is true or false, got {text!r}")
    text = str(text)
    try:
        if kind == "int":
            return int(text.strip())
        if kind == "float":
            return float(text.strip())
        if kind == "ints":
            return tuple(int(part) for part in _split(text))
        if kind == "floats":
            return tuple(float(part) for part in _split(text))
    except ValueError:
        raise ValueError(
            f"{name}: {text!r} is not a {kind[:-1] if kind.endswith('s') else kind}"
            " (use numbers separated by commas)"
        ) from None
    if kind == "texts":
        return tuple(_split(text))
    if kind == "text":
        return text
    if kind == "optional_text":
        return text.strip() or None
    if kind == "expression":
        return Expression(text)
    if kind == "trigger":
        cls = TRIGGERS.get(text.strip())
        if cls is None:
            raise ValueError(f"trigger is one of {', '.join(TRIGGERS)}, got {text!r}")
        return cls()
    raise ValueError(f"{name} cannot be edited here")


def form_fields(configuration: Any, servers: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The fields of a configuration dataclass, for the front end."""
    hints = _hints(type(configuration))
    out = []
    for field in dataclasses.fields(configuration):
        if not field.init:
            continue
        value = getattr(configuration, field.name)
        kind = field_kind(value, hints.get(field.name), field.name)
        entry: dict[str, Any] = {"name": field.name, "kind": kind}
        if kind == "channels":
            entry["channels"] = [channel_row(index, c) for index, c in enumerate(value)]
        else:
            entry["value"] = show(value, kind)
        if kind == "trigger":
            entry["choices"] = list(TRIGGERS)
        if field.name == "device_server":
            entry["choices"] = ["", *servers]
        out.append(entry)
    return out


def with_field(configuration: Any, name: str, text: Any) -> Any:
    """The configuration with field ``name`` set from ``text`` (validated by the dataclass)."""
    names = {f.name for f in dataclasses.fields(configuration) if f.init}
    if name not in names:
        raise ValueError(f"{type(configuration).__name__} has no field {name!r}")
    value = getattr(configuration, name)
    kind = field_kind(value, _hints(type(configuration)).get(name), name)
    if kind in ("channels", "fixed"):
        raise ValueError(f"{name} cannot be edited as text")
    return dataclasses.replace(configuration, **{name: parse(text, kind, name)})


def channel_row(index: int, channel: Any) -> dict[str, Any]:
    """One channel of a sequencer, for the front end (its graph as text)."""
    analog = isinstance(channel, AnalogChannelConfiguration)
    row = {
        "index": index,
        "kind": "analog" if analog else "digital",
        "name": channel.name,
        "output": format_node(channel.output),
        "description": channel.description,
    }
    if analog:
        row["output_unit"] = channel.output_unit or ""
        row["output_range"] = show(channel.output_range, "floats")
    return row


def with_channel_field(channel: Any, name: str, text: Any) -> Any:
    """The channel with one field set from what the person typed."""
    analog = isinstance(channel, AnalogChannelConfiguration)
    text = str(text)
    if name == "name":
        return dataclasses.replace(channel, name=text.strip())
    if name == "description":
        return dataclasses.replace(channel, description=text)
    if name == "output":
        return dataclasses.replace(channel, output=parse_node(text))
    if analog and name == "output_unit":
        return dataclasses.replace(channel, output_unit=text.strip() or None)
    if analog and name == "output_range":
        values = parse(text, "floats", "output_range")
        if len(values) != 2:
            raise ValueError(f"output_range is 'low, high', got {text!r}")
        return dataclasses.replace(channel, output_range=values)
    raise ValueError(f"a {'analog' if analog else 'digital'} channel has no field {name!r}")


__all__ = [
    "CHANNEL_FIELDS",
    "TRIGGERS",
    "channel_row",
    "field_kind",
    "form_fields",
    "parse",
    "show",
    "with_channel_field",
    "with_field",
]
