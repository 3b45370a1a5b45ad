"""Property tests: generated and random texts only ever raise ExpressionError subclasses."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pint
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotbook.types._expression import Expression
from shotbook.types._expression_errors import ExpressionError
from shotbook.types._units import Dimension, parse_unit

Q = pint.get_application_registry().Quantity

# Parameters of generated expressions: name -> (unit, magnitude in that unit).
PARAMETERS: dict[str, tuple[str | None, float]] = {
    "x": ("MHz", 2.5),
    "mot.y": ("us", 3.0),
    "z": (None, 0.7),
    "p.w": ("mW", 1.5),
}
FLAGS = {"flag": True}
DIMENSIONS = {
    **{
        name: (parse_unit(unit).dimension if unit else Dimension.NONE)
        for name, (unit, _) in PARAMETERS.items()
    },
    **dict.fromkeys(FLAGS, Dimension.BOOL),
}
SI_VALUES: dict[str, object] = {
    **{
        name: (parse_unit(unit).to_si(value) if unit else value)
        for name, (unit, value) in PARAMETERS.items()
    },
    **FLAGS,
}
QUANTITIES: dict[str, object] = {
    **{name: (Q(value, unit) if unit else value) for name, (unit, value) in PARAMETERS.items()},
    **FLAGS,
}
TIMES = np.linspace(0.0, 1e-3, 11)

UNITS = ["MHz", "kHz", "Hz", "s", "ms", "µs", "μs", "us", "ns", "mW", "W", "V", "mV", "m", "cm"]
UNITS += ["dBm", "dB", "deg", "rad", "MHz^-2", "MHz**-1", "m^(1/2)", "MHz*cm/J", "V/m", "G"]

numbers = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e-3", "1.5E+6", ".5", "1.", "1e308", "1e-320", "0", "0.0"]),
)
literals = st.one_of(
    numbers,
    st.tuples(numbers, st.sampled_from(UNITS), st.sampled_from(["", " "])).map(
        lambda p: f"{p[0]}{p[2]}{p[1]}"
    ),
    numbers.map(lambda n: n + "%"),
    numbers.map(lambda n: n + "°"),
)
leaves = st.one_of(
    literals,
    st.sampled_from([*PARAMETERS, *FLAGS, "t", "pi", "e", "Enabled", "Disabled"]),
)
FUNCTIONS_1 = ["sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh"]
FUNCTIONS_1 += ["exp", "log", "log10", "sqrt", "abs", "floor", "ceil"]
BINARY = ["+", "-", "*", "/", "**", "^", "<", "<=", ">", ">=", "==", "!=", "and", "or"]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(
            lambda p: f"{p[0]} {p[1]} {p[2]}"
        ),
        st.tuples(st.sampled_from(["-", "+", "not "]), children).map(lambda p: p[0] + p[1]),
        children.map(lambda c: f"({c})"),
        st.tuples(st.sampled_from(FUNCTIONS_1), children).map(lambda p: f"{p[0]}({p[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=1, max_size=3)).map(
            lambda p: f"{p[0]}({', '.join(p[1])})"
        ),
        st.tuples(children, st.one_of(st.none(), children), st.booleans()).map(
            lambda p: (
                f"square_wave({p[0]})"
                if p[1] is None
                else f"square_wave({p[0]}, {'duty=' if p[2] else ''}{p[1]})"
            )
        ),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)

# Load pint's registry now, not inside the first (timed) example.
parse_unit("cm*J")

FAST = settings(
    max_examples=300,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow],
)


def _exercise(text: str) -> None:
    """Parse, check, compile and evaluate; only ExpressionError may escape."""
    try:
        expression = Expression(text)
    except ExpressionError:
        return
    assert Expression(str(expression)) == expression
    try:
        compiled = expression.compile(DIMENSIONS)
    except ExpressionError:
        return
    values = dict(SI_VALUES)
    if expression.uses_time:
        values["t"] = TIMES
    try:
        si = compiled(values)
    except ExpressionError:
        return
    if isinstance(si, np.ndarray):
        assert si.dtype in (np.float64, np.bool_)
    else:
        assert type(si) in (float, bool)
    # the user-facing evaluation agrees with the per-shot one
    parameters = dict(QUANTITIES)
    if expression.uses_time:
        parameters["t"] = Q(TIMES, "s")
    result = expression.evaluate(parameters)
    if compiled.dimension.is_boolean or compiled.dimension.is_dimensionless:
        np.testing.assert_array_equal(result, si)
        return
    magnitude = np.asarray(result.to_base_units().magnitude, dtype=float)
    if np.all(np.isfinite(magnitude)):
        np.testing.assert_allclose(magnitude, si, rtol=1e-9, atol=1e-300)


@FAST
@given(expressions)
def test_generated_expressions_evaluate_or_raise_expression_errors(text: str) -> None:
    _exercise(text)


@FAST
@given(st.text(max_size=60))
def test_random_text_raises_only_expression_errors(text: str) -> None:
    _exercise(text)


GRAMMAR_CHARACTERS = "0123456789.eE+-*/^%()°µμ,<>=! _abcdnortspixyzMHzkmsWdBGVu'[]:\n\t"


@FAST
@given(st.text(alphabet=GRAMMAR_CHARACTERS, max_size=40))
def test_grammar_soup_raises_only_expression_errors(text: str) -> None:
    _exercise(text)


@FAST
@given(
    st.lists(st.sampled_from(["(", ")", "-", "not ", "2", "**", "sin(", "x", " MHz"]), max_size=200)
)
def test_token_soup_raises_only_expression_errors(parts: list[str]) -> None:
    _exercise("".join(parts))


@given(expressions)
@settings(max_examples=100, deadline=timedelta(seconds=5))
def test_round_trip_keeps_what_is_used(text: str) -> None:
    try:
        expression = Expression(text)
    except ExpressionError:
        return
    again = Expression(str(expression))
    assert again == expression
    assert hash(again) == hash(expression)
    assert again.names == expression.names
    assert again.uses_time == expression.uses_time
    assert again.is_constant == expression.is_constant


CORPUS = [
    "(" * 10_000 + "1" + ")" * 10_000,
    "(" * 4_999 + "1" + ")" * 4_999,
    "-" * 9_999 + "1",
    "not " * 2_400 + "Enabled",
    "2**" * 3_000 + "2",
    "sin(" * 1_999 + "1" + ")" * 1_999,
    "1" + "+1" * 4_999,
    "x" + ".x" * 4_999,
    "e" * 10_000,
    "9" * 10_000,
    "9**9**9",
    "9.0**9**9**9",
    "(-9)**9**9",
    "1e308*10",
    "1e308",
    "-1e308 - 1e308",
    "1e-320",
    "1e-400",
    "1e99999999999999999999",
    "1e-99999999999999999999",
    "1" + "0" * 400,
    "0." + "0" * 400 + "1",
    "10 µs",
    "10 μs",
    "90°",
    "1 °",
    "",
    " ",
    "\n",
    "__import__('os')",
    "__import__",
    "a[0]",
    "lambda: 1",
    "lambda",
    "'x'",
    '"x"',
    "(a).b",
    "a.__class__.__mro__",
    "().__class__",
    "x if y else z",
    "[x for x in y]",
    "{}",
    "f'{x}'",
    "\x00",
    "1\u00a02",
    "１",
    "m²",
    "\U0001d465",
    "\ud800",
    "0x10",
    "1_000",
    "1j",
    "10 MHz " * 1_000,
    "10 MHz^-2^-2",
    "10 MHz**-2**2",
    "3 dBm dBm",
    "-" * 65 + "3 dBm",
    "min(" + ", ".join(["1 s"] * 2_000) + ")",
    "square_wave(" * 70,
    "1 < 2 < 3",
    "sqrt(-1)",
    "log(0)",
    "1/0",
    "0**-1",
    "exp(1e308)",
    "1 MHz^100",
    "1 THz^100",
    "10000 dBm",
    "-10000 dBm",
    "1 degC",
    "1 dBW",
    "1 B",
    "x ** x ** x",
    "t / 0",
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("text", CORPUS, ids=range(len(CORPUS)))
def test_corpus_raises_only_expression_errors(text: str) -> None:
    _exercise(text)


def test_corpus_refusals() -> None:
    refused = [
        "(" * 10_000 + "1" + ")" * 10_000,
        "(" * 4_999 + "1" + ")" * 4_999,
        "9" * 10_000,
        "",
        "__import__('os')",
        "a[0]",
        "lambda: 1",
        "'x'",
        "(a).b",
        "1e99999999999999999999",
    ]
    for text in refused:
        with pytest.raises(ExpressionError):
            Expression(text)
    failing = ["9**9**9", "1e308*10"]
    for text in failing:
        with pytest.raises(ExpressionError):
            Expression(text).compile()({})
    assert Expression("1e-320").compile()({}) == 1e-320
    assert Expression("1e-400").compile()({}) == 0.0
    assert math.isclose(Expression("10 µs").compile()({}), Expression("10 μs").compile()({}))
