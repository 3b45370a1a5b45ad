"""An experiment server on a store, for the tests: prints 'READY <port>' then serves.

python experiment_server.py --store DIR --log-dir DIR [--name NAME]
    [--device-server NAME=PORT ...] [--stale-after S]
"""

from __future__ import annotations

import argparse
import sys

from tests.control.lab import lab_registry, make_storage

from shotbook.control import (
    LocalExperimentManager,
    LocalExperimentManagerConfiguration,
    ShotRetryConfig,
    serve_experiment,
)
from shotbook.device.remote import InsecureRPCConfiguration


def count_atoms(data, parameters):  # type: ignore[no-untyped-def]
    return float(data["camera.cloud"].sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--name", default="test-experiment-server")
    parser.add_argument("--device-server", action="append", default=[])
    parser.add_argument("--stale-after", type=float, default=30.0)
    args = parser.parse_args()
    registry, compilers = lab_registry()
    storage = make_storage(args.store, registry)
    servers = {}
    for item in args.device_server:
        name, port = item.split("=")
        servers[name] = InsecureRPCConfiguration("127.0.0.1", int(port))
    manager = LocalExperimentManager(
        storage,
        registry,
        compilers=compilers,
        device_servers=servers,
        shot_retry_config=ShotRetryConfig((TimeoutError,), 2),
        analyses={"atoms": count_atoms},
        configuration=LocalExperimentManagerConfiguration(
            heartbeat_interval=0.2, stale_after=args.stale_after, shot_timeout=5.0
        ),
    )
    recovered = ",".join(manager.recovered) or "-"
    serve_experiment(
        manager,
        InsecureRPCConfiguration("127.0.0.1", 0),
        args.name,
        log_dir=args.log_dir,
        ready=lambda server: print(f"READY {server.port} {recovered}", flush=True),
    )
    print("STOPPED", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
