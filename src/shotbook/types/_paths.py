"""Sequence paths: where a sequence lives in the store's folder tree."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Self

MAX_NAME_LENGTH = 255
MAX_DEPTH = 64


class InvalidPathError(ValueError):
    """A sequence path or path name that cannot be used; the message says why."""


def _check_name(name: str, path_text: str) -> str:
    """``name`` in Unicode NFC (names that differ only in normalisation are one name), once
    checked."""
    name = unicodedata.normalize("NFC", name)
    if name == "":
        raise InvalidPathError(
            f"invalid sequence path {path_text!r}: empty name between separators"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidPathError(
            f"invalid sequence path {path_text[:40]!r}...: name {name[:20]!r}... has "
            f"{len(name)} characters, at most {MAX_NAME_LENGTH} are allowed"
        )
    for position, char in enumerate(name):
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            raise InvalidPathError(
                f"invalid sequence path {path_text!r}: name {name!r} contains the control "
                f"character {char!r} at position {position + 1}"
            )
    if name != name.strip():
        raise InvalidPathError(
            f"invalid sequence path {path_text!r}: name {name!r} starts or ends with whitespace"
        )
    if name in (".", ".."):
        raise InvalidPathError(f"invalid sequence path {path_text!r}: {name!r} is not a valid name")
    return name


class PureSequencePath:
    """The path of a sequence or folder, like ``/calibrations/mot/detuning scan``.

    Paths are pure values: creating one never touches the store. The canonical
    form starts with ``/`` and separates names with ``/``; the root is ``/``.
    Backslash-separated paths as written by caqtus (``\\\\calibrations\\\\mot``) are
    accepted and normalised, and names are kept in Unicode NFC (``"café"`` composed or
    decomposed is one name).

    >>> path = PureSequencePath("/calibrations") / "mot"
    >>> str(path), path.name, str(path.parent)
    ('/calibrations/mot', 'mot', '/calibrations')
    """

    __slots__ = ("_parts",)

    _parts: tuple[str, ...]

    def __init__(self, path: str | PureSequencePath = "/") -> None:
        if isinstance(path, PureSequencePath):
            self._parts = path._parts
            return
        if not isinstance(path, str):
            raise TypeError(f"a sequence path is a str, got {type(path).__name__}")
        text = path.replace("\\", "/")
        if not text.startswith("/"):
            raise InvalidPathError(
                f"invalid sequence path {path!r}: it must start with '/' (for example '/{path}')"
            )
        if text == "/":
            self._parts = ()
            return
        raw = text[1:].split("/")
        if raw and raw[-1] == "":
            raw = raw[:-1]  # a single trailing separator is tolerated
        if len(raw) > MAX_DEPTH:
            raise InvalidPathError(
                f"invalid sequence path {path[:40]!r}...: {len(raw)} levels, at most {MAX_DEPTH}"
            )
        self._parts = tuple(_check_name(name, path) for name in raw)

    @classmethod
    def root(cls) -> Self:
        """The root folder ``/``."""
        return cls("/")

    @classmethod
    def from_parts(cls, parts: tuple[str, ...] | list[str]) -> Self:
        """Build a path from its names, for example ``("a", "b")`` gives ``/a/b``."""
        new = cls.__new__(cls)
        text = "/" + "/".join(parts)
        new._parts = tuple(_check_name(name, text) for name in parts)
        return new

    @property
    def parts(self) -> tuple[str, ...]:
        """The names from the root down; the root has no parts."""
        return self._parts

    @property
    def name(self) -> str:
        """The last name of the path; the root has none and raises ``ValueError``."""
        if not self._parts:
            raise ValueError("the root path '/' has no name")
        return self._parts[-1]

    @property
    def parent(self) -> PureSequencePath | None:
        """The folder that holds this path, or ``None`` for the root."""
        if not self._parts:
            return None
        return PureSequencePath.from_parts(self._parts[:-1])

    def is_root(self) -> bool:
        """Whether this is ``/``."""
        return not self._parts

    def ancestors(self) -> Iterator[PureSequencePath]:
        """The parents of this path, from its direct parent up to the root."""
        for depth in range(len(self._parts) - 1, -1, -1):
            yield PureSequencePath.from_parts(self._parts[:depth])

    def is_relative_to(self, other: PureSequencePath) -> bool:
        """Whether ``other`` is this path or one of its ancestors."""
        return self._parts[: len(other._parts)] == other._parts

    def __truediv__(self, name: str) -> PureSequencePath:
        if not isinstance(name, str):
            return NotImplemented
        if "/" in name or "\\" in name:
            extra = [n for n in name.replace("\\", "/").split("/")]
        else:
            extra = [name]
        return PureSequencePath.from_parts([*self._parts, *extra])

    def __str__(self) -> str:
        return "/" + "/".join(self._parts)

    def __repr__(self) -> str:
        return f"PureSequencePath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PureSequencePath):
            return self._parts == other._parts
        return NotImplemented

    def __lt__(self, other: PureSequencePath) -> bool:
        return self._parts < other._parts

    def __hash__(self) -> int:
        return hash(("PureSequencePath", self._parts))


def as_path(path: str | PureSequencePath) -> PureSequencePath:
    """Accept a path written as text or already a :class:`PureSequencePath`."""
    return path if isinstance(path, PureSequencePath) else PureSequencePath(path)
