"""Turn caqtus's JSON (globals, steps, time lanes, shot values) into shotbook's types.

A name shotbook refuses (a reserved word, a part not starting with a letter) is renamed
(``t`` → ``t_``) with a warning, everywhere it appears. An expression shotbook's grammar
cannot parse is replaced by a neutral placeholder, its text kept in a :class:`Problem`
that names the sequence, the lane or step and the text; the sequence's notes list them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shotbook.types import (
    AnalogTimeLane,
    ArangeLoop,
    CameraTimeLane,
    DigitalTimeLane,
    DottedVariableName,
    ExecuteShot,
    Expression,
    ExpressionError,
    InvalidVariableNameError,
    LinspaceLoop,
    ParameterNamespace,
    Ramp,
    Step,
    StepsConfiguration,
    TakePicture,
    TimeLaneError,
    TimeLanes,
    VariableDeclaration,
)

from ._source import CaqtusImportError

_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")
_TIME = frozenset({"t"})
_PYTHON_LITERALS = {"True": "Enabled", "False": "Disabled"}


@dataclass(frozen=True)
class Problem:
    """An expression kept as text only: where it was and why it could not be parsed."""

    where: str
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r} kept as text ({self.reason})"


def _is_valid_part(part: str) -> bool:
    try:
        DottedVariableName(f"x.{part}")
    except InvalidVariableNameError:
        return False
    return True


@dataclass
class Names:
    """The renaming of caqtus names that shotbook refuses, shared by a whole import."""

    renamed: dict[str, str] = field(default_factory=dict)
    warn: Callable[[str], None] = print

    def name(self, text: str, where: str) -> str:
        """``text`` as a valid shotbook parameter name (renamed with a warning if needed)."""
        if text in self.renamed:
            return self.renamed[text]
        try:
            DottedVariableName(text)
            return text
        except InvalidVariableNameError as error:
            reason = str(error)
        parts = []
        for part in text.split("."):
            if not _is_valid_part(part):
                part = re.sub(r"\W", "_", part) or "x"
                part = part if part[0].isalpha() else f"v{part}"
                while not _is_valid_part(part):
                    part = f"{part}_"
            parts.append(part)
        candidate = ".".join(parts)
        while True:  # a reserved whole name (t, pi, sin...)
            try:
                DottedVariableName(candidate)
                break
            except InvalidVariableNameError:
                candidate = f"{candidate}_"
        self.renamed[text] = candidate
        self.warn(f"{where}: parameter name {text!r} renamed {candidate!r} ({reason})")
        return candidate

    def rewrite(self, text: str, keep: frozenset[str] = frozenset()) -> str:
        """``text`` with renamed names replaced and Python's True/False spelled shotbook's;
        names in ``keep`` are left as they are (``t``, the time, in a lane cell)."""

        def replace(match: re.Match[str]) -> str:
            word = match.group(1)
            if word in self.renamed and word not in keep:
                return self.renamed[word]
            return _PYTHON_LITERALS.get(word, word)

        return _NAME.sub(replace, text)


@dataclass
class Converter:
    """Converts one sequence's content, collecting the expressions kept as text."""

    names: Names
    sequence: str
    problems: list[Problem] = field(default_factory=list)

    def expression(
        self, text: Any, where: str, placeholder: str = "0", keep: frozenset[str] = frozenset()
    ) -> Expression:
        """``text`` as an Expression, or ``placeholder`` with a :class:`Problem` recorded."""
        if not isinstance(text, str):
            text = str(text)
        try:
            return Expression(self.names.rewrite(text, keep))
        except (ExpressionError, ValueError) as error:
            self.problems.append(Problem(f"sequence {self.sequence}, {where}", text, str(error)))
            return Expression(placeholder)

    # --- global parameters -----------------------------------------------------------------
    def namespace(
        self, pairs: Any, where: str = "global parameters", prefix: str = ""
    ) -> ParameterNamespace:
        """caqtus's ``[[name, value | [[...]]], ...]`` as a :class:`ParameterNamespace`.

        Names are renamed as whole dotted names (``mot.lambda`` → ``mot.lambda_``), as the
        expressions and the shots' parameters refer to them.
        """
        if pairs is None:
            return ParameterNamespace.empty()
        if not isinstance(pairs, list):
            raise CaqtusImportError(f"{where}: expected a list of [name, value] pairs")
        entries: list[tuple[str, Any]] = []
        depth = len(prefix.split(".")) if prefix else 0
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise CaqtusImportError(f"{where}: {pair!r} is not a [name, value] pair")
            raw, value = pair
            full = f"{prefix}.{raw}" if prefix else raw
            inside = f"{where}, {raw}"
            if isinstance(value, list):
                # a namespace: its own name is checked part by part (it is never a value)
                renamed = ".".join(
                    self.names.name(part, where) if not _is_valid_part(part) else part
                    for part in raw.split(".")
                )
                entries.append((renamed, self.namespace(value, inside, full)))
            else:
                new_full = self.names.name(full, where)
                entries.append(
                    (".".join(new_full.split(".")[depth:]), self.expression(value, inside))
                )
        return ParameterNamespace(entries)

    # --- steps -----------------------------------------------------------------------------
    def steps(self, content: Any) -> StepsConfiguration:
        """caqtus's ``{"type": "steps", "steps": [...]}`` as a :class:`StepsConfiguration`."""
        if not isinstance(content, dict) or not isinstance(content.get("steps"), list):
            raise CaqtusImportError(
                f"table sequence.iteration, sequence {self.sequence}: not caqtus steps "
                f"({str(content)[:80]!r})"
            )
        return StepsConfiguration(self._steps(content["steps"], ()))

    def _steps(self, raw: list[Any], path: tuple[int, ...]) -> list[Step]:
        return [self._step(step, (*path, i + 1)) for i, step in enumerate(raw)]

    def _step(self, raw: Any, path: tuple[int, ...]) -> Step:
        where = f"step {'.'.join(map(str, path))}"
        if not isinstance(raw, dict):
            raise CaqtusImportError(
                f"table sequence.iteration, sequence {self.sequence}, {where}: {raw!r}"
            )
        if raw.get("execute") == "shot":
            return ExecuteShot()
        if "variable" not in raw:
            raise CaqtusImportError(
                f"table sequence.iteration, sequence {self.sequence}, {where}: unknown step "
                f"with keys {sorted(raw)}"
            )
        variable = self.names.name(str(raw["variable"]), f"sequence {self.sequence}, {where}")
        where = f"{where} ({raw['variable']})"
        if "value" in raw:
            return VariableDeclaration(variable, self.expression(raw["value"], where))
        start = self.expression(raw.get("start"), f"{where}, start")
        stop = self.expression(raw.get("stop"), f"{where}, stop")
        body = self._steps(list(raw.get("sub_steps", [])), path)
        if "num" in raw:
            return LinspaceLoop(variable, start, stop, int(raw["num"]), body)
        if "step" in raw:
            step = self.expression(raw["step"], f"{where}, step", placeholder="1")
            return ArangeLoop(variable, start, stop, step, body)
        raise CaqtusImportError(
            f"table sequence.iteration, sequence {self.sequence}, {where}: unknown loop "
            f"with keys {sorted(raw)}"
        )

    # --- time lanes ------------------------------------------------------------------------
    def time_lanes(self, content: Any) -> TimeLanes:
        """caqtus's time lanes; a lane of an unknown type is left out (and listed)."""
        where = f"table sequence.time_lanes, sequence {self.sequence}"
        if not isinstance(content, dict):
            raise CaqtusImportError(f"{where}: not caqtus time lanes")
        names = [str(n) for n in content.get("step_names", [])]
        durations = [
            self.expression(text, f"step {name!r} duration", placeholder="0 s")
            for name, text in zip(names, content.get("step_durations", []), strict=False)
        ]
        lanes = []
        for lane_name, lane in dict(content.get("lanes", {})).items():
            kind = lane.get("type") if isinstance(lane, dict) else None
            blocks = lane.get("spanned_values", []) if isinstance(lane, dict) else []
            converter = {
                "digital": (DigitalTimeLane, self._digital),
                "analog": (AnalogTimeLane, self._analog),
                "camera": (CameraTimeLane, self._camera),
            }.get(str(kind))
            if converter is None:
                self.problems.append(
                    Problem(
                        f"sequence {self.sequence}, lane {lane_name!r}",
                        str(lane)[:200],
                        f"lane type {kind!r} has no shotbook equivalent; lane left out",
                    )
                )
                continue
            cls, convert = converter
            lane_type: Any = cls
            try:
                converted = lane_type.from_blocks(
                    (convert(value, f"lane {lane_name!r}, {_block_step(names, blocks, i)}"), span)
                    for i, (value, span) in enumerate(blocks)
                )
            except (TimeLaneError, TypeError, ValueError) as error:
                raise CaqtusImportError(f"{where}, lane {lane_name!r}: {error}") from None
            lanes.append((str(lane_name), converted))
        try:
            return TimeLanes(names, durations, lanes)
        except TimeLaneError as error:
            raise CaqtusImportError(f"{where}: {error}") from None

    def _digital(self, value: Any, where: str) -> bool | Expression:
        if isinstance(value, bool):
            return value
        return self.expression(value, where, placeholder="Disabled", keep=_TIME)

    def _analog(self, value: Any, where: str) -> Expression | Ramp:
        if value == "ramp":
            return Ramp()
        if isinstance(value, dict) and "expression" in value:
            return self.expression(value["expression"], where, keep=_TIME)
        raise CaqtusImportError(
            f"table sequence.time_lanes, sequence {self.sequence}, {where}: unknown analog "
            f"value {value!r}"
        )

    def _camera(self, value: Any, where: str) -> TakePicture | None:
        if value is None:
            return None
        if isinstance(value, dict) and "picture_name" in value:
            return TakePicture(str(value["picture_name"]))
        raise CaqtusImportError(
            f"table sequence.time_lanes, sequence {self.sequence}, {where}: unknown camera "
            f"value {value!r}"
        )


def _block_step(names: list[str], blocks: list[Any], index: int) -> str:
    start = sum(int(span) for _, span in blocks[:index])
    return f"step {names[start]!r}" if start < len(names) else f"block {index + 1}"


# --- shots ----------------------------------------------------------------------------------


def shot_parameters(
    content: Any, names: Names, where: str
) -> tuple[dict[str, float | int | bool], dict[str, str]]:
    """A shot's ``{"name": value | [magnitude, "unit"]}`` as (values, units).

    Quantities keep caqtus's magnitude in caqtus's unit (``[100.0, "µs"]`` → 100.0, ``µs``).
    """
    if not isinstance(content, dict):
        raise CaqtusImportError(f"table shot.parameters, {where}: not a JSON object")
    values: dict[str, float | int | bool] = {}
    units: dict[str, str] = {}
    for raw, value in content.items():
        name = ".".join(names.name(part, where) for part in str(raw).split("."))
        if isinstance(value, bool | int | float):
            values[name] = value
        elif (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int | float)
            and not isinstance(value[0], bool)
            and isinstance(value[1], str)
        ):
            values[name] = float(value[0])
            if value[1]:
                units[name] = value[1]
        else:
            raise CaqtusImportError(
                f"table shot.parameters, {where}: parameter {raw!r} = {value!r} is not a "
                "number, a bool or [magnitude, unit]"
            )
    return values, units


def data_label(label: str) -> str:
    """caqtus's ``Device\\name`` data label as shotbook's ``Device.name``."""
    return label.replace("\\", ".")


def decode_array(dtype: str, shape_text: Any, data: Any, where: str) -> np.ndarray:
    """An array of ``shot.data.arrays``: ``np.frombuffer(bytes, dtype).reshape(shape)``."""
    from ._source import decode_json

    try:
        kind = np.dtype(dtype)
    except TypeError:
        raise CaqtusImportError(
            f"table shot.data.arrays, {where}: unknown dtype {dtype!r}"
        ) from None
    shape = decode_json(shape_text, f"table shot.data.arrays, {where}, shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise CaqtusImportError(f"table shot.data.arrays, {where}: bad shape {shape!r}")
    raw = bytes(data) if data is not None else b""
    expected = int(np.prod(shape, dtype=np.int64)) * kind.itemsize
    if len(raw) != expected:
        raise CaqtusImportError(
            f"table shot.data.arrays, {where}: {len(raw)} bytes, but {dtype} {tuple(shape)} "
            f"needs {expected} (corrupt shot)"
        )
    return np.frombuffer(raw, kind).reshape(shape).copy()


def structured_value(value: Any, where: str) -> Any:
    """A ``shot.data.structured`` value as a scalar or a numeric array."""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list):
        try:
            array = np.asarray(value)
        except ValueError:
            array = None
        if array is not None and array.dtype.kind in "biuf" and array.size:
            return array
    raise CaqtusImportError(
        f"table shot.data.structured, {where}: {str(value)[:80]!r} is neither a number, a bool "
        "nor a numeric list; shotbook stores no other data"
    )


def traceback_text(summary: Any, depth: int = 0) -> str:
    """caqtus's TracebackSummary as text: exception type and message, causes and members."""
    if not isinstance(summary, dict):
        return str(summary)
    indent = "  " * depth
    lines = [f"{indent}{summary.get('exc_type', '?')}: {summary.get('exc_msg', '')}"]
    for note in summary.get("notes") or []:
        lines.append(f"{indent}  note: {note}")
    for member in summary.get("exceptions") or []:
        lines.append(f"{indent}  member:")
        lines.append(traceback_text(member, depth + 2))
    cause = summary.get("cause")
    if cause is not None:
        lines.append(f"{indent}caused by:")
        lines.append(traceback_text(cause, depth + 1))
    return "\n".join(lines)


__all__ = [
    "Converter",
    "Names",
    "Problem",
    "data_label",
    "decode_array",
    "shot_parameters",
    "structured_value",
    "traceback_text",
]
