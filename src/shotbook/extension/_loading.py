"""Load the user's configured `Experiment` from ``module:attribute``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from ._experiment import Experiment


class ExperimentNotFoundError(RuntimeError):
    """The ``MODULE:EXPERIMENT`` reference does not lead to an Experiment."""


def load_experiment(reference: str) -> Experiment:
    """Import ``module:attribute`` (the working directory is searched first) and return it.

    >>> load_experiment("my_lab:experiment")   # doctest: +SKIP
    """
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise ExperimentNotFoundError(
            f"{reference!r} is not MODULE:EXPERIMENT, e.g. 'my_lab:experiment' for the variable "
            "`experiment` in my_lab.py"
        )
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise ExperimentNotFoundError(
                f"no module {module_name!r} in {cwd} or on the Python path"
            ) from None
        raise
    try:
        experiment = getattr(module, attribute)
    except AttributeError:
        raise ExperimentNotFoundError(
            f"module {module_name!r} ({module.__file__}) has no variable {attribute!r}"
        ) from None
    if not isinstance(experiment, Experiment):
        raise ExperimentNotFoundError(
            f"{reference} is a {type(experiment).__name__}, not a shotbook Experiment"
        )
    return experiment
