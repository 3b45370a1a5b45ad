"""The parameters of one shot: SI magnitudes by name, with the units people wrote."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._units import Unit

Scalar = float | int | bool
"""A parameter value on the shot path: an SI magnitude, an integer loop index or a bool."""


def format_value(value: Scalar, unit: Unit | None) -> str:
    """Show a value in its display unit, e.g. ``5 ms`` for 0.005 with unit ``ms``."""
    if isinstance(value, bool):
        return "Enabled" if value else "Disabled"
    if isinstance(value, int):
        return str(value)
    if unit is None:
        return f"{value:.6g}"
    return f"{unit.from_si(value):.6g} {unit.symbol}"


class ShotParameters(Mapping[str, Scalar]):
    """The values of one shot's parameters, by dotted name.

    Values are SI magnitudes (``wait_time`` of ``5 ms`` is ``0.005``), integers for
    integer loops, or bools; :attr:`units` gives the unit each was written in, used
    to display and store it.

    >>> from shotbook.types import parse_unit
    >>> shot = ShotParameters({"wait_time": 0.005}, {"wait_time": parse_unit("ms")})
    >>> shot["wait_time"], shot.display("wait_time")
    (0.005, 5.0)
    >>> str(shot)
    'wait_time = 5 ms'
    """

    __slots__ = ("_units", "_values")

    def __init__(self, values: Mapping[str, Scalar], units: Mapping[str, Unit | None]) -> None:
        self._values = dict(values)
        self._units = units

    def __getitem__(self, name: str) -> Scalar:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def units(self) -> Mapping[str, Unit | None]:
        """The display unit of each parameter (``None`` for dimensionless ones)."""
        return self._units

    def unit(self, name: str) -> Unit | None:
        """The display unit of one parameter."""
        return self._units.get(name)

    def display(self, name: str) -> Scalar:
        """The value of ``name`` in its display unit."""
        value = self._values[name]
        unit = self._units.get(name)
        if unit is None or isinstance(value, bool | int):
            return value
        return float(unit.from_si(value))

    def display_values(self) -> dict[str, Scalar]:
        """All values in their display units."""
        return {name: self.display(name) for name in self._values}

    def quantity(self, name: str) -> Any:
        """The value as a pint Quantity in its display unit, or a plain number."""
        unit = self._units.get(name)
        value = self.display(name)
        if unit is None or isinstance(value, bool):
            return value
        from ._quantity import to_pint_quantity

        return to_pint_quantity(float(value), unit)

    def __str__(self) -> str:
        return ", ".join(
            f"{name} = {format_value(value, self._units.get(name))}"
            for name, value in self._values.items()
        )

    def __repr__(self) -> str:
        return f"ShotParameters({self})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ShotParameters):
            return self._values == other._values
        if isinstance(other, Mapping):
            return self._values == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]
