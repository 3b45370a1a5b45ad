"""Images and other arrays in loaded frames: as one numpy stack, cropped, summed over a region.

Array columns are ``pl.Array`` of their own dtype and shape. These helpers work on all the
rows at once with numpy (no Python loop over shots); a shot without the array (null) gives
a null.

A region of interest is either ``(x, y, width, height)`` in pixels on the last two axes (as
for :func:`fit_gaussian_2d`), or numpy slices on the array's axes (``np.s_[10:20, 30:50]``).
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import polars as pl

__all__ = ["ROI", "crop", "roi_sum", "stack_arrays"]

ROI: TypeAlias = tuple[int, int, int, int] | tuple[slice, ...] | slice
"""``(x, y, width, height)`` in pixels, or numpy slices such as ``np.s_[10:20, 30:50]``."""


def _column(frame: pl.DataFrame, column: str) -> pl.Series:
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(
            f"expected a polars DataFrame (collect a LazyFrame first), not {type(frame).__name__}"
        )
    if column not in frame.columns:
        arrays = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Array)]
        raise ValueError(
            f"no column {column!r} in the frame; its array columns: {', '.join(arrays) or 'none'}"
        )
    series = frame.get_column(column)
    if not isinstance(series.dtype, pl.Array):
        hint = (
            " (its values are raw bytes: polars has no dtype for them; read them per shot "
            "with Sequence.shots)"
            if series.dtype == pl.Binary
            else ""
        )
        raise TypeError(f"column {column!r} is {series.dtype}, not an array column{hint}")
    return series


def _stack_valid(series: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The non-null arrays as one numpy array ``(n_valid, *shape)`` and the validity mask."""
    valid = series.is_not_null().to_numpy()
    if bool(valid.all()):
        return series.to_numpy(), valid
    return series.filter(pl.Series(valid)).to_numpy(), valid


def stack_arrays(frame: pl.DataFrame, column: str) -> np.ndarray:
    """The arrays of ``column`` as one numpy array ``(rows, *shape)`` in their own dtype.

    Zero-copy (read-only) when no row is null; raises if some are (drop them first with
    ``frame.drop_nulls(column)``).

    >>> frame = pl.DataFrame({"camera.picture": np.zeros((3, 4, 5), np.uint16)})
    >>> stack_arrays(frame, "camera.picture").shape
    (3, 4, 5)
    """
    series = _column(frame, column)
    if series.null_count():
        rows = np.flatnonzero(series.is_null().to_numpy())[:5].tolist()
        raise ValueError(
            f"column {column!r} is null in rows {rows}: drop them first, "
            f"frame.drop_nulls({column!r})"
        )
    values: np.ndarray = series.to_numpy()
    return values


def _index(roi: ROI, shape: tuple[int, ...], column: str) -> tuple[slice, ...]:
    """The numpy index selecting ``roi`` in one array of ``shape``."""
    if isinstance(roi, slice):
        roi = (roi,)
    if not isinstance(roi, tuple) or not roi:
        raise TypeError(
            f"roi is (x, y, width, height) or numpy slices like np.s_[10:20, 30:50], not {roi!r}"
        )
    if all(isinstance(item, slice) for item in roi):
        if len(roi) > len(shape):
            raise ValueError(
                f"roi {roi!r} has {len(roi)} slices but {column!r} holds arrays of shape {shape}"
            )
        index = tuple(item for item in roi if isinstance(item, slice))
        cropped = np.empty(shape, dtype=np.bool_)[index].shape
        if 0 in cropped:
            raise ValueError(f"roi {roi!r} selects nothing of the {shape} arrays of {column!r}")
        return index
    if len(roi) != 4 or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in roi
    ):
        raise TypeError(
            f"roi is (x, y, width, height) in integer pixels or numpy slices, not {roi!r}"
        )
    if len(shape) < 2:
        raise ValueError(f"roi (x, y, width, height) needs 2-D arrays; {column!r} is {shape}")
    x, y, width, height = (int(v) for v in roi if not isinstance(v, slice))
    rows, cols = shape[-2:]
    if width < 1 or height < 1 or x < 0 or y < 0 or x + width > cols or y + height > rows:
        raise ValueError(
            f"roi (x={x}, y={y}, width={width}, height={height}) is not inside the images of "
            f"{column!r} ({cols} columns x {rows} rows)"
        )
    leading = (slice(None),) * (len(shape) - 2)
    return (*leading, slice(y, y + height), slice(x, x + width))


def _with_nulls(values: np.ndarray, valid: np.ndarray, name: str) -> pl.Series:
    """A series of ``len(valid)`` rows: ``values`` (one per valid row) where valid, else null.

    Arrays of ``n`` dimensions become ``pl.Array`` of the trailing shape.
    """
    if bool(valid.all()):
        return pl.Series(name, values)
    full = np.zeros((len(valid), *values.shape[1:]), dtype=values.dtype)
    full[valid] = values
    series = pl.Series(name, full)
    return pl.select(pl.when(pl.Series(valid)).then(series).otherwise(None).alias(name)).to_series()


def crop(frame: pl.DataFrame, column: str, roi: ROI) -> pl.Series:
    """The arrays of ``column`` cut to ``roi``, as a new array column (named ``column``).

    >>> frame = pl.DataFrame({"cam.pic": np.arange(2 * 4 * 5, dtype=np.uint16).reshape(2, 4, 5)})
    >>> cropped = crop(frame, "cam.pic", (1, 2, 3, 2))   # x=1, y=2, 3 wide, 2 high
    >>> cropped.dtype, cropped[0].to_list()
    (Array(UInt16, shape=(2, 3)), [[11, 12, 13], [16, 17, 18]])
    >>> frame.with_columns(crop(frame, "cam.pic", np.s_[:, 1:3]).alias("cam.crop")).shape
    (2, 2)
    """
    series = _column(frame, column)
    assert isinstance(series.dtype, pl.Array)
    shape = tuple(series.dtype.shape)
    index = _index(roi, shape, column)
    stacked, valid = _stack_valid(series)
    cropped = np.ascontiguousarray(stacked[(slice(None), *index)])
    return _with_nulls(cropped, valid, column)


def roi_sum(frame: pl.DataFrame, column: str, roi: ROI | None = None) -> pl.Series:
    """The sum of each array of ``column`` over ``roi`` (the whole array when ``None``).

    Integer and bool arrays sum to ``Int64``, floats to ``Float64``; a null array gives null.
    The series is named ``column``: rename it with ``.alias(...)``.

    >>> frame = pl.DataFrame({"cam.pic": np.ones((3, 4, 5), dtype=np.uint16)})
    >>> roi_sum(frame, "cam.pic", (0, 0, 2, 3)).to_list()
    [6, 6, 6]
    """
    series = _column(frame, column)
    assert isinstance(series.dtype, pl.Array)
    shape = tuple(series.dtype.shape)
    index = _index(roi, shape, column) if roi is not None else (slice(None),) * len(shape)
    stacked, valid = _stack_valid(series)
    region = stacked[(slice(None), *index)]
    floating = region.dtype.kind == "f"
    accumulator = np.float64 if floating else np.int64
    axes = tuple(range(1, region.ndim))
    sums = region.sum(axis=axes, dtype=accumulator)
    return _with_nulls(np.asarray(sums), valid, column)
