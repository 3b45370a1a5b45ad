"""A device configuration kept as data only, for a type this installation cannot build.

An importer (``shotbook import-caqtus``) stores a configuration whose type has no shotbook
equivalent as an :class:`OpaqueDeviceConfiguration`: its original type name and its fields
as JSON text, so nothing is lost and a later mapping can convert it. A sequence whose
devices include one cannot run until it is replaced.

>>> from shotbook.registry import Serializer, default_registry
>>> opaque = OpaqueDeviceConfiguration("caqtus", "SpinCoreConfiguration", '{"channels": []}')
>>> Serializer(default_registry()).loads(Serializer(default_registry()).dumps(opaque)) == opaque
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OpaqueDeviceConfiguration:
    """A configuration of type ``type_name`` from ``source``, its fields as JSON text."""

    source: str
    type_name: str
    content: str

    def fields(self) -> Any:
        """The stored fields, decoded from JSON."""
        return json.loads(self.content)

    def __str__(self) -> str:
        return f"opaque {self.source} configuration of type {self.type_name}"


__all__ = ["OpaqueDeviceConfiguration"]
