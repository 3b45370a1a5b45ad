"""Devices: what they are (protocols), how a shot drives them, and where they run.

* :class:`Device`, :class:`Sequencer`, :class:`Camera`, :class:`DataSource`: structural
  protocols; methods a device server may call are marked with :func:`remote`.
* :class:`ShotRunner`: runs one shot across open devices (program, arm, start, collect).
* :func:`data_units_of`: the units data sources declare for what they read.
* :func:`open_devices`: opens a sequence's devices, in this process or on device servers
  (:mod:`shotbook.device.remote`), and closes them whatever happens.
* :mod:`shotbook.device.sim`: a simulated lab (sequencers and a camera seeing an atom cloud).

Example::

    from shotbook.device import ShotRunner, open_devices

    with open_devices(specs, registry, servers) as devices, ShotRunner(devices) as runner:
        data = runner.run_shot(compiled_shot, timeout=5.0)
"""

from ._codec import WireCodec
from ._controller import ShotRunner
from ._data_units import data_units_of
from ._open import DeviceSpec, device_spec, device_specs, open_devices
from ._protocols import (
    Camera,
    CameraTimeoutError,
    DataSource,
    Device,
    DeviceError,
    DeviceTimeoutError,
    Sequencer,
    SequencerTimeoutError,
    ServedDevice,
    ShotData,
    ShotServer,
    remote,
    remote_methods_of,
)
from ._registration import register_device_class

__all__ = [
    "Camera",
    "CameraTimeoutError",
    "DataSource",
    "Device",
    "DeviceError",
    "DeviceSpec",
    "DeviceTimeoutError",
    "Sequencer",
    "SequencerTimeoutError",
    "ServedDevice",
    "ShotData",
    "ShotRunner",
    "ShotServer",
    "WireCodec",
    "data_units_of",
    "device_spec",
    "device_specs",
    "open_devices",
    "register_device_class",
    "remote",
    "remote_methods_of",
]
