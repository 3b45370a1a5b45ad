"""The scan's steps as a tree the front end draws, and immutable edits addressed by path.

A path is the list of indices from the top level down: ``[1, 0]`` is the first sub-step of
the second step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shotbook.types import (
    ArangeLoop,
    DottedVariableName,
    ExecuteShot,
    Expression,
    LinspaceLoop,
    Step,
    StepsConfiguration,
    VariableDeclaration,
)

StepPath = tuple[int, ...]

STEP_KINDS = ("variable", "linspace", "arange", "shot")
"""The kinds of step the editor can insert."""

EXPRESSION_FIELDS = {
    "variable": ("value",),
    "linspace": ("start", "stop"),
    "arange": ("start", "stop", "step"),
    "shot": (),
}


def kind_of(step: Step) -> str:
    """``"variable"``, ``"linspace"``, ``"arange"`` or ``"shot"``."""
    if isinstance(step, VariableDeclaration):
        return "variable"
    if isinstance(step, LinspaceLoop):
        return "linspace"
    if isinstance(step, ArangeLoop):
        return "arange"
    return "shot"


def step_to_data(step: Step) -> dict[str, Any]:
    """One step as JSON for the front end (loops with their ``children``)."""
    data: dict[str, Any] = {"kind": kind_of(step), "text": str(step)}
    if isinstance(step, VariableDeclaration):
        data.update(variable=str(step.variable), value=step.value.text)
    elif isinstance(step, LinspaceLoop):
        data.update(
            variable=str(step.variable),
            start=step.start.text,
            stop=step.stop.text,
            num=step.num,
            children=[step_to_data(s) for s in step.sub_steps],
        )
    elif isinstance(step, ArangeLoop):
        data.update(
            variable=str(step.variable),
            start=step.start.text,
            stop=step.stop.text,
            step=step.step.text,
            children=[step_to_data(s) for s in step.sub_steps],
        )
    return data


def new_step(kind: str) -> Step:
    """A step of ``kind`` with placeholder values (loops hold one shot)."""
    if kind == "variable":
        return VariableDeclaration("new_variable", "0")
    if kind == "linspace":
        return LinspaceLoop("x", "0", "1", 5, [ExecuteShot()])
    if kind == "arange":
        return ArangeLoop("i", "0", "5", "1", [ExecuteShot()])
    if kind == "shot":
        return ExecuteShot()
    raise ValueError(f"unknown kind of step {kind!r}; use one of {', '.join(STEP_KINDS)}")


def as_path(value: Any) -> StepPath:
    """A step path from JSON (a list of ints >= 0)."""
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"a step path is a non-empty list of indices, got {value!r}")
    out = []
    for index in value:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"a step path holds indices >= 0, got {value!r}")
        out.append(index)
    return tuple(out)


def label_of(path: StepPath) -> str:
    """``"2.1"`` for ``(1, 0)``: the numbering used by the scan's error messages."""
    return ".".join(str(i + 1) for i in path)


def path_of_label(label: str) -> StepPath:
    """The inverse of :func:`label_of`."""
    return tuple(int(part) - 1 for part in label.split("."))


_STEP_IN_MESSAGE = re.compile(r"^step (\d+(?:\.\d+)*)\b")


def path_in_message(message: str) -> StepPath | None:
    """The step a scan error is about (``"step 2.1 (...): ..."``), if it names one."""
    match = _STEP_IN_MESSAGE.match(message)
    return path_of_label(match.group(1)) if match else None


def _children(step: Step) -> tuple[Step, ...]:
    if isinstance(step, LinspaceLoop | ArangeLoop):
        return step.sub_steps
    raise ValueError(f"step '{step}' is not a loop: it has no sub-steps")


def _with_children(step: Step, children: Sequence[Step]) -> Step:
    if isinstance(step, LinspaceLoop):
        return LinspaceLoop(step.variable, step.start, step.stop, step.num, children)
    if isinstance(step, ArangeLoop):
        return ArangeLoop(step.variable, step.start, step.stop, step.step, children)
    raise ValueError(f"step '{step}' is not a loop: it has no sub-steps")


def get_step(steps: Sequence[Step], path: StepPath) -> Step:
    """The step at ``path``."""
    level: Sequence[Step] = steps
    step: Step | None = None
    for depth, index in enumerate(path):
        if index >= len(level):
            raise IndexError(f"no step {label_of(path[: depth + 1])}")
        step = level[index]
        if depth < len(path) - 1:
            level = _children(step)
    assert step is not None
    return step


def _edit_level(steps: Sequence[Step], parent: StepPath, edit: Any) -> tuple[Step, ...]:
    """Apply ``edit(list_of_steps)`` to the sub-steps at ``parent`` (``()``: top level)."""
    if not parent:
        level = list(steps)
        edit(level)
        return tuple(level)
    head, rest = parent[0], parent[1:]
    if head >= len(steps):
        raise IndexError(f"no step {head + 1}")
    loop = steps[head]
    children = _edit_level(_children(loop), rest, edit)
    return (*steps[:head], _with_children(loop, children), *steps[head + 1 :])


def replaced(steps: Sequence[Step], path: StepPath, step: Step) -> tuple[Step, ...]:
    """The steps with the one at ``path`` replaced."""
    get_step(steps, path)

    def edit(level: list[Step]) -> None:
        level[path[-1]] = step

    return _edit_level(steps, path[:-1], edit)


def inserted(steps: Sequence[Step], path: StepPath, step: Step) -> tuple[Step, ...]:
    """The steps with ``step`` inserted so that it is at ``path``."""

    def edit(level: list[Step]) -> None:
        if path[-1] > len(level):
            raise IndexError(
                f"cannot insert a step at {label_of(path)}: the level has {len(level)} steps"
            )
        level.insert(path[-1], step)

    return _edit_level(steps, path[:-1], edit)


def removed(steps: Sequence[Step], path: StepPath) -> tuple[Step, ...]:
    """The steps without the one at ``path``."""
    get_step(steps, path)

    def edit(level: list[Step]) -> None:
        del level[path[-1]]

    return _edit_level(steps, path[:-1], edit)


def moved(steps: Sequence[Step], source: StepPath, destination: StepPath) -> tuple[Step, ...]:
    """Move the step at ``source`` to ``destination`` (a path in the tree without it).

    Moving a step into a loop nests it; moving a loop into itself is refused.
    """
    if destination[: len(source)] == source:
        raise ValueError(f"cannot move step {label_of(source)} into itself")
    step = get_step(steps, source)
    return inserted(removed(steps, source), destination, step)


def with_field(step: Step, field: str, text: Any) -> Step:
    """The step with one field set from what the person typed (raises on invalid text)."""
    kind = kind_of(step)
    if kind == "shot":
        raise ValueError("a shot step has no field to edit")
    values: dict[str, Any] = step_to_data(step)
    if field == "variable":
        values["variable"] = DottedVariableName(str(text).strip())
    elif field == "num" and kind == "linspace":
        try:
            number = int(str(text).strip())
        except ValueError:
            raise ValueError(f"the number of points is an integer, got {text!r}") from None
        values["num"] = number
    elif field in EXPRESSION_FIELDS[kind]:
        values[field] = Expression(str(text))
    else:
        raise ValueError(f"a {kind} step has no field {field!r}")
    if isinstance(step, VariableDeclaration):
        return VariableDeclaration(values["variable"], values["value"])
    if isinstance(step, LinspaceLoop):
        return LinspaceLoop(
            values["variable"], values["start"], values["stop"], values["num"], step.sub_steps
        )
    assert isinstance(step, ArangeLoop)
    return ArangeLoop(
        values["variable"], values["start"], values["stop"], values["step"], step.sub_steps
    )


def scan_of(steps: Sequence[Step]) -> StepsConfiguration:
    """A scan holding ``steps``."""
    return StepsConfiguration(steps)


__all__ = [
    "EXPRESSION_FIELDS",
    "STEP_KINDS",
    "StepPath",
    "as_path",
    "get_step",
    "inserted",
    "kind_of",
    "label_of",
    "moved",
    "new_step",
    "path_in_message",
    "removed",
    "replaced",
    "scan_of",
    "step_to_data",
    "with_field",
]
