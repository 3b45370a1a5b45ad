"""A small simulated lab: pulse sequencers and a camera seeing a Rb-87 cloud, seeded.

* :class:`SimulatedSequencer` checks and keeps what it is programmed with; a shot lasts
  its real duration times ``speed`` (0 by default: at once).
* :class:`SimulatedCamera` images the cloud of the lab's :class:`SimulatedWorld`, which
  receives the sequencers' compiled outputs and the cameras' exposures and works out the
  physics from those signals (see :mod:`shotbook.device.sim._world`).
* :class:`LightGate`: a channel (a shutter's TTL) a light must pass (see
  :mod:`shotbook.device.sim._gates`); :class:`AbsorptionImaging` turns a simulated camera to
  absorption imaging (see :mod:`shotbook.device.sim._imaging`).
* :class:`AtomCloudModel` is the older closed-form cloud (for replay benchmarks and fits).
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
from ._camera import SimulatedCamera
from ._gates import LightGate
from ._imaging import AbsorptionImaging
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
from ._world import SimulatedWorld

__all__ = [
    "AbsorptionImaging",
    "AtomCloudModel",
    "LightGate",
    "ReplayImages",
    "SimulatedCamera",
    "SimulatedCameraCompiler",
    "SimulatedCameraConfiguration",
    "SimulatedSequencer",
    "SimulatedSequencerCompiler",
    "SimulatedSequencerConfiguration",
    "SimulatedWorld",
    "pregenerate_images",
    "register_sim_types",
    "sim_compilers",
    "sim_device_classes",
    "simulated_lab",
]
