"""The globals editor: the nested namespace as rows of name, expression and value."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Sequence
from typing import Any

from shotbook.types import (
    DottedVariableName,
    Expression,
    ExpressionError,
    ParameterNamespace,
    format_value,
)
from shotbook.types._parameter_namespace import NamespaceValue

from ._base import EditorWidget, EditRejected, esm_source
from ._document import DraftDocument

_HERE = pathlib.Path(__file__).parent

KeyPath = tuple[str, ...]


def _key(value: Any) -> KeyPath:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) for p in value):
        raise ValueError(f"a parameter is named by the list of its names, got {value!r}")
    return tuple(value)


def _entries(namespace: ParameterNamespace) -> list[tuple[str, NamespaceValue]]:
    return [(str(name), value) for name, value in namespace.items()]


def edited(
    namespace: ParameterNamespace,
    parent: KeyPath,
    edit: Callable[[list[tuple[str, NamespaceValue]]], None],
) -> ParameterNamespace:
    """The namespace with ``edit(entries)`` applied to the entries of the namespace ``parent``."""
    entries = _entries(namespace)
    if not parent:
        edit(entries)
        return ParameterNamespace(entries)
    head, rest = parent[0], parent[1:]
    for index, (name, value) in enumerate(entries):
        if name == head:
            if not isinstance(value, ParameterNamespace):
                raise ValueError(f"{head!r} is a parameter, not a namespace")
            entries[index] = (name, edited(value, rest, edit))
            return ParameterNamespace(entries)
    raise KeyError(f"no namespace {'.'.join(parent)!r}")


def _index(entries: Sequence[tuple[str, Any]], name: str, key: KeyPath) -> int:
    for index, (entry, _) in enumerate(entries):
        if entry == name:
            return index
    raise KeyError(f"no parameter {'.'.join(key)!r}")


def namespace_rows(namespace: ParameterNamespace) -> tuple[list[dict[str, Any]], list[dict]]:
    """One row per entry (depth first) with its evaluated value, and the problems found.

    Each parameter is evaluated with those before it; a failing one shows its error and
    the following ones go on without it.
    """
    rows: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    dimensions: dict[str, Any] = {}
    units: dict[str, Any] = {}
    values: dict[str, Any] = {}

    def walk(entries: ParameterNamespace, prefix: KeyPath) -> None:
        for raw_name, value in entries.items():
            name = str(raw_name)
            key = (*prefix, name)
            full = ".".join(key)
            if isinstance(value, ParameterNamespace):
                rows.append(
                    {
                        "key": list(key),
                        "name": full,
                        "label": name,
                        "depth": len(prefix),
                        "kind": "namespace",
                    }
                )
                walk(value, key)
                continue
            row: dict[str, Any] = {
                "key": list(key),
                "name": full,
                "label": name,
                "depth": len(prefix),
                "kind": "parameter",
                "expression": value.text,
                "value": "",
                "error": None,
            }
            try:
                compiled = value.compile(dimensions)
                result = compiled(values)
                unit = value.unit(units, dimensions)
            except ExpressionError as error:
                row["error"] = error.message
                problems.append({"name": full, "message": f"{full}: {error.message}"})
            else:
                dimensions[full] = compiled.dimension
                units[full] = unit
                values[full] = result
                row["value"] = (
                    format_value(result, unit) if isinstance(result, int | float) else str(result)
                )
            rows.append(row)

    walk(namespace, ())
    return rows, problems


class GlobalsEditor(EditorWidget):
    """Edit the global parameters: a tree of namespaces and parameters (name = expression).

    Entries are named by ``key``, the list of names from the top (``["mot", "detuning"]``).
    Commands: ``set_expression {key, value}``, ``rename {key, new}``,
    ``add {parent, name, kind: "parameter" | "namespace", value}``, ``remove {key}``,
    ``move {key, to}`` (position among its siblings), ``undo``, ``redo``, ``reload``.
    Each row of ``view["rows"]`` shows the value evaluated with the entries above it; an
    invalid expression is never saved (it stays in ``invalid`` with its message).
    """

    _esm = esm_source("_globals_editor.js")
    _css = _HERE / "_editors.css"

    def __init__(self, storage: Any) -> None:
        super().__init__()
        self._storage = storage
        self._document = DraftDocument(
            storage,
            lambda session: session.get_global_parameters(),
            lambda session, value: session.set_global_parameters(value),
            "the global parameters",
        )
        self._sync()

    @classmethod
    def from_experiment(cls, experiment: Any) -> GlobalsEditor:
        """The globals editor of the experiment's store."""
        return cls(experiment.get_storage_manager())

    @property
    def global_parameters(self) -> ParameterNamespace:
        """The globals as shown (and stored)."""
        value: ParameterNamespace = self._document.value
        return value

    def _key_of(self, command: dict[str, Any]) -> str | None:
        action = command.get("action")
        if action in ("set_expression", "rename"):
            key = command.get("key")
            return f"{action}/{'.'.join(key) if isinstance(key, list) else key}"
        if action == "add":
            return "add"
        return None

    def _action_set_expression(self, command: dict[str, Any]) -> ParameterNamespace:
        key = _key(command.get("key"))
        expression = Expression(str(command.get("value", "")))

        def edit(entries: list[tuple[str, NamespaceValue]]) -> None:
            index = _index(entries, key[-1], key)
            if isinstance(entries[index][1], ParameterNamespace):
                raise EditRejected(f"{'.'.join(key)!r} is a namespace, it has no expression")
            entries[index] = (key[-1], expression)

        return edited(self.global_parameters, key[:-1], edit)

    def _action_rename(self, command: dict[str, Any]) -> ParameterNamespace:
        key = _key(command.get("key"))
        new = str(DottedVariableName(str(command.get("new", "")).strip()))

        def edit(entries: list[tuple[str, NamespaceValue]]) -> None:
            index = _index(entries, key[-1], key)
            entries[index] = (new, entries[index][1])

        return edited(self.global_parameters, key[:-1], edit)

    def _action_add(self, command: dict[str, Any]) -> ParameterNamespace:
        parent = _key(command.get("parent") or [])
        name = str(DottedVariableName(str(command.get("name", "")).strip()))
        kind = command.get("kind", "parameter")
        value: NamespaceValue
        if kind == "namespace":
            value = ParameterNamespace.empty()
        elif kind == "parameter":
            value = Expression(str(command.get("value") or "0"))
        else:
            raise ValueError(f"kind is 'parameter' or 'namespace', got {kind!r}")

        def edit(entries: list[tuple[str, NamespaceValue]]) -> None:
            entries.append((name, value))

        return edited(self.global_parameters, parent, edit)

    def _action_remove(self, command: dict[str, Any]) -> ParameterNamespace:
        key = _key(command.get("key"))

        def edit(entries: list[tuple[str, NamespaceValue]]) -> None:
            del entries[_index(entries, key[-1], key)]

        return edited(self.global_parameters, key[:-1], edit)

    def _action_move(self, command: dict[str, Any]) -> ParameterNamespace:
        key = _key(command.get("key"))
        to = command.get("to")
        if isinstance(to, bool) or not isinstance(to, int):
            raise ValueError(f"to is a position, got {to!r}")

        def edit(entries: list[tuple[str, NamespaceValue]]) -> None:
            entry = entries.pop(_index(entries, key[-1], key))
            entries.insert(max(0, min(to, len(entries))), entry)

        return edited(self.global_parameters, key[:-1], edit)

    def _refresh(self) -> None:
        rows, problems = namespace_rows(self.global_parameters)
        self.problems = problems
        self.view = {"rows": rows}


__all__ = ["GlobalsEditor", "edited", "namespace_rows"]
