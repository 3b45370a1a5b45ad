"""Names a parameter may not take: they are columns every stored shot already has.

A shot is stored as one row whose columns are its parameters (by their dotted names), the
fixed columns and its data (``device.label``, and ``analysis.<name>`` for per-shot analysis
results); reading adds the ``sequence`` column. A parameter named like one of those would
crash the run at its first shot or be silently replaced when read back, so the static checks
refuse it while the sequence is still a DRAFT. Column names are compared case-insensitively
(SQL treats them so).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = [
    "ANALYSIS_PREFIX",
    "RESERVED_COLUMN_NAMES",
    "ReservedNameError",
    "reserved_name_problems",
]

RESERVED_COLUMN_NAMES: Final = ("sequence", "shot_index", "start_time", "end_time")
"""Columns of every shot: the sequence's path (added when read) and the fixed columns."""

ANALYSIS_PREFIX: Final = "analysis."
"""Prefix of the columns holding per-shot analysis results."""

_ROLE = {
    "sequence": "the path of the shot's sequence, added when shots are read",
    "shot_index": "the index of the shot in its sequence",
    "start_time": "when the shot started",
    "end_time": "when the shot ended",
}


class ReservedNameError(ValueError):
    """A parameter is named like a column every stored shot has (the message says which)."""

    def __init__(self, parameter: str, column: str, reason: str) -> None:
        self.parameter = parameter
        self.column = column
        super().__init__(
            f"parameter {parameter!r} collides with the column {column!r} ({reason}): rename "
            "the parameter"
        )


def reserved_name_problems(
    parameters: Iterable[str], device_names: Iterable[str]
) -> list[ReservedNameError]:
    """One error per parameter named like a fixed column, an analysis result or device data.

    ``parameters`` are the dotted names of the shot's parameters (scan variables and
    globals); ``device_names`` the devices of the sequence, whose data columns are named
    ``device.label``.
    """
    devices = {name.casefold(): name for name in device_names}
    problems = []
    for name in sorted(set(parameters)):
        folded = name.casefold()
        if folded in _ROLE:
            problems.append(ReservedNameError(name, folded, _ROLE[folded]))
        elif folded == ANALYSIS_PREFIX[:-1] or folded.startswith(ANALYSIS_PREFIX):
            problems.append(
                ReservedNameError(name, ANALYSIS_PREFIX, "the prefix of per-shot analysis results")
            )
        else:
            head = folded.split(".", 1)[0]
            if "." in folded and head in devices:
                device = devices[head]
                problems.append(
                    ReservedNameError(
                        name,
                        name,
                        f"device {device!r} stores its data in columns named '{device}.<label>'",
                    )
                )
    return problems
