"""Scans: the steps that set parameters, loop over values and execute shots."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._expression import CompiledExpression, Expression
from ._expression_errors import ExpressionError, UndefinedParameterError
from ._parameter_namespace import CompiledNamespace, ParameterNamespace
from ._shot_parameters import Scalar, ShotParameters
from ._units import Dimension, Unit
from ._variable_name import DottedVariableName

MAX_LOOP_POINTS = 10_000_000
"""A loop with more values than this is refused (it would run for months)."""


class IterationError(ValueError):
    """A scan that cannot run; the message names the step and the values involved."""


def _expr(value: str | Expression) -> Expression:
    return value if isinstance(value, Expression) else Expression(value)


def _name(value: str | DottedVariableName) -> DottedVariableName:
    return DottedVariableName(value)


@dataclass(frozen=True)
class VariableDeclaration:
    """Set ``variable`` to the value of ``value`` for the steps that follow.

    >>> VariableDeclaration("mot.detuning", "-2 MHz")
    VariableDeclaration(variable=DottedVariableName('mot.detuning'), value=Expression('-2 MHz'))
    """

    variable: DottedVariableName
    value: Expression

    def __init__(self, variable: str | DottedVariableName, value: str | Expression) -> None:
        object.__setattr__(self, "variable", _name(variable))
        object.__setattr__(self, "value", _expr(value))

    def __str__(self) -> str:
        return f"{self.variable} = {self.value}"


@dataclass(frozen=True)
class LinspaceLoop:
    """Loop ``variable`` over ``num`` values evenly spaced from ``start`` to ``stop`` (included).

    >>> LinspaceLoop("wait_time", "1 ms", "10 ms", 10, [ExecuteShot()]).num
    10
    """

    variable: DottedVariableName
    start: Expression
    stop: Expression
    num: int
    sub_steps: tuple[Step, ...] = field(default=())

    def __init__(
        self,
        variable: str | DottedVariableName,
        start: str | Expression,
        stop: str | Expression,
        num: int,
        sub_steps: Sequence[Step] = (),
    ) -> None:
        if isinstance(num, bool) or not isinstance(num, int) or num < 0:
            raise IterationError(
                f"linspace loop over {variable}: the number of points must be an integer >= 0, "
                f"got {num!r}"
            )
        if num > MAX_LOOP_POINTS:
            raise IterationError(
                f"linspace loop over {variable}: {num} points is more than {MAX_LOOP_POINTS}"
            )
        object.__setattr__(self, "variable", _name(variable))
        object.__setattr__(self, "start", _expr(start))
        object.__setattr__(self, "stop", _expr(stop))
        object.__setattr__(self, "num", num)
        object.__setattr__(self, "sub_steps", tuple(sub_steps))

    def __str__(self) -> str:
        return f"for {self.variable} = {self.start} to {self.stop} with {self.num} steps"


@dataclass(frozen=True)
class ArangeLoop:
    """Loop ``variable`` from ``start`` up to ``stop`` (excluded) by ``step``.

    With dimensionless integer start, stop and step the values are ``int``.
    """

    variable: DottedVariableName
    start: Expression
    stop: Expression
    step: Expression
    sub_steps: tuple[Step, ...] = field(default=())

    def __init__(
        self,
        variable: str | DottedVariableName,
        start: str | Expression,
        stop: str | Expression,
        step: str | Expression,
        sub_steps: Sequence[Step] = (),
    ) -> None:
        object.__setattr__(self, "variable", _name(variable))
        object.__setattr__(self, "start", _expr(start))
        object.__setattr__(self, "stop", _expr(stop))
        object.__setattr__(self, "step", _expr(step))
        object.__setattr__(self, "sub_steps", tuple(sub_steps))

    def __str__(self) -> str:
        return f"for {self.variable} = {self.start} to {self.stop} with {self.step} spacing"


@dataclass(frozen=True)
class ExecuteShot:
    """Run one shot with the parameters set so far."""

    def __str__(self) -> str:
        return "do shot"


Step = VariableDeclaration | LinspaceLoop | ArangeLoop | ExecuteShot


# --- compiled plan -----------------------------------------------------------------------------

_Values = dict[str, Scalar]


class _Unknown(Exception):
    """A value needed to count shots is only known at run time."""


def _evaluate(compiled: CompiledExpression, values: Mapping[str, Scalar], where: str) -> Any:
    try:
        return compiled(values)
    except ExpressionError as error:
        raise error.located(where) from None


def _number(compiled: CompiledExpression, values: Mapping[str, Scalar], where: str) -> float:
    value = _evaluate(compiled, values, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IterationError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _known_number(compiled: CompiledExpression, known: Mapping[str, Scalar]) -> float:
    if any(name not in known for name in compiled.expression.names):
        raise _Unknown
    try:
        return _number(compiled, known, "")
    except (ExpressionError, IterationError):
        raise _Unknown from None


def _linspace_values(start: float, stop: float, num: int) -> list[Scalar]:
    if num == 1:
        return [start]
    span = stop - start
    return [start + span * i / (num - 1) for i in range(num)]


def _arange_count(start: float, stop: float, step: float, where: str) -> int:
    if step == 0 or not math.isfinite(step) or not math.isfinite(start) or not math.isfinite(stop):
        raise IterationError(
            f"{where}: start, stop and step must be finite and the step non-zero, "
            f"got start={start}, stop={stop}, step={step}"
        )
    count = max(0, math.ceil((stop - start) / step - 1e-9))
    if count > MAX_LOOP_POINTS:
        raise IterationError(f"{where}: {count} values is more than {MAX_LOOP_POINTS}")
    return count


def _arange_values(start: float, stop: float, step: float, where: str) -> list[Scalar]:
    count = _arange_count(start, stop, step, where)
    if all(float(v).is_integer() for v in (start, stop, step)):
        return list(range(int(start), int(start) + count * int(step), int(step)))
    return [start + i * step for i in range(count)]


class _Node:
    def emit(self, values: _Values) -> Iterator[_Values]:
        raise NotImplementedError

    def count(self, known: _Values) -> int:
        raise NotImplementedError


class _Shot(_Node):
    def emit(self, values: _Values) -> Iterator[_Values]:
        yield values

    def count(self, known: _Values) -> int:
        return 1


@dataclass
class _Declare(_Node):
    name: str
    value: CompiledExpression
    label: str

    def emit(self, values: _Values) -> Iterator[_Values]:
        values[self.name] = _evaluate(self.value, values, self.label)
        return iter(())

    def count(self, known: _Values) -> int:
        if all(name in known for name in self.value.expression.names):
            try:
                known[self.name] = self.value(known)
                return 0
            except ExpressionError:
                pass
        known.pop(self.name, None)
        return 0


@dataclass
class _Loop(_Node):
    name: str
    label: str
    body: list[_Node]

    def values(self, values: _Values) -> list[Scalar]:
        raise NotImplementedError

    def length(self, known: _Values) -> int:
        raise NotImplementedError

    def emit(self, values: _Values) -> Iterator[_Values]:
        for value in self.values(values):
            values[self.name] = value
            for node in self.body:
                yield from node.emit(values)

    def count(self, known: _Values) -> int:
        length = self.length(known)
        known.pop(self.name, None)  # inside the body the loop variable changes
        inner = sum(node.count(known) for node in self.body)
        return length * inner


@dataclass
class _Linspace(_Loop):
    start: CompiledExpression
    stop: CompiledExpression
    num: int

    def values(self, values: _Values) -> list[Scalar]:
        a = _number(self.start, values, f"{self.label}, start")
        b = _number(self.stop, values, f"{self.label}, stop")
        return _linspace_values(a, b, self.num)

    def length(self, known: _Values) -> int:
        return self.num


@dataclass
class _Arange(_Loop):
    start: CompiledExpression
    stop: CompiledExpression
    step: CompiledExpression

    def values(self, values: _Values) -> list[Scalar]:
        a = _number(self.start, values, f"{self.label}, start")
        b = _number(self.stop, values, f"{self.label}, stop")
        s = _number(self.step, values, f"{self.label}, step")
        return _arange_values(a, b, s, self.label)

    def length(self, known: _Values) -> int:
        a, b, s = (_known_number(e, known) for e in (self.start, self.stop, self.step))
        return _arange_count(a, b, s, self.label)


@dataclass
class _Scope:
    dimensions: dict[str, Dimension]
    units: dict[str, Unit | None]


def _step_label(path: tuple[int, ...], step: Step) -> str:
    return f"step {'.'.join(str(i + 1) for i in path)} ({step})"


def _compile(steps: Sequence[Step], scope: _Scope, path: tuple[int, ...]) -> list[_Node]:
    return [
        _compile_step(step, scope, (*path, index), _step_label((*path, index), step))
        for index, step in enumerate(steps)
    ]


def _compile_expr(expression: Expression, scope: _Scope, where: str) -> CompiledExpression:
    try:
        return expression.compile(scope.dimensions)
    except ExpressionError as error:
        raise error.located(where) from None


def _same_dimension(label: str, parts: Sequence[tuple[str, CompiledExpression]]) -> Dimension:
    first_name, first = parts[0]
    for name, other in parts[1:]:
        if other.dimension != first.dimension:
            raise IterationError(
                f"{label}: {first_name} '{first.expression}' is {first.dimension} but {name} "
                f"'{other.expression}' is {other.dimension}; they must have the same dimension"
            )
    return first.dimension


def _compile_step(step: Step, scope: _Scope, path: tuple[int, ...], label: str) -> _Node:
    if isinstance(step, ExecuteShot):
        return _Shot()
    name = str(step.variable)
    if isinstance(step, VariableDeclaration):
        value = _compile_expr(step.value, scope, label)
        scope.dimensions[name] = value.dimension
        scope.units[name] = step.value.unit(scope.units)
        return _Declare(name, value, label)
    start = _compile_expr(step.start, scope, f"{label}, start")
    stop = _compile_expr(step.stop, scope, f"{label}, stop")
    unit = step.start.unit(scope.units)
    if isinstance(step, LinspaceLoop):
        dimension = _same_dimension(label, [("start", start), ("stop", stop)])
        scope.dimensions[name] = dimension
        scope.units[name] = unit
        body = _compile(step.sub_steps, scope, path)
        return _Linspace(name, label, body, start, stop, step.num)
    stride = _compile_expr(step.step, scope, f"{label}, step")
    dimension = _same_dimension(label, [("start", start), ("stop", stop), ("step", stride)])
    scope.dimensions[name] = dimension
    scope.units[name] = unit
    body = _compile(step.sub_steps, scope, path)
    return _Arange(name, label, body, start, stop, stride)


@dataclass(frozen=True)
class StepsConfiguration:
    """The scan of a sequence: steps run top to bottom, loops nest.

    >>> scan = StepsConfiguration([
    ...     VariableDeclaration("mot.detuning", "-2 MHz"),
    ...     LinspaceLoop("wait_time", "1 ms", "3 ms", 3, [ExecuteShot()]),
    ... ])
    >>> scan.expected_number_shots()
    3
    >>> [str(shot) for shot in scan.walk()]   # doctest: +NORMALIZE_WHITESPACE
    ['mot.detuning = -2 MHz, wait_time = 1 ms', 'mot.detuning = -2 MHz, wait_time = 2 ms',
     'mot.detuning = -2 MHz, wait_time = 3 ms']
    """

    steps: tuple[Step, ...]

    def __init__(self, steps: Sequence[Step] = ()) -> None:
        for step in steps:
            _check_step(step)
        object.__setattr__(self, "steps", tuple(steps))

    @classmethod
    def empty(cls) -> StepsConfiguration:
        """A scan with no step (and so no shot)."""
        return cls(())

    def compile(self, globals_: ParameterNamespace | CompiledNamespace | None = None) -> ScanPlan:
        """Check every expression and build a plan that yields the shots' parameters.

        Errors name the step (``step 2.1 (for wait_time = ...), start: ...``).
        """
        namespace = _compiled_globals(globals_)
        scope = _Scope(dict(namespace.dimensions), dict(namespace.units))
        nodes = _compile(self.steps, scope, ())
        return ScanPlan(namespace, nodes, scope.units, scope.dimensions)

    def walk(
        self, globals_: ParameterNamespace | CompiledNamespace | None = None
    ) -> Iterator[ShotParameters]:
        """Each shot's parameters in order, computed lazily."""
        return self.compile(globals_).walk()

    def expected_number_shots(
        self, globals_: ParameterNamespace | CompiledNamespace | None = None
    ) -> int | None:
        """How many shots the scan runs, or ``None`` when loop bounds depend on run-time values."""
        plan = self.compile(globals_)
        return plan.expected_number_shots()


def _check_step(step: object) -> None:
    if not isinstance(step, VariableDeclaration | LinspaceLoop | ArangeLoop | ExecuteShot):
        raise TypeError(f"a scan step is a declaration, a loop or a shot, got {step!r}")
    if isinstance(step, LinspaceLoop | ArangeLoop):
        for sub in step.sub_steps:
            _check_step(sub)


def _compiled_globals(
    globals_: ParameterNamespace | CompiledNamespace | None,
) -> CompiledNamespace:
    if globals_ is None:
        return ParameterNamespace.empty().compile()
    if isinstance(globals_, ParameterNamespace):
        return globals_.compile()
    return globals_


@dataclass
class ScanPlan:
    """A compiled scan: yields each shot's parameters, globals included."""

    globals: CompiledNamespace
    nodes: list[_Node]
    units: Mapping[str, Unit | None]
    dimensions: Mapping[str, Dimension] = field(default_factory=dict)
    """The dimension of every parameter (globals and scan variables; ``Dimension.BOOL`` for
    a variable set to ``Enabled`` or a comparison)."""

    def walk(self) -> Iterator[ShotParameters]:
        """Each shot's parameters (globals first, then the scan's variables)."""
        values: _Values = self.globals.evaluate_into({})
        for node in self.nodes:
            for shot_values in node.emit(values):
                yield ShotParameters(shot_values, self.units)

    def expected_number_shots(self) -> int | None:
        """The number of shots, or ``None`` when a loop's bounds are known only at run time."""
        try:
            known: _Values = self.globals.evaluate_into({})
        except ExpressionError:
            return None
        try:
            return sum(node.count(known) for node in self.nodes)
        except _Unknown:
            return None

    def __iter__(self) -> Iterator[ShotParameters]:
        return self.walk()


__all__ = [
    "ArangeLoop",
    "ExecuteShot",
    "IterationError",
    "LinspaceLoop",
    "ScanPlan",
    "Step",
    "StepsConfiguration",
    "UndefinedParameterError",
    "VariableDeclaration",
]
