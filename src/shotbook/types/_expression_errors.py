"""Errors raised by the expression engine.

Every error derives from :class:`ExpressionError` (itself a :class:`ValueError`) and carries
the text of the expression and, where it makes sense, the 1-based column of the fault.

Example::

    >>> try:
    ...     Expression("10 MHz + )")
    ... except ExpressionSyntaxError as error:
    ...     error.column
    10
"""

from __future__ import annotations

from typing import Self

__all__ = [
    "DimensionError",
    "EvaluationError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "UndefinedParameterError",
    "UnitError",
]

# How many characters of an expression are shown around the fault in error messages.
_WINDOW = 60


def shorten(text: str, limit: int = 80) -> str:
    """Return ``text`` on one line, cut to at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 3] + "..."


def caret_lines(text: str, column: int) -> str:
    """Return the text on one line and a caret line under ``column`` (1-based).

    Long texts are cut to a window around the column, so the caret stays readable.
    """
    # One character for one character: columns keep their meaning.
    flat = "".join(" " if c.isspace() else c for c in text)
    index = min(max(column - 1, 0), len(flat))
    start = max(0, index - _WINDOW)
    stop = min(len(flat), index + _WINDOW)
    prefix = "..." if start > 0 else ""
    suffix = "..." if stop < len(flat) else ""
    shown = prefix + flat[start:stop] + suffix
    caret = " " * (len(prefix) + index - start) + "^"
    return f"    {shown}\n    {caret}"


class ExpressionError(ValueError):
    """Base class of every error about an expression.

    Attributes:
        expression: the text of the expression.
        column: the 1-based column of the fault, or ``None`` if it does not apply.
        message: the full message (also ``str(error)``).
    """

    expression: str
    column: int | None
    message: str

    def __init__(self, message: str, expression: str = "", column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.column = column

    def __str__(self) -> str:
        return self.message

    def located(self, where: str) -> Self:
        """Return a copy whose message starts with ``where``.

        Example::

            >>> error.located("lane 'mot.coils', step 'load'")
            # "lane 'mot.coils', step 'load': cannot add ..."
        """
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.message = f"{where}: {self.message}"
        copy.args = (copy.message,)
        return copy

    def __reduce__(self) -> tuple[object, ...]:
        # Keep copies (copy.copy, multiprocessing) working with the extra fields.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[ExpressionError], message: str, state: dict[str, object]) -> ExpressionError:
    error = cls.__new__(cls)
    error.args = (message,)
    error.__dict__.update(state)
    return error


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression.

    The message says what is wrong, at which column, then shows the text with a caret
    under the fault::

        unexpected ')' (column 10): expected a number, a name or '('
            10 MHz + )
                     ^
    """

    def __init__(self, what: str, expression: str = "", column: int | None = None) -> None:
        self.what = what
        if column is None:
            message = f"{what} in {shorten(expression)!r}" if expression else what
        else:
            message = f"{what} (column {column})\n{caret_lines(expression, column)}"
        super().__init__(message, expression, column)


class UnitError(ExpressionSyntaxError):
    """An unknown or unsupported unit, e.g. ``10 MHzz`` (suggests close unit names)."""


class UndefinedParameterError(ExpressionError):
    """A name used by the expression has no value or dimension.

    Attributes:
        name: the undefined name.
        closest: the closest known name, or ``None``.
    """

    def __init__(
        self,
        name: str,
        expression: str = "",
        column: int | None = None,
        closest: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.name = name
        self.closest = closest
        message = f"undefined parameter {name!r}"
        if expression:
            message += f" in {shorten(expression)!r}"
        if closest is not None:
            message += f"; did you mean {closest!r}?"
        if hint:
            message += f"; {hint}"
        super().__init__(message, expression, column)


class DimensionError(ExpressionError):
    """Quantities of incompatible dimensions were combined, e.g. ``10 MHz + 1 s``."""


class EvaluationError(ExpressionError):
    """The value could not be computed: overflow, division by zero, domain error..."""
