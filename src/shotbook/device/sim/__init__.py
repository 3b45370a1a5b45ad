"""A small simulated lab: pulse sequencers and a camera seeing a Rb-87 cloud, seeded.

* :class:`SimulatedSequencer` checks and keeps what it is programmed with; a shot lasts
  its real duration times ``speed`` (0 by default: at once).
* :class:`SimulatedCamera` images the cloud of :class:`AtomCloudModel`, whose atom number,
  position and size follow the shot's parameters named in
  :class:`SimulatedCameraConfiguration`.
* :func:`register_sim_types` registers configurations, compilers and device classes;
  :func:`simulated_lab` gives the demo lab's device configurations.

Example::

    from shotbook.registry import default_registry
    from shotbook.device.sim import register_sim_types, simulated_lab

    registry = default_registry()
    compilers = register_sim_types(registry)
    configurations = simulated_lab()
"""

from ._atom_cloud import AtomCloudModel, ReplayImages, pregenerate_images
from ._camera import CLOUD_PARAMETERS, SimulatedCamera
from ._lab import (
    SimulatedCameraCompiler,
    SimulatedCameraConfiguration,
    SimulatedSequencerCompiler,
    SimulatedSequencerConfiguration,
    register_sim_types,
    sim_compilers,
    sim_device_classes,
    simulated_lab,
)
from ._sequencer import SimulatedSequencer

__all__ = [
    "CLOUD_PARAMETERS",
    "AtomCloudModel",
    "ReplayImages",
    "SimulatedCamera",
    "SimulatedCameraCompiler",
    "SimulatedCameraConfiguration",
    "SimulatedSequencer",
    "SimulatedSequencerCompiler",
    "SimulatedSequencerConfiguration",
    "pregenerate_images",
    "register_sim_types",
    "sim_compilers",
    "sim_device_classes",
    "simulated_lab",
]
