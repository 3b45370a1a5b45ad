"""Per-shot analysis: user functions turning a shot's data into a few scalar results.

An analysis is ``function(data, parameters) -> float | Mapping[str, float]``. Its result is
stored with the shot as ``analysis.<name>`` (or ``analysis.<name>.<key>`` for a mapping), and
``analysis.<name>.failed`` says whether it raised. An analysis that raises does not stop the
sequence: its values are NaN for that shot, the error is logged, published as an
``AnalysisFailed`` event and counted in the run's summary (``RunSummary.problems``).

>>> import numpy as np
>>> analyses = {"atoms": lambda data, parameters: float(data["camera.cloud"].sum()),
...             "fit": lambda data, parameters: {"x": 1.0, "y": 2.0}}
>>> results = ShotAnalyses(analyses).run({"camera.cloud": np.ones((2, 2))}, {})
>>> results.values
{'analysis.atoms': 4.0, 'analysis.atoms.failed': False, 'analysis.fit.x': 1.0, \
'analysis.fit.y': 2.0, 'analysis.fit.failed': False}
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

from shotbook.types import DottedVariableName

_log = logging.getLogger("shotbook.control")

AnalysisFunction = Callable[[Mapping[str, Any], Any], "float | Mapping[str, float]"]
"""``function(data, parameters)`` → a number or a mapping of names to numbers."""

PREFIX = "analysis"


@dataclass
class AnalysisResults:
    """The columns an analysis pass adds to a shot, and the errors it met (name → text)."""

    values: dict[str, float | bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def scalars(self) -> dict[str, float]:
        """The numeric results (for events), without the ``.failed`` flags."""
        return {
            name: float(value) for name, value in self.values.items() if not isinstance(value, bool)
        }


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"analysis {name!r} returned {type(value).__name__} {value!r}; an analysis "
            "returns a number or a mapping of names to numbers"
        )
    return float(value)


class ShotAnalyses:
    """Run the per-shot analyses of a sequence, remembering each result's keys.

    A mapping analysis that fails gets NaN for every key it returned before.
    """

    def __init__(self, analyses: Mapping[str, AnalysisFunction]) -> None:
        for name, function in analyses.items():
            DottedVariableName(name)  # raises with a clear message on a bad name
            if not callable(function):
                raise TypeError(f"analysis {name!r} is not callable: {function!r}")
        self._analyses = dict(analyses)
        self._keys: dict[str, tuple[str, ...] | None] = {}

    def __bool__(self) -> bool:
        return bool(self._analyses)

    @property
    def names(self) -> list[str]:
        """The analyses' names."""
        return list(self._analyses)

    def run(self, data: Mapping[str, object], parameters: Mapping[str, object]) -> AnalysisResults:
        """Run every analysis on one shot; never raises for an analysis' own error."""
        results = AnalysisResults()
        for name, function in self._analyses.items():
            column = f"{PREFIX}.{name}"
            try:
                value = function(data, parameters)
                if isinstance(value, Mapping):
                    converted = {str(key): _number(v, f"{name}.{key}") for key, v in value.items()}
                    for key in converted:
                        DottedVariableName(f"{name}.{key}")
                    self._keys[name] = tuple(converted)
                    for key, number in converted.items():
                        results.values[f"{column}.{key}"] = number
                else:
                    results.values[column] = _number(value, name)
                    self._keys[name] = None
                results.values[f"{column}.failed"] = False
            except Exception as error:
                text = f"{type(error).__name__}: {error}"
                results.errors[name] = text
                keys = self._keys.get(name)
                if keys is None:
                    results.values[column] = math.nan
                else:
                    for key in keys:
                        results.values[f"{column}.{key}"] = math.nan
                results.values[f"{column}.failed"] = True
        return results


__all__ = ["AnalysisFunction", "AnalysisResults", "ShotAnalyses"]
