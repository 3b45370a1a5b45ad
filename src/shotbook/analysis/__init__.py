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
from ._selection import NoSequenceMatchError, SequenceSelection, escape_path, matches_pattern
from ._time_range import NaiveDatetimeError

# isort: split
# SQL over every shot of the store (DuckDB, in memory).
from ._sql import VIEWS, SQLError, sql

# isort: split
# Units of the loaded columns.
from ._units import UnitMismatchError, column_kinds, to_arrow_with_units, units
from ._units_namespace import FrameUnits, infer_unit
from ._units_namespace import register as _register_units_namespace

# isort: split
# Export: xarray (optional extra, imported when called), pint quantities, CSV of scalars.
from ._export import SHOT_DIMENSION, to_pint, to_xarray, write_csv

# isort: split
# Images and other array columns: stack, crop, sum over a region.
from ._arrays import ROI, crop, roi_sum, stack_arrays

# isort: split
# Statistics by parameter value: mean and standard error per group.
from ._group_stats import group_stats, plot_stats
from ._scan_fits import FIT_UNITS, fit_by
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

# isort: split
# Absorption imaging: optical density from atoms/probe/dark pictures, atom number from it.
from ._absorption import (
    RB87_D2_WAVELENGTH,
    RB87_RESONANT_CROSS_SECTION,
    RB87_SATURATION_INTENSITY,
    absorption_atom_number,
    optical_density,
    saturation_counts,
)

_register_units_namespace()  # frame.units on every polars DataFrame and LazyFrame

__all__ = [
    "BOLTZMANN_CONSTANT",
    "FIT_UNITS",
    "FIXED_COLUMNS",
    "RB87_D2_WAVELENGTH",
    "RB87_MASS",
    "RB87_RESONANT_CROSS_SECTION",
    "RB87_SATURATION_INTENSITY",
    "ROI",
    "SHOT_DIMENSION",
    "VIEWS",
    "FitError",
    "FrameUnits",
    "GaussianFit",
    "NaiveDatetimeError",
    "NoSequenceMatchError",
    "SQLError",
    "SequenceSelection",
    "TemperatureFit",
    "UnitMismatchError",
    "absorption_atom_number",
    "column_kinds",
    "crop",
    "escape_path",
    "fit_by",
    "fit_gaussian_2d",
    "fit_temperature",
    "group_stats",
    "infer_unit",
    "matches_pattern",
    "mean_sem_by",
    "optical_density",
    "plot_stats",
    "read_shots",
    "roi_sum",
    "saturation_counts",
    "scan_shots",
    "sql",
    "stack_arrays",
    "to_arrow_with_units",
    "to_pint",
    "to_xarray",
    "units",
    "write_csv",
]
