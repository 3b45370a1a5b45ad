"""An experiment server on the panel tests' simulated lab: prints 'READY <port>' then serves.

python -m tests.ui.procs.experiment_server --store DIR --log-dir DIR [--speed S]

The store must exist (``tests.ui.lab.make_store``); the server runs its sequences with the
``atom_number`` analysis, as the in-process manager of the panel's tests does.
"""

from __future__ import annotations

import argparse
import sys

from shotbook.control import serve_experiment
from shotbook.device.remote import InsecureRPCConfiguration
from tests.ui.lab import make_manager, make_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--speed", type=float, default=0.0)
    parser.add_argument("--name", default="panel-test-server")
    args = parser.parse_args()
    storage, registry, compilers = make_store(args.store, speed=args.speed)
    manager = make_manager(storage, registry, compilers)
    serve_experiment(
        manager,
        InsecureRPCConfiguration("127.0.0.1", 0),
        args.name,
        log_dir=args.log_dir,
        ready=lambda server: print(f"READY {server.port}", flush=True),
    )
    storage.close()
    print("STOPPED", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
