"""Static dimension check of a syntax tree.

``check(parsed, dimensions)`` returns the dimension of the expression. With
``dimensions=None`` (at construction) the names have unknown dimensions and only the
constant parts are checked; an unknown dimension is ``None`` and never an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from fractions import Fraction
from typing import Final

from shotbook.types._expression_compile import constant_value
from shotbook.types._expression_errors import DimensionError, UndefinedParameterError, shorten
from shotbook.types._expression_parser import (
    DIMENSIONLESS_FUNCTIONS,
    Call,
    Compare,
    Literal,
    Logic,
    Name,
    Node,
    Not,
    ParsedExpression,
    Power,
    Product,
    Sum,
    Time,
    UnaryMinus,
)
from shotbook.types._units import Dimension, UnsupportedUnit, lookup_unit

__all__ = ["check", "node_dimension"]

_TIME: Final = Dimension(time=1)
_MAX_EXPONENT: Final = 1000


def check(parsed: ParsedExpression, dimensions: Mapping[str, Dimension] | None) -> Dimension | None:
    """Return the dimension of ``parsed`` given the dimensions of its names.

    Raises :class:`UndefinedParameterError` for a name missing from ``dimensions`` and
    :class:`DimensionError` for inconsistent dimensions.
    """
    return _Checker(parsed.text, dimensions).visit(parsed.tree)


def node_dimension(text: str, node: Node, dimensions: Mapping[str, Dimension]) -> Dimension | None:
    """The dimension of one subtree (used to pick display units)."""
    return _Checker(text, dimensions).visit(node)


class _Checker:
    def __init__(self, text: str, dimensions: Mapping[str, Dimension] | None) -> None:
        self.text = text
        self.dimensions = dimensions

    # --- messages

    def snippet(self, node: Node) -> str:
        return shorten(self.text[node.start : node.stop], 50)

    def describe(self, node: Node, dimension: Dimension) -> str:
        return f"{self.snippet(node)} ({dimension})"

    def span(self, start: int, stop: int, dimension: Dimension) -> str:
        return f"{shorten(self.text[start:stop], 50)} ({dimension})"

    def error(self, message: str, column: int) -> DimensionError:
        return DimensionError(f"{message} in {shorten(self.text)!r}", self.text, column)

    # --- nodes

    def visit(self, node: Node) -> Dimension | None:
        if isinstance(node, Literal):
            return node.dimension
        if isinstance(node, Name):
            return self.name(node)
        if isinstance(node, Time):
            return _TIME
        if isinstance(node, Sum):
            return self.sum(node)
        if isinstance(node, Product):
            return self.product(node)
        if isinstance(node, UnaryMinus):
            dimension = self.visit(node.operand)
            if dimension == Dimension.BOOL:
                raise self.error(
                    f"cannot negate a boolean, {self.snippet(node.operand)}; use 'not'",
                    node.start + 1,
                )
            return dimension
        if isinstance(node, Not):
            self.need_bool(node.operand, "'not'", node.start + 1)
            return Dimension.BOOL
        if isinstance(node, Logic):
            for operand in (node.first, *(o.node for o in node.rest)):
                self.need_bool(operand, repr(node.operator), operand.start + 1)
            return Dimension.BOOL
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Power):
            return self.power(node)
        if isinstance(node, Call):
            return self.call(node)
        raise TypeError(f"unknown node {type(node).__name__}")  # pragma: no cover

    def name(self, node: Name) -> Dimension | None:
        if self.dimensions is None:
            return None
        dimension = self.dimensions.get(node.name)
        if dimension is not None:
            return dimension
        close = difflib.get_close_matches(node.name, [str(k) for k in self.dimensions], n=1)
        hint = None
        try:
            if lookup_unit(node.name) is not None:
                hint = f"units must follow a number, as in '1 {node.name}'"
        except UnsupportedUnit:
            pass
        raise UndefinedParameterError(
            node.name, self.text, node.start + 1, close[0] if close else None, hint
        )

    def need_bool(self, node: Node, what: str, column: int) -> None:
        dimension = self.visit(node)
        if dimension is not None and dimension != Dimension.BOOL:
            raise self.error(
                f"{what} needs booleans, got {self.describe(node, dimension)}; "
                "compare first, e.g. 'x > 0'",
                column,
            )

    def numeric(self, node: Node, what: str, column: int) -> Dimension | None:
        dimension = self.visit(node)
        if dimension == Dimension.BOOL:
            raise self.error(
                f"cannot {what} a boolean, {self.snippet(node)}; booleans only combine with "
                "'and', 'or', 'not', '==' and '!='",
                column,
            )
        return dimension

    def sum(self, node: Sum) -> Dimension | None:
        reference = self.numeric(node.first, "add", node.first.start + 1)
        previous_stop = node.first.stop
        for operand in node.rest:
            verb = "add" if operand.operator == "+" else "subtract"
            dimension = self.numeric(operand.node, verb, operand.column)
            if reference is None:
                reference = dimension
            elif dimension is not None and dimension != reference:
                left = self.span(node.start, previous_stop, reference)
                right = self.describe(operand.node, dimension)
                if operand.operator == "+":
                    message = f"cannot add {left} and {right}"
                else:
                    message = f"cannot subtract {right} from {left}"
                raise self.error(message, operand.column)
            previous_stop = operand.node.stop
        return reference

    def product(self, node: Product) -> Dimension | None:
        result = self.numeric(node.first, "multiply", node.first.start + 1)
        for operand in node.rest:
            verb = "multiply" if operand.operator == "*" else "divide"
            dimension = self.numeric(operand.node, verb, operand.column)
            if result is None or dimension is None:
                result = None
            elif operand.operator == "*":
                result = result * dimension
            else:
                result = result / dimension
        return result

    def compare(self, node: Compare) -> Dimension:
        left = self.visit(node.left)
        right = self.visit(node.right)
        boolean = Dimension.BOOL in (left, right)
        if boolean and node.operator not in ("==", "!="):
            raise self.error(
                f"cannot order booleans with {node.operator!r} "
                f"({self.snippet(node.left)} {node.operator} {self.snippet(node.right)})",
                node.column,
            )
        if left is not None and right is not None and left != right:
            raise self.error(
                f"cannot compare {self.describe(node.left, left)} with "
                f"{self.describe(node.right, right)}",
                node.column,
            )
        return Dimension.BOOL

    def power(self, node: Power) -> Dimension | None:
        base = self.numeric(node.base, "raise", node.base.start + 1)
        exponent = self.visit(node.exponent)
        if exponent is not None and not exponent.is_dimensionless:
            raise self.error(
                f"the exponent must be dimensionless, got {self.describe(node.exponent, exponent)}",
                node.column,
            )
        if base is None:
            return None
        if base.is_dimensionless:
            return base
        if not _is_constant(node.exponent):
            raise self.error(
                f"the exponent of {self.describe(node.base, base)} must be a constant number, "
                f"not {self.snippet(node.exponent)!r}",
                node.column,
            )
        value = constant_value(node.exponent, self.text)
        fraction = Fraction(float(value)).limit_denominator(100)
        if abs(float(fraction) - float(value)) > 1e-9 * max(1.0, abs(float(value))):
            raise self.error(
                f"the exponent {float(value)!r} of {self.describe(node.base, base)} must be an "
                "integer or a simple fraction",
                node.column,
            )
        if abs(fraction) > _MAX_EXPONENT:
            raise self.error(
                f"the exponent {float(value)!r} of {self.describe(node.base, base)} is too large",
                node.column,
            )
        return base**fraction

    def call(self, node: Call) -> Dimension | None:
        name = node.function
        column = node.start + 1
        if name in DIMENSIONLESS_FUNCTIONS or name == "square_wave":
            for argument in node.arguments:
                dimension = self.numeric(argument, f"call {name}() on", column)
                if dimension is not None and not dimension.is_dimensionless:
                    raise self.error(
                        f"{name}() needs a dimensionless argument, got "
                        f"{self.describe(argument, dimension)}",
                        argument.start + 1,
                    )
            return Dimension.BOOL if name == "square_wave" else Dimension.NONE
        if name == "sqrt":
            (argument,) = node.arguments
            dimension = self.numeric(argument, "take sqrt() of", column)
            if dimension is None:
                return None
            half = dimension ** Fraction(1, 2)
            if any(e.denominator != 1 for e in half.exponents.values()):
                raise self.error(
                    f"cannot take sqrt() of {self.describe(argument, dimension)}: its dimension "
                    "has an odd exponent",
                    column,
                )
            return half
        if name == "abs":
            return self.numeric(node.arguments[0], "take abs() of", column)
        # min, max
        reference: Dimension | None = None
        reference_node = node.arguments[0]
        for argument in node.arguments:
            dimension = self.numeric(argument, f"call {name}() on", column)
            if reference is None:
                reference, reference_node = dimension, argument
            elif dimension is not None and dimension != reference:
                raise self.error(
                    f"{name}() arguments must have the same dimension: "
                    f"{self.describe(reference_node, reference)} and "
                    f"{self.describe(argument, dimension)}",
                    argument.start + 1,
                )
        return reference


def _is_constant(node: Node) -> bool:
    if isinstance(node, Name | Time):
        return False
    if isinstance(node, UnaryMinus | Not):
        return _is_constant(node.operand)
    if isinstance(node, Sum | Product | Logic):
        return _is_constant(node.first) and all(_is_constant(o.node) for o in node.rest)
    if isinstance(node, Power):
        return _is_constant(node.base) and _is_constant(node.exponent)
    if isinstance(node, Compare):
        return _is_constant(node.left) and _is_constant(node.right)
    if isinstance(node, Call):
        return all(_is_constant(a) for a in node.arguments)
    return True
