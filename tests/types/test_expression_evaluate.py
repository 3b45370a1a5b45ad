"""Static checks, compiled evaluation (SI, per shot) and user-facing evaluation (pint)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pint
import pytest

from shotbook.types._expression import CompiledExpression, Expression
from shotbook.types._expression_errors import (
    DimensionError,
    EvaluationError,
    UndefinedParameterError,
)
from shotbook.types._units import Dimension, Unit, parse_unit

Q = pint.get_application_registry().Quantity
TIME = Dimension(time=1)
FREQUENCY = Dimension(time=-1)
POWER = Dimension(mass=1, length=2, time=-3)
LENGTH = Dimension(length=1)
NONE = Dimension.NONE
BOOL = Dimension.BOOL


def run(text: str, values: dict[str, object], dimensions: dict[str, Dimension]) -> object:
    return Expression(text).compile(dimensions)(values)


# --- static dimension checks


def test_dimension_of_expressions() -> None:
    assert Expression("10 MHz").dimension() == FREQUENCY
    assert Expression("5 * mot.detuning").dimension({"mot.detuning": FREQUENCY}) == FREQUENCY
    assert Expression("-2 MHz + mot.detuning").dimension({"mot.detuning": FREQUENCY}) == FREQUENCY
    assert Expression("x / y").dimension({"x": LENGTH, "y": TIME}) == LENGTH / TIME
    assert Expression("t").dimension() == TIME
    assert Expression("sin(2*pi*t*1 kHz)").dimension() == NONE
    assert Expression("x ** 2").dimension({"x": LENGTH}) == LENGTH**2
    assert Expression("x ** (1/2)").dimension({"x": LENGTH}) == Dimension(length=Fraction(1, 2))
    assert Expression("sqrt(x)").dimension({"x": LENGTH**2}) == LENGTH
    assert Expression("abs(x)").dimension({"x": POWER}) == POWER
    assert Expression("max(x, 1 mW, 0 dBm)").dimension({"x": POWER}) == POWER
    assert Expression("x < 1 s").dimension({"x": TIME}) == BOOL
    assert Expression("flag and not other").dimension({"flag": BOOL, "other": BOOL}) == BOOL
    assert Expression("square_wave(t * 1 kHz)").dimension() == BOOL
    assert Expression("x ** y").dimension({"x": NONE, "y": NONE}) == NONE
    assert Expression("60%").dimension() == NONE


def test_undefined_parameter_suggests_closest_name() -> None:
    e = Expression("2 * mot.detunin + 1 MHz")
    with pytest.raises(UndefinedParameterError) as info:
        e.dimension({"mot.detuning": FREQUENCY, "other": TIME})
    error = info.value
    assert error.name == "mot.detunin"
    assert error.closest == "mot.detuning"
    assert error.column == 5
    assert str(error) == (
        "undefined parameter 'mot.detunin' in '2 * mot.detunin + 1 MHz'; "
        "did you mean 'mot.detuning'?"
    )
    with pytest.raises(UndefinedParameterError) as info:
        e.compile({})
    assert info.value.closest is None
    assert str(info.value) == "undefined parameter 'mot.detunin' in '2 * mot.detunin + 1 MHz'"


def test_bare_unit_is_an_undefined_name_with_a_hint() -> None:
    with pytest.raises(UndefinedParameterError, match="units must follow a number") as info:
        Expression("MHz").dimension()
    assert info.value.name == "MHz"
    # a parameter may be named like a unit
    assert Expression("MHz").dimension({"MHz": TIME}) == TIME


@pytest.mark.parametrize(
    ("text", "dimensions", "message"),
    [
        ("x + 1 s", {"x": FREQUENCY}, "cannot add x ([frequency]) and 1 s ([time]) in 'x + 1 s'"),
        ("x - y", {"x": TIME, "y": LENGTH}, "cannot subtract y ([length]) from x ([time])"),
        ("x < y", {"x": TIME, "y": LENGTH}, "cannot compare x ([time]) with y ([length])"),
        ("sin(x)", {"x": TIME}, "sin() needs a dimensionless argument, got x ([time])"),
        ("x ** y", {"x": TIME, "y": NONE}, "the exponent of x ([time]) must be a constant"),
        ("2 ** x", {"x": TIME}, "the exponent must be dimensionless, got x ([time])"),
        ("sqrt(x)", {"x": TIME**3}, "cannot take sqrt() of x ([time]^3)"),
        ("flag + 1", {"flag": BOOL}, "cannot add a boolean, flag"),
        ("flag * 2", {"flag": BOOL}, "cannot multiply a boolean, flag"),
        ("not x", {"x": NONE}, "'not' needs booleans, got x (dimensionless)"),
        ("x or flag", {"x": NONE, "flag": BOOL}, "'or' needs booleans, got x (dimensionless)"),
        ("flag > 1", {"flag": BOOL}, "cannot order booleans with '>'"),
        ("flag == 1", {"flag": BOOL}, "cannot compare flag (boolean) with 1 (dimensionless)"),
        ("x + 0 dBm", {"x": NONE}, "cannot add x (dimensionless) and 0 dBm ([power])"),
        ("x + 1", {"x": POWER}, "cannot add x ([power]) and 1 (dimensionless)"),
        ("min(x, y)", {"x": TIME, "y": NONE}, "min() arguments must have the same dimension"),
    ],
)
def test_dimension_errors_with_names(
    text: str, dimensions: dict[str, Dimension], message: str
) -> None:
    e = Expression(text)
    with pytest.raises(DimensionError, match=re.escape(message)) as info:
        e.compile(dimensions)
    assert info.value.expression == text
    assert info.value.column is not None


# --- compiled evaluation on scalars


def test_compiled_scalar_evaluation() -> None:
    compiled = Expression("-2 MHz + mot.detuning").compile({"mot.detuning": FREQUENCY})
    assert isinstance(compiled, CompiledExpression)
    assert compiled.dimension == FREQUENCY
    assert compiled.expression == Expression("-2 MHz + mot.detuning")
    result = compiled({"mot.detuning": 5e6})
    assert result == 3e6
    assert type(result) is float
    assert run("5 * mot.detuning", {"mot.detuning": 2e6}, {"mot.detuning": FREQUENCY}) == 1e7


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("x + y", {"x": 1.0, "y": 2.0}, 3.0),
        ("x - y", {"x": 1.0, "y": 2.0}, -1.0),
        ("x * y", {"x": 3.0, "y": 2.0}, 6.0),
        ("x / y", {"x": 1.0, "y": 4.0}, 0.25),
        ("2 - x", {"x": 0.5}, 1.5),
        ("x - 2", {"x": 0.5}, -1.5),
        ("2 / x", {"x": 4.0}, 0.5),
        ("x / 2", {"x": 1.0}, 0.5),
        ("x + 2", {"x": 1.0}, 3.0),
        ("2 + x", {"x": 1.0}, 3.0),
        ("x * 2", {"x": 1.5}, 3.0),
        ("-x", {"x": 1.5}, -1.5),
        ("x ** y", {"x": 2.0, "y": 10.0}, 1024.0),
        ("x ^ 2", {"x": 3.0}, 9.0),
        ("sin(x)", {"x": 0.5}, math.sin(0.5)),
        ("cos(x)", {"x": 0.5}, math.cos(0.5)),
        ("tan(x)", {"x": 0.5}, math.tan(0.5)),
        ("arcsin(x)", {"x": 0.5}, math.asin(0.5)),
        ("arccos(x)", {"x": 0.5}, math.acos(0.5)),
        ("arctan(x)", {"x": 0.5}, math.atan(0.5)),
        ("sinh(x)", {"x": 0.5}, math.sinh(0.5)),
        ("cosh(x)", {"x": 0.5}, math.cosh(0.5)),
        ("tanh(x)", {"x": 0.5}, math.tanh(0.5)),
        ("exp(x)", {"x": 0.5}, math.exp(0.5)),
        ("log(x)", {"x": 0.5}, math.log(0.5)),
        ("log10(x)", {"x": 1000.0}, 3.0),
        ("sqrt(x)", {"x": 2.25}, 1.5),
        ("abs(x)", {"x": -2.5}, 2.5),
        ("floor(x)", {"x": -2.5}, -3.0),
        ("ceil(x)", {"x": -2.5}, -2.0),
        ("min(x)", {"x": 3.0}, 3.0),
        ("min(x, 2)", {"x": 3.0}, 2.0),
        ("max(x, 2, 5, 1)", {"x": 3.0}, 5.0),
        ("square_wave(x)", {"x": 2.25}, True),
        ("square_wave(x)", {"x": 2.75}, False),
        ("square_wave(x, duty=0.8)", {"x": 2.75}, True),
        ("square_wave(x, 0.1)", {"x": -0.95}, True),
        ("x < 1", {"x": 0.5}, True),
        ("x == 1", {"x": 1.0}, True),
        ("x != 1", {"x": 1.0}, False),
        ("x >= 1 and x <= 2", {"x": 1.5}, True),
        ("x > 1 or x < -1", {"x": 0.0}, False),
    ],
)
def test_scalar_operations(text: str, values: dict[str, float], expected: object) -> None:
    dimensions = dict.fromkeys(values, NONE)
    result = run(text, values, dimensions)
    assert result == pytest.approx(expected, rel=1e-15)
    assert type(result) is type(expected)
    # the array evaluator gives the same values on arrays of the same numbers
    arrays = {k: np.array([v, v]) for k, v in values.items()}
    array_result = run(text, arrays, dimensions)
    assert isinstance(array_result, np.ndarray)
    np.testing.assert_allclose(array_result.astype(float), [float(expected)] * 2, rtol=1e-15)


def test_input_values_are_coerced() -> None:
    dims = {"x": NONE}
    for given in (2, np.float32(2.0), np.int64(2), np.array(2.0), True):
        result = run("x * 1.5", {"x": given}, dims)
        assert type(result) is float
        assert result == 1.5 * float(given)
    assert run("flag", {"flag": np.bool_(True)}, {"flag": BOOL}) is True
    assert run("not flag", {"flag": False}, {"flag": BOOL}) is True


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("abc", "'x' is 'abc' of type str; expected a number (SI magnitude)"),
        (None, "'x' is None of type NoneType"),
        (Q(1, "MHz"), "compiled expressions take SI magnitudes"),
        (10**400, "value of 'x' is too large"),
    ],
)
def test_bad_input_values(given: object, message: str) -> None:
    with pytest.raises(EvaluationError, match=re.escape(message)):
        run("x * 2", {"x": given}, {"x": NONE})


def test_bad_boolean_values() -> None:
    with pytest.raises(EvaluationError, match="expected a boolean"):
        run("not flag", {"flag": 1.0}, {"flag": BOOL})
    with pytest.raises(EvaluationError, match="expected a boolean"):
        run("not flag", {"flag": np.array([1.0])}, {"flag": BOOL})


def test_missing_value_at_call_time() -> None:
    compiled = Expression("2 * mot.detuning").compile({"mot.detuning": FREQUENCY})
    with pytest.raises(UndefinedParameterError) as info:
        compiled({"mot.detunin": 1.0})
    assert info.value.name == "mot.detuning"
    assert info.value.closest == "mot.detunin"
    assert "no value was given" in str(info.value)
    with pytest.raises(UndefinedParameterError, match="'t'"):
        Expression("sin(t * 1 Hz)").compile()({})


@pytest.mark.parametrize(
    ("text", "values", "message", "column"),
    [
        ("1 / x", {"x": 0.0}, "division by zero in '1 / x' (column 3)", 3),
        ("1 / 0", {}, "division by zero in '1 / 0' (column 3)", 3),
        ("2 / x / y", {"x": 1.0, "y": 0.0}, "division by zero", 7),
        ("x * 1e308", {"x": 10.0}, "overflow: result is too large for a 64-bit float", 3),
        ("1e308 * x", {"x": 10.0}, "overflow", 7),
        ("x * y", {"x": 1e200, "y": 1e200}, "overflow", 3),
        ("x + 1e308", {"x": 1e308}, "overflow", 3),
        ("1e308 + x", {"x": 1e308}, "overflow", 7),
        ("x + y", {"x": 1e308, "y": 1e308}, "overflow", 3),
        ("x - y", {"x": 1e308, "y": -1e308}, "overflow", 3),
        ("x - 1e308", {"x": -1e308}, "overflow", 3),
        ("x / 1e-308", {"x": 1e300}, "overflow", 3),
        ("x + 1", {"x": math.inf}, "overflow", 3),
        ("x + 1", {"x": math.nan}, "result is not a number", 3),
        ("9**9**9", {}, "overflow in a power", 2),
        ("x ** y", {"x": 10.0, "y": 400.0}, "overflow in a power", 3),
        ("x ** (1/3)", {"x": -8.0}, "power undefined for base -8.0", 3),
        ("x ** -1", {"x": 0.0}, "power undefined for base 0.0", 3),
        ("log(x)", {"x": 0.0}, "log(0.0) is undefined", 1),
        ("log10(x)", {"x": -1.0}, "log10(-1.0) is undefined", 1),
        ("sqrt(x)", {"x": -1.0}, "sqrt(-1.0) is undefined", 1),
        ("arcsin(x)", {"x": 2.0}, "arcsin(2.0) is undefined", 1),
        ("arccos(x)", {"x": 2.0}, "arccos(2.0) is undefined", 1),
        ("exp(x)", {"x": 1000.0}, "overflow in exp(1000.0)", 1),
        ("sinh(x)", {"x": 1000.0}, "overflow in sinh(1000.0)", 1),
        ("sin(x)", {"x": math.inf}, "sin(inf) is undefined", 1),
        ("floor(x)", {"x": math.inf}, "overflow in floor(inf)", 1),
        ("square_wave(x)", {"x": math.inf}, "square_wave of inf", 1),
        ("1 + " * 10 + "x / y", {"x": 1.0, "y": 0.0}, "division by zero", 43),
        ("x" + " * x" * 10, {"x": 1e100}, "overflow", 11),
    ],
)
def test_evaluation_errors(text: str, values: dict[str, float], message: str, column: int) -> None:
    compiled = Expression(text).compile(dict.fromkeys(values, NONE))
    with pytest.raises(EvaluationError, match=re.escape(message)) as info:
        compiled(values)
    assert info.value.column == column
    assert info.value.expression == text


def test_evaluation_errors_on_arrays() -> None:
    dims = {"x": NONE}
    cases = [
        ("1 / x", "division by zero"),
        ("x * 1e308 * 10", "overflow"),
        ("log(x)", "log: division by zero"),
        ("sqrt(x - 1)", "undefined result"),
        ("(x - 1) ** 0.5", "undefined result"),
        ("exp(x * 1000)", "exp: overflow"),
    ]
    for text, message in cases:
        with pytest.raises(EvaluationError, match=re.escape(message)):
            run(text, {"x": np.array([1.0, 0.0])}, dims)
    with pytest.raises(EvaluationError, match="could not be broadcast"):
        run("x + y", {"x": np.zeros(3), "y": np.zeros(4)}, {"x": NONE, "y": NONE})


def test_long_chains_with_names_use_loops() -> None:
    text = " + ".join(["x"] * 100) + " - y"
    compiled = Expression(text).compile({"x": NONE, "y": NONE})
    assert compiled({"x": 1.0, "y": 1.0}) == 99.0
    np.testing.assert_array_equal(compiled({"x": np.ones(2), "y": np.ones(2)}), [99.0, 99.0])
    text = " * ".join(["x"] * 20) + " / y"
    compiled = Expression(text).compile({"x": NONE, "y": NONE})
    assert compiled({"x": 2.0, "y": 4.0}) == 2.0**18
    np.testing.assert_array_equal(compiled({"x": np.full(2, 2.0), "y": 4.0}), [2.0**18] * 2)
    with pytest.raises(EvaluationError, match="division by zero"):
        compiled({"x": 2.0, "y": 0.0})
    with pytest.raises(EvaluationError, match="division by zero"):
        compiled({"x": np.full(2, 2.0), "y": 0.0})
    text = " and ".join(["flag"] * 12)
    compiled = Expression(text).compile({"flag": BOOL})
    assert compiled({"flag": True}) is True
    np.testing.assert_array_equal(compiled({"flag": np.array([True, False])}), [True, False])


def test_logic_evaluates_every_operand() -> None:
    compiled = Expression("flag and 1 / x > 0").compile({"flag": BOOL, "x": NONE})
    with pytest.raises(EvaluationError, match="division by zero"):
        compiled({"flag": False, "x": 0.0})


# --- arrays and time


def test_time_expressions_return_arrays() -> None:
    t = np.linspace(0.0, 1e-3, 1001)
    compiled = Expression("sin(2*pi*t*1 kHz)").compile()
    result = compiled({"t": t})
    assert isinstance(result, np.ndarray)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, np.sin(2 * np.pi * t * 1e3), atol=1e-12)
    ramp = Expression("a + (b - a) * t / 10 ms").compile({"a": FREQUENCY, "b": FREQUENCY})
    np.testing.assert_allclose(ramp({"a": 1e6, "b": 2e6, "t": t}), 1e6 + 1e6 * t / 1e-2)
    # a scalar time gives a float
    assert ramp({"a": 1e6, "b": 2e6, "t": 5e-3}) == pytest.approx(1.5e6)
    assert type(ramp({"a": 1e6, "b": 2e6, "t": 5e-3})) is float


def test_digital_expressions() -> None:
    t = np.arange(8) * 0.25e-3
    compiled = Expression("square_wave(t * 1 kHz, duty=0.25)").compile()
    result = compiled({"t": t})
    assert result.dtype == np.bool_
    np.testing.assert_array_equal(result, [True, False, False, False] * 2)
    gated = Expression("flag and t > 1 ms").compile({"flag": BOOL})
    np.testing.assert_array_equal(gated({"flag": True, "t": t}), t > 1e-3)
    assert gated({"flag": True, "t": 2e-3}) is True


def test_array_parameters_switch_to_the_array_evaluator() -> None:
    compiled = Expression("2 * x + 1 MHz").compile({"x": FREQUENCY})
    result = compiled({"x": np.array([1.0, 2.0])})
    np.testing.assert_array_equal(result, [1e6 + 2.0, 1e6 + 4.0])
    ints = compiled({"x": np.array([1, 2])})
    assert ints.dtype == np.float64
    both = Expression("max(x, y)").compile({"x": NONE, "y": NONE})
    np.testing.assert_array_equal(both({"x": np.array([1.0, 5.0]), "y": 3.0}), [3.0, 5.0])


def test_constant_expressions_are_folded_and_still_checked() -> None:
    compiled = Expression("2 * pi * 1 kHz").compile()
    assert compiled({}) == 2 * math.pi * 1e3
    assert compiled({"t": np.zeros(3)}) == 2 * math.pi * 1e3
    failing = Expression("1 / (1 - 1)").compile()  # compiles; fails at every call
    with pytest.raises(EvaluationError, match="division by zero"):
        failing({})


def test_namespace_chain() -> None:
    texts = {"a": "1 MHz"} | {
        f"p{i}": f"2 * {'a' if i == 0 else f'p{i - 1}'} + 3 MHz" for i in range(40)
    }
    dimensions: dict[str, Dimension] = {}
    compiled = {}
    for name, text in texts.items():
        compiled[name] = Expression(text).compile(dimensions)
        dimensions[name] = compiled[name].dimension
    values: dict[str, object] = {}
    for name, function in compiled.items():
        values[name] = function(values)
    expected = 1e6
    for _ in range(40):
        expected = 2 * expected + 3e6
    assert values["p39"] == pytest.approx(expected)


def test_compile_is_cached_per_dimensions() -> None:
    e = Expression("2 * x")
    assert e.compile({"x": TIME}) is e.compile({"x": TIME, "y": LENGTH})
    assert e.compile({"x": LENGTH}).dimension == LENGTH


# --- preferred units


@pytest.mark.parametrize(
    ("text", "units", "symbol"),
    [
        ("10 MHz", {}, "MHz"),
        ("10 dBm", {}, "mW"),
        ("10 dB", {}, None),
        ("60%", {}, None),
        ("10 MHz + 1 kHz", {}, "MHz"),
        ("-1 kHz + 10 MHz", {}, "kHz"),
        ("x", {"x": "mW"}, "mW"),
        ("x + 1 W", {"x": "mW"}, "mW"),
        ("5 * x", {"x": "MHz"}, "MHz"),
        ("x * 5", {"x": "MHz"}, "MHz"),
        ("x / 5", {"x": "MHz"}, "MHz"),
        ("5 / x", {"x": "MHz"}, "s"),
        ("x * y", {"x": "MHz", "y": "s"}, None),
        ("x * y", {"x": "MHz", "y": "mW"}, "kg*m^2/s^4"),
        ("abs(x)", {"x": "mV"}, "mV"),
        ("min(x, 1 V)", {"x": "mV"}, "mV"),
        ("x ** 2", {"x": "mV"}, "kg^2*m^4/s^6/A^2"),
        ("-x", {"x": "us"}, "us"),
        ("t", {}, "s"),
        ("x < 1 s", {"x": "ms"}, None),
        ("1 ms * 1 kHz * x", {"x": "V"}, "V"),
    ],
)
def test_preferred_unit(text: str, units: dict[str, str], symbol: str | None) -> None:
    unit = Expression(text).unit({k: parse_unit(v) for k, v in units.items()})
    if symbol is None:
        assert unit is None
    else:
        assert unit is not None
        assert unit.symbol == symbol


def test_preferred_unit_with_dimensions_only() -> None:
    assert Expression("x").unit({}, {"x": TIME}) == Unit.si(TIME)
    assert Expression("x * 2").unit({"x": None}) is None
    with pytest.raises(UndefinedParameterError):
        Expression("x").unit()


# --- evaluate() with quantities


def test_evaluate_with_quantities() -> None:
    result = Expression("2 * x").evaluate({"x": Q(5, "MHz")})
    assert result.magnitude == pytest.approx(10.0)
    assert str(result.units) == "megahertz"
    assert result.to("Hz").magnitude == pytest.approx(1e7)
    assert result.to_base_units().magnitude == pytest.approx(1e7)
    assert Expression("10 MHz").evaluate().units == Q(1, "MHz").units
    assert Expression("0 dBm + 1 mW").evaluate().to("mW").magnitude == pytest.approx(2.0)
    assert Expression("x + 1 ms").evaluate({"x": Q(1, "s")}).to("ms").magnitude == pytest.approx(
        1001.0
    )


def test_evaluate_dimensionless_and_boolean() -> None:
    assert Expression("3 dB * 2").evaluate() == pytest.approx(2 * 10**0.3)
    assert Expression("x * 2").evaluate({"x": 3}) == 6.0
    assert Expression("x / y").evaluate({"x": Q(1, "ms"), "y": Q(1, "s")}) == pytest.approx(1e-3)
    assert Expression("x > 1 s").evaluate({"x": Q(2, "s")}) is True
    assert Expression("flag and x > 0").evaluate({"flag": True, "x": 1.0}) is True
    assert Expression("90°").evaluate() == pytest.approx(math.pi / 2)
    assert Expression("x * 1 rad").evaluate({"x": Q(90, "deg")}) == pytest.approx(math.pi / 2)


def test_evaluate_with_time() -> None:
    t = Q(np.array([0.0, 0.25, 0.5]), "ms")
    result = Expression("sin(2*pi*t*1 kHz)").evaluate({"t": t})
    np.testing.assert_allclose(result, [0.0, 1.0, 0.0], atol=1e-12)
    ramp = Expression("1 V * t / 1 ms").evaluate({"t": t})
    np.testing.assert_allclose(ramp.to("V").magnitude, [0.0, 0.25, 0.5])
    with pytest.raises(DimensionError, match="'t' must be a time"):
        Expression("t").evaluate({"t": Q(1, "m")})


def test_evaluate_shows_lab_gauss_in_tesla() -> None:
    result = Expression("10 G").evaluate()
    assert result.to("T").magnitude == pytest.approx(1e-3)


def test_evaluate_with_another_registry() -> None:
    other = pint.UnitRegistry()
    result = Expression("x + 1 mW").evaluate({"x": other.Quantity(1, "mW")})
    assert result.to("mW").magnitude == pytest.approx(2.0)


def test_evaluate_errors() -> None:
    with pytest.raises(UndefinedParameterError, match="did you mean 'x'"):
        Expression("2 * xy").evaluate({"x": 1.0})
    with pytest.raises(DimensionError, match=re.escape("cannot add x ([time]) and 1 MHz")):
        Expression("x + 1 MHz").evaluate({"x": Q(1, "s")})
    with pytest.raises(TypeError, match="expected a number, a bool, a numpy array"):
        Expression("x").evaluate({"x": "abc"})


@pytest.mark.parametrize(
    "text",
    [
        "10 MHz",
        "2 * x + 3 MHz",
        "-2 MHz + x",
        "x * y / 3 ms",
        "sqrt(x * x + (1 kHz)**2)",
        "abs(x - 7 MHz)",
        "max(x, 0 dBm * 1 / (1 mW) * 1 Hz)",
        "0 dBm + 1 mW",
        "(2 m)**(1/2)",
        "12 MHz*cm/J",
        "x ** 2 / y",
        "10 G",
        "-3 dBm",
    ],
)
def test_compiled_and_evaluate_agree(text: str) -> None:
    parameters = {"x": Q(5, "MHz"), "y": Q(2, "us")}
    e = Expression(text)
    used = {k: v for k, v in parameters.items() if k in e.names}
    dimensions = {k: FREQUENCY if k == "x" else TIME for k in used}
    si = e.compile(dimensions)({k: v.to_base_units().magnitude for k, v in used.items()})
    quantity = e.evaluate(used)
    assert quantity.to_base_units().magnitude == pytest.approx(si, rel=1e-12)
    assert Expression(str(e)) == e


def test_per_shot_path_never_imports_pint() -> None:
    code = """
import sys
import numpy as np
from shotbook.types._expression import Expression
from shotbook.types._units import Dimension
e = Expression("2 * x + 3 MHz + 10 µs * 1 kHz * 1 MHz - 0 dBm / 1 mW * 1 Hz")
f = e.compile({"x": Dimension(time=-1)})
assert abs(f({"x": 1.0}) - (2.0 + 3e6 + 1e4 - 1.0)) < 1e-6
g = Expression("sin(2*pi*t*1 kHz) * 1 V").compile()
g({"t": np.zeros(4)})
assert "pint" not in sys.modules, "pint was imported"
print("ok")
"""
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(src)},
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
