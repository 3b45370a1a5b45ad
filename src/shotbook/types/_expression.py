"""Expressions with units: parsed once, checked for dimensions, evaluated many times.

Example::

    >>> e = Expression("-2 MHz + mot.detuning")
    >>> e.names
    frozenset({'mot.detuning'})
    >>> f = e.compile({"mot.detuning": Dimension(time=-1)})
    >>> f({"mot.detuning": 5e6})          # SI in, SI out (per shot, no pint)
    3000000.0
    >>> e.evaluate({"mot.detuning": Q(5, "MHz")})   # quantities in and out
    <Quantity(3.0, 'megahertz')>

Language summary (see ``_expression_parser`` for the grammar):

* numbers are float64: ``1``, ``.5``, ``1e-3``; ``60%`` is 0.6, ``90°`` is pi/2;
* a number may be followed by a unit: ``10 MHz``, ``1.5 MHz^-2``, ``12 MHz*cm/J``,
  ``10 µs`` (``µ``, ``μ`` and ``u`` are micro). The unit chain continues through ``*`` and
  ``/`` while the next name is a unit: units win there, so a parameter named like a unit
  (``m``, ``a``, ``h``...) must be parenthesised after a unit: ``10 MHz * (m)``. Units are
  only allowed right after a number; unit exponents are integers or ``(p/q)``;
* ``x dBm`` is ``10**(x/10)`` mW and ``x dB`` the ratio ``10**(x/10)``; they cannot be
  combined with other units in a chain, but mix with linear values: ``0 dBm + 1 mW`` is 2 mW;
* operators ``+ - * / ** ^``, comparisons ``< <= > >= == !=`` (never chained), ``and``,
  ``or``, ``not`` (both sides are always evaluated);
* names are dotted parameter names ``mot.detuning``; no part may start with ``_`` or be a
  Python keyword; ``t`` (time since the block start, seconds), ``pi``, ``e``, ``Enabled``,
  ``Disabled`` and the function names are reserved;
* functions: sin cos tan arcsin arccos arctan sinh cosh tanh exp log log10 floor ceil
  (dimensionless), sqrt, abs, min, max, ``square_wave(x, duty=0.5)`` (``frac(x) < duty``);
* limits: 10,000 characters, 64 levels of nesting.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from shotbook.types._expression_check import check, node_dimension
from shotbook.types._expression_compile import (
    Evaluator,
    UseArrays,
    build_evaluators,
    is_constant_value,
)
from shotbook.types._expression_errors import DimensionError, ExpressionError
from shotbook.types._expression_parser import (
    Call,
    Literal,
    Name,
    Node,
    ParsedExpression,
    Product,
    Sum,
    UnaryMinus,
    parse,
)
from shotbook.types._units import (
    Dimension,
    Unit,
    pint_display_units,
    pint_registry,
    unit_from_pint,
)

__all__ = ["CompiledExpression", "Expression"]

_EMPTY: Final[Mapping[str, Any]] = MappingProxyType({})
_TIME: Final = Dimension(time=1)
_COMPILED_CACHE_SIZE: Final = 8


@functools.lru_cache(maxsize=2048)
def _parse(text: str) -> tuple[ParsedExpression, Dimension | None]:
    parsed = parse(text)
    return parsed, check(parsed, None)


class Expression:
    """A text expression with units, parsed once (cached by text).

    Raises :class:`ExpressionSyntaxError` (or :class:`UnitError`) for invalid text and
    :class:`DimensionError` when its constant parts alone are inconsistent (``1 s + 1 m``).
    An expression is its text: equal texts give equal expressions, and it is stored (JSON,
    databases) as ``expression.text``; ``Expression(text)`` rebuilds it.

    Example::

        >>> Expression("5 * mot.detuning").compile({"mot.detuning": Dimension(time=-1)})(
        ...     {"mot.detuning": 2e6})
        10000000.0
    """

    __slots__ = ("_compiled", "_parsed", "_text")

    _text: str
    _parsed: ParsedExpression
    _compiled: dict[tuple[tuple[str, Dimension], ...], CompiledExpression]

    def __init__(self, text: str) -> None:
        if isinstance(text, Expression):
            text = text.text
        if not isinstance(text, str):
            raise TypeError(
                f"Expression expects a str, got {type(text).__name__}: write Expression('10 MHz')"
            )
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_parsed", _parse(text)[0])
        object.__setattr__(self, "_compiled", {})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Expression is immutable")

    # --- identity

    @property
    def text(self) -> str:
        """The text, exactly as given."""
        return self._text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Expression({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return self._text == other._text

    def __hash__(self) -> int:
        return hash(self._text)

    def __copy__(self) -> Expression:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Expression:
        return self

    # --- what it uses

    @property
    def names(self) -> frozenset[str]:
        """The parameter names used (not ``t``, constants or functions)."""
        return self._parsed.names

    @property
    def uses_time(self) -> bool:
        """True if ``t`` appears."""
        return self._parsed.uses_time

    @property
    def is_constant(self) -> bool:
        """True if neither names nor ``t`` appear."""
        return not self._parsed.names and not self._parsed.uses_time

    # --- static checks

    def dimension(self, dimensions: Mapping[str, Dimension] = _EMPTY) -> Dimension:
        """The dimension of the value, given the dimensions of the names.

        ``t`` is implicitly ``[time]``. Raises :class:`UndefinedParameterError` (suggesting
        the closest key of ``dimensions``) and :class:`DimensionError`.
        """
        result = check(self._parsed, dimensions)
        assert result is not None  # every name has a dimension here
        return result

    def unit(
        self,
        units: Mapping[str, Unit | None] = _EMPTY,
        dimensions: Mapping[str, Dimension] | None = None,
    ) -> Unit | None:
        """The preferred unit to show the value in, or ``None`` if it is dimensionless.

        A number with a unit keeps that unit (``10 MHz`` → MHz, ``10 dBm`` → mW); a sum
        takes the unit of its first term; a lone name takes ``units[name]``; a product by
        dimensionless factors keeps the unit of its dimensioned factor; otherwise the SI unit.
        Names missing from ``units`` (or mapped to ``None``: dimensionless) are looked up in
        ``dimensions``.
        """
        known: dict[str, Dimension] = dict(dimensions) if dimensions is not None else {}
        for name, unit in units.items():
            known.setdefault(name, unit.dimension if unit is not None else Dimension.NONE)
        dimension = self.dimension(known)
        if dimension.is_dimensionless or dimension.is_boolean:
            return None
        preferred = _Preferred(self._text, units, known).of(self._parsed.tree)
        if preferred is None or preferred.dimension != dimension or preferred.logarithmic:
            return Unit.si(dimension)
        return preferred

    # --- evaluation

    def compile(self, dimensions: Mapping[str, Dimension] = _EMPTY) -> CompiledExpression:
        """Check the dimensions and build the fast evaluator (cached per dimensions)."""
        try:
            key = tuple((name, dimensions[name]) for name in sorted(self._parsed.names))
        except KeyError:
            key = None
        if key is not None:
            compiled = self._compiled.get(key)
            if compiled is not None:
                return compiled
        dimension = self.dimension(dimensions)
        relevant = {name: dimensions[name] for name in self._parsed.names}
        scalar, array, constant = build_evaluators(self._parsed.tree, self._text, relevant)
        compiled = CompiledExpression(self, dimension, scalar, array, constant)
        if key is not None:
            if len(self._compiled) >= _COMPILED_CACHE_SIZE:
                self._compiled.clear()
            self._compiled[key] = compiled
        return compiled

    def evaluate(self, parameters: Mapping[str, object] = _EMPTY) -> Any:
        """Evaluate with parameter values: floats, ints, bools (dimensionless or boolean),
        numpy arrays, or pint quantities (anything with ``.magnitude`` and ``.units``).

        ``parameters["t"]``, if given, is the time (seconds, or a time quantity).
        Returns a float or bool (array) when dimensionless or boolean, else a pint
        ``Quantity`` in the preferred unit (see :meth:`unit`).

        Example::

            >>> Expression("2 * x").evaluate({"x": Q(5, "MHz")})
            <Quantity(10.0, 'megahertz')>
        """
        values: dict[str, Any] = {}
        dimensions: dict[str, Dimension] = {}
        units: dict[str, Unit | None] = {}
        for name, value in parameters.items():
            si, dimension, unit = _to_si(name, value, self._text)
            values[name] = si
            dimensions[name] = dimension
            units[name] = unit
        if "t" in dimensions and dimensions["t"] != _TIME:
            raise DimensionError(
                f"'t' must be a time, got {dimensions['t']} in {self._text!r}", self._text
            )
        compiled = self.compile(dimensions)
        result = compiled(values)
        dimension = compiled.dimension
        if dimension.is_boolean or dimension.is_dimensionless:
            return result
        unit = self.unit(units, dimensions) or Unit.si(dimension)
        text, shown = pint_display_units(unit)
        return pint_registry().Quantity(shown.from_si(result), text)


class CompiledExpression:
    """The fast evaluator of an :class:`Expression` for given dimensions of its names.

    Call it with a mapping of SI values (floats, ints, bools or numpy arrays; ``"t"`` is
    the time in seconds, usually an array). It returns the SI magnitude: a float, a bool or
    a float64/bool array. Raises :class:`EvaluationError` (overflow, division by zero, math
    domain) and :class:`UndefinedParameterError` (missing value). Never touches pint.
    """

    __slots__ = ("_array", "_scalar", "_uses_time", "dimension", "expression")

    expression: Expression
    dimension: Dimension

    def __init__(
        self,
        expression: Expression,
        dimension: Dimension,
        scalar: Evaluator,
        array: Evaluator,
        constant: object,
    ) -> None:
        self.expression = expression
        self.dimension = dimension
        self._uses_time = expression.uses_time
        self._array = array
        if is_constant_value(constant):
            self._scalar: Evaluator = lambda values: constant
        else:
            self._scalar = scalar

    def __call__(self, values: Mapping[str, Any]) -> Any:
        if self._uses_time:
            return self._call_arrays(values)
        try:
            return self._scalar(values)
        except UseArrays:
            return self._call_arrays(values)

    def _call_arrays(self, values: Mapping[str, Any]) -> Any:
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            result = self._array(values)
        if isinstance(result, np.generic):
            return result.item()
        return result

    def __repr__(self) -> str:
        return f"CompiledExpression({self.expression.text!r}, dimension={self.dimension})"


# ----------------------------------------------------------------------------- helpers


def _to_si(name: str, value: object, text: str) -> tuple[Any, Dimension, Unit | None]:
    """Convert one parameter value to (SI magnitude, dimension, unit)."""
    if hasattr(value, "magnitude") and hasattr(value, "units"):
        try:
            unit = unit_from_pint(value.units)
        except ExpressionError as error:
            raise error.located(f"parameter {name!r}") from None
        magnitude = value.magnitude
        if isinstance(magnitude, np.ndarray | list | tuple):
            magnitude = np.asarray(magnitude, dtype=np.float64)
        si = unit.to_si(magnitude)
        if unit.dimension.is_dimensionless:
            return si, Dimension.NONE, None
        return si, unit.dimension, unit
    if isinstance(value, bool | np.bool_):
        return bool(value), Dimension.BOOL, None
    if isinstance(value, int | float | np.integer | np.floating):
        return value, Dimension.NONE, None
    if isinstance(value, np.ndarray):
        if value.dtype == np.bool_:
            return value, Dimension.BOOL, None
        if value.dtype.kind in "iuf":
            return value, Dimension.NONE, None
    raise TypeError(
        f"parameter {name!r} of {text!r} is {type(value).__name__}; expected a number, a bool, "
        "a numpy array or a pint quantity"
    )


class _Preferred:
    """Finds the preferred display unit of a subtree (see :meth:`Expression.unit`)."""

    def __init__(
        self, text: str, units: Mapping[str, Unit | None], dimensions: Mapping[str, Dimension]
    ) -> None:
        self.text = text
        self.units = units
        self.dimensions = dimensions

    def of(self, node: Node) -> Unit | None:
        if isinstance(node, Literal):
            return node.unit
        if isinstance(node, Name):
            return self.units.get(node.name)
        if isinstance(node, UnaryMinus):
            return self.of(node.operand)
        if isinstance(node, Sum):
            for term in (node.first, *(o.node for o in node.rest)):
                unit = self.of(term)
                if unit is not None:
                    return unit
            return None
        if isinstance(node, Product):
            factors = [("*", node.first), *((o.operator, o.node) for o in node.rest)]
            dimensioned = [
                (operator, factor)
                for operator, factor in factors
                if not _is_dimensionless(node_dimension(self.text, factor, self.dimensions))
            ]
            if len(dimensioned) == 1 and dimensioned[0][0] == "*":
                return self.of(dimensioned[0][1])
            return None
        if isinstance(node, Call) and node.function in ("abs", "min", "max"):
            return self.of(node.arguments[0])
        return None


def _is_dimensionless(dimension: Dimension | None) -> bool:
    return dimension is not None and dimension.is_dimensionless
