"""Tokenizer of the expression language.

The tokenizer never raises: a character it cannot read becomes an ``ERROR`` token that
carries the message, and the parser raises it when it reaches that token. So the error
reported is always the leftmost one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_LENGTH", "Token", "TokenKind", "tokenize"]

#: Longest expression text accepted, in characters.
MAX_LENGTH: Final = 10_000


class TokenKind:
    """Kinds of tokens (plain strings, cheap to compare)."""

    NUMBER: Final = "number"
    NAME: Final = "name"
    OP: Final = "operator"
    END: Final = "end"
    ERROR: Final = "error"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text and where it starts (0-based) and stops in the text."""

    kind: str
    text: str
    start: int
    stop: int
    message: str = ""

    @property
    def column(self) -> int:
        """The 1-based column of the first character."""
        return self.start + 1

    def describe(self) -> str:
        """Describe the token for error messages: ``number '2'``, ``')'``, ``end of text``."""
        if self.kind == TokenKind.END:
            return "end of text"
        if self.kind == TokenKind.NUMBER:
            return f"number {self.text!r}"
        if self.kind == TokenKind.NAME:
            return f"name {self.text!r}"
        return repr(self.text)


_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Names: dotted parts; µ (U+00B5), μ (U+03BC) and Ω appear only in unit names, checked later.
_NAME = re.compile(
    r"[A-Za-z_\u00b5\u03bc\u03a9][A-Za-z0-9_\u00b5\u03bc\u03a9]*"
    r"(?:\.[A-Za-z_\u00b5\u03bc\u03a9][A-Za-z0-9_\u00b5\u03bc\u03a9]*)*"
)
_NAME_CHAR = re.compile(r"[A-Za-z0-9_\u00b5\u03bc\u03a9]")
_OPERATORS: Final = (
    *("**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "(", ")", ",", "=", "<", ">"),
    *("%", "\u00b0", "."),
)

_SPECIAL_MESSAGES = {
    "'": "strings are not supported",
    '"': "strings are not supported",
    "[": "subscripts '[...]' are not supported",
    "]": "subscripts '[...]' are not supported",
    "{": "braces are not supported",
    "}": "braces are not supported",
    ":": "':' is not supported (no lambda, slices or dictionaries in expressions)",
    ";": "';' is not supported: write one expression",
    "!": "'!' is not supported: use 'not'",
    "&": "'&' is not supported: use 'and'",
    "|": "'|' is not supported: use 'or'",
    "~": "'~' is not supported: use 'not'",
}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token (or an ``ERROR`` token)."""
    tokens: list[Token] = []
    append = tokens.append
    position = 0
    length = len(text)
    while True:
        while position < length and text[position].isspace():
            position += 1
        if position >= length:
            append(Token(TokenKind.END, "", length, length))
            return tokens
        char = text[position]
        if char.isdigit() or (char == "." and _NUMBER.match(text, position)):
            match = _NUMBER.match(text, position)
            if match is None:  # a non-ASCII digit
                append(_error(text, position, f"unexpected character {char!r}"))
                return tokens
            stop = match.end()
            if stop < length and text[stop] in "eE":
                after = text[stop + 1 : stop + 2]
                if after in ("", "+", "-") or not _NAME_CHAR.match(after):
                    append(
                        _error(
                            text,
                            position,
                            f"malformed number {text[position : stop + 1]!r}: the exponent "
                            "needs digits, e.g. '1e-3'",
                        )
                    )
                    return tokens
            append(Token(TokenKind.NUMBER, text[position:stop], position, stop))
            position = stop
            continue
        match = _NAME.match(text, position)
        if match is not None:
            stop = match.end()
            append(Token(TokenKind.NAME, text[position:stop], position, stop))
            position = stop
            continue
        for operator in _OPERATORS:
            if text.startswith(operator, position):
                stop = position + len(operator)
                append(Token(TokenKind.OP, operator, position, stop))
                position = stop
                break
        else:
            message = _SPECIAL_MESSAGES.get(char, f"unexpected character {char!r}")
            append(_error(text, position, message))
            return tokens


def _error(text: str, position: int, message: str) -> Token:
    return Token(TokenKind.ERROR, text[position : position + 1], position, position + 1, message)
