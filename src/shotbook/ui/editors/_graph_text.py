"""A readable, editable text form of a channel's output graph.

>>> from shotbook.compile import Broaden, LaneValues
>>> text = format_node(Broaden(LaneValues("mot light", default=False), "2 ms"))
>>> text
'broaden(lane("mot light", default=False), "2 ms", "both")'
>>> parse_node(text) == Broaden(LaneValues("mot light", default=False), "2 ms")
True

The text is parsed by a small hand-written parser (never evaluated): calls of the node
names below, strings in double quotes, numbers, ``True``/``False``/``None`` and
``[(x, y), ...]`` lists of points.
"""

from __future__ import annotations

import re
from typing import Any

from shotbook.compile import (
    Advance,
    And,
    Broaden,
    CalibratedMapping,
    Constant,
    Delay,
    DeviceTrigger,
    LaneValues,
    Not,
    Or,
    Xor,
)
from shotbook.types import Expression

NODES: dict[str, tuple[type, tuple[str, ...]]] = {
    "lane": (LaneValues, ("lane", "default")),
    "constant": (Constant, ("value",)),
    "trigger": (DeviceTrigger, ("device", "default")),
    "calibration": (CalibratedMapping, ("input", "points", "input_unit", "output_unit")),
    "advance": (Advance, ("input", "duration")),
    "delay": (Delay, ("input", "duration")),
    "broaden": (Broaden, ("input", "duration", "side")),
    "not": (Not, ("input",)),
    "and": (And, ("left", "right")),
    "or": (Or, ("left", "right")),
    "xor": (Xor, ("left", "right")),
}
"""Node names in the text, with their class and arguments in order."""

_NAME_OF = {cls: name for name, (cls, _) in NODES.items()}


class GraphSyntaxError(ValueError):
    """Text that is not an output graph; ``column`` (1-based) is where it goes wrong."""

    def __init__(self, message: str, text: str, column: int) -> None:
        self.column = column
        self.message = f"{message} (column {column}) in {text!r}"
        super().__init__(self.message)


def _format_value(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, Expression):
        return _quote(value.text)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, float):
        return f"{value:g}" if value == value else "nan"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple | list):
        inner = ", ".join(_format_value(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if type(value) in _NAME_OF:
        return format_node(value)
    raise ValueError(f"cannot write {value!r} in an output graph")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_node(node: Any) -> str:
    """The text of an output graph node (inverse of :func:`parse_node`)."""
    name = _NAME_OF.get(type(node))
    if name is None:
        raise ValueError(f"{type(node).__name__} is not an output graph node")
    _, fields = NODES[name]
    values = [getattr(node, field) for field in fields]
    if isinstance(node, CalibratedMapping):
        points = "[" + ", ".join(f"({x:g}, {y:g})" for x, y in node.points) + "]"
        parts = [
            format_node(node.input),
            points,
            _format_value(node.input_unit),
            _format_value(node.output_unit),
        ]
        return f"calibration({', '.join(parts)})"
    parts = []
    for field, value in zip(fields, values, strict=True):
        if field == "default":
            if value is not None:
                parts.append(f"default={_format_value(value)}")
        else:
            parts.append(_format_value(value))
    return f"{name}({', '.join(parts)})"


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<punct>[()\[\],=])
    )""",
    re.VERBOSE,
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                column = position + len(text[position:]) - len(text[position:].lstrip()) + 1
                raise GraphSyntaxError("unexpected character", text, column)
            kind = match.lastgroup or ""
            start = match.start(kind)
            self.tokens.append((kind, match.group(kind), start + 1))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int]:
        if self.index < len(self.tokens):
            return self.tokens[self.index]
        return ("end", "", len(self.text) + 1)

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if expected is not None and token[1] != expected:
            found = "the end" if token[0] == "end" else repr(token[1])
            raise GraphSyntaxError(f"expected {expected!r}, found {found}", self.text, token[2])
        self.index += 1
        return token

    def value(self) -> Any:
        kind, text, column = self.peek()
        if kind == "number":
            self.take()
            number = float(text)
            return number
        if kind == "string":
            self.take()
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "name":
            if text in ("True", "False", "None"):
                self.take()
                return {"True": True, "False": False, "None": None}[text]
            return self.node()
        if text in ("[", "("):
            self.take()
            closing = "]" if text == "[" else ")"
            items = []
            while self.peek()[1] != closing:
                items.append(self.value())
                if self.peek()[1] != closing:
                    self.take(",")
            self.take(closing)
            return tuple(items)
        found = "the end" if kind == "end" else repr(text)
        raise GraphSyntaxError(f"expected a value, found {found}", self.text, column)

    def node(self) -> Any:
        _, name, column = self.take()
        if name not in NODES:
            raise GraphSyntaxError(
                f"unknown node {name!r}; nodes are {', '.join(NODES)}", self.text, column
            )
        cls, fields = NODES[name]
        self.take("(")
        arguments: dict[str, Any] = {}
        position = 0
        while self.peek()[1] != ")":
            kind, text, where = self.peek()
            if (
                kind == "name"
                and self.index + 1 < len(self.tokens)
                and self.tokens[self.index + 1][1] == "="
            ):
                if text not in fields:
                    raise GraphSyntaxError(
                        f"{name}() has no argument {text!r} (it takes {', '.join(fields)})",
                        self.text,
                        where,
                    )
                self.take()
                self.take("=")
                arguments[text] = self.value()
            else:
                if position >= len(fields):
                    raise GraphSyntaxError(
                        f"{name}() takes {len(fields)} arguments ({', '.join(fields)})",
                        self.text,
                        where,
                    )
                arguments[fields[position]] = self.value()
                position += 1
            if self.peek()[1] != ")":
                self.take(",")
        self.take(")")
        try:
            return cls(**arguments)
        except TypeError as error:
            raise GraphSyntaxError(f"{name}(): {error}", self.text, column) from None


def parse_node(text: str) -> Any:
    """The output graph written in ``text`` (raises :class:`GraphSyntaxError` or the node's
    own ``ConfigurationError``)."""
    parser = _Parser(text)
    if parser.peek()[0] != "name":
        raise GraphSyntaxError(
            'an output graph starts with a node name, e.g. lane("x")', text, parser.peek()[2]
        )
    node = parser.node()
    kind, rest, column = parser.peek()
    if kind != "end":
        raise GraphSyntaxError(f"unexpected {rest!r} after the graph", text, column)
    return node


__all__ = ["NODES", "GraphSyntaxError", "format_node", "parse_node"]
