"""Registering device classes that device servers may build by type tag."""

from __future__ import annotations

from typing import Any

from shotbook.registry import TypeRegistry

from ._protocols import remote_methods_of

__all__ = ["register_device_class"]


def register_device_class(registry: TypeRegistry, tag: str, cls: type) -> None:
    """Allow device servers given ``registry`` to build devices of class ``cls``.

    The class is registered under ``tag``; a client asks for a device by this tag and sends
    the constructor's keyword arguments as data. Devices themselves are not data: storing
    one is refused.

    Example::

        register_device_class(registry, "sim_camera", SimulatedCamera)
    """
    remote_methods_of(cls)  # raises if it declares bad remote names

    def encode(device: Any, _: Any) -> Any:
        raise TypeError(f"a {cls.__qualname__} device is not data and cannot be stored or sent")

    def decode(data: Any, _: Any) -> Any:
        raise TypeError(f"{tag!r} is a device class, not data: create it on a device server")

    registry.register(tag, cls, encode=encode, decode=decode)
