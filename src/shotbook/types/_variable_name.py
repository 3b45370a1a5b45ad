"""Dotted variable names such as ``mot.detuning``."""

from __future__ import annotations

import keyword
import re
from typing import Self

from ._expression_parser import RESERVED_NAMES

_PART = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


MAX_NAME_LENGTH = 200


class InvalidVariableNameError(ValueError):
    """A parameter name that cannot be used; the message says why."""


class DottedVariableName:
    """The name of a parameter, with dots between namespaces: ``mot.detuning``.

    Each part starts with a letter and holds letters, digits and underscores.
    Names used by expressions (``t``, ``pi``, ``sin``...) are refused.

    >>> name = DottedVariableName("mot.detuning")
    >>> name.parts, str(name.parent)
    (('mot', 'detuning'), 'mot')
    """

    __slots__ = ("_text",)

    _text: str

    def __init__(self, name: str | DottedVariableName) -> None:
        if isinstance(name, DottedVariableName):
            self._text = name._text
            return
        if not isinstance(name, str):
            raise TypeError(f"a parameter name is a str, got {type(name).__name__}")
        if not name:
            raise InvalidVariableNameError("a parameter name cannot be empty")
        if len(name) > MAX_NAME_LENGTH:
            raise InvalidVariableNameError(
                f"parameter name {name[:30]!r}... is too long ({len(name)} > {MAX_NAME_LENGTH})"
            )
        for part in name.split("."):
            if not _PART.match(part):
                raise InvalidVariableNameError(
                    f"invalid parameter name {name!r}: part {part!r} must start with a letter "
                    "and contain only letters, digits and '_' (parts are separated by single dots)"
                )
            if keyword.iskeyword(part):
                raise InvalidVariableNameError(
                    f"invalid parameter name {name!r}: {part!r} is a reserved word"
                )
        if name in RESERVED_NAMES:
            raise InvalidVariableNameError(
                f"invalid parameter name {name!r}: it is reserved in expressions "
                "(t is the time, pi and e constants, the others functions)"
            )
        self._text = name

    @classmethod
    def from_parts(cls, parts: tuple[str, ...] | list[str]) -> Self:
        """Join parts with dots."""
        return cls(".".join(parts))

    @property
    def parts(self) -> tuple[str, ...]:
        """The names between the dots."""
        return tuple(self._text.split("."))

    @property
    def name(self) -> str:
        """The last part."""
        return self._text.rsplit(".", 1)[-1]

    @property
    def parent(self) -> DottedVariableName | None:
        """The enclosing namespace, or ``None`` for a top-level name."""
        head, dot, _ = self._text.rpartition(".")
        return DottedVariableName(head) if dot else None

    def __truediv__(self, other: str | DottedVariableName) -> DottedVariableName:
        return DottedVariableName(f"{self._text}.{other}")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"DottedVariableName({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DottedVariableName):
            return self._text == other._text
        if isinstance(other, str):
            return self._text == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)

    def __lt__(self, other: DottedVariableName) -> bool:
        return self._text < str(other)
