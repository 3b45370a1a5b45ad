"""Global parameters: an ordered, nested namespace of named expressions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

from ._expression import CompiledExpression, Expression
from ._expression_errors import ExpressionError
from ._shot_parameters import Scalar, ShotParameters
from ._units import Dimension, Unit
from ._variable_name import DottedVariableName

NamespaceValue = Union[Expression, "ParameterNamespace"]


def _as_value(value: Any) -> NamespaceValue:
    if isinstance(value, Expression | ParameterNamespace):
        return value
    if isinstance(value, str):
        return Expression(value)
    if isinstance(value, bool):
        return Expression("Enabled" if value else "Disabled")
    if isinstance(value, int | float):
        return Expression(repr(float(value)))
    if isinstance(value, Mapping):
        return ParameterNamespace.from_mapping(value)
    raise TypeError(
        f"a parameter is an expression (str), a number or a nested mapping, "
        f"got {type(value).__name__}"
    )


@dataclass(frozen=True)
class CompiledNamespace:
    """A namespace checked once and ready to evaluate quickly, shot after shot."""

    names: tuple[str, ...]
    expressions: tuple[CompiledExpression, ...]
    dimensions: Mapping[str, Dimension]
    units: Mapping[str, Unit | None]

    def evaluate_into(self, values: dict[str, Scalar]) -> dict[str, Scalar]:
        """Evaluate each entry in order, adding it to ``values`` (SI magnitudes)."""
        for name, compiled in zip(self.names, self.expressions, strict=True):
            try:
                values[name] = compiled(values)
            except ExpressionError as error:
                raise error.located(f"parameter {name!r}") from None
        return values

    def evaluate(self) -> ShotParameters:
        """The values of every parameter, as SI magnitudes with display units."""
        return ShotParameters(self.evaluate_into({}), self.units)


class ParameterNamespace:
    """Ordered, nested parameters; later entries may use earlier ones.

    >>> globals_ = ParameterNamespace.from_mapping(
    ...     {"mot": {"detuning": "-10 MHz", "power": "5 mW"}, "probe": "2 * mot.detuning"}
    ... )
    >>> [str(name) for name, _ in globals_.flatten()]
    ['mot.detuning', 'mot.power', 'probe']
    >>> globals_.evaluate()["probe"]
    <Quantity(-20.0, 'megahertz')>
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: Iterable[tuple[str | DottedVariableName, Any]] = ()) -> None:
        items: list[tuple[DottedVariableName, NamespaceValue]] = []
        seen: set[DottedVariableName] = set()
        for raw_name, raw_value in entries:
            name = DottedVariableName(raw_name)
            if name in seen:
                raise ValueError(f"parameter {str(name)!r} is defined twice in the same namespace")
            seen.add(name)
            items.append((name, _as_value(raw_value)))
        self._entries: tuple[tuple[DottedVariableName, NamespaceValue], ...] = tuple(items)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> ParameterNamespace:
        """Build from a (nested) mapping of names to expressions, in insertion order."""
        return cls(mapping.items())

    @classmethod
    def empty(cls) -> ParameterNamespace:
        """A namespace with no parameter."""
        return cls()

    def items(self) -> tuple[tuple[DottedVariableName, NamespaceValue], ...]:
        """The direct entries, in order."""
        return self._entries

    def flatten(
        self, prefix: DottedVariableName | None = None
    ) -> Iterator[tuple[DottedVariableName, Expression]]:
        """Every expression with its full dotted name, in evaluation order."""
        for name, value in self._entries:
            full = DottedVariableName(f"{prefix}.{name}") if prefix is not None else name
            if isinstance(value, ParameterNamespace):
                yield from value.flatten(full)
            else:
                yield full, value

    def names(self) -> list[str]:
        """The full dotted names of all parameters, in order."""
        return [str(name) for name, _ in self.flatten()]

    def compile(
        self,
        dimensions: Mapping[str, Dimension] | None = None,
        units: Mapping[str, Unit | None] | None = None,
    ) -> CompiledNamespace:
        """Check names and dimensions in order and build the fast evaluator.

        Errors name the parameter: ``parameter 'probe': undefined parameter ...``.
        """
        dims: dict[str, Dimension] = dict(dimensions or {})
        display: dict[str, Unit | None] = dict(units or {})
        names: list[str] = []
        compiled: list[CompiledExpression] = []
        for name, expression in self.flatten():
            key = str(name)
            if key in names:
                raise ValueError(f"parameter {key!r} is defined twice")
            try:
                fast = expression.compile(dims)
                unit = expression.unit(display)
            except ExpressionError as error:
                raise error.located(f"parameter {key!r}") from None
            dims[key] = fast.dimension
            display[key] = unit
            names.append(key)
            compiled.append(fast)
        return CompiledNamespace(tuple(names), tuple(compiled), dims, display)

    def evaluate(self) -> dict[str, Any]:
        """Evaluate every parameter: a flat dict of floats, bools and pint Quantities."""
        shot = self.compile().evaluate()
        return {name: shot.quantity(name) for name in shot}

    def to_mapping(self) -> dict[str, Any]:
        """A nested dict of expression texts, the inverse of :meth:`from_mapping`."""
        out: dict[str, Any] = {}
        for name, value in self._entries:
            out[str(name)] = (
                value.to_mapping() if isinstance(value, ParameterNamespace) else value.text
            )
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ParameterNamespace):
            return self._entries == other._entries
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ParameterNamespace.from_mapping({self.to_mapping()!r})"
