"""What differs between two sequences, or a sequence and the store's current settings.

:func:`diff_sequences` compares global parameters (old → new), the scan, the steps and
their durations, each lane cell, each device configuration field and the shot counts, and
gives a :class:`SequenceDiff`: a list of :class:`Difference` a script can test, a text
form for a terminal (``str``) and an HTML table for the notebook (``_repr_html_``).

>>> from shotbook.types import ParameterNamespace
>>> a = SequenceSide("a", global_parameters=ParameterNamespace.from_mapping({"x": "1 ms"}))
>>> b = SequenceSide("b", global_parameters=ParameterNamespace.from_mapping({"x": "2 ms"}))
>>> print(diff_sequences(a, b))
a → b: 1 difference
  global   x: 1 ms → 2 ms
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from shotbook.session import ExperimentSession, State
from shotbook.types import (
    ArangeLoop,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    PureSequencePath,
    Step,
    StepsConfiguration,
    TimeLanes,
)

_MISSING = "(none)"


@dataclass(frozen=True)
class Difference:
    """One difference: its ``kind`` (``global``, ``scan``, ``step``, ``duration``, ``lane``,
    ``cell``, ``device``, ``shots``, ``software``), where it is, and the values on each side as text
    (``None`` when that side has nothing there)."""

    kind: str
    where: str
    old: str | None
    new: str | None

    def __str__(self) -> str:
        return f"{self.kind:<9}{self.where}: {self.old or _MISSING} → {self.new or _MISSING}"


@dataclass(frozen=True)
class SequenceSide:
    """One side of a comparison; a ``None`` part is not compared."""

    label: str
    steps: StepsConfiguration | None = None
    time_lanes: TimeLanes | None = None
    global_parameters: ParameterNamespace | None = None
    device_configurations: Mapping[str, object] | None = None
    number_of_shots: int | None = None
    software: Mapping[str, str | None] | None = None


@dataclass(frozen=True)
class SequenceDiff:
    """The differences between ``a`` and ``b``, in a stable order."""

    a: str
    b: str
    differences: tuple[Difference, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.differences)

    def __len__(self) -> int:
        return len(self.differences)

    def __iter__(self) -> Iterator[Difference]:
        return iter(self.differences)

    def of_kind(self, *kinds: str) -> list[Difference]:
        """The differences of these kinds."""
        return [d for d in self.differences if d.kind in kinds]

    def __str__(self) -> str:
        count = len(self.differences)
        head = f"{self.a} → {self.b}: " + (
            "no difference" if not count else f"{count} difference{'s' if count > 1 else ''}"
        )
        return "\n".join([head, *(f"  {d}" for d in self.differences)])

    def _repr_html_(self) -> str:
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(d.kind)}</td><td>{e(d.where)}</td>"
            f"<td style='color:#a00'>{e(d.old if d.old is not None else _MISSING)}</td>"
            f"<td style='color:#070'>{e(d.new if d.new is not None else _MISSING)}</td></tr>"
            for d in self.differences
        )
        if not rows:
            rows = "<tr><td colspan='4'>no difference</td></tr>"
        return (
            "<table class='shotbook-diff'><thead><tr><th>what</th><th>where</th>"
            f"<th>{e(self.a)}</th><th>{e(self.b)}</th></tr></thead><tbody>{rows}</tbody></table>"
        )


def diff_sequences(a: SequenceSide, b: SequenceSide) -> SequenceDiff:
    """Compare what both sides have (see :class:`SequenceSide`)."""
    out: list[Difference] = []
    if a.global_parameters is not None and b.global_parameters is not None:
        out.extend(_diff_globals(a.global_parameters, b.global_parameters))
    if a.steps is not None and b.steps is not None:
        out.extend(_diff_scan(a.steps, b.steps))
    if a.time_lanes is not None and b.time_lanes is not None:
        out.extend(_diff_lanes(a.time_lanes, b.time_lanes))
    if a.device_configurations is not None and b.device_configurations is not None:
        out.extend(_diff_devices(a.device_configurations, b.device_configurations))
    if (
        a.number_of_shots is not None
        and b.number_of_shots is not None
        and a.number_of_shots != b.number_of_shots
    ):
        out.append(
            Difference("shots", "number of shots", str(a.number_of_shots), str(b.number_of_shots))
        )
    if a.software is not None and b.software is not None:
        for name in sorted({*a.software, *b.software}):
            old, new = a.software.get(name), b.software.get(name)
            if old != new:
                out.append(Difference("software", name, old, new))
    return SequenceDiff(a.label, b.label, tuple(out))


def _pairs(
    old: Mapping[str, str], new: Mapping[str, str], kind: str, prefix: str = ""
) -> Iterator[Difference]:
    for name in [*old, *(n for n in new if n not in old)]:
        before, after = old.get(name), new.get(name)
        if before != after:
            yield Difference(kind, f"{prefix}{name}", before, after)


def _diff_globals(a: ParameterNamespace, b: ParameterNamespace) -> Iterator[Difference]:
    old = {str(name): e.text for name, e in a.flatten()}
    new = {str(name): e.text for name, e in b.flatten()}
    yield from _pairs(old, new, "global")


def _step_lines(steps: Sequence[Step], prefix: str = "") -> Iterator[tuple[str, str]]:
    for index, step in enumerate(steps, start=1):
        number = f"{prefix}{index}"
        yield f"step {number}", "do shot" if isinstance(step, ExecuteShot) else str(step)
        if isinstance(step, LinspaceLoop | ArangeLoop):
            yield from _step_lines(step.sub_steps, f"{number}.")


def _diff_scan(a: StepsConfiguration, b: StepsConfiguration) -> Iterator[Difference]:
    yield from _pairs(dict(_step_lines(a.steps)), dict(_step_lines(b.steps)), "scan")


def _diff_lanes(a: TimeLanes, b: TimeLanes) -> Iterator[Difference]:
    steps = max(a.number_steps, b.number_steps)

    def step_label(index: int) -> str:
        names = {lanes.step_names[index] for lanes in (a, b) if index < lanes.number_steps}
        return f"step {index + 1} ({' / '.join(sorted(names))})"

    for index in range(steps):
        old_name = a.step_names[index] if index < a.number_steps else None
        new_name = b.step_names[index] if index < b.number_steps else None
        if old_name != new_name:
            yield Difference("step", f"step {index + 1}", old_name, new_name)
        old_d = a.step_durations[index].text if index < a.number_steps else None
        new_d = b.step_durations[index].text if index < b.number_steps else None
        if old_d != new_d:
            yield Difference("duration", step_label(index), old_d, new_d)
    for name in [*a.lanes, *(n for n in b.lanes if n not in a.lanes)]:
        old_lane, new_lane = a.lanes.get(name), b.lanes.get(name)
        if old_lane is None or new_lane is None or type(old_lane) is not type(new_lane):
            yield Difference(
                "lane",
                f"lane {name!r}",
                None if old_lane is None else f"{type(old_lane).__name__}",
                None if new_lane is None else f"{type(new_lane).__name__}",
            )
            continue
        if old_lane == new_lane:
            continue
        old_cells, new_cells = list(old_lane), list(new_lane)
        for index in range(steps):
            before = _text(old_cells[index]) if index < len(old_cells) else None
            after = _text(new_cells[index]) if index < len(new_cells) else None
            if before != after:
                yield Difference("cell", f"lane {name!r}, {step_label(index)}", before, after)


def _text(value: object) -> str:
    text = getattr(value, "text", None)
    return text if isinstance(text, str) else str(value)


def _fields(value: object, prefix: str) -> Iterator[tuple[str, str]]:
    """The leaf fields of a configuration, by dotted path."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield f"{prefix}(type)", type(value).__name__
        for item in dataclasses.fields(value):
            yield from _fields(getattr(value, item.name), f"{prefix}.{item.name}")
    elif isinstance(value, tuple | list) and any(dataclasses.is_dataclass(item) for item in value):
        yield f"{prefix}(length)", str(len(value))
        for index, item in enumerate(value):
            yield from _fields(item, f"{prefix}[{index}]")
    elif isinstance(value, Mapping):
        for key in value:
            yield from _fields(value[key], f"{prefix}[{key!r}]")
    else:
        yield prefix, _text(value)


def _diff_devices(a: Mapping[str, object], b: Mapping[str, object]) -> Iterator[Difference]:
    for name in [*sorted(a), *sorted(n for n in b if n not in a)]:
        if name not in a or name not in b:
            yield Difference(
                "device",
                name,
                type(a[name]).__name__ if name in a else None,
                type(b[name]).__name__ if name in b else None,
            )
            continue
        if a[name] == b[name]:
            continue
        old = dict(_fields(a[name], name))
        new = dict(_fields(b[name], name))
        yield from _pairs(old, new, "device")


def sequence_side(session: ExperimentSession, path: PureSequencePath | str) -> SequenceSide:
    """A sequence's side: its scan, lanes, snapshot (none for a draft) and shot count."""
    sequences = session.sequences
    stats = sequences.get_stats(path)
    return SequenceSide(
        str(stats.path),
        sequences.get_iteration(path),
        sequences.get_time_lanes(path),
        sequences.get_global_parameters(path),
        sequences.get_device_configurations(path),
        stats.number_of_shots,
        None if stats.state is State.DRAFT else {"shotbook": stats.shotbook_version},
    )


def current_side(session: ExperimentSession) -> SequenceSide:
    """The store's current global parameters and default device configurations."""
    return SequenceSide(
        "current settings",
        global_parameters=session.get_global_parameters(),
        device_configurations=dict(session.default_device_configurations),
    )


__all__ = [
    "Difference",
    "SequenceDiff",
    "SequenceSide",
    "current_side",
    "diff_sequences",
    "sequence_side",
]
