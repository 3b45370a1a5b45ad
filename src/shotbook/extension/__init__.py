"""The `Experiment` facade and the extension records labs use to add devices and lanes.

>>> from shotbook.extension import Experiment
>>> experiment = Experiment()
"""

from typing import Any

# The facade a lab configures once: storage, extensions, servers, the manager, the panel.
from ._experiment import Experiment, ExperimentConfigurationError, ShotAnalysis

# isort: split
# Extension records: what a lab registers to add kinds of devices and time lanes.
from shotbook.registry import DeviceExtension, TimeLaneExtension

from ._default_extensions import (
    analog_time_lane_extension,
    camera_time_lane_extension,
    digital_time_lane_extension,
)

# isort: split
# Loading a lab's experiment from its script (``module:variable``), as servers and the panel do.
from ._loading import ExperimentNotFoundError, load_experiment

# Importing a caqtus database (loaded on first use: it reads numpy and the compile layer).
_CAQTUS = (
    "CaqtusImportError",
    "CaqtusImportSummary",
    "camera_converter",
    "import_caqtus",
    "sequencer_converter",
)
_SEQUENCE_FILE = ("SequenceFile", "SequenceFileError")
_DIFF = ("Difference", "SequenceDiff")


def __getattr__(name: str) -> Any:
    if name in _CAQTUS:
        from . import _caqtus

        return getattr(_caqtus, name)
    if name in _DIFF:
        from . import _diff

        return getattr(_diff, name)
    if name in _SEQUENCE_FILE:
        from . import _sequence_file

        return getattr(_sequence_file, name)
    raise AttributeError(f"module 'shotbook.extension' has no attribute {name!r}")


__all__ = [
    "CaqtusImportError",
    "CaqtusImportSummary",
    "DeviceExtension",
    "Difference",
    "Experiment",
    "ExperimentConfigurationError",
    "ExperimentNotFoundError",
    "SequenceDiff",
    "SequenceFile",
    "SequenceFileError",
    "ShotAnalysis",
    "TimeLaneExtension",
    "analog_time_lane_extension",
    "camera_converter",
    "camera_time_lane_extension",
    "digital_time_lane_extension",
    "import_caqtus",
    "load_experiment",
    "sequencer_converter",
]
