"""Hand-written Pratt parser of the expression language (no eval, no ``ast``).

Grammar, loosest binding first::

    expression := or
    or         := and ('or' and)*
    and        := not ('and' not)*
    not        := 'not' not | comparison
    comparison := sum [('<'|'<='|'>'|'>='|'=='|'!=') sum]      (never chained)
    sum        := product (('+'|'-') product)*
    product    := unary (('*'|'/') unary)*
    unary      := ('+'|'-') unary | power
    power      := primary [('**'|'^') unary]                    (right associative)
    primary    := literal | NAME | 't' | constant | NAME '(' arguments ')' | '(' expression ')'
    literal    := NUMBER ['%' | '°' | unit-chain]

Sums, products, ``and`` and ``or`` are n-ary nodes, so a long flat expression gives a
shallow tree. Nesting (parentheses, unary operators, powers, calls) is limited to
:data:`MAX_DEPTH` levels and the text to :data:`MAX_LENGTH` characters.
"""

from __future__ import annotations

import difflib
import keyword
import math
from dataclasses import dataclass
from typing import Final

from shotbook.types._expression_errors import ExpressionSyntaxError, UnitError
from shotbook.types._expression_lexer import MAX_LENGTH, Token, TokenKind, tokenize
from shotbook.types._units import (
    NOT_UNITS,
    Dimension,
    Unit,
    UnsupportedUnit,
    lookup_unit,
    parse_unit_chain,
    unknown_unit_message,
)

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "RESERVED_NAMES",
    "Call",
    "Compare",
    "Literal",
    "Logic",
    "Name",
    "Node",
    "Not",
    "ParsedExpression",
    "Power",
    "Product",
    "Sum",
    "Time",
    "UnaryMinus",
    "parse",
]

#: Deepest nesting of parentheses, unary operators, powers and calls.
MAX_DEPTH: Final = 64

#: One-argument functions that need a dimensionless argument and give a dimensionless result.
DIMENSIONLESS_FUNCTIONS: Final = frozenset(
    {"sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"}
    | {"exp", "log", "log10", "floor", "ceil"}
)

#: Functions: name -> (least number of arguments, most (None: any), keyword names).
FUNCTIONS: Final[dict[str, tuple[int, int | None, tuple[str, ...]]]] = {
    **{name: (1, 1, ()) for name in sorted(DIMENSIONLESS_FUNCTIONS | {"sqrt", "abs"})},
    "min": (1, None, ()),
    "max": (1, None, ()),
    "square_wave": (1, 2, ("duty",)),
}

#: Constants: name -> value.
CONSTANTS: Final[dict[str, float | bool]] = {
    "pi": math.pi,
    "e": math.e,
    "Enabled": True,
    "Disabled": False,
}

#: Names that cannot be parameters.
RESERVED_NAMES: Final = frozenset({"t", "and", "or", "not", *CONSTANTS, *FUNCTIONS})

_COMPARISONS: Final = frozenset({"<", "<=", ">", ">=", "==", "!="})
_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _POWER = range(1, 9)
_UNIT_CHARS: Final = ("\u00b5", "\u03bc", "\u03a9")


# ----------------------------------------------------------------------------- nodes


class Node:
    """A node of the syntax tree; ``start``/``stop`` locate it in the text (0-based)."""

    __slots__ = ("start", "stop")

    def __init__(self, start: int, stop: int) -> None:
        self.start = start
        self.stop = stop


class Literal(Node):
    """A number with its unit (SI value), a constant, or ``Enabled``/``Disabled``."""

    __slots__ = ("dimension", "unit", "value")

    def __init__(
        self, start: int, stop: int, value: float | bool, dimension: Dimension, unit: Unit | None
    ) -> None:
        super().__init__(start, stop)
        self.value = value
        self.dimension = dimension
        self.unit = unit


class Name(Node):
    """A parameter name such as ``mot.detuning``."""

    __slots__ = ("name",)

    def __init__(self, start: int, stop: int, name: str) -> None:
        super().__init__(start, stop)
        self.name = name


class Time(Node):
    """The time variable ``t``."""

    __slots__ = ()


class UnaryMinus(Node):
    """``-operand``."""

    __slots__ = ("operand",)

    def __init__(self, start: int, stop: int, operand: Node) -> None:
        super().__init__(start, stop)
        self.operand = operand


class Not(Node):
    """``not operand``."""

    __slots__ = ("operand",)

    def __init__(self, start: int, stop: int, operand: Node) -> None:
        super().__init__(start, stop)
        self.operand = operand


@dataclass(frozen=True, slots=True)
class Operand:
    """One operand of an n-ary node, with the operator written before it."""

    operator: str
    column: int
    node: Node


class Sum(Node):
    """``first (+|-) operand ...``."""

    __slots__ = ("first", "rest")

    def __init__(self, start: int, stop: int, first: Node, rest: tuple[Operand, ...]) -> None:
        super().__init__(start, stop)
        self.first = first
        self.rest = rest


class Product(Node):
    """``first (*|/) operand ...``."""

    __slots__ = ("first", "rest")

    def __init__(self, start: int, stop: int, first: Node, rest: tuple[Operand, ...]) -> None:
        super().__init__(start, stop)
        self.first = first
        self.rest = rest


class Logic(Node):
    """``first and|or operand ...`` (one operator for the whole node)."""

    __slots__ = ("first", "operator", "rest")

    def __init__(
        self, start: int, stop: int, operator: str, first: Node, rest: tuple[Operand, ...]
    ) -> None:
        super().__init__(start, stop)
        self.operator = operator
        self.first = first
        self.rest = rest


class Power(Node):
    """``base ** exponent`` (also written ``base ^ exponent``)."""

    __slots__ = ("base", "column", "exponent")

    def __init__(self, start: int, stop: int, base: Node, exponent: Node, column: int) -> None:
        super().__init__(start, stop)
        self.base = base
        self.exponent = exponent
        self.column = column


class Compare(Node):
    """``left op right`` with op among ``< <= > >= == !=``."""

    __slots__ = ("column", "left", "operator", "right")

    def __init__(
        self, start: int, stop: int, operator: str, left: Node, right: Node, column: int
    ) -> None:
        super().__init__(start, stop)
        self.operator = operator
        self.left = left
        self.right = right
        self.column = column


class Call(Node):
    """``function(arguments)``; ``square_wave``'s ``duty=`` is stored as its second argument."""

    __slots__ = ("arguments", "function")

    def __init__(self, start: int, stop: int, function: str, arguments: tuple[Node, ...]) -> None:
        super().__init__(start, stop)
        self.function = function
        self.arguments = arguments


@dataclass(frozen=True, slots=True)
class ParsedExpression:
    """The result of parsing: the tree and what it uses."""

    text: str
    tree: Node
    names: frozenset[str]
    name_columns: dict[str, int]  # first column of each name
    uses_time: bool


# ----------------------------------------------------------------------------- parser


def parse(text: str) -> ParsedExpression:
    """Parse ``text``; raise :class:`ExpressionSyntaxError` (or :class:`UnitError`)."""
    if len(text) > MAX_LENGTH:
        raise ExpressionSyntaxError(
            f"expression is too long ({len(text)} characters; the limit is {MAX_LENGTH})",
            text[:200] + "...",
            None,
        )
    if not text.strip():
        raise ExpressionSyntaxError("empty expression: write a value such as '10 MHz'", text, 1)
    parser = _Parser(text)
    tree = parser.expression(0)
    token = parser.token
    if token.kind != TokenKind.END:
        parser.fail_expected_operator(token)
    return ParsedExpression(text, tree, frozenset(parser.names), parser.names, parser.uses_time)


class _Parser:
    __slots__ = ("depth", "index", "names", "text", "tokens", "uses_time")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.names: dict[str, int] = {}
        self.uses_time = False

    # --- tokens

    @property
    def token(self) -> Token:
        token = self.tokens[self.index]
        if token.kind == TokenKind.ERROR:
            raise ExpressionSyntaxError(token.message, self.text, token.column)
        return token

    def peek(self, offset: int) -> Token | None:
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def advance(self) -> Token:
        token = self.token
        self.index += 1
        return token

    def is_op(self, text: str) -> bool:
        token = self.token
        return token.kind == TokenKind.OP and token.text == text

    def fail(self, message: str, column: int | None) -> ExpressionSyntaxError:
        raise ExpressionSyntaxError(message, self.text, column)

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(
                f"expression nests too deeply (more than {MAX_DEPTH} levels of parentheses, "
                "unary operators, powers or calls)",
                token.column,
            )

    def fail_expected_operator(self, token: Token) -> None:
        text = token.text
        if token.kind == TokenKind.NAME:
            message = (
                f"unexpected name {text!r}: an operator is missing (only a number and its unit "
                "are multiplied without '*', as in '10 MHz'; write '2 * x')"
            )
        elif token.kind == TokenKind.NUMBER:
            message = f"unexpected number {text!r}: an operator is missing"
        elif text == "(":
            message = "unexpected '(': an operator is missing (write '2 * (x + 1)')"
        elif text == ")":
            message = "unmatched ')'"
        elif text == ".":
            message = (
                "unexpected '.': attribute access is not supported; dots only join the parts "
                "of a parameter name like 'mot.detuning'"
            )
        elif text == "=":
            message = "'=' is not supported: use '==' to compare"
        elif text in ("%", "\u00b0"):
            message = f"{text!r} can only follow a number, as in '60%' or '90°'"
        elif text in _COMPARISONS:
            message = (
                f"comparisons cannot be chained: write 'a < b and b < c' (unexpected {text!r})"
            )
        else:
            message = f"unexpected {token.describe()}: expected an operator or the end"
        self.fail(message, token.column)

    # --- Pratt loop

    def expression(self, min_power: int) -> Node:
        left = self.prefix(min_power)
        while True:
            token = self.token
            if token.kind == TokenKind.OP:
                text = token.text
                if text in ("+", "-"):
                    power = _SUM
                elif text in ("*", "/"):
                    power = _PRODUCT
                elif text in ("**", "^"):
                    power = _POWER
                elif text in _COMPARISONS:
                    power = _COMPARE
                else:
                    return left
            elif token.kind == TokenKind.NAME and token.text in ("and", "or"):
                power = _AND if token.text == "and" else _OR
            else:
                return left
            if power < min_power:
                return left
            if power == _POWER:
                self.advance()
                self.nest(token)
                exponent = self.expression(_POWER)
                self.depth -= 1
                left = Power(left.start, exponent.stop, left, exponent, token.column)
            elif power == _COMPARE:
                self.advance()
                right = self.expression(_COMPARE + 1)
                left = Compare(left.start, right.stop, text, left, right, token.column)
                after = self.token
                if after.kind == TokenKind.OP and after.text in _COMPARISONS:
                    self.fail(
                        f"comparisons cannot be chained: write 'a {text} b and b {after.text} c'",
                        after.column,
                    )
            else:
                left = self.n_ary(left, power)

    def n_ary(self, first: Node, power: int) -> Node:
        operators = {
            _SUM: ("+", "-"),
            _PRODUCT: ("*", "/"),
            _AND: ("and",),
            _OR: ("or",),
        }[power]
        rest: list[Operand] = []
        while True:
            token = self.token
            if token.text not in operators or token.kind not in (TokenKind.OP, TokenKind.NAME):
                break
            self.advance()
            node = self.expression(power + 1)
            rest.append(Operand(token.text, token.column, node))
        stop = rest[-1].node.stop
        if power == _SUM:
            return Sum(first.start, stop, first, tuple(rest))
        if power == _PRODUCT:
            return Product(first.start, stop, first, tuple(rest))
        return Logic(first.start, stop, operators[0], first, tuple(rest))

    def prefix(self, min_power: int) -> Node:
        token = self.token
        kind = token.kind
        if kind == TokenKind.NUMBER:
            return self.literal(None)
        if kind == TokenKind.NAME:
            if token.text == "not":
                if min_power > _NOT:
                    self.fail("'not' must be in parentheses here, as in '(not x)'", token.column)
                self.advance()
                self.nest(token)
                operand = self.expression(_NOT)
                self.depth -= 1
                return Not(token.start, operand.stop, operand)
            return self.name()
        if kind == TokenKind.OP:
            text = token.text
            if text in ("-", "+"):
                if self.dec_literal_follows():
                    self.advance()
                    return self.literal(token)
                self.advance()
                self.nest(token)
                operand = self.expression(_UNARY)
                self.depth -= 1
                if text == "+":
                    operand.start = token.start
                    return operand
                return UnaryMinus(token.start, operand.stop, operand)
            if text == "(":
                self.advance()
                self.nest(token)
                inner = self.expression(0)
                closing = self.token
                if not (closing.kind == TokenKind.OP and closing.text == ")"):
                    if closing.kind == TokenKind.END:
                        self.fail(f"'(' at column {token.column} is never closed", token.column)
                    self.fail_expected_operator(closing)
                self.advance()
                self.depth -= 1
                inner.start, inner.stop = token.start, closing.stop
                return inner
            if text in ("%", "\u00b0"):
                self.fail(f"{text!r} can only follow a number, as in '60%' or '90°'", token.column)
        if kind == TokenKind.END:
            self.fail("unexpected end of expression: expected a value", token.column)
        self.fail(f"unexpected {token.describe()}: expected a number, a name or '('", token.column)
        raise AssertionError("unreachable")  # pragma: no cover

    def dec_literal_follows(self) -> bool:
        """True for '-3 dBm': the sign belongs to the logarithmic literal."""
        number, unit = self.peek(1), self.peek(2)
        return (
            number is not None
            and number.kind == TokenKind.NUMBER
            and unit is not None
            and unit.kind == TokenKind.NAME
            and unit.text in ("dB", "dBm")
        )

    # --- literals

    def literal(self, sign: Token | None) -> Node:
        token = self.advance()
        start = sign.start if sign is not None else token.start
        value = float(token.text)
        if math.isinf(value):
            self.fail(f"number {token.text!r} is too large for a 64-bit float", token.column)
        if sign is not None and sign.text == "-":
            value = -value
        after = self.token
        if after.kind == TokenKind.OP and after.text in ("%", "\u00b0"):
            self.advance()
            value *= 0.01 if after.text == "%" else math.pi / 180.0
            return Literal(start, after.stop, value, Dimension.NONE, None)
        if after.kind != TokenKind.NAME or after.text in ("and", "or"):
            return Literal(start, token.stop, value, Dimension.NONE, None)
        name = after.text
        following = self.peek(1)
        called = following is not None and following.kind == TokenKind.OP and following.text == "("
        if (
            name in NOT_UNITS
            or "." in name
            or keyword.iskeyword(name)
            or (name in FUNCTIONS and called)
        ):
            shown = f"{name}(...)" if called else name
            self.fail(
                f"unexpected name {name!r} after the number {token.text!r}: only units follow "
                f"a number directly; write '{token.text} * {shown}'",
                after.column,
            )
        try:
            known = lookup_unit(name) is not None
        except UnsupportedUnit:
            known = True  # parse_unit_chain says why it is refused
        if not known:
            raise UnitError(
                f"{unknown_unit_message(name)}; to multiply by a parameter write "
                f"'{token.text} * {name}'",
                self.text,
                after.column,
            )
        unit, self.index = parse_unit_chain(self.tokens, self.index, self.text)
        stop = self.tokens[self.index - 1].stop
        if unit.logarithmic:
            try:
                si = unit.scale * 10.0 ** (value / 10.0)
            except OverflowError:
                si = math.inf
            display = Unit("mW", 1e-3, unit.dimension) if unit.symbol == "dBm" else None
        else:
            si = unit.to_si(value)
            display = unit if not unit.dimension.is_dimensionless else None
        if not math.isfinite(si):
            self.fail(
                f"the value {self.text[start:stop]!r} is too large for a 64-bit float",
                token.column,
            )
        return Literal(start, stop, si, unit.dimension, display)

    # --- names and calls

    def name(self) -> Node:
        token = self.advance()
        name = token.text
        if name not in RESERVED_NAMES:
            self.check_name(token)
        following = self.token
        called = following.kind == TokenKind.OP and following.text == "("
        if called:
            return self.call(token)
        if name == "t":
            self.uses_time = True
            return Time(token.start, token.stop)
        if name in CONSTANTS:
            value = CONSTANTS[name]
            dimension = Dimension.BOOL if isinstance(value, bool) else Dimension.NONE
            return Literal(token.start, token.stop, value, dimension, None)
        if name in FUNCTIONS:
            self.fail(f"function {name!r} must be called, as in '{name}(x)'", token.column)
        if name in ("and", "or"):
            self.fail(f"unexpected {name!r}: expected a value before it", token.column)
        self.names.setdefault(name, token.column)
        return Name(token.start, token.stop, name)

    def check_name(self, token: Token) -> None:
        name = token.text
        if name in ("True", "False"):
            self.fail(f"{name!r} is not supported: write Enabled or Disabled", token.column)
        column = token.column
        for part in name.split("."):
            if part.startswith("_"):
                self.fail(f"name {name!r} is refused: no part of a name may start with '_'", column)
            if keyword.iskeyword(part):
                what = "is a Python keyword" if part == name else f"has the Python keyword {part!r}"
                self.fail(f"{name!r} {what}, which expressions do not support", column)
            if any(c in part for c in _UNIT_CHARS):
                self.fail(
                    f"name {name!r} is refused: 'µ', 'μ' and 'Ω' appear only in units, right "
                    "after a number as in '10 µs'",
                    column,
                )
            column += len(part) + 1

    def call(self, name_token: Token) -> Node:
        function = name_token.text
        spec = FUNCTIONS.get(function)
        if spec is None:
            close = difflib.get_close_matches(function, list(FUNCTIONS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.fail(
                f"unknown function {function!r}{hint} (functions: {', '.join(FUNCTIONS)})",
                name_token.column,
            )
            raise AssertionError("unreachable")  # pragma: no cover
        least, most, keywords = spec
        opening = self.advance()
        self.nest(opening)
        positional: list[Node] = []
        named: dict[str, Node] = {}
        if self.is_op(")"):
            closing = self.advance()
        else:
            while True:
                token = self.token
                after = self.peek(1)
                if (
                    token.kind == TokenKind.NAME
                    and after is not None
                    and after.kind == TokenKind.OP
                    and after.text == "="
                ):
                    self.keyword_argument(function, keywords, named)
                else:
                    if named:
                        self.fail(
                            f"positional argument after a keyword argument in {function}()",
                            token.column,
                        )
                    positional.append(self.expression(0))
                token = self.token
                if token.kind == TokenKind.OP and token.text == ",":
                    self.advance()
                    continue
                if token.kind == TokenKind.OP and token.text == ")":
                    closing = self.advance()
                    break
                if token.kind == TokenKind.END:
                    self.fail(
                        f"'(' of {function}( at column {opening.column} is never closed",
                        opening.column,
                    )
                self.fail_expected_operator(token)
        self.depth -= 1
        arguments = list(positional)
        for index, keyword_name in enumerate(keywords, start=1):
            if keyword_name in named:
                if len(arguments) > index:
                    self.fail(
                        f"{function}() got {keyword_name!r} twice (by position and by keyword)",
                        name_token.column,
                    )
                arguments.append(named[keyword_name])
        count = len(arguments)
        if count < least or (most is not None and count > most):
            if most is None:
                expected = f"at least {least} argument{'s' if least > 1 else ''}"
            elif least == most:
                expected = f"exactly {least} argument{'s' if least > 1 else ''}"
            else:
                expected = f"{least} to {most} arguments"
            self.fail(f"{function}() takes {expected}, got {count}", name_token.column)
        return Call(name_token.start, closing.stop, function, tuple(arguments))

    def keyword_argument(
        self, function: str, keywords: tuple[str, ...], named: dict[str, Node]
    ) -> None:
        token = self.advance()
        if token.text not in keywords:
            if not keywords:
                message = (
                    f"{function}() takes no keyword arguments (only square_wave has one, duty=)"
                )
            else:
                close = difflib.get_close_matches(token.text, keywords, n=1, cutoff=0.4)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                message = f"unknown keyword {token.text!r} for {function}(){hint}"
            self.fail(message, token.column)
        if token.text in named:
            self.fail(f"{function}() got {token.text!r} twice", token.column)
        self.advance()  # '='
        named[token.text] = self.expression(0)
