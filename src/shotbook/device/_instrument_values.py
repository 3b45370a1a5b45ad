"""Per-shot instrument values: an expression, the unit it is sent in, and optional bounds.

Shared by the instrument families that set one number per shot (``device/qcodes``,
``device/visa``): the configuration checks of such a value, its static check (dimension of
the expression against the unit, constants against the bounds) and its evaluation per shot
(a value outside the bounds fails the shot's compilation, naming the expression).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shotbook.compile import ConfigurationError, SequenceCheckContext, ShotContext
from shotbook.types import Dimension, Expression, ExpressionError, Unit, UnitError, parse_unit

__all__ = [
    "InstrumentValue",
    "InstrumentValues",
    "check_bounds",
    "check_expression",
    "check_seconds",
    "check_unit",
    "check_value",
    "evaluate_value",
]


def check_expression(value: Any, where: str) -> str:
    """``value`` as the text of a well-formed expression (syntax checked now)."""
    if isinstance(value, Expression):
        return value.text
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where} is an expression (str), got {value!r}")
    try:
        Expression(value)
    except ExpressionError as error:
        raise ConfigurationError(f"{where} {value!r}: {error.message}") from None
    return value


def check_unit(unit: Any, where: str) -> str | None:
    """``unit`` as a unit symbol shotbook knows, or ``None`` (dimensionless, or a bool)."""
    if unit is None:
        return None
    if not isinstance(unit, str) or not unit.strip():
        raise ConfigurationError(f"{where}: unit is a unit symbol (str) or None, got {unit!r}")
    try:
        parse_unit(unit)
    except UnitError as error:
        raise ConfigurationError(f"{where}: unknown unit {unit!r} ({error})") from None
    return unit


def check_bounds(bounds: Any, where: str) -> tuple[float, float] | None:
    """``bounds`` as ``(low, high)`` floats with ``low <= high``, or ``None``."""
    if bounds is None:
        return None
    try:
        low, high = (float(v) for v in bounds)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{where}: bounds are (low, high), got {bounds!r}") from None
    if math.isnan(low) or math.isnan(high) or not low <= high:
        raise ConfigurationError(f"{where}: bounds need low <= high, got ({low}, {high})")
    return (low, high)


def check_seconds(value: Any, where: str) -> float:
    """``value`` as a number of seconds >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigurationError(f"{where} is a number of seconds >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class InstrumentValue:
    """One value a device sets per shot: ``expression`` sent in ``unit`` within ``bounds``.

    ``where`` describes it in messages (e.g. ``"parameter 'frequency'"``). ``unit`` ``None``:
    the expression is dimensionless (sent as a float) or a bool (sent as a bool).
    """

    where: str
    expression: Expression
    unit: str | None
    bounds: tuple[float, float] | None

    @property
    def parsed_unit(self) -> Unit | None:
        """The parsed unit (``None`` when dimensionless)."""
        return None if self.unit is None else parse_unit(self.unit)

    def constant(self) -> float | bool | None:
        """The value in ``unit`` when the expression uses no parameter, else ``None``."""
        if not self.expression.is_constant:
            return None
        try:
            value = self.expression.compile()({})
        except ExpressionError:
            return None
        return _in_unit(value, self.parsed_unit)


def _in_unit(value: Any, unit: Unit | None) -> float | bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    number = float(value)
    return number if unit is None else float(unit.from_si(number))


def _expected(unit: str | None) -> Dimension:
    return Dimension.NONE if unit is None else parse_unit(unit).dimension


def check_value(check: SequenceCheckContext, device: str, value: InstrumentValue) -> None:
    """Static check: names and dimension of the expression against the unit; a constant
    expression within the bounds. Problems are reported into ``check``, naming the expression."""
    compiled = check.compile(value.expression, device=device)
    if compiled is None:
        return
    text = value.expression.text
    dimension = compiled.dimension
    if dimension.is_boolean:
        if value.unit is not None or value.bounds is not None:
            check.report(
                f"{value.where}: '{text}' is a bool; a bool takes no unit and no bounds",
                device=device,
                expression=text,
            )
        return
    expected = _expected(value.unit)
    if dimension != expected:
        check.report(
            f"{value.where}: '{text}' is {dimension}, but its unit "
            f"{value.unit or '(none)'} is {expected}",
            device=device,
            expression=text,
        )
        return
    constant = value.constant()
    if value.bounds is not None and isinstance(constant, float):
        problem = _outside(constant, value)
        if problem:
            check.report(f"{value.where}: {problem}", device=device, expression=text)


def _outside(number: float, value: InstrumentValue) -> str | None:
    assert value.bounds is not None
    low, high = value.bounds
    if low <= number <= high:
        return None
    unit = f" {value.unit}" if value.unit else ""
    return (
        f"'{value.expression.text}' = {number:.12g}{unit} is outside the bounds "
        f"[{low:.12g}, {high:.12g}]{unit} of the configuration"
    )


def evaluate_value(context: ShotContext, value: InstrumentValue, unit: Unit | None) -> float | bool:
    """The value of one shot, in ``unit`` (``value.parsed_unit``, parsed once by the caller).

    Raises the context's :class:`~shotbook.compile.ShotCompilationError` (naming the
    expression and the shot's parameters) for a value outside the bounds, not finite, or of
    the wrong dimension.
    """
    text = value.expression.text
    result = context.evaluate(value.expression)
    if isinstance(result, bool | np.bool_):
        if value.unit is not None:
            raise context.error(
                f"{value.where}: '{text}' is a bool, expected {value.unit}", expression=text
            )
        return bool(result)
    number = float(result) if unit is None else float(unit.from_si(float(result)))
    if not math.isfinite(number):
        raise context.error(f"{value.where}: '{text}' is {number}", expression=text)
    if value.bounds is not None:
        problem = _outside(number, value)
        if problem:
            raise context.error(f"{value.where}: {problem}", expression=text)
    return number


class InstrumentValues:
    """The per-shot values of one instrument, in its configuration's order (an instrument
    compiler's shared part): checked before the run, evaluated each shot in their units.

    Shot parameters are ``{"values": [value, ...]}``; units are parsed once, here.
    """

    def __init__(self, device: str, values: Sequence[InstrumentValue]) -> None:
        self.device = device
        self.values = tuple(values)
        self._units = [value.parsed_unit for value in self.values]

    def check(self, check: SequenceCheckContext) -> None:
        """Report each value's static problems (see :func:`check_value`) into ``check``."""
        for value in self.values:
            check_value(check, self.device, value)

    def shot_parameters(self, context: ShotContext) -> dict[str, list[float | bool]]:
        """``{"values": [...]}``: each value for this shot, in its unit."""
        return {
            "values": [
                evaluate_value(context, value, unit)
                for value, unit in zip(self.values, self._units, strict=True)
            ]
        }
