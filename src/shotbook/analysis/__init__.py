"""Analysis in the notebook: load shots into polars, query them with SQL, fit and average.

>>> from shotbook.analysis import read_shots, group_stats, units     # doctest: +SKIP
>>> frame = read_shots(manager, "/tof/*", ["wait_time", "analysis.atom_number"])  # doctest: +SKIP
>>> group_stats(frame, "wait_time", "analysis.atom_number")         # doctest: +SKIP
>>> units(frame)["wait_time"]                                       # doctest: +SKIP
'ms'
>>> sql(manager, 'SELECT sequence, count(*) FROM shots GROUP BY 1')  # doctest: +SKIP

Importing this package imports polars and numpy (DuckDB only when :func:`sql` runs).
"""

from ._arrays import ROI, crop, roi_sum, stack_arrays
from ._fits import FitError, GaussianFit, TemperatureFit, fit_gaussian_2d, fit_temperature
from ._group_stats import group_stats
from ._loading import FIXED_COLUMNS, read_shots, scan_shots
from ._selection import NoSequenceMatchError, SequenceSelection, matches_pattern
from ._sql import VIEWS, SQLError, sql
from ._stats import mean_sem_by
from ._units import UnitMismatchError, to_arrow_with_units, units

__all__ = [
    "FIXED_COLUMNS",
    "ROI",
    "VIEWS",
    "FitError",
    "GaussianFit",
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
