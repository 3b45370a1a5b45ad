"""What each column of a sequence's shots holds: parameter, scalar or array, and its unit.

The storage interfaces give shots and lazy frames, not column descriptions, so for a
backend without a fast path (see ``_parquet_fast``) they are read from the first stored shot
(every shot of a sequence has the same kinds and units).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from shotbook.types import PureSequencePath

if TYPE_CHECKING:
    from shotbook.session import ExperimentSession

__all__ = ["ColumnMeta", "columns_probe"]

ColumnKind = Literal["parameter", "scalar", "array"]


@dataclass(frozen=True)
class ColumnMeta:
    """One column of a sequence: a ``parameter`` (with its display unit) or data (with the
    unit its source declared, if any)."""

    kind: ColumnKind
    unit: str | None = None


ColumnsProbe = Callable[[], dict[str, ColumnMeta]]
"""Gives the columns of one sequence; called after the catalog transaction is over."""


def _first_shot_probe(session: ExperimentSession, path: PureSequencePath) -> ColumnsProbe:
    shots = session.sequences.get_shots(path)

    def probe() -> dict[str, ColumnMeta]:
        if not shots:
            return {}
        shot = shots[0]
        units = shot.units
        data_units = shot.data_units
        columns = {name: ColumnMeta("parameter", units.get(name)) for name in shot.parameters}
        for name, value in shot.data.items():
            is_array = isinstance(value, np.ndarray) and value.ndim > 0
            columns[name] = ColumnMeta("array" if is_array else "scalar", data_units.get(name))
        return columns

    return probe


def columns_probe(session: ExperimentSession, path: PureSequencePath) -> ColumnsProbe:
    """Start reading the columns of ``path`` inside the session's transaction.

    The returned callable finishes the work (it may read a shot) and is meant to be called
    once the transaction is closed, so the catalog is held as briefly as possible.
    """
    return _first_shot_probe(session, path)
