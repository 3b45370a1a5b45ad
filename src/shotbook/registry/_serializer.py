"""JSON serialization of registered types: tagged, versioned, never code."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Protocol

from ._registry import TypeRegistry

FORMAT_VERSION = 1
"""The version of the envelope written by :meth:`Serializer.dumps`."""


class SerializationError(ValueError):
    """Data that cannot be stored, or stored data that cannot be read back."""


class SerializerProtocol(Protocol):
    """What storage backends and device servers receive to (de)serialize objects."""

    def dumps(self, obj: Any) -> str:
        """Encode ``obj`` as a JSON document."""
        ...

    def loads(self, text: str) -> Any:
        """Decode a JSON document written by :meth:`dumps`."""
        ...

    def to_data(self, obj: Any) -> Any:
        """Encode ``obj`` as JSON-able data (dicts, lists, str, numbers, bools, None)."""
        ...

    def from_data(self, data: Any) -> Any:
        """Decode data written by :meth:`to_data`."""
        ...


class Serializer:
    """Turns registered objects into JSON and back, using a :class:`TypeRegistry`.

    A registered object is written as ``{"$type": tag, "$data": ...}``; plain
    dicts as ``{"$dict": {...}}``; lists and tuples as lists; non-finite floats as
    ``{"$float": "inf"}``. Reading never imports or evaluates anything: a tag the
    registry does not know is an error naming the tag.

    >>> from shotbook.registry import default_registry
    >>> from shotbook.types import PureSequencePath
    >>> serializer = Serializer(default_registry())
    >>> serializer.loads(serializer.dumps(PureSequencePath("/a/b")))
    PureSequencePath('/a/b')
    """

    def __init__(self, registry: TypeRegistry) -> None:
        self.registry = registry

    def dumps(self, obj: Any) -> str:
        """Encode ``obj`` in a versioned JSON envelope."""
        return json.dumps(
            {"format": FORMAT_VERSION, "value": self.to_data(obj)},
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
        )

    def loads(self, text: str | bytes) -> Any:
        """Decode a document written by :meth:`dumps`."""
        try:
            envelope = json.loads(text)
        except json.JSONDecodeError as error:
            raise SerializationError(f"stored data is not valid JSON: {error}") from None
        if not isinstance(envelope, dict) or "format" not in envelope or "value" not in envelope:
            raise SerializationError("stored data is not a shotbook document (no format/value)")
        if envelope["format"] != FORMAT_VERSION:
            raise SerializationError(
                f"stored data has format {envelope['format']}, this shotbook reads format "
                f"{FORMAT_VERSION}: upgrade the store (shotbook upgrade) or shotbook"
            )
        return self.from_data(envelope["value"])

    def to_data(self, obj: Any) -> Any:
        """Encode ``obj`` as JSON-able data."""
        if obj is None or isinstance(obj, bool | str):
            return obj
        if isinstance(obj, int) and type(obj) is int:
            return obj
        if isinstance(obj, float) and type(obj) is float:
            return obj if math.isfinite(obj) else {"$float": repr(obj)}
        cls = type(obj)
        if self.registry.is_registered(cls):
            entry = self.registry.entry_for_class(cls)
            encoded: dict[str, Any] = {"$type": entry.tag, "$data": entry.encode(obj, self.to_data)}
            if entry.version != 1:
                encoded["$v"] = entry.version
            return encoded
        if isinstance(obj, list | tuple):
            return [self.to_data(item) for item in obj]
        if isinstance(obj, Mapping):
            out: dict[str, Any] = {}
            for key, value in obj.items():
                if not isinstance(key, str):
                    raise SerializationError(
                        f"mapping keys must be str to be stored, got {type(key).__name__} {key!r}"
                    )
                out[key] = self.to_data(value)
            return {"$dict": out}
        # numpy scalars and other number-likes without importing numpy
        if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "shape", None) == ():
            return self.to_data(obj.item())
        raise SerializationError(
            f"cannot store an object of type {cls.__module__}.{cls.__qualname__}: it is not "
            "registered (register its extension with the Experiment)"
        )

    def from_data(self, data: Any) -> Any:
        """Decode data written by :meth:`to_data`."""
        if data is None or isinstance(data, bool | int | float | str):
            return data
        if isinstance(data, list):
            return [self.from_data(item) for item in data]
        if isinstance(data, dict):
            if "$type" in data:
                entry = self.registry.entry_for_tag(data["$type"])
                try:
                    return entry.decode(data.get("$data"), self.from_data)
                except (TypeError, ValueError, KeyError) as error:
                    raise SerializationError(
                        f"cannot read a stored {data['$type']!r}: {error}"
                    ) from error
            if "$dict" in data:
                return {key: self.from_data(value) for key, value in data["$dict"].items()}
            if "$float" in data:
                return float(data["$float"])
        raise SerializationError(f"unexpected stored value {str(data)[:80]!r}")
