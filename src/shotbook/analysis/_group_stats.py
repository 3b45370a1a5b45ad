"""Mean and standard error of a result, grouped by scanned parameters, on polars frames.

The same statistics as :func:`mean_sem_by` (NaN and null values are left out; the standard
error is ``std(ddof=1) / sqrt(n)``, NaN for fewer than 2 values), computed by polars so it
runs lazily and on any number of grouping columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import polars as pl

from ._units import recall_kinds, recall_units, remember_kinds, remember_units

__all__ = ["group_stats", "plot_stats"]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

_OUTPUTS = ("mean", "sem", "count")


def group_stats(frame: FrameT, by: str | Sequence[str], value: str) -> FrameT:
    """Mean, standard error and count of ``value`` for each distinct value of ``by``.

    Returns the ``by`` column(s), then ``mean`` and ``sem`` (Float64) and ``count`` (Int64,
    the number of non-NaN, non-null values), sorted by ``by`` (nulls last). A group whose
    values are all NaN is kept, with NaN mean and sem and a count of 0. A LazyFrame gives a
    LazyFrame.

    Units: the result knows them (``stats.units``, :func:`units`): each ``by`` column keeps
    its unit, ``mean`` and ``sem`` are in the unit of ``value``, ``count`` has none. Draw it
    with :func:`plot_stats` (error bars, units on the axes).

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
    result = grouped.select(
        *keys,
        pl.when(pl.col("count") > 0).then(pl.col("mean")).otherwise(nan).alias("mean"),
        pl.when(pl.col("count") > 1)
        .then(pl.col("_std") / pl.col("count").cast(pl.Float64).sqrt())
        .otherwise(nan)
        .alias("sem"),
        "count",
    ).sort(keys, nulls_last=True)
    known = recall_units(frame) or {}
    remember_units(
        result,
        {
            **{key: known.get(key) for key in keys},
            "mean": known.get(value),
            "sem": known.get(value),
            "count": None,
        },
    )
    kinds = recall_kinds(frame)
    remember_kinds(result, {key: kinds[key] for key in keys if key in kinds})
    return result


def _label(name: str, unit: str | None) -> str:
    return name if unit is None else f"{name} ({unit})"


def plot_stats(
    stats: pl.DataFrame, ax: Any = None, *, value: str | None = None, **errorbar: Any
) -> Any:
    """Draw a :func:`group_stats` result: mean ± sem against the first ``by`` column.

    The axes are labelled with the units the frame knows; ``value`` names the y axis (the
    averaged column). With several ``by`` columns, one line per value of the others.
    Needs matplotlib (the ``lab`` extra), imported here. Returns the matplotlib ``Axes``.

    >>> plot_stats(group_stats(shots, "time_of_flight", "analysis.cloud.sigma_x"))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    if not isinstance(stats, pl.DataFrame):
        raise TypeError(f"plot_stats needs a DataFrame (collect() a LazyFrame), not {type(stats)}")
    missing = [name for name in _OUTPUTS if name not in stats.columns]
    if missing:
        raise ValueError(
            f"plot_stats draws the result of group_stats; this frame has no {missing[0]!r} column"
        )
    keys = [name for name in stats.columns if name not in _OUTPUTS]
    if not keys:
        raise ValueError("plot_stats needs the group_stats column(s) it was grouped by")
    known = recall_units(stats) or {}
    if ax is None:
        _, ax = plt.subplots()
    x, others = keys[0], keys[1:]
    groups = stats.partition_by(others, maintain_order=True) if others else [stats]
    errorbar.setdefault("fmt", "o")
    errorbar.setdefault("capsize", 3)
    for group in groups:
        label = ", ".join(f"{name} = {group[name][0]}" for name in others) or None
        ax.errorbar(
            group[x].to_numpy(),
            group["mean"].to_numpy(),
            yerr=group["sem"].to_numpy(),
            label=label,
            **errorbar,
        )
    ax.set_xlabel(_label(x, known.get(x)))
    ax.set_ylabel(_label(value or "mean", known.get("mean")))
    if others:
        ax.legend()
    return ax
