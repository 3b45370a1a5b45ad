"""A device server with the simulated lab, for the tests: prints 'READY <port>' then serves."""

from __future__ import annotations

import argparse

from tests.control.lab import lab_registry

from shotbook.device.remote import DeviceServer, InsecureRPCConfiguration


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="pc-2")
    parser.add_argument("--log-dir", required=True)
    args = parser.parse_args()
    registry, _ = lab_registry()
    server = DeviceServer(
        InsecureRPCConfiguration("127.0.0.1", 0), registry, args.name, log_dir=args.log_dir,
        lease_timeout=2.0,
    )  # fmt: skip
    print(f"READY {server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
