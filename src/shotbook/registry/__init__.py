"""Type-tag registry and JSON serializer: what can be stored or sent, and how.

>>> from shotbook.registry import Serializer, default_registry
>>> from shotbook.types import Expression
>>> serializer = Serializer(default_registry())
>>> serializer.loads(serializer.dumps(Expression("10 MHz")))
Expression('10 MHz')
"""

from ._builtin import default_registry, register_core_types
from ._extensions import CellEditor, DeviceExtension, TimeLaneExtension
from ._opaque import OpaqueDeviceConfiguration
from ._registry import RegisteredType, RegistryError, TypeRegistry
from ._serializer import FORMAT_VERSION, SerializationError, Serializer, SerializerProtocol

__all__ = [
    "FORMAT_VERSION",
    "CellEditor",
    "DeviceExtension",
    "OpaqueDeviceConfiguration",
    "RegisteredType",
    "RegistryError",
    "SerializationError",
    "Serializer",
    "SerializerProtocol",
    "TimeLaneExtension",
    "TypeRegistry",
    "default_registry",
    "register_core_types",
]
