"""Names a parameter may not take: they are columns every stored shot already has.

A shot is stored as one row whose columns are its parameters (by their dotted names), the
fixed columns and its data (``device.label``, and ``analysis.<name>`` for per-shot analysis
results); reading adds the ``sequence`` column. A parameter named like one of those would
crash the run at its first shot or be silently replaced when read back, so the static checks
refuse it while the sequence is still a DRAFT. Column names are compared case-insensitively
(SQL treats them so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol, runtime_checkable

from shotbook.types import CameraTimeLane, TakePicture, TimeLanes

__all__ = [
    "ANALYSIS_PREFIX",
    "RESERVED_COLUMN_NAMES",
    "DeclaresDataLabels",
    "ReservedNameError",
    "known_data_columns",
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
    parameters: Iterable[str], data_columns: Mapping[str, str]
) -> list[ReservedNameError]:
    """One error per parameter named like a fixed column, an analysis result or device data.

    ``parameters`` are the dotted names of the shot's parameters (scan variables and
    globals); ``data_columns`` the data columns known before the run (``device.label``, see
    :func:`known_data_columns`), each with the device that stores it. A parameter may share a
    device's prefix (``rf.power`` beside a device ``rf``) as long as it names no column.
    """
    columns = {column.casefold(): (column, device) for column, device in data_columns.items()}
    problems = []
    for name in sorted(set(parameters)):
        folded = name.casefold()
        if folded in _ROLE:
            problems.append(ReservedNameError(name, folded, _ROLE[folded]))
        elif folded == ANALYSIS_PREFIX[:-1] or folded.startswith(ANALYSIS_PREFIX):
            problems.append(
                ReservedNameError(name, ANALYSIS_PREFIX, "the prefix of per-shot analysis results")
            )
        elif folded in columns:
            column, device = columns[folded]
            problems.append(
                ReservedNameError(name, column, f"data that device {device!r} stores each shot")
            )
    return problems


@runtime_checkable
class DeclaresDataLabels(Protocol):
    """A device configuration that knows the labels of the data its device stores per shot.

    >>> class Meter:
    ...     def data_labels(self) -> tuple[str, ...]:
    ...         return ("power",)
    >>> isinstance(Meter(), DeclaresDataLabels)
    True
    """

    def data_labels(self) -> Iterable[str]:
        """The labels of the columns ``device.label`` stored with every shot."""
        ...


def known_data_columns(
    time_lanes: TimeLanes, device_configurations: Mapping[str, object]
) -> dict[str, str]:
    """The data columns known before the run, by column name, with their device.

    A camera stores each picture of the camera lane named like it (``camera.atoms``); a
    configuration that :class:`DeclaresDataLabels` adds its labels.
    """
    columns: dict[str, str] = {}
    for device, configuration in device_configurations.items():
        if device in time_lanes.lanes:
            lane = time_lanes.lanes[device]
            if isinstance(lane, CameraTimeLane):
                for value, _ in lane.blocks:
                    if isinstance(value, TakePicture):
                        columns[f"{device}.{value.picture}"] = device
        if isinstance(configuration, DeclaresDataLabels):
            for label in configuration.data_labels():
                columns[f"{device}.{label}"] = device
    return columns
