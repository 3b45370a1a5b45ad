"""Dimensions, units and unit parsing."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pint
import pytest

from shotbook.types._expression_errors import ExpressionSyntaxError, UnitError
from shotbook.types._units import Dimension, Unit, lookup_unit, parse_unit, unit_from_pint

FREQUENCY = Dimension(time=-1)
POWER = Dimension(mass=1, length=2, time=-3)


# --- Dimension


def test_dimension_algebra() -> None:
    time = Dimension(time=1)
    assert time * FREQUENCY == Dimension.NONE
    assert Dimension.NONE / time == FREQUENCY
    assert time**2 == Dimension(time=2)
    assert (Dimension(length=2) ** Fraction(1, 2)) == Dimension(length=1)
    assert Dimension(length=1) ** Fraction(1, 2) == Dimension(length=Fraction(1, 2))


def test_dimension_is_frozen_and_hashable() -> None:
    time = Dimension(time=1)
    assert hash(time) == hash(Dimension(time=1))
    assert {time: 1}[Dimension(time=1)] == 1
    with pytest.raises(AttributeError):
        time.foo = 1  # type: ignore[attr-defined]


def test_dimension_flags() -> None:
    assert Dimension.NONE.is_dimensionless
    assert not FREQUENCY.is_dimensionless
    assert Dimension.BOOL.is_boolean
    assert not Dimension.BOOL.is_dimensionless
    assert Dimension.BOOL != Dimension.NONE
    with pytest.raises(TypeError, match="booleans"):
        Dimension.BOOL * FREQUENCY


@pytest.mark.parametrize(
    ("dimension", "text"),
    [
        (Dimension.NONE, "dimensionless"),
        (Dimension.BOOL, "boolean"),
        (Dimension(time=1), "[time]"),
        (FREQUENCY, "[frequency]"),
        (POWER, "[power]"),
        (Dimension(time=2), "[time]^2"),
        (Dimension(length=1, time=-3), "[length]/[time]^3"),
        (Dimension(time=-2), "[time]^-2"),
        (Dimension(length=Fraction(1, 2)), "[length]^(1/2)"),
    ],
)
def test_dimension_str(dimension: Dimension, text: str) -> None:
    assert str(dimension) == text


def test_dimension_from_exponents_and_repr() -> None:
    assert Dimension.from_exponents({"time": -1}) == FREQUENCY
    assert Dimension.from_exponents({"length": 0.5}) == Dimension(length=Fraction(1, 2))
    assert repr(FREQUENCY) == "Dimension(time=-1)"
    assert FREQUENCY.exponents == {"time": Fraction(-1)}
    with pytest.raises(ValueError, match="unknown base dimensions"):
        Dimension.from_exponents({"money": 1})


# --- Unit


def test_unit_conversions_on_floats_and_arrays() -> None:
    mhz = parse_unit("MHz")
    assert mhz == Unit("MHz", 1e6, FREQUENCY)
    assert mhz.to_si(10.0) == 1e7
    assert mhz.from_si(2e6) == 2.0
    np.testing.assert_array_equal(mhz.to_si(np.array([1.0, 2.0])), [1e6, 2e6])
    # exact decimal results for sub-unit prefixes
    assert parse_unit("us").to_si(10.0) == 1e-5
    assert parse_unit("ns").to_si(3.0) == 3e-9


def test_logarithmic_units() -> None:
    dbm = parse_unit("dBm")
    assert dbm.logarithmic
    assert dbm.dimension == POWER
    assert dbm.to_si(0.0) == pytest.approx(1e-3)
    assert dbm.to_si(10.0) == pytest.approx(1e-2)
    assert dbm.from_si(1e-3) == pytest.approx(0.0)
    db = parse_unit("dB")
    assert db.dimension == Dimension.NONE
    assert db.to_si(3.0) == pytest.approx(10**0.3)


@pytest.mark.parametrize(
    ("dimension", "symbol"),
    [
        (Dimension(time=1), "s"),
        (FREQUENCY, "Hz"),
        (POWER, "W"),
        (Dimension(mass=1, length=2, time=-3, current=-1), "V"),
        (Dimension(current=1), "A"),
        (Dimension(length=1), "m"),
        (Dimension(mass=1, time=-2, current=-1), "T"),
        (Dimension(length=1, time=-1), "m/s"),
        (Dimension(mass=1, length=2, time=-3, current=-3), "kg*m^2/s^3/A^3"),
        (Dimension(time=-2), "s^-2"),
        (Dimension(length=Fraction(1, 2)), "m^(1/2)"),
        (Dimension.NONE, ""),
    ],
)
def test_si_units(dimension: Dimension, symbol: str) -> None:
    unit = Unit.si(dimension)
    assert unit.symbol == symbol
    assert unit.scale == 1.0
    assert unit.dimension == dimension
    if symbol:
        assert parse_unit(symbol).dimension == dimension


# --- parse_unit


@pytest.mark.parametrize(
    ("text", "scale", "dimension"),
    [
        ("s", 1.0, Dimension(time=1)),
        ("ms", 1e-3, Dimension(time=1)),
        ("µs", 1e-6, Dimension(time=1)),  # U+00B5 micro sign
        ("μs", 1e-6, Dimension(time=1)),  # U+03BC greek mu
        ("us", 1e-6, Dimension(time=1)),
        ("ns", 1e-9, Dimension(time=1)),
        ("Hz", 1.0, FREQUENCY),
        ("kHz", 1e3, FREQUENCY),
        ("MHz", 1e6, FREQUENCY),
        ("GHz", 1e9, FREQUENCY),
        ("THz", 1e12, FREQUENCY),
        ("mHz", 1e-3, FREQUENCY),
        ("W", 1.0, POWER),
        ("mW", 1e-3, POWER),
        ("µW", 1e-6, POWER),
        ("uW", 1e-6, POWER),
        ("nW", 1e-9, POWER),
        ("A", 1.0, Dimension(current=1)),
        ("mA", 1e-3, Dimension(current=1)),
        ("µA", 1e-6, Dimension(current=1)),
        ("uA", 1e-6, Dimension(current=1)),
        ("nA", 1e-9, Dimension(current=1)),
        ("V", 1.0, Dimension(mass=1, length=2, time=-3, current=-1)),
        ("mV", 1e-3, Dimension(mass=1, length=2, time=-3, current=-1)),
        ("µV", 1e-6, Dimension(mass=1, length=2, time=-3, current=-1)),
        ("uV", 1e-6, Dimension(mass=1, length=2, time=-3, current=-1)),
        ("nV", 1e-9, Dimension(mass=1, length=2, time=-3, current=-1)),
        ("m", 1.0, Dimension(length=1)),
        ("mm", 1e-3, Dimension(length=1)),
        ("µm", 1e-6, Dimension(length=1)),
        ("um", 1e-6, Dimension(length=1)),
        ("nm", 1e-9, Dimension(length=1)),
        ("rad", 1.0, Dimension.NONE),
        ("deg", math.pi / 180, Dimension.NONE),
        ("cm", 1e-2, Dimension(length=1)),
        ("J", 1.0, Dimension(mass=1, length=2, time=-2)),
        ("K", 1.0, Dimension(temperature=1)),
        ("uK", 1e-6, Dimension(temperature=1)),
        ("T", 1.0, Dimension(mass=1, time=-2, current=-1)),
        ("G", 1e-4, Dimension(mass=1, time=-2, current=-1)),  # lab gauss, not CGS
        ("mG", 1e-7, Dimension(mass=1, time=-2, current=-1)),
        ("kg", 1.0, Dimension(mass=1)),
        ("min", 60.0, Dimension(time=1)),
        ("ohm", 1.0, Dimension(mass=1, length=2, time=-3, current=-2)),
        ("MHz^-2", 1e-12, Dimension(time=2)),
        ("MHz**-2", 1e-12, Dimension(time=2)),
        ("MHz*cm/J", 1e4, Dimension(time=1, length=-1, mass=-1)),
        ("m^(1/2)", 1.0, Dimension(length=Fraction(1, 2))),
        ("V/m", 1.0, Dimension(mass=1, length=1, time=-3, current=-1)),
        ("%", 0.01, Dimension.NONE),
        ("°", math.pi / 180, Dimension.NONE),
    ],
)
def test_parse_unit(text: str, scale: float, dimension: Dimension) -> None:
    unit = parse_unit(text)
    assert unit.scale == pytest.approx(scale, rel=1e-12)
    assert unit.dimension == dimension


def test_parse_unit_symbols_are_canonical() -> None:
    assert parse_unit("MHz ** -2").symbol == "MHz^-2"
    assert parse_unit("MHz * cm / J").symbol == "MHz*cm/J"
    assert parse_unit("m^(1/2)").symbol == "m^(1/2)"
    assert parse_unit("m^(2/1)").symbol == "m^2"


def test_pint_units_agree_with_builtins() -> None:
    registry = pint.get_application_registry()
    for name in ("ms", "µs", "MHz", "mW", "nA", "mV", "um", "deg", "K"):
        assert registry.Quantity(1.0, name).to_base_units().magnitude == pytest.approx(
            parse_unit(name).scale, rel=1e-12
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("MHzz", "unknown unit 'MHzz'; did you mean 'MHz'"),
        ("", "empty unit"),
        ("degC", "not proportional"),
        ("dBW", "not proportional"),
        ("B", "not made of SI units"),
        ("dBm^2", "dBm cannot be combined"),
        ("mW*dB", "dB cannot be combined"),
        ("dBm/s", "dBm cannot be combined"),
        ("m^x", "a unit exponent must be an integer"),
        ("m^0.5", "a unit exponent must be an integer"),
        ("m^(1/0)", "divides by zero"),
        ("m^(1/2", "expected ')'"),
        ("m^1000", "limited to +-100"),
        ("2 m", "expected a unit name"),
        ("m s", "unknown unit 's'"),
        ("m +", "unexpected '+'"),
        ("THz^100", "out of range"),
        ("$", "unexpected character"),
    ],
)
def test_parse_unit_errors(text: str, message: str) -> None:
    with pytest.raises(UnitError, match=re.escape(message)):
        parse_unit(text)


def test_unit_error_is_a_syntax_error_with_column() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_unit("MHz*cm/Jxx")
    assert isinstance(info.value, UnitError)
    # "Jxx" is not a unit, so the chain stops after cm and "/" is left over
    assert info.value.column == 7


def test_lookup_never_treats_reserved_names_as_units() -> None:
    for name in ("t", "e", "pi", "Enabled", "Disabled", "and", "or", "not", "mot.x", "_m"):
        assert lookup_unit(name) is None
    assert lookup_unit("x") is None


def test_unit_from_pint() -> None:
    registry = pint.get_application_registry()
    unit = unit_from_pint(registry.Unit("MHz"))
    assert unit.symbol == "MHz"
    assert unit.scale == 1e6
    assert unit.dimension == FREQUENCY
    other = pint.UnitRegistry()  # another registry works too
    assert unit_from_pint(other.Unit("mW")).dimension == POWER
    with pytest.raises(UnitError, match=r"not proportional|cannot use"):
        unit_from_pint(registry.Unit("degC"))
