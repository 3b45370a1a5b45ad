"""``frame.units``: units that survive the polars operations of an analysis.

Polars frames carry no units, and every operation makes a new frame. Registered when
:mod:`shotbook.analysis` is imported, the ``units`` namespace of DataFrames and LazyFrames
reads the units a frame is known to have (those of :func:`read_shots` and
:func:`scan_shots`, or set with ``frame.units.set``) and runs the common operations so that
their result knows its units too::

    shots = read_shots(manager, "/tof/*")
    stats = (shots.units.filter(pl.col("repetition") > 0)
                  .units.group_by("time_of_flight")
                  .agg(pl.col("analysis.cloud.sigma_x").mean().alias("sigma"),
                       (pl.col("analysis.cloud.sigma_x").std()
                        / pl.col("analysis.cloud.sigma_x").count().sqrt()).alias("sem")))
    stats.units["sigma"], stats.units["time_of_flight"]      # 'm', 'ms'

The unit of a derived column is worked out from its expression: a column keeps its unit
through aggregations that keep it (mean, std, min, max, median, sum, first, last, quantile),
``abs``, ``round``, negation, casts, sorting, filtering and windows; a sum or difference of
two columns in the same unit, or of a column and a number, keeps it; a product or quotient
by a number or a count keeps it, a quotient of two columns in the same unit has none.
Anything else (a product of two units, a power, a logarithm, a Python function) reads
``None``: a unit that cannot be known is never guessed. Plain polars calls
(``frame.filter(...)`` instead of ``frame.units.filter(...)``) give frames whose units all
read ``None``; :func:`units` with the store looks them up again.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import polars as pl

from ._units import recall_kinds, recall_units, remember_kinds, remember_units

__all__ = ["FrameUnits", "infer_unit", "output_units"]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

_DIMENSIONLESS = ""
"""A pure number (a literal, a count, a comparison): it keeps the unit it multiplies."""

_SAME_UNIT_AGGREGATIONS = {"Mean", "Min", "Max", "Sum", "Median", "First", "Last", "Std"}
_NUMBER_AGGREGATIONS = {"Count", "NUnique"}
_SAME_UNIT_FUNCTIONS = {
    "Abs",
    "Negate",
    "Round",
    "Floor",
    "Ceil",
    "Quantile",
    "CumSum",
    "CumMin",
    "CumMax",
    "Diff",
    "DropNans",
    "DropNulls",
    "Unique",
    "Reverse",
    "Shift",
    "FillNull",
    "FillNan",
    "Clip",
}
_NUMBER_FUNCTIONS = {"Boolean", "NullCount", "ArgMin", "ArgMax", "Len"}
_COMPARISONS = {"Eq", "EqValidity", "NotEq", "NotEqValidity", "Lt", "LtEq", "Gt", "GtEq"}
_LOGICAL = {"And", "Or", "Xor", "LogicalAnd", "LogicalOr"}


def _function_name(function: Any) -> str:
    if isinstance(function, str):
        return function
    if isinstance(function, dict) and len(function) == 1:
        return next(iter(function))
    return "?"


def _first_input(node: dict[str, Any]) -> Any:
    inputs = node.get("input")
    return inputs[0] if isinstance(inputs, list) and inputs else None


def _is_literal(node: Any) -> bool:
    return isinstance(node, dict) and "Literal" in node


def _infer(node: Any, known: Mapping[str, str | None]) -> str | None:
    """The unit of one expression node: a unit, ``_DIMENSIONLESS`` or ``None`` (unknown)."""
    if node == "Len":
        return _DIMENSIONLESS
    if not isinstance(node, dict) or len(node) != 1:
        return None
    kind, body = next(iter(node.items()))
    if kind == "Column":
        return known.get(body) if isinstance(body, str) else None
    if kind == "Literal":
        return _DIMENSIONLESS
    if kind == "Alias":
        return _infer(body[0], known)
    if kind == "RenameAlias":
        return _infer(body.get("expr"), known)
    if kind == "Cast":
        return _infer(body.get("expr"), known)
    if kind in ("Sort", "SortBy"):
        return _infer(body.get("expr"), known)
    if kind == "Filter":
        return _infer(body.get("input"), known)
    if kind == "Over":
        return _infer(body.get("function"), known)
    if kind == "Agg":
        return _aggregation(body, known)
    if kind == "BinaryExpr":
        return _binary(body, known)
    if kind == "Ternary":
        truthy, falsy = body.get("truthy"), body.get("falsy")
        if _is_literal(falsy):
            return _infer(truthy, known)
        if _is_literal(truthy):
            return _infer(falsy, known)
        left, right = _infer(truthy, known), _infer(falsy, known)
        return left if left == right else None
    if kind == "Function":
        return _function(body, known)
    return None


def _aggregation(body: Any, known: Mapping[str, str | None]) -> str | None:
    if not isinstance(body, dict) or len(body) != 1:
        return None
    name, argument = next(iter(body.items()))
    if name in _NUMBER_AGGREGATIONS:
        return _DIMENSIONLESS
    if name not in _SAME_UNIT_AGGREGATIONS:
        return None  # Var (a squared unit), Implode, AggGroups...
    if isinstance(argument, list):  # Std: [input, ddof]
        argument = argument[0]
    elif isinstance(argument, dict) and "input" in argument:  # Min, Max
        argument = argument["input"]
    return _infer(argument, known)


def _binary(body: dict[str, Any], known: Mapping[str, str | None]) -> str | None:
    operation = body.get("op")
    left, right = _infer(body.get("left"), known), _infer(body.get("right"), known)
    if operation in _COMPARISONS or operation in _LOGICAL:
        return _DIMENSIONLESS
    if left is None or right is None:
        return None
    if operation in ("Plus", "Minus"):
        if left == right:
            return left
        if _DIMENSIONLESS in (left, right):  # a column plus a number in its own unit
            return left or right
        return None
    if operation == "Multiply":
        if left == _DIMENSIONLESS:
            return right
        return left if right == _DIMENSIONLESS else None
    if operation in ("TrueDivide", "FloorDivide", "Divide"):
        if right == _DIMENSIONLESS:
            return left
        return _DIMENSIONLESS if left == right else None
    if operation == "Modulus" and right in (_DIMENSIONLESS, left):
        return left
    return None


def _function(body: dict[str, Any], known: Mapping[str, str | None]) -> str | None:
    name = _function_name(body.get("function"))
    if name in _NUMBER_FUNCTIONS:
        return _DIMENSIONLESS
    first = _infer(_first_input(body), known)
    if name in _SAME_UNIT_FUNCTIONS:
        return first
    if name == "Pow" and first == _DIMENSIONLESS:
        return _DIMENSIONLESS  # the power of a number (e.g. sqrt of a count) is a number
    return None


def _tree(expression: pl.Expr) -> Any:
    try:
        return json.loads(expression.meta.serialize(format="json"))
    except Exception:  # an expression polars cannot describe (e.g. a Python function)
        return None


def _has_selector(node: Any) -> bool:
    if isinstance(node, dict):
        return "Selector" in node or any(_has_selector(value) for value in node.values())
    if isinstance(node, list):
        return any(_has_selector(item) for item in node)
    return False


def _substitute(node: Any, column: str) -> Any:
    if isinstance(node, dict):
        if "Selector" in node and len(node) == 1:
            return {"Column": column}
        return {key: _substitute(value, column) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(item, column) for item in node]
    return node


def _output_name(tree: Any) -> str | None:
    try:
        expression = pl.Expr.deserialize(io.StringIO(json.dumps(tree)), format="json")
        return expression.meta.output_name()
    except Exception:
        return None


def _reported(unit: str | None) -> str | None:
    return None if unit == _DIMENSIONLESS else unit


def infer_unit(expression: pl.Expr, known: Mapping[str, str | None]) -> str | None:
    """The unit of a single-output ``expression`` over columns of units ``known``.

    ``None`` when the result has no unit or it cannot be known.

    >>> infer_unit(pl.col("t").mean() * 2, {"t": "ms"})
    'ms'
    >>> infer_unit(pl.col("t") * pl.col("f"), {"t": "ms", "f": "MHz"}) is None
    True
    """
    return _reported(_infer(_tree(expression), known))


def output_units(
    expressions: Sequence[pl.Expr], known: Mapping[str, str | None], inputs: Sequence[str]
) -> dict[str, str | None]:
    """The unit of each output of ``expressions`` (selectors expanded over ``inputs``)."""
    found: dict[str, str | None] = {}
    for expression in expressions:
        tree = _tree(expression)
        if tree is None:
            continue
        if not _has_selector(tree):
            name = _output_name(tree)
            if name is not None:
                found[name] = _reported(_infer(tree, known))
            continue
        for column in inputs:
            single = _substitute(tree, column)
            name = _output_name(single)
            if name is not None:
                found.setdefault(name, _reported(_infer(single, known)))
    return found


def _expressions(exprs: Sequence[Any], named: Mapping[str, Any]) -> list[pl.Expr]:
    flat: list[Any] = []
    for item in exprs:
        if isinstance(item, list | tuple):
            flat.extend(item)
        else:
            flat.append(item)
    result = [pl.col(item) if isinstance(item, str) else item for item in flat]
    result.extend(
        (value if isinstance(value, pl.Expr) else pl.lit(value)).alias(name)
        for name, value in named.items()
    )
    return [item for item in result if isinstance(item, pl.Expr)]


def _columns(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    return frame.collect_schema().names()


class _UnitsGroupBy(Generic[FrameT]):
    """``frame.units.group_by(...)``: its ``agg`` gives a frame that knows its units."""

    def __init__(self, frame: FrameT, known: dict[str, str | None], by: list[Any], kw: Any):
        self._frame: FrameT = frame
        self._known, self._by, self._kw = known, by, kw

    def agg(self, *aggs: Any, **named_aggs: Any) -> FrameT:
        """As polars' ``group_by(...).agg(...)``; the keys keep their units."""
        result: FrameT = self._frame.group_by(*self._by, **self._kw).agg(*aggs, **named_aggs)
        keys = _expressions(self._by, {})
        found = output_units(keys, self._known, _columns(self._frame))
        key_names = set(found)
        inputs = [name for name in _columns(self._frame) if name not in key_names]
        found.update(output_units(_expressions(aggs, named_aggs), self._known, inputs))
        return _with_units(result, found, self._frame)


def _with_units(
    frame: FrameT,
    found: Mapping[str, str | None],
    source: object = None,
    renamed: Mapping[str, str] | None = None,
) -> FrameT:
    """Remember ``found`` for ``frame``, and the column kinds of ``source`` (by name)."""
    columns = _columns(frame)
    remember_units(frame, {name: found.get(name) for name in columns})
    if source is not None:
        kinds = recall_kinds(source)
        if renamed:
            kinds = {renamed.get(name, name): kind for name, kind in kinds.items()}
        remember_kinds(frame, {name: kinds[name] for name in columns if name in kinds})
    return frame


class FrameUnits(Mapping[str, "str | None"], Generic[FrameT]):
    """The ``units`` namespace of a polars frame: a mapping column → unit (or ``None``).

    Its methods run the polars operation of the same name and give a frame that knows its
    units. The unit of a derived column comes from its expression: aggregations that keep a
    unit (mean, std, min, max, median, sum, first, last, quantile), ``abs``, ``round``,
    negation, casts, sorting, filters and windows keep it; a sum or difference of columns in
    one unit, or with a number, keeps it; a product or quotient by a number or a count keeps
    it, and a quotient of two columns in one unit has none. Anything else (a product of two
    units, a power, a logarithm, a Python function) reads ``None``.

    >>> frame = pl.DataFrame({"t": [1.0, 2.0, 4.0], "n": [1, 2, 3]}).units.set(t="ms")
    >>> frame.units["t"], frame.units["n"]
    ('ms', None)
    >>> frame.units.with_columns(half=pl.col("t") / 2).units["half"]
    'ms'
    """

    def __init__(self, frame: FrameT) -> None:
        self._frame: FrameT = frame

    def _known(self) -> dict[str, str | None]:
        return recall_units(self._frame) or {}

    def __getitem__(self, column: str) -> str | None:
        columns = _columns(self._frame)
        if column not in columns:
            raise KeyError(f"no column {column!r} in the frame; columns: {', '.join(columns)}")
        return self._known().get(column)

    def __iter__(self) -> Iterator[str]:
        return iter(_columns(self._frame))

    def __len__(self) -> int:
        return len(_columns(self._frame))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name!r}: {unit!r}" for name, unit in self.items())
        return f"FrameUnits({{{shown}}})"

    def set(self, **column_units: str | None) -> FrameT:
        """A copy of the frame whose named columns are in these units (others keep theirs).

        Use it for columns computed by plain polars calls or external tools. The unit is
        checked (``"ms"``, ``"MHz"``, ``"uK"``...).
        """
        from shotbook.types import parse_unit

        columns = _columns(self._frame)
        for name, unit in column_units.items():
            if name not in columns:
                raise KeyError(f"no column {name!r} in the frame; columns: {', '.join(columns)}")
            if unit is not None:
                parse_unit(unit)
        found = {**self._known(), **column_units}
        return _with_units(self._frame.clone(), found, self._frame)

    def filter(self, *predicates: Any, **constraints: Any) -> FrameT:
        """``frame.filter(...)``; every column keeps its unit."""
        return _with_units(
            self._frame.filter(*predicates, **constraints), self._known(), self._frame
        )

    def sort(self, *by: Any, **options: Any) -> FrameT:
        """``frame.sort(...)``; every column keeps its unit."""
        return _with_units(self._frame.sort(*by, **options), self._known(), self._frame)

    def head(self, n: int = 5) -> FrameT:
        """``frame.head(n)``; every column keeps its unit."""
        return _with_units(self._frame.head(n), self._known(), self._frame)

    def drop_nans(self, subset: Any = None) -> FrameT:
        """``frame.drop_nans(subset)``; every column keeps its unit."""
        return _with_units(self._frame.drop_nans(subset), self._known(), self._frame)

    def select(self, *exprs: Any, **named_exprs: Any) -> FrameT:
        """``frame.select(...)`` with the unit of each selected or computed column."""
        found = output_units(_expressions(exprs, named_exprs), self._known(), _columns(self._frame))
        return _with_units(self._frame.select(*exprs, **named_exprs), found, self._frame)

    def with_columns(self, *exprs: Any, **named_exprs: Any) -> FrameT:
        """``frame.with_columns(...)``: new or replaced columns get their computed unit."""
        found = dict(self._known())
        found.update(output_units(_expressions(exprs, named_exprs), found, _columns(self._frame)))
        return _with_units(self._frame.with_columns(*exprs, **named_exprs), found, self._frame)

    def rename(self, mapping: Mapping[str, str]) -> FrameT:
        """``frame.rename(mapping)``; a renamed column keeps its unit."""
        known = self._known()
        found = {mapping.get(name, name): unit for name, unit in known.items()}
        return _with_units(self._frame.rename(dict(mapping)), found, self._frame, mapping)

    def group_by(self, *by: Any, **options: Any) -> _UnitsGroupBy[FrameT]:
        """``frame.group_by(...)``, whose ``agg(...)`` gives a frame that knows its units."""
        return _UnitsGroupBy(self._frame, self._known(), list(by), options)

    def join(self, other: FrameT, *args: Any, suffix: str = "_right", **options: Any) -> FrameT:
        """``frame.join(other, ...)``: columns keep the unit of the frame they come from.

        A key column with different units on the two sides reads ``None``.
        """
        result = self._frame.join(other, *args, suffix=suffix, **options)
        left, right = self._known(), recall_units(other) or {}
        left_names = set(_columns(self._frame))
        found: dict[str, str | None] = dict(left)
        for name in _columns(other):
            unit = right.get(name)
            if name not in left_names:
                found[name] = unit
            elif name in _columns(result) and f"{name}{suffix}" not in _columns(result):
                # a key present once: both sides must agree
                found[name] = left.get(name) if left.get(name) == unit else None
            else:
                found[f"{name}{suffix}"] = unit
        return _with_units(result, found, self._frame)

    def collect(self, **options: Any) -> pl.DataFrame:
        """``lazy_frame.collect()``, the frame keeping the units (LazyFrames only)."""
        if not isinstance(self._frame, pl.LazyFrame):
            raise TypeError("collect() is for LazyFrames; this frame is already a DataFrame")
        return _with_units(self._frame.collect(**options), self._known(), self._frame)

    def to_pint(self, column: str) -> Any:
        """The column as a pint Quantity array in its unit (a plain number array: no unit)."""
        from ._export import to_pint

        frame = self.collect() if isinstance(self._frame, pl.LazyFrame) else self._frame
        return to_pint(frame, column)


def register() -> None:
    """Register ``units`` on DataFrame and LazyFrame (once; importing analysis does it)."""
    if "units" not in getattr(pl.DataFrame, "_accessors", set()):
        pl.api.register_dataframe_namespace("units")(FrameUnits)
        pl.api.register_lazyframe_namespace("units")(FrameUnits)
