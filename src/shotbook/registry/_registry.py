"""The type-tag registry: which classes may be stored or sent, under which names."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

Encoder = Callable[[Any, Callable[[Any], Any]], Any]
"""Turn an object into JSON-able data; the second argument encodes nested values."""
Decoder = Callable[[Any, Callable[[Any], Any]], Any]
"""Rebuild an object from its data; the second argument decodes nested values."""


class RegistryError(LookupError):
    """A class or type tag that the registry does not know, or a clashing registration."""


@dataclass(frozen=True)
class RegisteredType:
    """How one class is stored: its tag, its format version and its (de)coders."""

    tag: str
    cls: type
    encode: Encoder
    decode: Decoder
    version: int = 1


def _encode_dataclass(obj: Any, encode: Callable[[Any], Any]) -> dict[str, Any]:
    return {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}


def _decoder_for_dataclass(cls: type) -> Decoder:
    def decode(data: Any, decode_value: Callable[[Any], Any]) -> Any:
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} is stored as an object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = set(data) - names
        if unknown:
            raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
        return cls(**{key: decode_value(value) for key, value in data.items()})

    return decode


class TypeRegistry:
    """Maps type tags to classes, so that stored data names types, not import paths.

    Every layer registers the classes it wants stored or sent; storage backends
    and device servers receive a registry (through a :class:`Serializer`) and so
    never import what they store.

    >>> from dataclasses import dataclass
    >>> registry = TypeRegistry()
    >>> @dataclass(frozen=True)
    ... class Pixel:
    ...     x: int
    ...     y: int
    >>> registry.register("pixel", Pixel)
    >>> registry.tag_of(Pixel)
    'pixel'
    """

    def __init__(self) -> None:
        self._by_tag: dict[str, RegisteredType] = {}
        self._by_class: dict[type, RegisteredType] = {}

    def register(
        self,
        tag: str,
        cls: type,
        *,
        encode: Encoder | None = None,
        decode: Decoder | None = None,
        version: int = 1,
    ) -> None:
        """Register ``cls`` under ``tag``.

        Dataclasses need no coders: their init fields are stored by name.
        Other classes give ``encode(obj, encode_nested)`` and
        ``decode(data, decode_nested)``. Registering the same class under the same
        tag twice is allowed (extensions may be registered again); a tag already
        used by another class is an error.
        """
        if not tag or not isinstance(tag, str):
            raise RegistryError(f"a type tag is a non-empty str, got {tag!r}")
        existing = self._by_tag.get(tag)
        if existing is not None and existing.cls is not cls:
            raise RegistryError(
                f"type tag {tag!r} is already used by {existing.cls.__qualname__}; "
                f"choose another tag for {cls.__qualname__}"
            )
        if encode is None or decode is None:
            if not dataclasses.is_dataclass(cls):
                raise RegistryError(
                    f"{cls.__qualname__} is not a dataclass: give encode and decode to register it"
                )
            encode = encode or _encode_dataclass
            decode = decode or _decoder_for_dataclass(cls)
        entry = RegisteredType(tag=tag, cls=cls, encode=encode, decode=decode, version=version)
        self._by_tag[tag] = entry
        self._by_class[cls] = entry

    def tag_of(self, cls: type) -> str:
        """The tag of a registered class."""
        return self.entry_for_class(cls).tag

    def entry_for_class(self, cls: type) -> RegisteredType:
        """The registration of ``cls``; raises :class:`RegistryError` if there is none."""
        try:
            return self._by_class[cls]
        except KeyError:
            raise RegistryError(
                f"{cls.__qualname__} is not registered: register it (for an extension, "
                "with Experiment.register_device_extension or register_time_lane_extension)"
            ) from None

    def entry_for_tag(self, tag: str) -> RegisteredType:
        """The registration under ``tag``; raises :class:`RegistryError` if there is none."""
        try:
            return self._by_tag[tag]
        except KeyError:
            raise RegistryError(
                f"unknown type tag {tag!r}: the extension that defines it is not registered "
                f"(known tags: {', '.join(sorted(self._by_tag)) or 'none'})"
            ) from None

    def is_registered(self, cls: type) -> bool:
        """Whether ``cls`` has a tag."""
        return cls in self._by_class

    def __contains__(self, tag: object) -> bool:
        return tag in self._by_tag

    def __iter__(self) -> Iterator[RegisteredType]:
        return iter(self._by_tag.values())

    def copy(self) -> TypeRegistry:
        """An independent registry with the same registrations."""
        new = TypeRegistry()
        new._by_tag = dict(self._by_tag)
        new._by_class = dict(self._by_class)
        return new
