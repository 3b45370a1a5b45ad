"""Parsing: what the language accepts, what it refuses, and how errors read."""

from __future__ import annotations

import copy
import math
import re

import pytest

from shotbook.types._expression import Expression
from shotbook.types._expression_errors import (
    DimensionError,
    ExpressionError,
    ExpressionSyntaxError,
    UnitError,
)
from shotbook.types._expression_lexer import MAX_LENGTH
from shotbook.types._expression_parser import MAX_DEPTH


def value(text: str) -> object:
    """The SI value of a constant expression."""
    return Expression(text).compile()({})


# --- numbers and literals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1.0),
        ("1.5", 1.5),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e-3", 1e-3),
        ("1.5E+6", 1.5e6),
        ("1e-320", 1e-320),
        ("60%", 0.6),
        ("60 %", 0.6),
        ("90°", math.pi / 2),
        ("10 MHz", 1e7),
        ("10MHz", 1e7),
        ("1.5 MHz^-2", 1.5e-12),
        ("1.5 MHz**-2", 1.5e-12),
        ("12 MHz*cm/J", 1.2e5),
        ("10 µs", 1e-5),
        ("10 μs", 1e-5),
        ("10 us", 1e-5),
        ("3e-3 V/m", 3e-3),
        ("2 m^(1/2)", 2.0),
        ("3 dB", 10**0.3),
        ("0 dBm", 1e-3),
        ("-3 dBm", 1e-3 * 10**-0.3),
        ("+3 dBm", 1e-3 * 10**0.3),
        ("45 deg", math.pi / 4),
        ("1 rad", 1.0),
        ("10 G", 1e-3),
        ("pi", math.pi),
        ("e", math.e),
        ("Enabled", True),
        ("Disabled", False),
    ],
)
def test_literals(text: str, expected: object) -> None:
    assert value(text) == pytest.approx(expected, rel=1e-15)


def test_floats_are_float64_everywhere() -> None:
    result = value("2**10")
    assert type(result) is float
    assert result == 1024.0


# --- operators and precedence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("8 / 4 / 2", 1.0),
        ("8 - 4 - 2", 2.0),
        ("2 ** 3 ** 2", 512.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ** 2", -4.0),
        ("(-2) ** 2", 4.0),
        ("2 ** -1 * 3", 1.5),
        ("- - 2", 2.0),
        ("+2", 2.0),
        ("2 * -3", -6.0),
        ("1 < 2", True),
        ("1 <= 1", True),
        ("1 > 2", False),
        ("1 >= 2", False),
        ("1 == 1", True),
        ("1 != 1", False),
        ("1 < 2 and 2 < 3", True),
        ("1 > 2 or 2 < 3", True),
        ("not 1 > 2", True),
        ("not Enabled or Enabled", True),
        ("not (Enabled or Enabled)", False),
        ("Enabled and not Disabled", True),
        ("Enabled == Disabled", False),
        ("1 + 2 > 2 and 1 < 2", True),
        ("10 MHz * 2", 2e7),
        ("10 MHz * (2)", 2e7),
        ("2 MHz * 3 s", 6e6),
        ("1 s / 2 ms", 500.0),
        ("0 dBm + 1 mW", 2e-3),
        ("3 dB * 2", 2 * 10**0.3),
        ("2 * -3 dB", 2 * 10**-0.3),
        ("1 GHz - 1 MHz", 999e6),
    ],
)
def test_operators(text: str, expected: object) -> None:
    result = value(text)
    assert result == pytest.approx(expected, rel=1e-15)
    assert type(result) is type(expected)


def test_whitespace_and_newlines() -> None:
    assert value("\t1 +\n 2 ") == 3.0


def test_long_flat_expressions_make_shallow_trees() -> None:
    text = " + ".join(["1"] * 2400)
    assert value(text) == 2400.0
    text = " * ".join(["1.001"] * 1200)
    assert value(text) == pytest.approx(1.001**1200)
    text = " and ".join(["Enabled"] * 800)
    assert value(text) is True


# --- names


def test_names_and_reserved_words() -> None:
    e = Expression("mot.detuning * 2 + sin(2*pi*t*rate) + e + pi")
    assert e.names == frozenset({"mot.detuning", "rate"})
    assert e.uses_time
    assert not e.is_constant
    assert Expression("10 MHz").is_constant
    assert not Expression("10 MHz").uses_time
    assert Expression("t").names == frozenset()
    assert Expression("t").uses_time
    assert Expression("a.b_2.C3").names == frozenset({"a.b_2.C3"})


def test_unit_chain_stops_at_non_units() -> None:
    e = Expression("10 MHz * x")
    assert e.names == frozenset({"x"})
    assert Expression("10 MHz * mot.m").names == frozenset({"mot.m"})
    # a parameter named like a unit must be parenthesised after a unit
    assert Expression("10 MHz * m").names == frozenset()
    assert Expression("10 MHz * (m)").names == frozenset({"m"})
    # functions and t are never units
    assert Expression("2 s * min(x, 1 s)").names == frozenset({"x"})
    assert Expression("1 s * t").uses_time
    # a bare unit name is a parameter name (undefined unless given)
    assert Expression("MHz").names == frozenset({"MHz"})


# --- errors


def syntax_error(text: str) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as info:
        Expression(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "what", "column"),
    [
        ("", "empty expression", 1),
        ("   ", "empty expression", 1),
        ("1 2", "unexpected number '2': an operator is missing", 3),
        ("1 +", "unexpected end of expression", 4),
        ("1 + )", "unexpected ')'", 5),
        ("(1 + 2", "'(' at column 1 is never closed", 1),
        ("1 + 2)", "unmatched ')'", 6),
        ("'a'", "strings are not supported", 1),
        ('"a"', "strings are not supported", 1),
        ("a[0]", "subscripts '[...]' are not supported", 2),
        ("lambda: 1", "'lambda' is a Python keyword", 1),
        ("lambda x: 1", "'lambda' is a Python keyword", 1),
        ("__import__('os')", "no part of a name may start with '_'", 1),
        ("a.__class__", "no part of a name may start with '_'", 3),
        ("_a", "no part of a name may start with '_'", 1),
        ("a._b", "no part of a name may start with '_'", 3),
        ("(a).b", "attribute access is not supported", 4),
        ("sin(x).real", "attribute access is not supported", 7),
        ("a.", "attribute access is not supported", 2),
        ("a..b", "attribute access is not supported", 2),
        ("a.if", "has the Python keyword 'if'", 3),
        ("1 $ 2", "unexpected character '$'", 3),
        ("x = 1", "'=' is not supported: use '=='", 3),
        ("1 < 2 < 3", "comparisons cannot be chained", 7),
        ("1 == 2 != 3", "comparisons cannot be chained", 8),
        ("2e", "malformed number '2e'", 1),
        ("2e+", "malformed number '2e'", 1),
        ("1e400", "number '1e400' is too large for a 64-bit float", 1),
        ("1e300 THz", "too large for a 64-bit float", 1),
        ("10000 dBm", "too large for a 64-bit float", 1),
        ("2 x", "unknown unit 'x'; to multiply by a parameter write '2 * x'", 3),
        ("2 t", "write '2 * t'", 3),
        ("2 pi", "write '2 * pi'", 3),
        ("2 mot.x", "write '2 * mot.x'", 3),
        ("2 sin(x)", "write '2 * sin(...)'", 3),
        ("2 if x else 3", "unexpected name 'if'", 3),
        ("2 cmm", "unknown unit 'cmm'; did you mean", 3),
        ("10 MHz cm", "unexpected name 'cm': an operator is missing", 8),
        ("2 (3)", "unexpected '('", 3),
        ("x%", "'%' can only follow a number", 2),
        ("°", "'°' can only follow a number", 1),
        ("sin", "function 'sin' must be called", 1),
        ("foo(1)", "unknown function 'foo'; did you mean 'floor'?", 1),
        ("mot.sin(1)", "unknown function 'mot.sin'", 1),
        ("sin()", "sin() takes exactly 1 argument, got 0", 1),
        ("sin(1, 2)", "sin() takes exactly 1 argument, got 2", 1),
        ("min()", "min() takes at least 1 argument, got 0", 1),
        ("square_wave(1, 0.5, 3)", "square_wave() takes 1 to 2 arguments, got 3", 1),
        (
            "square_wave(1, dutyy=0.2)",
            "unknown keyword 'dutyy' for square_wave(); did you mean",
            16,
        ),
        ("square_wave(1, 0.5, duty=0.2)", "got 'duty' twice", 1),
        ("square_wave(1, duty=0.2, duty=0.3)", "got 'duty' twice", 26),
        ("square_wave(duty=0.2, 1)", "positional argument after a keyword", 23),
        ("sin(x=1)", "sin() takes no keyword arguments", 5),
        ("sin(1,)", "unexpected ')'", 7),
        ("sin(1", "'(' of sin( at column 4 is never closed", 4),
        ("sin(1 2)", "unexpected number '2'", 7),
        ("True", "write Enabled or Disabled", 1),
        ("None", "'None' is a Python keyword", 1),
        ("and", "unexpected 'and'", 1),
        ("1 and", "unexpected end of expression", 6),
        ("1 < not 2", "'not' must be in parentheses", 5),
        ("µx", "appear only in units", 1),
        ("10 MHz^x", "a unit exponent must be an integer", 8),
        ("10 MHzz", "unknown unit 'MHzz'; did you mean 'MHz'", 4),
        ("1 degC", "not proportional", 3),
        ("1 dBm * mW", "dBm cannot be combined", 3),
        ("1 dBm^2", "dBm cannot be combined", 3),
        ("1 mW / dB", "dB cannot be combined", 8),
    ],
)
def test_syntax_errors(text: str, what: str, column: int) -> None:
    error = syntax_error(text)
    assert what in error.what
    assert error.column == column
    assert error.expression == text
    # message: what, the column, the text on one line, a caret under the fault
    lines = str(error).split("\n")
    assert lines[0] == f"{error.what} (column {column})"
    flat = "".join(" " if c.isspace() else c for c in text)
    assert lines[1] == "    " + flat
    assert lines[2] == "    " + " " * (column - 1) + "^"


def test_unit_errors_are_syntax_errors() -> None:
    error = syntax_error("10 MHzz")
    assert isinstance(error, UnitError)
    assert isinstance(error, ExpressionError)
    assert isinstance(error, ValueError)


def test_caret_window_on_long_text() -> None:
    text = "1 + " * 500 + "$"
    error = syntax_error(text)
    assert error.column == len(text)
    _, shown, caret = str(error).split("\n")
    assert shown.startswith("    ...")
    assert caret.index("^") == len(shown) - 1
    assert shown.endswith("$")


def test_length_limit() -> None:
    text = "1" + " + 1" * (MAX_LENGTH // 4)
    error = syntax_error(text)
    assert error.column is None
    assert f"expression is too long ({len(text)} characters; the limit is {MAX_LENGTH})" in str(
        error
    )
    assert value("1" + " " * (MAX_LENGTH - 1)) == 1.0


@pytest.mark.parametrize("kind", ["parentheses", "unary", "power", "calls"])
def test_nesting_limit(kind: str) -> None:
    def make(n: int) -> str:
        return {
            "parentheses": "(" * n + "1" + ")" * n,
            "unary": "-" * n + "1",
            "power": "1**" * n + "1",
            "calls": "sin(" * n + "1" + ")" * n,
        }[kind]

    assert isinstance(Expression(make(MAX_DEPTH)), Expression)
    error = syntax_error(make(MAX_DEPTH + 1))
    assert f"expression nests too deeply (more than {MAX_DEPTH} levels" in error.what
    error = syntax_error(make(1500))
    assert "nests too deeply" in error.what


def test_not_nesting() -> None:
    assert value("not " * MAX_DEPTH + "Enabled") is True
    assert "nests too deeply" in syntax_error("not " * (MAX_DEPTH + 1) + "Enabled").what


# --- construction-time dimension errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 s + 1 m", "cannot add 1 s ([time]) and 1 m ([length]) in '1 s + 1 m'"),
        ("10 MHz + 1 s", "cannot add 10 MHz ([frequency]) and 1 s ([time]) in '10 MHz + 1 s'"),
        (
            "1 MHz + 2 MHz - 1 s",
            "cannot subtract 1 s ([time]) from 1 MHz + 2 MHz ([frequency])",
        ),
        ("1 s < 1 m", "cannot compare 1 s ([time]) with 1 m ([length])"),
        ("0 dBm + 1", "cannot add 0 dBm ([power]) and 1 (dimensionless)"),
        ("0 dBm + 1 Hz", "cannot add 0 dBm ([power]) and 1 Hz ([frequency])"),
        ("sin(1 s)", "sin() needs a dimensionless argument, got 1 s ([time])"),
        ("exp(2 * 1 s)", "exp() needs a dimensionless argument, got 2 * 1 s ([time])"),
        ("sqrt(1 s)", "cannot take sqrt() of 1 s ([time]): its dimension has an odd exponent"),
        ("2 ** (1 s)", "the exponent must be dimensionless, got (1 s) ([time])"),
        ("(1 m) ** x", "the exponent of (1 m) ([length]) must be a constant number, not 'x'"),
        ("(1 m) ** 0.3183", "must be an integer or a simple fraction"),
        ("(1 m) ** 5000", "is too large"),
        ("min(1 s, 1 m)", "min() arguments must have the same dimension: 1 s ([time]) and"),
        ("square_wave(t)", "square_wave() needs a dimensionless argument, got t ([time])"),
        ("Enabled + 1", "cannot add a boolean"),
        ("-Enabled", "cannot negate a boolean"),
        ("Enabled < Disabled", "cannot order booleans with '<'"),
        ("not 1", "'not' needs booleans, got 1 (dimensionless)"),
        ("1 and Enabled", "'and' needs booleans, got 1 (dimensionless)"),
        ("2 ** Enabled", "the exponent must be dimensionless, got Enabled (boolean)"),
        ("t + 1", "cannot add t ([time]) and 1 (dimensionless)"),
    ],
)
def test_constant_dimension_errors_at_construction(text: str, message: str) -> None:
    with pytest.raises(DimensionError, match=re.escape(message)) as info:
        Expression(text)
    assert info.value.expression == text
    assert info.value.column is not None


def test_unknown_names_defer_dimension_checks() -> None:
    # the dimension of x is not known yet: no error at construction
    Expression("x + 1 s")
    Expression("sin(x)")
    Expression("x ** y")


# --- identity


def test_identity_is_the_text() -> None:
    e = Expression("10 MHz")
    assert e.text == "10 MHz"
    assert str(e) == "10 MHz"
    assert repr(e) == "Expression('10 MHz')"
    assert e == Expression("10 MHz")
    assert e != Expression("10  MHz")
    assert hash(e) == hash(Expression("10 MHz"))
    assert Expression(e) == e
    assert Expression(str(e)) == e
    assert copy.deepcopy(e) is e
    assert e != "10 MHz"
    with pytest.raises(AttributeError):
        e.text = "1"  # type: ignore[misc]


def test_only_text_is_accepted() -> None:
    with pytest.raises(TypeError, match="Expression expects a str, got int"):
        Expression(10)  # type: ignore[arg-type]


def test_located_errors_keep_type_and_fields() -> None:
    error = syntax_error("10 MHz + )")
    located = error.located("lane 'mot.coils', step 'load'")
    assert type(located) is type(error)
    assert located.column == error.column
    assert located.expression == error.expression
    assert str(located) == "lane 'mot.coils', step 'load': " + str(error)
    assert located.located("sequence 'x'").message.startswith(
        "sequence 'x': lane 'mot.coils', step 'load': unexpected"
    )
    assert copy.copy(located).message == located.message
