"""Extensions: how a lab adds its own kinds of devices and time lanes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._registry import TypeRegistry

CellEditor = Literal["text", "toggle", "choice"] | str
"""How the panel edits a lane's cells: a built-in kind, or the path of an anywidget ESM file."""


@dataclass(frozen=True)
class DeviceExtension:
    """A kind of device: its configuration, how it compiles, and the device that runs it.

    ``register_types`` adds every class the configuration stores (channel
    configurations, the configuration itself, ...) to a registry under stable tags.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class ShutterConfiguration:
    ...     channel: int = 0
    ...     device_server: str | None = None
    >>> shutter = DeviceExtension(
    ...     label="shutter",
    ...     configuration_type=ShutterConfiguration,
    ...     configuration_factory=ShutterConfiguration,
    ...     register_types=lambda r: r.register("lab.shutter", ShutterConfiguration),
    ... )
    """

    label: str
    configuration_type: type
    configuration_factory: Callable[[], Any]
    register_types: Callable[[TypeRegistry], None]
    compiler_type: type | None = None
    device_type: type | None = None
    description: str = ""


@dataclass(frozen=True)
class TimeLaneExtension:
    """A kind of time lane: its class, its tag, a factory for a new lane, and its cell editor.

    ``lane_factory(number_of_steps)`` builds an empty lane for the editor's "add lane".
    """

    label: str
    lane_type: type
    register_types: Callable[[TypeRegistry], None]
    lane_factory: Callable[[int], Any]
    cell_editor: CellEditor = "text"
    choices: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
