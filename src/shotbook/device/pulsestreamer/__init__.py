"""Swabian Pulse Streamer 8/2 through its ``pulsestreamer`` client:
``pip install 'shotbook[pulsestreamer]'``.

* :class:`PulseStreamerConfiguration`: 8 digital outputs at 1 ns and 2 analog outputs
  (±1 V) as a sequencer configuration; ramps sampled at ``analog_time_step``.
* :class:`PulseStreamerCompiler`: a shot to per-port run tables, refused beyond the pulse
  memory; :func:`build_sequence` turns them into the client's ``Sequence``.
* :class:`PulseStreamerSequencer`: the device (a :class:`~shotbook.device.Sequencer`);
  the client is imported only when it opens. Not run on a physical box here.

Example::

    from shotbook.compile import DigitalChannelConfiguration, LaneValues, DeviceTrigger
    from shotbook.device.pulsestreamer import PulseStreamerConfiguration

    pulser = PulseStreamerConfiguration(
        time_step=1000,
        channels=(DigitalChannelConfiguration("camera trigger", DeviceTrigger("camera")),),
        address="192.168.1.100",
    )
"""

from ._configuration import (
    ANALOG_PORTS,
    ANALOG_SCALE,
    DIGITAL_PORTS,
    MAX_PULSES,
    PulseStreamerCompiler,
    PulseStreamerConfiguration,
    count_pulses,
    quantize,
)
from ._device import INSTALL_HINT, PulseStreamerSequencer, build_sequence, import_pulsestreamer
from ._registration import pulse_streamer_device_extension, register_pulse_streamer_types

__all__ = [
    "ANALOG_PORTS",
    "ANALOG_SCALE",
    "DIGITAL_PORTS",
    "INSTALL_HINT",
    "MAX_PULSES",
    "PulseStreamerCompiler",
    "PulseStreamerConfiguration",
    "PulseStreamerSequencer",
    "build_sequence",
    "count_pulses",
    "import_pulsestreamer",
    "pulse_streamer_device_extension",
    "quantize",
    "register_pulse_streamer_types",
]
