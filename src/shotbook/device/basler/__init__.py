"""Basler (GenICam) cameras through pypylon: ``pip install 'shotbook[basler]'``.

* :class:`BaslerCameraConfiguration`: serial (or first found), ROI, pixel format, gain,
  hardware trigger line or software trigger, timeout; exposures come from the camera lane.
* :class:`BaslerCameraCompiler`: a shot's pictures, exposures and trigger times.
* :class:`BaslerCamera`: the device (a :class:`~shotbook.device.Camera`); pypylon is
  imported only when it opens.
* :func:`register_basler_types` and :func:`basler_device_extension` register them.

Example::

    from shotbook.device.basler import basler_device_extension, BaslerCameraConfiguration

    experiment.register_device_extension(basler_device_extension())
    camera = BaslerCameraConfiguration(roi=(0, 0, 640, 480), sensor_size=(1920, 1200),
                                       pixel_format="Mono12", trigger_source="Line1")
"""

from ._camera import INSTALL_HINT, BaslerCamera, BaslerTimeoutError, frame_of, import_pylon
from ._configuration import (
    PIXEL_DTYPES,
    SOFTWARE,
    BaslerCameraCompiler,
    BaslerCameraConfiguration,
)
from ._registration import basler_device_extension, register_basler_types

__all__ = [
    "INSTALL_HINT",
    "PIXEL_DTYPES",
    "SOFTWARE",
    "BaslerCamera",
    "BaslerCameraCompiler",
    "BaslerCameraConfiguration",
    "BaslerTimeoutError",
    "basler_device_extension",
    "frame_of",
    "import_pylon",
    "register_basler_types",
]
