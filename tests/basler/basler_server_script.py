"""A device server serving Basler cameras (run with PYLON_CAMEMU set for emulated ones).

python tests/basler/basler_server_script.py --log-dir DIR
"""

from __future__ import annotations

import argparse

from shotbook.device.basler import register_basler_types
from shotbook.device.remote import InsecureRPCConfiguration, run_device_server
from shotbook.registry import default_registry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args()
    registry = default_registry()
    register_basler_types(registry)
    run_device_server(
        InsecureRPCConfiguration("127.0.0.1", 0), registry, "basler-pc", log_dir=args.log_dir
    )


if __name__ == "__main__":
    main()
