"""The `Experiment` facade and the extension records labs use to add devices and lanes.

>>> from shotbook.extension import Experiment
>>> experiment = Experiment()
"""

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

__all__ = [
    "DeviceExtension",
    "Experiment",
    "ExperimentConfigurationError",
    "ExperimentNotFoundError",
    "ShotAnalysis",
    "TimeLaneExtension",
    "analog_time_lane_extension",
    "camera_time_lane_extension",
    "digital_time_lane_extension",
    "load_experiment",
]
