"""Bridge from shotbook units to pint quantities (user-facing results only)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ._units import Unit


@cache
def _registry() -> Any:
    import pint

    return pint.get_application_registry()


def to_pint_quantity(magnitude: float, unit: Unit) -> Any:
    """A pint Quantity of ``magnitude`` in ``unit`` (or in SI if pint cannot spell the unit)."""
    ureg = _registry()
    symbol = unit.symbol.replace("µ", "u").replace("μ", "u").replace("^", "**")
    try:
        return ureg.Quantity(magnitude, symbol)
    except Exception:  # pragma: no cover - exotic compound symbols
        si = Unit.si(unit.dimension)
        return ureg.Quantity(unit.to_si(magnitude), si.symbol.replace("^", "**"))
