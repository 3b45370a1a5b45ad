"""Analysis in the notebook: load shots into polars, query them with SQL, fit and average.

>>> from shotbook.analysis import read_shots, group_stats, units     # doctest: +SKIP
>>> frame = read_shots(manager, "/tof/*", ["wait_time", "analysis.atom_number"])  # doctest: +SKIP
>>> group_stats(frame, "wait_time", "analysis.atom_number")         # doctest: +SKIP
>>> units(frame)["wait_time"]                                       # doctest: +SKIP
'ms'
>>> sql(manager, 'SELECT sequence, count(*) FROM shots GROUP BY 1')  # doctest: +SKIP

Importing this package imports polars and numpy (DuckDB only when :func:`sql` runs).
"""

# Loading shots into polars: one row per shot, across any number of sequences.
from ._loading import FIXED_COLUMNS, read_shots, scan_shots
from ._selection import NoSequenceMatchError, SequenceSelection, matches_pattern
from ._time_range import NaiveDatetimeError

# isort: split
# SQL over every shot of the store (DuckDB, in memory).
from ._sql import VIEWS, SQLError, sql

# isort: split
# Units of the loaded columns.
from ._units import UnitMismatchError, to_arrow_with_units, units

# isort: split
# Images and other array columns: stack, crop, sum over a region.
from ._arrays import ROI, crop, roi_sum, stack_arrays

# isort: split
# Statistics by parameter value: mean and standard error per group.
from ._group_stats import group_stats
from ._stats import mean_sem_by

# isort: split
# Fits: 2-D Gaussian clouds, and temperatures from time of flight.
from ._fits import (
    BOLTZMANN_CONSTANT,
    RB87_MASS,
    FitError,
    GaussianFit,
    TemperatureFit,
    fit_gaussian_2d,
    fit_temperature,
)

__all__ = [
    "BOLTZMANN_CONSTANT",
    "FIXED_COLUMNS",
    "RB87_MASS",
    "ROI",
    "VIEWS",
    "FitError",
    "GaussianFit",
    "NaiveDatetimeError",
    "NoSequenceMatchError",
    "SQLError",
    "SequenceSelection",
    "TemperatureFit",
    "UnitMismatchError",
    "crop",
    "fit_gaussian_2d",
    "fit_temperature",
    "group_stats",
    "matches_pattern",
    "mean_sem_by",
    "read_shots",
    "roi_sum",
    "scan_shots",
    "sql",
    "stack_arrays",
    "to_arrow_with_units",
    "units",
]
