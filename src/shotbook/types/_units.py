"""Dimensions and units of the expression language.

A :class:`Dimension` is a product of powers of the seven SI base dimensions; a :class:`Unit`
is a symbol with its SI scale and dimension. Unit names are resolved once, when an
expression is parsed: the usual laboratory units are built in, any other name is asked to
pint (imported lazily) and the answer is cached. Nothing here runs per shot.

Example::

    >>> parse_unit("MHz").scale
    1000000.0
    >>> str(parse_unit("mW").dimension)
    '[power]'
    >>> Unit.si(parse_unit("MHz*cm/J").dimension).symbol
    'kg^-1*m^-1*s'
"""

from __future__ import annotations

import difflib
import functools
import keyword
import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar, Final

from shotbook.types._expression_errors import UnitError
from shotbook.types._expression_lexer import Token, TokenKind, tokenize

__all__ = [
    "NOT_UNITS",
    "Dimension",
    "Unit",
    "UnitAtom",
    "lookup_unit",
    "parse_unit",
    "pint_display_units",
    "unit_from_pint",
]

_BASES: Final = ("time", "length", "mass", "current", "temperature", "substance", "luminosity")
_BASE_SYMBOLS: Final = ("s", "m", "kg", "A", "K", "mol", "cd")
# Order in which base symbols are written in a derived SI unit: "kg*m^2/s^3/A".
_SYMBOL_ORDER: Final = (2, 1, 0, 3, 4, 5, 6)


def _fraction(value: Fraction | int | float) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    fraction = Fraction(value).limit_denominator(1000)
    if abs(float(fraction) - value) > 1e-9 * max(1.0, abs(value)):
        raise ValueError(f"dimension exponent {value!r} is not a simple fraction")
    return fraction


def _exponent_text(exponent: Fraction) -> str:
    if exponent.denominator == 1:
        return str(exponent.numerator)
    return f"({exponent.numerator}/{exponent.denominator})"


class Dimension:
    """A physical dimension: rational exponents over the seven SI base dimensions.

    Frozen and hashable. ``Dimension.NONE`` is dimensionless; ``Dimension.BOOL`` is the
    "dimension" of booleans (comparisons, ``Enabled``, ``square_wave``), which combine only
    with booleans.

    Example::

        >>> frequency = Dimension(time=-1)
        >>> str(frequency), str(frequency * Dimension(time=1)), str(Dimension(length=1) / frequency)
        ('[frequency]', 'dimensionless', '[length]*[time]')
    """

    __slots__ = ("_boolean", "_exponents", "_hash")

    NONE: ClassVar[Dimension]
    BOOL: ClassVar[Dimension]
    BASES: ClassVar[tuple[str, ...]] = _BASES

    _exponents: tuple[Fraction, ...]
    _boolean: bool
    _hash: int

    def __init__(
        self,
        time: Fraction | int = 0,
        length: Fraction | int = 0,
        mass: Fraction | int = 0,
        current: Fraction | int = 0,
        temperature: Fraction | int = 0,
        substance: Fraction | int = 0,
        luminosity: Fraction | int = 0,
    ) -> None:
        exponents = (time, length, mass, current, temperature, substance, luminosity)
        self._set(tuple(_fraction(e) for e in exponents), boolean=False)

    def _set(self, exponents: tuple[Fraction, ...], boolean: bool) -> None:
        object.__setattr__(self, "_exponents", exponents)
        object.__setattr__(self, "_boolean", boolean)
        object.__setattr__(self, "_hash", hash((exponents, boolean)))

    @classmethod
    def _make(cls, exponents: tuple[Fraction, ...], boolean: bool = False) -> Dimension:
        dimension = cls.__new__(cls)
        dimension._set(exponents, boolean)
        return dimension

    @classmethod
    def from_exponents(cls, exponents: dict[str, Fraction | int | float]) -> Dimension:
        """Build from ``{"time": -1, "length": 1}`` (base names as in ``Dimension.BASES``)."""
        unknown = set(exponents) - set(_BASES)
        if unknown:
            raise ValueError(f"unknown base dimensions {sorted(unknown)}; use {list(_BASES)}")
        return cls._make(tuple(_fraction(exponents.get(b, 0)) for b in _BASES))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Dimension is immutable")

    @property
    def exponents(self) -> dict[str, Fraction]:
        """The non-zero exponents by base name, e.g. ``{"time": Fraction(-1)}``."""
        return {b: e for b, e in zip(_BASES, self._exponents, strict=True) if e}

    @property
    def is_dimensionless(self) -> bool:
        """True for ``Dimension.NONE`` (not for ``Dimension.BOOL``)."""
        return not self._boolean and not any(self._exponents)

    @property
    def is_boolean(self) -> bool:
        """True for ``Dimension.BOOL``."""
        return self._boolean

    def _check_numeric(self, other: Dimension) -> None:
        if self._boolean or other._boolean:
            raise TypeError("booleans have no physical dimension to combine")

    def __mul__(self, other: Dimension) -> Dimension:
        if not isinstance(other, Dimension):
            return NotImplemented
        self._check_numeric(other)
        return Dimension._make(
            tuple(a + b for a, b in zip(self._exponents, other._exponents, strict=True))
        )

    def __truediv__(self, other: Dimension) -> Dimension:
        if not isinstance(other, Dimension):
            return NotImplemented
        self._check_numeric(other)
        return Dimension._make(
            tuple(a - b for a, b in zip(self._exponents, other._exponents, strict=True))
        )

    def __pow__(self, exponent: Fraction | int) -> Dimension:
        if not isinstance(exponent, Fraction | int):
            return NotImplemented
        self._check_numeric(self)
        return Dimension._make(tuple(a * exponent for a in self._exponents))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dimension):
            return NotImplemented
        return self._boolean == other._boolean and self._exponents == other._exponents

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        return (Dimension._make, (self._exponents, self._boolean))

    def __repr__(self) -> str:
        if self._boolean:
            return "Dimension.BOOL"
        inner = ", ".join(f"{b}={_exponent_text(e)}" for b, e in self.exponents.items())
        return f"Dimension({inner})"

    def __str__(self) -> str:
        if self._boolean:
            return "boolean"
        if not any(self._exponents):
            return "dimensionless"
        named = _NAMED.get(self)
        if named is not None:
            return f"[{named[0]}]"
        return _product_text([f"[{b}]" for b in _BASES], self._exponents, range(7))


def _product_text(symbols: list[str], exponents: Iterable[Fraction], order: Iterable[int]) -> str:
    """Write a product of powers: positive ones joined by '*', then '/' for each negative one."""
    exps = list(exponents)
    positive = [i for i in order if exps[i] > 0]
    negative = [i for i in order if exps[i] < 0]

    def power(i: int, exponent: Fraction) -> str:
        return symbols[i] if exponent == 1 else f"{symbols[i]}^{_exponent_text(exponent)}"

    if not positive:
        return "*".join(power(i, exps[i]) for i in negative)
    text = "*".join(power(i, exps[i]) for i in positive)
    for i in negative:
        text += "/" + power(i, -exps[i])
    return text


Dimension.NONE = Dimension()
Dimension.BOOL = Dimension._make((Fraction(0),) * 7, boolean=True)

_D = Dimension
# Named dimensions: the name used in messages and the symbol of the SI unit, if it has one.
_NAMED: Final[dict[Dimension, tuple[str, str | None]]] = {
    _D(time=1): ("time", "s"),
    _D(length=1): ("length", "m"),
    _D(mass=1): ("mass", "kg"),
    _D(current=1): ("current", "A"),
    _D(temperature=1): ("temperature", "K"),
    _D(substance=1): ("substance", "mol"),
    _D(luminosity=1): ("luminosity", "cd"),
    _D(time=-1): ("frequency", "Hz"),
    _D(length=1, time=-1): ("velocity", None),
    _D(length=1, time=-2): ("acceleration", None),
    _D(length=2): ("area", None),
    _D(length=3): ("volume", None),
    _D(mass=1, length=1, time=-2): ("force", "N"),
    _D(mass=1, length=2, time=-2): ("energy", "J"),
    _D(mass=1, length=2, time=-3): ("power", "W"),
    _D(mass=1, length=2, time=-3, current=-1): ("voltage", "V"),
    _D(current=1, time=1): ("charge", "C"),
    _D(mass=1, length=2, time=-3, current=-2): ("resistance", "ohm"),
    _D(mass=-1, length=-2, time=4, current=2): ("capacitance", "F"),
    _D(mass=1, length=2, time=-2, current=-2): ("inductance", "H"),
    _D(mass=1, length=2, time=-2, current=-1): ("magnetic flux", "Wb"),
    _D(mass=1, time=-2, current=-1): ("magnetic field", "T"),
    _D(mass=1, length=-1, time=-2): ("pressure", "Pa"),
}


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit: its symbol, the SI magnitude of one unit, and its dimension.

    ``logarithmic`` units (``dB``, ``dBm``) are not proportional: ``x dBm`` is
    ``scale * 10**(x/10)`` in SI (``scale`` is the reference, 1 mW for dBm).

    Example::

        >>> mhz = parse_unit("MHz")
        >>> mhz.to_si(10.0), mhz.from_si(2e6)
        (10000000.0, 2.0)
    """

    symbol: str
    scale: float
    dimension: Dimension
    logarithmic: bool = False

    def to_si(self, x: Any) -> Any:
        """Convert a magnitude (float or array) in this unit to SI."""
        if self.logarithmic:
            return self.scale * 10.0 ** (x / 10.0)
        inverse = _exact_inverse(self.scale)
        # 10 / 1e6 is exactly 1e-5, 10 * 1e-6 is not: divide by exact inverses.
        return x * self.scale if inverse is None else x / inverse

    def from_si(self, x: Any) -> Any:
        """Convert an SI magnitude (float or array) to this unit."""
        if self.logarithmic:
            import numpy as np

            return 10.0 * np.log10(x / self.scale)
        inverse = _exact_inverse(self.scale)
        return x / self.scale if inverse is None else x * inverse

    def __str__(self) -> str:
        return self.symbol

    @staticmethod
    def si(dimension: Dimension) -> Unit:
        """The coherent SI unit of ``dimension``: ``Hz``, ``s``, ``W``... or a product of base
        units like ``kg*m^2/s^3/A`` (dimensionless and boolean give the symbol ``""``)."""
        return _si_unit(dimension)


@functools.lru_cache(maxsize=1024)
def _exact_inverse(scale: float) -> float | None:
    """``1/scale`` if it is an integer that gives back ``scale`` exactly (1e-6 -> 1e6)."""
    if not 0.0 < scale < 1.0:
        return None
    inverse = float(round(1.0 / scale))
    if inverse < 2.0**53 and 1.0 / inverse == scale:
        return inverse
    return None


@functools.lru_cache(maxsize=256)
def _si_unit(dimension: Dimension) -> Unit:
    if dimension.is_boolean or dimension.is_dimensionless:
        return Unit("", 1.0, dimension)
    named = _NAMED.get(dimension)
    if named is not None and named[1] is not None:
        return Unit(named[1], 1.0, dimension)
    symbol = _product_text(list(_BASE_SYMBOLS), dimension._exponents, _SYMBOL_ORDER)
    return Unit(symbol, 1.0, dimension)


# ----------------------------------------------------------------------------- unit names


@dataclass(frozen=True, slots=True)
class UnitAtom:
    """One unit name (``MHz``, ``cm``, ``dBm``) resolved to its SI scale and dimension."""

    name: str
    scale: float
    dimension: Dimension
    logarithmic: bool = False


# No unit name is longer (pint's longest names are ~40 characters).
_LONGEST_UNIT: Final = 64

#: Names that are never units, whatever pint knows (``t`` is the time, ``e`` Euler's number).
NOT_UNITS: Final = frozenset({"t", "e", "pi", "Enabled", "Disabled", "and", "or", "not"})

_MICRO: Final = ("u", "\u00b5", "\u03bc")
_PREFIX_EXPONENT: Final = {"p": -12, "n": -9, "m": -3, "c": -2, "k": 3, "M": 6, "G": 9, "T": 12}
_PREFIX_EXPONENT.update(dict.fromkeys(_MICRO, -6))

# Built-in units: name -> (power of ten of the base, dimension, allowed prefixes).
# They avoid importing pint for the usual units, and fix gauss: pint's "G" is the
# Gaussian-CGS gauss (a different dimension), in the lab it is 1e-4 T.
_BUILTIN_BASES: Final = {
    "s": (0, _D(time=1), ("", "p", "n", *_MICRO, "m")),
    "Hz": (0, _D(time=-1), ("", "m", "k", "M", "G", "T")),
    "W": (0, _D(mass=1, length=2, time=-3), ("", "n", *_MICRO, "m", "k")),
    "A": (0, _D(current=1), ("", "n", *_MICRO, "m", "k")),
    "V": (0, _D(mass=1, length=2, time=-3, current=-1), ("", "n", *_MICRO, "m", "k")),
    "m": (0, _D(length=1), ("", "p", "n", *_MICRO, "m", "c", "k")),
    "g": (-3, _D(mass=1), ("", *_MICRO, "m", "k")),
    "K": (0, _D(temperature=1), ("", "n", *_MICRO, "m")),
    "T": (0, _D(mass=1, time=-2, current=-1), ("", "n", *_MICRO, "m")),
    "G": (-4, _D(mass=1, time=-2, current=-1), ("", *_MICRO, "m", "k")),
    "gauss": (-4, _D(mass=1, time=-2, current=-1), ("",)),
}

_BUILTIN: Final[dict[str, UnitAtom]] = {}
for _base, (_power, _dimension, _prefixes) in _BUILTIN_BASES.items():
    for _prefix in _prefixes:
        _name = _prefix + _base
        _exponent = _power + (_PREFIX_EXPONENT[_prefix] if _prefix else 0)
        _BUILTIN[_name] = UnitAtom(_name, float(f"1e{_exponent}"), _dimension)
_BUILTIN["rad"] = UnitAtom("rad", 1.0, Dimension.NONE)
_BUILTIN["deg"] = UnitAtom("deg", math.pi / 180.0, Dimension.NONE)
_BUILTIN["dB"] = UnitAtom("dB", 1.0, Dimension.NONE, logarithmic=True)
_BUILTIN["dBm"] = UnitAtom("dBm", 1e-3, _D(mass=1, length=2, time=-3), logarithmic=True)

#: Names pint reads differently from shotbook: never hand them to pint for display.
PINT_DISAGREES: Final = frozenset(n for n in _BUILTIN if n.endswith("G") or n == "gauss")

# pint base units that are SI (radian is dimensionless).
_PINT_BASES: Final = {
    "second": 0,
    "meter": 1,
    "kilogram": 2,
    "ampere": 3,
    "kelvin": 4,
    "mole": 5,
    "candela": 6,
    "radian": -1,
}


class UnsupportedUnit(Exception):
    """A name pint knows that shotbook cannot use (offset, logarithmic, non-SI)."""


def pint_registry() -> Any:
    """pint's application registry (imported lazily, never on the per-shot path)."""
    import pint

    return pint.get_application_registry()


@functools.lru_cache(maxsize=4096)
def lookup_unit(name: str) -> UnitAtom | None:
    """Resolve one unit name; ``None`` if it is not a unit.

    Raises :class:`UnsupportedUnit` for units pint knows but shotbook refuses
    (``degC``: offset; ``dBW``: logarithmic; ``B``: bytes are not physical).
    """
    atom = _BUILTIN.get(name)
    if atom is not None:
        return atom
    if (
        name in NOT_UNITS
        or "." in name
        or name.startswith("_")
        or len(name) > _LONGEST_UNIT
        or keyword.iskeyword(name)
    ):
        return None
    return _lookup_pint(name)


def _lookup_pint(name: str) -> UnitAtom | None:
    registry = pint_registry()
    try:
        one = registry.Quantity(1.0, name).to_base_units()
        zero = registry.Quantity(0.0, name).to_base_units()
        two = registry.Quantity(2.0, name).to_base_units()
    except Exception:  # pint raises many kinds of errors for names it does not know
        return None
    scale = float(one.magnitude)
    if float(zero.magnitude) != 0.0 or not math.isclose(float(two.magnitude), 2.0 * scale):
        raise UnsupportedUnit(
            f"unit {name!r} is not proportional (offset or logarithmic); "
            "shotbook supports only dB and dBm among such units"
        )
    exponents = [Fraction(0)] * 7
    for base, power in one.unit_items():
        index = _PINT_BASES.get(base)
        if index is None:
            raise UnsupportedUnit(f"unit {name!r} is not made of SI units (it uses {base!r})")
        if index >= 0:
            exponents[index] += _fraction(power)
    if not (math.isfinite(scale) and scale > 0.0):
        raise UnsupportedUnit(f"unit {name!r} has no usable scale")
    return UnitAtom(name, scale, Dimension._make(tuple(exponents)))


@functools.cache
def _suggestion_pool() -> tuple[str, ...]:
    names = set(_BUILTIN)
    names.update({"J", "mJ", "uJ", "N", "Pa", "C", "ohm", "F", "H", "mol", "cd", "min", "h"})
    names.update({"cm", "km", "kV", "kW", "percent", "ppm", "mK", "uK", "nK"})
    return tuple(sorted(names))


def suggest_units(name: str) -> list[str]:
    """Unit names close to ``name`` (for "did you mean" hints)."""
    return difflib.get_close_matches(name, _suggestion_pool(), n=3, cutoff=0.6)


def unknown_unit_message(name: str) -> str:
    """The message of an unknown unit name, with suggestions."""
    message = f"unknown unit {name!r}"
    close = suggest_units(name)
    if close:
        message += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return message


# ----------------------------------------------------------------------------- unit chains


def _is_unit_start(tokens: list[Token], index: int) -> bool:
    """True if tokens[index] is a name that is a unit here (not followed by '(')."""
    token = tokens[index]
    if token.kind != TokenKind.NAME:
        return False
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    if after is not None and after.kind == TokenKind.OP and after.text == "(":
        return False
    try:
        return lookup_unit(token.text) is not None
    except UnsupportedUnit:
        return True  # a unit, but refused: parse_unit_chain reports why


def parse_unit_chain(tokens: list[Token], index: int, text: str) -> tuple[Unit, int]:
    """Read a unit chain starting at ``tokens[index]`` (a unit name).

    Grammar: ``atom (('*'|'/') atom)*`` with ``atom := NAME [('^'|'**') exponent]`` and
    ``exponent := [+-]INT | '(' [+-]INT ['/' INT] ')'``. The chain continues through
    ``*`` and ``/`` only while the next name is a unit. Returns the unit and the index of
    the first token after the chain.
    """
    symbol_parts: list[str] = []
    scale = 1.0
    dimension = Dimension.NONE
    operator = ""
    atoms = 0
    while True:
        token = tokens[index]
        atom = _resolve(token, text)
        if atom.logarithmic and (atoms > 0 or _continues(tokens, index + 1)):
            raise UnitError(
                f"{atom.name} cannot be combined with other units or take an exponent; "
                "use parentheses, e.g. '(3 dBm) * 2' or '(3 dB)**2'",
                text,
                token.column,
            )
        index += 1
        exponent = Fraction(1)
        if tokens[index].kind == TokenKind.OP and tokens[index].text in ("^", "**"):
            exponent, index = _parse_exponent(tokens, index + 1, text)
        atoms += 1
        written = atom.name if exponent == 1 else f"{atom.name}^{_exponent_text(exponent)}"
        symbol_parts.append(operator + written)
        sign = -1 if operator == "/" else 1
        try:
            scale *= atom.scale ** float(exponent * sign)
        except OverflowError:
            scale = math.inf
        if scale == 0.0 or not math.isfinite(scale):
            raise UnitError(f"unit scale of {''.join(symbol_parts)!r} is out of range", text, None)
        dimension = dimension * atom.dimension ** (exponent * sign)
        if atom.logarithmic:
            return Unit(atom.name, atom.scale, atom.dimension, logarithmic=True), index
        nxt = tokens[index]
        if (
            nxt.kind == TokenKind.OP
            and nxt.text in ("*", "/")
            and index + 1 < len(tokens)
            and _is_unit_start(tokens, index + 1)
        ):
            operator = nxt.text
            index += 1
            continue
        return Unit("".join(symbol_parts), scale, dimension), index


def _continues(tokens: list[Token], index: int) -> bool:
    token = tokens[index]
    if token.kind != TokenKind.OP:
        return False
    if token.text in ("^", "**"):
        return True
    return (
        token.text in ("*", "/") and index + 1 < len(tokens) and _is_unit_start(tokens, index + 1)
    )


def _resolve(token: Token, text: str) -> UnitAtom:
    try:
        atom = lookup_unit(token.text) if token.kind == TokenKind.NAME else None
    except UnsupportedUnit as error:
        raise UnitError(str(error), text, token.column) from None
    if atom is None:
        if token.kind == TokenKind.NAME:
            raise UnitError(unknown_unit_message(token.text), text, token.column)
        raise UnitError(f"expected a unit, got {token.describe()}", text, token.column)
    return atom


def _parse_exponent(tokens: list[Token], index: int, text: str) -> tuple[Fraction, int]:
    """Parse a unit exponent: ``-2``, ``3``, ``(1/2)``, ``(-3/2)``."""
    start = tokens[index]
    parenthesised = start.kind == TokenKind.OP and start.text == "("
    if parenthesised:
        index += 1
    sign = 1
    token = tokens[index]
    if token.kind == TokenKind.OP and token.text in ("+", "-"):
        sign = -1 if token.text == "-" else 1
        index += 1
    numerator, index = _parse_int(tokens, index, text, start)
    denominator = 1
    if parenthesised:
        if tokens[index].kind == TokenKind.OP and tokens[index].text == "/":
            denominator, index = _parse_int(tokens, index + 1, text, start)
            if denominator == 0:
                raise UnitError("unit exponent divides by zero", text, start.column)
        closing = tokens[index]
        if not (closing.kind == TokenKind.OP and closing.text == ")"):
            raise UnitError(
                f"expected ')' to close the unit exponent, got {closing.describe()}",
                text,
                closing.column,
            )
        index += 1
    exponent = Fraction(sign * numerator, denominator)
    if abs(exponent) > 100:
        raise UnitError("unit exponents are limited to +-100", text, start.column)
    return exponent, index


def _parse_int(tokens: list[Token], index: int, text: str, start: Token) -> tuple[int, int]:
    token = tokens[index]
    if token.kind == TokenKind.ERROR:
        raise UnitError(token.message, text, token.column)
    if token.kind != TokenKind.NUMBER or not token.text.isdigit():
        raise UnitError(
            "a unit exponent must be an integer like 'MHz^-2' or a fraction in parentheses "
            "like 'm^(1/2)'; to raise a quantity to any power use parentheses: '(2 m)**x'",
            text,
            token.column,
        )
    return int(token.text), index + 1


_SPECIAL_UNITS: Final = {
    "%": Unit("%", 0.01, Dimension.NONE),
    "\u00b0": Unit("\u00b0", math.pi / 180.0, Dimension.NONE),
}


@functools.lru_cache(maxsize=1024)
def parse_unit(text: str) -> Unit:
    """Parse a unit or a chain of units: ``"MHz"``, ``"mW"``, ``"MHz^-2"``, ``"MHz*cm/J"``.

    Also accepts ``"%"``, ``"°"``, ``"dB"`` and ``"dBm"``. Raises :class:`UnitError`.

    Example::

        >>> parse_unit("MHz*cm/J").scale
        10000.0
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_unit expects a str, got {type(text).__name__}")
    stripped = text.strip()
    if stripped in _SPECIAL_UNITS:
        return _SPECIAL_UNITS[stripped]
    if not stripped:
        raise UnitError("empty unit", text, None)
    if len(text) > 1000:
        raise UnitError("unit text is too long (more than 1000 characters)", text[:1000], None)
    tokens = tokenize(text)
    first = tokens[0]
    if first.kind == TokenKind.ERROR:
        raise UnitError(first.message, text, first.column)
    if first.kind != TokenKind.NAME:
        raise UnitError(f"expected a unit name, got {first.describe()}", text, first.column)
    unit, index = parse_unit_chain(tokens, 0, text)
    rest = tokens[index]
    if rest.kind != TokenKind.END:
        if rest.kind == TokenKind.ERROR:
            raise UnitError(rest.message, text, rest.column)
        if rest.kind == TokenKind.NAME:
            raise UnitError(unknown_unit_message(rest.text), text, rest.column)
        raise UnitError(f"unexpected {rest.describe()} in a unit", text, rest.column)
    return unit


def pint_units_text(unit: Unit) -> str | None:
    """The unit written for pint, or ``None`` if pint would read it differently."""
    if unit.logarithmic:
        return None
    if unit.symbol == "%":
        return "percent"
    if unit.symbol == "\u00b0":
        return "degree"
    tokens = tokenize(unit.symbol)
    if any(t.kind == TokenKind.NAME and t.text in PINT_DISAGREES for t in tokens):
        return None
    return unit.symbol.replace("^", "**")


def unit_from_pint(units: Any) -> Unit:
    """Build a :class:`Unit` from pint units (of any registry). Raises :class:`UnitError`."""
    symbol = format(units, "~").replace(" ", "").replace("**", "^")
    registry = getattr(units, "_REGISTRY", None)
    if registry is None:
        raise UnitError(f"{units!r} are not pint units", symbol, None)
    try:
        one = registry.Quantity(1.0, units).to_base_units()
        zero = registry.Quantity(0.0, units).to_base_units()
    except Exception as error:  # pint's own errors (offset units and others)
        raise UnitError(f"cannot use the unit {symbol!r}: {error}", symbol, None) from None
    if float(zero.magnitude) != 0.0:
        raise UnitError(f"unit {symbol!r} is not proportional (offset or logarithmic)", symbol)
    exponents = [Fraction(0)] * 7
    for base, power in one.unit_items():
        index = _PINT_BASES.get(base)
        if index is None:
            raise UnitError(f"unit {symbol!r} is not made of SI units (it uses {base!r})", symbol)
        if index >= 0:
            exponents[index] += _fraction(power)
    return Unit(symbol, float(one.magnitude), Dimension._make(tuple(exponents)))


@functools.lru_cache(maxsize=256)
def pint_display_units(unit: Unit) -> tuple[str, Unit]:
    """pint units text for showing a value in ``unit``, and the unit it stands for: ``unit``
    itself, or its SI unit if pint would read ``unit`` otherwise (pint's ``G``)."""
    registry = pint_registry()
    for candidate in (unit, Unit.si(unit.dimension)):
        text = pint_units_text(candidate)
        if text is None:
            continue
        try:
            one = registry.Quantity(1.0, text).to_base_units()
        except Exception:  # pint cannot read it: try the SI unit
            continue
        if math.isclose(float(one.magnitude), candidate.scale, rel_tol=1e-9):
            return text, candidate
    raise UnitError(f"pint cannot show the unit {unit.symbol!r}", unit.symbol, None)
