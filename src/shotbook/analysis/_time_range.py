"""Filters on the time a shot ran: ``since=`` / ``until=`` and a check of ``where=``.

``start_time`` and ``end_time`` are stored in UTC. A naive ``datetime`` given to ``since`` or
``until`` is read as local time (as ``datetime.astimezone()`` does); in a ``where=``
expression a naive datetime cannot be compared with them, so it is refused up front with a
message saying what to write instead (polars' own error names internal columns).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

__all__ = ["NaiveDatetimeError", "check_where", "time_range"]


class NaiveDatetimeError(TypeError):
    """A ``where=`` expression compares a time column with a datetime without a time zone."""


def _utc(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}: {value!r}")
    # A naive datetime is local time: astimezone() attaches the local zone, then UTC.
    return value.astimezone().astimezone(UTC)


def time_range(since: datetime | None, until: datetime | None) -> pl.Expr | None:
    """Shots that started at or after ``since`` and before ``until`` (``None``: no bound)."""
    condition: pl.Expr | None = None
    if since is not None:
        condition = pl.col("start_time") >= _utc("since", since)
    if until is not None:
        bound = pl.col("start_time") < _utc("until", until)
        condition = bound if condition is None else condition & bound
    if since is not None and until is not None and _utc("since", since) >= _utc("until", until):
        raise ValueError(f"since ({since}) is not before until ({until}): no shot can match")
    return condition


def _naive_datetimes(node: Any) -> bool:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Datetime" and isinstance(value, list) and len(value) == 3:
                if value[2] is None:
                    return True
            elif _naive_datetimes(value):
                return True
    elif isinstance(node, list):
        return any(_naive_datetimes(item) for item in node)
    return False


def check_where(where: pl.Expr | None) -> None:
    """Refuse a ``where=`` holding a naive datetime (the time columns are UTC)."""
    if where is None:
        return
    if not isinstance(where, pl.Expr):
        raise TypeError(
            f"where must be a polars expression such as pl.col('wait_time') > 2, "
            f"not {type(where).__name__}"
        )
    try:
        tree = json.loads(where.meta.serialize(format="json"))
    except Exception:  # an expression polars cannot describe (e.g. a Python function)
        return
    if _naive_datetimes(tree):
        raise NaiveDatetimeError(
            "where= compares with a datetime that has no time zone, but start_time and "
            "end_time are in UTC. Give the zone (datetime(2026, 12, 7, 22, tzinfo=UTC), or "
            "datetime(...).astimezone() for local time), or use since=/until=, which read a "
            "naive datetime as local time."
        )
