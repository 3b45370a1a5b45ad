"""What the sequence editors read besides their own value: state, globals, devices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shotbook.registry import DeviceExtension, TimeLaneExtension
from shotbook.session import State
from shotbook.types import ParameterNamespace, PureSequencePath


@dataclass
class SequenceContext:
    """The state of a sequence, the globals and the default device configurations."""

    state: State = State.DRAFT
    global_parameters: ParameterNamespace = field(default_factory=ParameterNamespace.empty)
    device_configurations: dict[str, Any] = field(default_factory=dict)

    def not_editable_reason(self, path: PureSequencePath) -> str:
        """Why the sequence cannot be edited, or ``""`` for a draft."""
        if self.state.is_editable():
            return ""
        return (
            f"{path} is {self.state.value}: only a draft can be edited; reset it to draft or "
            "duplicate it"
        )


def read_context(session: Any, path: PureSequencePath, *, devices: bool = False) -> SequenceContext:
    """Read the state of ``path``, the globals and (with ``devices``) the device configurations."""
    with session.transaction():
        state = session.sequences.get_state(path)
        global_parameters = session.get_global_parameters()
        configurations = dict(session.default_device_configurations) if devices else {}
    return SequenceContext(state, global_parameters, configurations)


def as_mapping(items: Mapping[str, Any] | Iterable[Any] | None) -> dict[str, Any]:
    """Extensions given as a mapping by label, or as an iterable of extensions."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return dict(items)
    return {str(getattr(item, "label", item)): item for item in items}


def compilers_of(device_extensions: Mapping[str, DeviceExtension]) -> dict[type, Any]:
    """The compiler factories of the device extensions, by configuration type."""
    return {
        extension.configuration_type: extension.compiler_type
        for extension in device_extensions.values()
        if extension.compiler_type is not None
    }


def lane_extension_of(
    lane: object, lane_extensions: Mapping[str, TimeLaneExtension]
) -> TimeLaneExtension | None:
    """The extension whose lane type is the lane's type (or its nearest base)."""
    for cls in type(lane).__mro__:
        for extension in lane_extensions.values():
            if extension.lane_type is cls:
                return extension
    return None


__all__ = [
    "SequenceContext",
    "as_mapping",
    "compilers_of",
    "lane_extension_of",
    "read_context",
]
