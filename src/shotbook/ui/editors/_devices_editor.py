"""The device configurations editor: add, remove, rename devices; forms for their fields."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

from shotbook.compile import AnalogChannelConfiguration, Constant, DigitalChannelConfiguration
from shotbook.registry import DeviceExtension
from shotbook.types import Expression

from ._base import EditorWidget, esm_source
from ._document import DraftDocument
from ._forms import form_fields, with_channel_field, with_field
from ._sequence_context import as_mapping

_HERE = pathlib.Path(__file__).parent

Configurations = dict[str, Any]


def _read(session: Any) -> Configurations:
    return dict(session.default_device_configurations)


def _write(session: Any, value: Configurations) -> None:
    stored = session.default_device_configurations
    current = dict(stored)
    for name in current:
        if name not in value:
            del stored[name]
    for name, configuration in value.items():
        if current.get(name) != configuration:
            stored[name] = configuration


def _name(command: Mapping[str, Any], key: str = "name") -> str:
    value = command.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a device name is a non-empty text, got {value!r}")
    return value.strip()


class DeviceConfigurationsEditor(EditorWidget):
    """Edit the default device configurations (those the next runs use).

    ``device_extensions`` give the kinds of device that can be added (their
    ``configuration_factory``) and name each configuration's kind; ``device_servers`` are the
    names offered for a device's ``device_server`` field.

    Commands: ``add_device {name, kind}``, ``remove_device {name}``,
    ``rename_device {name, new}``, ``set_field {device, field, value}`` (text, parsed by the
    field's kind), ``set_channel {device, index, field, value}`` (``name``, ``output`` as
    graph text, ``output_unit``, ``output_range``, ``description``),
    ``add_channel {device, kind: "digital" | "analog"}``, ``remove_channel {device, index}``,
    ``undo``, ``redo``, ``reload``.
    """

    _esm = esm_source("_devices_editor.js")
    _css = _HERE / "_editors.css"

    def __init__(
        self,
        storage: Any,
        *,
        device_extensions: Mapping[str, DeviceExtension] | Iterable[DeviceExtension],
        device_servers: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self._storage = storage
        self._extensions: dict[str, DeviceExtension] = as_mapping(device_extensions)
        self._servers = list(device_servers)
        self._document = DraftDocument(storage, _read, _write, "the device configurations")
        self._sync()

    @classmethod
    def from_experiment(cls, experiment: Any) -> DeviceConfigurationsEditor:
        """The devices editor of the experiment's store, extensions and device servers."""
        return cls(
            experiment.get_storage_manager(),
            device_extensions=experiment.device_extensions,
            device_servers=list(experiment.device_servers),
        )

    @property
    def configurations(self) -> Configurations:
        """The configurations as shown (and stored), by device name."""
        value: Configurations = self._document.value
        return dict(value)

    def _device(self, command: Mapping[str, Any]) -> tuple[str, Any]:
        name = _name(command, "device")
        try:
            return name, self.configurations[name]
        except KeyError:
            raise KeyError(
                f"no device {name!r}; devices are {', '.join(self.configurations) or 'none'}"
            ) from None

    def _key_of(self, command: dict[str, Any]) -> str | None:
        action = command.get("action")
        if action == "set_field":
            return f"{command.get('device')}/{command.get('field')}"
        if action == "set_channel":
            return f"{command.get('device')}/channel/{command.get('index')}/{command.get('field')}"
        if action in ("add_device", "rename_device"):
            return action
        return None

    def _with(self, name: str, configuration: Any) -> Configurations:
        value = self.configurations
        value[name] = configuration
        return value

    # --- devices ---
    def _action_add_device(self, command: dict[str, Any]) -> Configurations:
        name = _name(command)
        kind = command.get("kind")
        extension = self._extensions.get(str(kind))
        if extension is None:
            raise ValueError(
                f"no kind of device {kind!r}; registered: {', '.join(self._extensions) or 'none'}"
            )
        if name in self.configurations:
            raise ValueError(f"a device is already named {name!r}: choose another name")
        return self._with(name, extension.configuration_factory())

    def _action_remove_device(self, command: dict[str, Any]) -> Configurations:
        name, _ = self._device({"device": command.get("name")})
        value = self.configurations
        del value[name]
        return value

    def _action_rename_device(self, command: dict[str, Any]) -> Configurations:
        name, _ = self._device({"device": command.get("name")})
        new = _name(command, "new")
        if new in self.configurations and new != name:
            raise ValueError(f"a device is already named {new!r}: choose another name")
        return {(new if key == name else key): value for key, value in self.configurations.items()}

    # --- fields ---
    def _action_set_field(self, command: dict[str, Any]) -> Configurations:
        name, configuration = self._device(command)
        return self._with(
            name, with_field(configuration, str(command.get("field")), command.get("value", ""))
        )

    def _channels(self, command: Mapping[str, Any]) -> tuple[str, Any, list[Any], int | None]:
        name, configuration = self._device(command)
        channels = getattr(configuration, "channels", None)
        if not isinstance(channels, tuple):
            raise ValueError(f"device {name!r} has no channels")
        index = command.get("index")
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(channels)
        ):
            raise IndexError(f"device {name!r} has no channel {index!r}")
        return name, configuration, list(channels), index

    def _action_set_channel(self, command: dict[str, Any]) -> Configurations:
        name, configuration, channels, index = self._channels(command)
        if index is None:
            raise ValueError("set_channel needs the channel's index")
        channels[index] = with_channel_field(
            channels[index], str(command.get("field")), command.get("value", "")
        )
        return self._with(name, dataclasses.replace(configuration, channels=tuple(channels)))

    def _action_add_channel(self, command: dict[str, Any]) -> Configurations:
        name, configuration, channels, _ = self._channels({**command, "index": None})
        used = {channel.name for channel in channels}
        number = len(channels)
        while f"channel {number}" in used:
            number += 1
        label = f"channel {number}"
        if command.get("kind") == "analog":
            channel: Any = AnalogChannelConfiguration(
                label, Constant(Expression("0 V")), "V", (-10.0, 10.0)
            )
        elif command.get("kind", "digital") == "digital":
            channel = DigitalChannelConfiguration(label, Constant(False))
        else:
            raise ValueError(f"a channel is 'digital' or 'analog', got {command.get('kind')!r}")
        channels.append(channel)
        return self._with(name, dataclasses.replace(configuration, channels=tuple(channels)))

    def _action_remove_channel(self, command: dict[str, Any]) -> Configurations:
        name, configuration, channels, index = self._channels(command)
        if index is None:
            raise ValueError("remove_channel needs the channel's index")
        del channels[index]
        return self._with(name, dataclasses.replace(configuration, channels=tuple(channels)))

    # --- view ---
    def _kind_of(self, configuration: Any) -> str:
        for label, extension in self._extensions.items():
            if type(configuration) is extension.configuration_type:
                return label
        return type(configuration).__name__

    def _refresh(self) -> None:
        devices = []
        for name, configuration in self.configurations.items():
            fields = (
                form_fields(configuration, self._servers)
                if dataclasses.is_dataclass(configuration)
                else []
            )
            devices.append({"name": name, "kind": self._kind_of(configuration), "fields": fields})
        self.problems = []
        self.view = {"devices": devices, "kinds": list(self._extensions)}


__all__ = ["DeviceConfigurationsEditor"]
