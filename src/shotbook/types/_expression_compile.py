"""Build fast evaluators (Python closures) from checked syntax trees.

Two evaluators are built for each expression:

* the scalar one works on Python floats and bools with :mod:`math`; every arithmetic result
  is checked to be finite, so overflow is an error, not ``inf``;
* the array one works on numpy arrays with ufuncs; the caller runs it under
  ``np.errstate(over/divide/invalid="raise")``.

A name whose value is an array makes the scalar evaluator raise :class:`UseArrays`, and
the caller switches to the array evaluator. Constant subtrees are folded once. Nothing here
imports pint.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

from shotbook.types._expression_errors import (
    EvaluationError,
    UndefinedParameterError,
    shorten,
)
from shotbook.types._expression_parser import (
    Call,
    Compare,
    Literal,
    Logic,
    Name,
    Node,
    Not,
    Operand,
    Power,
    Product,
    Sum,
    Time,
    UnaryMinus,
)
from shotbook.types._units import Dimension

__all__ = ["Evaluator", "UseArrays", "build_evaluators", "constant_value"]

Evaluator = Callable[[Mapping[str, Any]], Any]

# Pairwise closures are fastest for short chains; longer ones loop (no deep call chains).
_MAX_PAIRWISE: Final = 8

_NOT_CONSTANT: Final = object()


class UseArrays(Exception):
    """Raised by the scalar evaluator when a value is an array."""


class _Context:
    """What closures need to report errors: the text and the dimensions of the names."""

    __slots__ = ("constants", "dimensions", "text")

    def __init__(self, text: str, dimensions: Mapping[str, Dimension]) -> None:
        self.text = text
        self.dimensions = dimensions
        self.constants: dict[int, object] = {}

    def error(self, node: Node, column: int, reason: str) -> EvaluationError:
        snippet = self.text[node.start : node.stop]
        if snippet.strip() == self.text.strip():
            where = f"in {shorten(self.text)!r}"
        else:
            where = f"in {shorten(snippet, 60)!r} of {shorten(self.text)!r}"
        return EvaluationError(f"{reason} {where} (column {column})", self.text, column)

    def non_finite(self, node: Node, column: int, value: float) -> EvaluationError:
        if math.isnan(value):
            reason = "result is not a number (nan; an input is inf or nan?)"
        else:
            reason = "overflow: result is too large for a 64-bit float"
        return self.error(node, column, reason)

    def undefined(self, node: Node, name: str, values: Mapping[str, Any]) -> Exception:
        close = difflib.get_close_matches(name, [str(k) for k in values], n=1)
        return UndefinedParameterError(
            name, self.text, node.start + 1, close[0] if close else None, "no value was given"
        )


def _column(node: Node) -> int:
    return getattr(node, "column", node.start + 1)


# ----------------------------------------------------------------------------- constants


def _free(node: Node, memo: dict[int, bool]) -> bool:
    """True if the subtree uses a name or ``t``; fills ``memo`` for every node."""
    if isinstance(node, Name | Time):
        result = True
    elif isinstance(node, Literal):
        result = False
    else:
        result = False
        for child in _children(node):
            result = _free(child, memo) or result
    memo[id(node)] = result
    return result


def _children(node: Node) -> list[Node]:
    if isinstance(node, UnaryMinus | Not):
        return [node.operand]
    if isinstance(node, Sum | Product | Logic):
        return [node.first, *(o.node for o in node.rest)]
    if isinstance(node, Power):
        return [node.base, node.exponent]
    if isinstance(node, Compare):
        return [node.left, node.right]
    if isinstance(node, Call):
        return list(node.arguments)
    return []


def constant_value(node: Node, text: str) -> float | bool:
    """Evaluate a subtree without names nor ``t``; raise :class:`EvaluationError`."""
    context = _Context(text, {})
    memo: dict[int, bool] = {}
    _free(node, memo)
    function, _ = _ScalarBuilder(context, memo).build(node)
    return function({})


def build_evaluators(
    tree: Node, text: str, dimensions: Mapping[str, Dimension]
) -> tuple[Evaluator, Evaluator, object]:
    """Return the scalar evaluator, the array evaluator and the constant value (or a
    sentinel, ``is_constant_value`` tells) of a checked tree."""
    context = _Context(text, dimensions)
    memo: dict[int, bool] = {}
    _free(tree, memo)
    scalar, constant = _ScalarBuilder(context, memo).build(tree)
    array, _ = _ArrayBuilder(context, memo).build(tree)
    return scalar, array, constant


def is_constant_value(value: object) -> bool:
    """True if ``value`` (third item of :func:`build_evaluators`) is a folded constant."""
    return value is not _NOT_CONSTANT


def _constant(value: object) -> Evaluator:
    def constant(values: Mapping[str, Any]) -> Any:
        return value

    return constant


# ----------------------------------------------------------------------------- value loading


def _to_float_scalar(context: _Context, node: Node, name: str, x: object) -> float:
    if isinstance(x, bool | int | float | np.integer | np.floating | np.bool_):
        try:
            return float(x)
        except OverflowError:
            raise context.error(node, node.start + 1, f"value of {name!r} is too large") from None
    if isinstance(x, np.ndarray):
        if x.ndim == 0 and x.dtype.kind in "biuf":
            return float(x)
        raise UseArrays
    raise context.error(node, node.start + 1, _bad_value(name, x, "a number (SI magnitude)"))


def _to_bool_scalar(context: _Context, node: Node, name: str, x: object) -> bool:
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray) and x.dtype == np.bool_:
        if x.ndim == 0:
            return bool(x)
        raise UseArrays
    raise context.error(node, node.start + 1, _bad_value(name, x, "a boolean"))


def _bad_value(name: str, x: object, expected: str) -> str:
    kind = type(x).__name__
    if hasattr(x, "magnitude") and hasattr(x, "units"):
        return (
            f"{name!r} is a quantity ({kind}); compiled expressions take SI magnitudes "
            "(use Expression.evaluate for quantities)"
        )
    return f"{name!r} is {shorten(repr(x), 40)} of type {kind}; expected {expected}"


def _to_float_array(context: _Context, node: Node, name: str, x: object) -> Any:
    if isinstance(x, np.ndarray):
        if x.dtype == np.float64:
            return x
        if x.dtype.kind in "biuf":
            return x.astype(np.float64)
        raise context.error(node, node.start + 1, _bad_value(name, x, "a float array"))
    return _to_float_scalar(context, node, name, x)


def _to_bool_array(context: _Context, node: Node, name: str, x: object) -> Any:
    if isinstance(x, np.ndarray) and x.dtype == np.bool_:
        return x
    return _to_bool_scalar(context, node, name, x)


# ----------------------------------------------------------------------------- scalar builder


_MATH: Final[dict[str, Callable[[float], float]]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sqrt": math.sqrt,
    "abs": abs,
    "floor": lambda x: float(math.floor(x)),
    "ceil": lambda x: float(math.ceil(x)),
}

Built = tuple[Evaluator, object]

_METHODS: Final[dict[type, str]] = {
    Literal: "build_literal",
    Name: "build_name",
    Time: "build_time",
    UnaryMinus: "build_unary_minus",
    Sum: "build_sum",
    Product: "build_product",
    Power: "build_power",
    Compare: "build_compare",
    Not: "build_not",
    Logic: "build_logic",
    Call: "build_call",
}


class _ScalarBuilder:
    def __init__(self, context: _Context, free: dict[int, bool]) -> None:
        self.context = context
        self.free = free

    def build(self, node: Node) -> Built:
        if not self.free[id(node)] and not isinstance(node, Literal):
            cached = self.context.constants.get(id(node), _NOT_CONSTANT)
            if cached is _NOT_CONSTANT:
                function = self.build_node(node)
                try:
                    cached = function({})
                except EvaluationError:
                    return function, _NOT_CONSTANT  # fails at every call, as it should
                self.context.constants[id(node)] = cached
            return _constant(cached), cached
        function = self.build_node(node)
        if isinstance(node, Literal):
            return function, node.value
        return function, _NOT_CONSTANT

    def build_node(self, node: Node) -> Evaluator:
        method: Callable[[Any], Evaluator] = getattr(self, _METHODS[type(node)])
        return method(node)

    # --- leaves

    def build_literal(self, node: Literal) -> Evaluator:
        return _constant(node.value)

    def build_name(self, node: Name) -> Evaluator:
        return self.load(node, node.name)

    def build_time(self, node: Time) -> Evaluator:
        return self.load(node, "t")

    def load(self, node: Node, name: str) -> Evaluator:
        context = self.context
        boolean = name != "t" and context.dimensions.get(name) == Dimension.BOOL
        exact: type = bool if boolean else float
        convert = _to_bool_scalar if boolean else _to_float_scalar

        def load(values: Mapping[str, Any]) -> Any:
            try:
                x = values[name]
            except KeyError:
                raise context.undefined(node, name, values) from None
            if type(x) is exact:
                return x
            return convert(context, node, name, x)

        return load

    # --- arithmetic

    def build_unary_minus(self, node: UnaryMinus) -> Evaluator:
        operand, _ = self.build(node.operand)

        def negate(values: Mapping[str, Any]) -> Any:
            return -operand(values)

        return negate

    def build_sum(self, node: Sum) -> Evaluator:
        return self.chain(node)

    def build_product(self, node: Product) -> Evaluator:
        return self.chain(node)

    def chain(self, node: Sum | Product) -> Evaluator:
        function, constant = self.build(node.first)
        if len(node.rest) > _MAX_PAIRWISE:
            return self.loop(node, function)
        for operand in node.rest:
            right, right_constant = self.build(operand.node)
            function = self.pair(node, operand, function, constant, right, right_constant)
            constant = _NOT_CONSTANT
        return function

    def pair(
        self,
        node: Node,
        operand: Operand,
        left: Evaluator,
        left_constant: object,
        right: Evaluator,
        right_constant: object,
    ) -> Evaluator:
        context = self.context
        column = operand.column
        op = operand.operator

        def bad(r: float) -> EvaluationError:
            return context.non_finite(node, column, r)

        def zero() -> EvaluationError:
            return context.error(node, column, "division by zero")

        if op == "/":
            if right_constant is not _NOT_CONSTANT and right_constant != 0:
                c = right_constant

                def divide_constant(values: Mapping[str, Any]) -> Any:
                    r = left(values) / c
                    if r - r:  # nan (truthy) only when r is inf or nan
                        raise bad(r)
                    return r

                return divide_constant

            def divide(values: Mapping[str, Any]) -> Any:
                x = left(values)
                y = right(values)
                try:
                    r = x / y
                except ZeroDivisionError:
                    raise zero() from None
                if r - r:
                    raise bad(r)
                return r

            return divide
        if left_constant is not _NOT_CONSTANT:
            c = left_constant
            if op == "*":

                def constant_times(values: Mapping[str, Any]) -> Any:
                    r = c * right(values)
                    if r - r:
                        raise bad(r)
                    return r

                return constant_times
            if op == "+":

                def constant_plus(values: Mapping[str, Any]) -> Any:
                    r = c + right(values)
                    if r - r:
                        raise bad(r)
                    return r

                return constant_plus
        if right_constant is not _NOT_CONSTANT:
            c = right_constant
            if op == "*":

                def times_constant(values: Mapping[str, Any]) -> Any:
                    r = left(values) * c
                    if r - r:
                        raise bad(r)
                    return r

                return times_constant
            if op == "+":

                def plus_constant(values: Mapping[str, Any]) -> Any:
                    r = left(values) + c
                    if r - r:
                        raise bad(r)
                    return r

                return plus_constant
            if op == "-":

                def minus_constant(values: Mapping[str, Any]) -> Any:
                    r = left(values) - c
                    if r - r:
                        raise bad(r)
                    return r

                return minus_constant
        if op == "*":

            def times(values: Mapping[str, Any]) -> Any:
                r = left(values) * right(values)
                if r - r:
                    raise bad(r)
                return r

            return times
        if op == "+":

            def plus(values: Mapping[str, Any]) -> Any:
                r = left(values) + right(values)
                if r - r:
                    raise bad(r)
                return r

            return plus

        def minus(values: Mapping[str, Any]) -> Any:
            r = left(values) - right(values)
            if r - r:
                raise bad(r)
            return r

        return minus

    def loop(self, node: Sum | Product, first: Evaluator) -> Evaluator:
        context = self.context
        steps = [(o.operator, o.column, self.build(o.node)[0]) for o in node.rest]

        def chain(values: Mapping[str, Any]) -> Any:
            r = first(values)
            for op, column, function in steps:
                y = function(values)
                if op == "+":
                    r = r + y
                elif op == "-":
                    r = r - y
                elif op == "*":
                    r = r * y
                else:
                    try:
                        r = r / y
                    except ZeroDivisionError:
                        raise context.error(node, column, "division by zero") from None
                if r - r:
                    raise context.non_finite(node, column, r)
            return r

        return chain

    def build_power(self, node: Power) -> Evaluator:
        base, _ = self.build(node.base)
        exponent, _ = self.build(node.exponent)
        context = self.context
        pow_ = math.pow

        def power(values: Mapping[str, Any]) -> Any:
            x = base(values)
            y = exponent(values)
            try:
                return pow_(x, y)
            except OverflowError:
                raise context.error(node, node.column, "overflow in a power") from None
            except (ValueError, ZeroDivisionError):
                raise context.error(
                    node, node.column, f"power undefined for base {x!r} and exponent {y!r}"
                ) from None

        return power

    # --- booleans

    def build_compare(self, node: Compare) -> Evaluator:
        left, _ = self.build(node.left)
        right, _ = self.build(node.right)
        op = node.operator
        if op == "<":
            return lambda values: left(values) < right(values)
        if op == "<=":
            return lambda values: left(values) <= right(values)
        if op == ">":
            return lambda values: left(values) > right(values)
        if op == ">=":
            return lambda values: left(values) >= right(values)
        if op == "==":
            return lambda values: left(values) == right(values)
        return lambda values: left(values) != right(values)

    def build_not(self, node: Not) -> Evaluator:
        operand, _ = self.build(node.operand)
        return lambda values: not operand(values)

    def build_logic(self, node: Logic) -> Evaluator:
        functions = [self.build(node.first)[0], *(self.build(o.node)[0] for o in node.rest)]
        # Every operand is evaluated (no short circuit), as in the array evaluator.
        if node.operator == "and":
            return lambda values: all([f(values) for f in functions])
        return lambda values: any([f(values) for f in functions])

    # --- calls

    def build_call(self, node: Call) -> Evaluator:
        arguments = [self.build(a)[0] for a in node.arguments]
        context = self.context
        column = node.start + 1
        name = node.function
        if name in ("min", "max"):
            reduce = min if name == "min" else max
            if len(arguments) == 1:
                return arguments[0]
            if len(arguments) == 2:
                a, b = arguments
                return lambda values: reduce(a(values), b(values))
            return lambda values: reduce([f(values) for f in arguments])
        if name == "square_wave":
            x_of = arguments[0]
            duty_of = arguments[1] if len(arguments) > 1 else _constant(0.5)
            floor = math.floor

            def square_wave(values: Mapping[str, Any]) -> Any:
                x = x_of(values)
                duty = duty_of(values)
                try:
                    return x - floor(x) < duty
                except (OverflowError, ValueError):
                    raise context.error(node, column, f"square_wave of {x!r}") from None

            return square_wave
        function = _MATH[name]
        (argument,) = arguments

        def call(values: Mapping[str, Any]) -> Any:
            x = argument(values)
            try:
                return function(x)
            except OverflowError:
                raise context.error(node, column, f"overflow in {name}({x!r})") from None
            except ValueError:
                raise context.error(node, column, f"{name}({x!r}) is undefined") from None

        return call


# ----------------------------------------------------------------------------- array builder

_UFUNCS: Final[dict[str, Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
}

_BINARY: Final[dict[str, Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
    "and": np.logical_and,
    "or": np.logical_or,
    "min": np.minimum,
    "max": np.maximum,
    "**": np.power,
}

_ARRAY_ERRORS: Final = (FloatingPointError, ValueError, OverflowError, ZeroDivisionError)


class _ArrayBuilder(_ScalarBuilder):
    """Builds evaluators on numpy arrays (run under ``np.errstate(..., "raise")``)."""

    def build(self, node: Node) -> Built:
        if not self.free[id(node)]:
            # Constants are computed with the scalar evaluator (same values).
            return _ScalarBuilder(self.context, self.free).build(node)
        return self.build_node(node), _NOT_CONSTANT

    def load(self, node: Node, name: str) -> Evaluator:
        context = self.context
        boolean = name != "t" and context.dimensions.get(name) == Dimension.BOOL
        convert = _to_bool_array if boolean else _to_float_array

        def load(values: Mapping[str, Any]) -> Any:
            try:
                x = values[name]
            except KeyError:
                raise context.undefined(node, name, values) from None
            return convert(context, node, name, x)

        return load

    def binary(self, node: Node, column: int, op: str, left: Evaluator, right: Evaluator) -> Any:
        ufunc = _BINARY[op]
        context = self.context

        def apply(values: Mapping[str, Any]) -> Any:
            x = left(values)
            y = right(values)
            try:
                return ufunc(x, y)
            except _ARRAY_ERRORS as error:
                raise context.error(node, column, _numpy_reason(error)) from None

        return apply

    def chain(self, node: Sum | Product) -> Evaluator:
        function, _ = self.build(node.first)
        if len(node.rest) > _MAX_PAIRWISE:
            return self.array_loop(node, function, [(o.operator, o) for o in node.rest])
        for operand in node.rest:
            right, _ = self.build(operand.node)
            function = self.binary(node, operand.column, operand.operator, function, right)
        return function

    def array_loop(
        self, node: Node, first: Evaluator, operands: list[tuple[str, Operand]]
    ) -> Evaluator:
        context = self.context
        steps = [(_BINARY[op], o.column, self.build(o.node)[0]) for op, o in operands]

        def chain(values: Mapping[str, Any]) -> Any:
            r = first(values)
            for ufunc, column, function in steps:
                y = function(values)
                try:
                    r = ufunc(r, y)
                except _ARRAY_ERRORS as error:
                    raise context.error(node, column, _numpy_reason(error)) from None
            return r

        return chain

    def build_unary_minus(self, node: UnaryMinus) -> Evaluator:
        operand, _ = self.build(node.operand)
        return lambda values: np.negative(operand(values))

    def build_power(self, node: Power) -> Evaluator:
        base, _ = self.build(node.base)
        exponent, _ = self.build(node.exponent)
        return self.binary(node, node.column, "**", base, exponent)

    def build_compare(self, node: Compare) -> Evaluator:
        left, _ = self.build(node.left)
        right, _ = self.build(node.right)
        return self.binary(node, node.column, node.operator, left, right)

    def build_not(self, node: Not) -> Evaluator:
        operand, _ = self.build(node.operand)
        return lambda values: np.logical_not(operand(values))

    def build_logic(self, node: Logic) -> Evaluator:
        function, _ = self.build(node.first)
        if len(node.rest) > _MAX_PAIRWISE:
            return self.array_loop(node, function, [(node.operator, o) for o in node.rest])
        for operand in node.rest:
            right, _ = self.build(operand.node)
            function = self.binary(node, operand.column, node.operator, function, right)
        return function

    def build_call(self, node: Call) -> Evaluator:
        arguments = [self.build(a)[0] for a in node.arguments]
        context = self.context
        column = node.start + 1
        name = node.function
        if name in ("min", "max"):
            function = arguments[0]
            for right in arguments[1:]:
                function = self.binary(node, column, name, function, right)
            return function
        if name == "square_wave":
            x_of = arguments[0]
            duty_of = arguments[1] if len(arguments) > 1 else _constant(0.5)

            def square_wave(values: Mapping[str, Any]) -> Any:
                x = x_of(values)
                duty = duty_of(values)
                try:
                    return np.less(np.subtract(x, np.floor(x)), duty)
                except _ARRAY_ERRORS as error:
                    raise context.error(node, column, _numpy_reason(error)) from None

            return square_wave
        ufunc = _UFUNCS[name]
        (argument,) = arguments

        def call(values: Mapping[str, Any]) -> Any:
            x = argument(values)
            try:
                return ufunc(x)
            except _ARRAY_ERRORS as error:
                raise context.error(node, column, f"{name}: {_numpy_reason(error)}") from None

        return call


def _numpy_reason(error: Exception) -> str:
    text = str(error)
    if "divide by zero" in text:
        return "division by zero"
    if "overflow" in text:
        return "overflow: result is too large for a 64-bit float"
    if "invalid value" in text:
        return "undefined result (math domain error, e.g. sqrt or log of a negative number)"
    return text
