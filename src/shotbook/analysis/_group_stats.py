"""Mean and standard error of a result, grouped by scanned parameters, on polars frames.

The same statistics as :func:`mean_sem_by` (NaN and null values are left out; the standard
error is ``std(ddof=1) / sqrt(n)``, NaN for fewer than 2 values), computed by polars so it
runs lazily and on any number of grouping columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import polars as pl

__all__ = ["group_stats"]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

_OUTPUTS = ("mean", "sem", "count")


def group_stats(frame: FrameT, by: str | Sequence[str], value: str) -> FrameT:
    """Mean, standard error and count of ``value`` for each distinct value of ``by``.

    Returns the ``by`` column(s), then ``mean`` and ``sem`` (Float64) and ``count`` (Int64,
    the number of non-NaN, non-null values), sorted by ``by`` (nulls last). A group whose
    values are all NaN is kept, with NaN mean and sem and a count of 0. A LazyFrame gives a
    LazyFrame.

    >>> frame = pl.DataFrame({"x": [1, 2, 1, 2, 3], "y": [1.0, 10.0, 3.0, 14.0, 5.0]})
    >>> group_stats(frame, "x", "y").rows()
    [(1, 2.0, 1.0, 2), (2, 12.0, 2.0, 2), (3, 5.0, nan, 1)]
    """
    keys: list[str] = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ValueError("group_stats needs at least one column to group by")
    names = frame.collect_schema().names()
    missing = [name for name in [*keys, value] if name not in names]
    if missing:
        raise ValueError(f"no column {missing[0]!r} in the frame; columns: {', '.join(names)}")
    clash = [name for name in keys if name in _OUTPUTS]
    if clash:
        raise ValueError(
            f"cannot group by {clash[0]!r}: it is the name of an output column "
            f"({', '.join(_OUTPUTS)}); rename it first with .rename()"
        )
    values = pl.col(value).cast(pl.Float64)
    kept = values.filter(values.is_not_null() & values.is_not_nan())
    count = kept.count().cast(pl.Int64)
    nan = pl.lit(float("nan"), dtype=pl.Float64)
    grouped = frame.group_by(keys).agg(
        kept.mean().alias("mean"), kept.std(ddof=1).alias("_std"), count.alias("count")
    )
    return grouped.select(
        *keys,
        pl.when(pl.col("count") > 0).then(pl.col("mean")).otherwise(nan).alias("mean"),
        pl.when(pl.col("count") > 1)
        .then(pl.col("_std") / pl.col("count").cast(pl.Float64).sqrt())
        .otherwise(nan)
        .alias("sem"),
        "count",
    ).sort(keys, nulls_last=True)
