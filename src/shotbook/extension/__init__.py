"""The `Experiment` facade and the extension records labs use to add devices and lanes.

>>> from shotbook.extension import Experiment
>>> experiment = Experiment()
"""

from shotbook.registry import DeviceExtension, TimeLaneExtension

from ._default_extensions import (
    analog_time_lane_extension,
    camera_time_lane_extension,
    digital_time_lane_extension,
)
from ._experiment import Experiment, ExperimentConfigurationError, ShotAnalysis
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
