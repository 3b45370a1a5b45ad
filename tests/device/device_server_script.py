"""Run a device server for the tests (run_device_server): prints its address, serves until
interrupted or killed.

python tests/device/device_server_script.py --name NAME --log-dir DIR [--secret-key FILE
    --authorized KEYFILE ...] [--lease-timeout S] [--max-message-size BYTES]
"""

from __future__ import annotations

import argparse

from lab_devices import BrokenOpenDevice, EchoDevice, MeterDevice

from shotbook.device.remote import (
    InsecureRPCConfiguration,
    SecureRPCConfiguration,
    register_device_class,
    run_device_server,
)
from shotbook.device.sim import register_sim_types
from shotbook.registry import default_registry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="test-server")
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--secret-key")
    parser.add_argument("--authorized", nargs="*", default=[])
    parser.add_argument("--lease-timeout", type=float, default=10.0)
    parser.add_argument("--max-message-size", type=int, default=64 * 1024 * 1024)
    args = parser.parse_args()
    registry = default_registry()
    register_sim_types(registry)
    register_device_class(registry, "echo_device", EchoDevice)
    register_device_class(registry, "broken_device", BrokenOpenDevice)
    register_device_class(registry, "meter_device", MeterDevice)
    if args.secret_key:
        config: InsecureRPCConfiguration | SecureRPCConfiguration = SecureRPCConfiguration(
            "127.0.0.1", 0, args.secret_key, tuple(args.authorized)
        )
    else:
        config = InsecureRPCConfiguration("127.0.0.1", 0)
    run_device_server(
        config,
        registry,
        args.name,
        log_dir=args.log_dir,
        lease_timeout=args.lease_timeout,
        max_message_size=args.max_message_size,
    )


if __name__ == "__main__":
    main()
