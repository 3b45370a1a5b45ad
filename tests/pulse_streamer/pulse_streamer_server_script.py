"""A device server whose Pulse Streamers talk to the recording stand-in of the client's
``PulseStreamer`` class (no physical box here), which appends every call to a file.

python tests/pulse_streamer/pulse_streamer_server_script.py --log-dir DIR --record FILE
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: tests.*

from shotbook.device.pulsestreamer import PulseStreamerSequencer, register_pulse_streamer_types
from shotbook.device.remote import InsecureRPCConfiguration, run_device_server
from shotbook.registry import default_registry
from tests.pulse_streamer.recording import RecordingPulseStreamer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--record", required=True, help="the file the stand-in writes to")
    args = parser.parse_args()
    RecordingPulseStreamer.record_file = Path(args.record)
    PulseStreamerSequencer.client_class = RecordingPulseStreamer
    registry = default_registry()
    register_pulse_streamer_types(registry)
    run_device_server(
        InsecureRPCConfiguration("127.0.0.1", 0), registry, "pulser-pc", log_dir=args.log_dir
    )


if __name__ == "__main__":
    main()
