"""Entry point of the ``shotbook`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from shotbook._version import __version__


def _show_scan(args: argparse.Namespace) -> int:
    from shotbook.demo import demo_globals, demo_scan
    from shotbook.types import format_value

    scan = demo_scan(args.points, args.repetitions)
    globals_ = demo_globals().compile()
    expected = scan.expected_number_shots(globals_)
    print(f"shotbook {__version__}: time-of-flight scan of a simulated cold-atom cloud")
    print(f"expected shots: {expected}")
    header_done = False
    names: list[str] = []
    for index, shot in enumerate(scan.walk(globals_)):
        if not header_done:
            names = list(shot)
            widths = [max(len(name), 12) for name in names]
            print("shot  " + "  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True)))
            header_done = True
        cells = [format_value(shot[n], shot.unit(n)) for n in names]
        print(f"{index:4d}  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.list:
        return _show_scan(args)
    from ._demo import run_demo

    return run_demo(args)


def _device_server(args: argparse.Namespace) -> int:
    from shotbook.device.remote import InsecureRPCConfiguration, RPCConfiguration
    from shotbook.extension import load_experiment

    experiment = load_experiment(args.experiment)
    registered = experiment.device_servers.get(args.name)
    config: RPCConfiguration
    if registered is None or args.port is not None:
        config = InsecureRPCConfiguration(args.host, args.port or 0)
    elif isinstance(registered, InsecureRPCConfiguration):
        config = registered
    else:
        raise TypeError(
            f"device server {args.name!r} is registered with a {type(registered).__name__}, "
            "which tells clients how to reach it; serve it from a script with "
            "experiment.serve_devices(SecureRPCConfiguration(...)), or give --port to serve "
            "it without encryption"
        )
    experiment.serve_devices(config, args.name)
    return 0


def _experiment_server(args: argparse.Namespace) -> int:
    from shotbook.extension import load_experiment

    load_experiment(args.experiment).launch_experiment_server(name=args.name)
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from shotbook.device.remote import keygen

    secret, public = keygen(args.path)
    print(f"secret key: {secret} (keep it on this computer)")
    print(f"public key: {public} (give it to the other side)")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    from shotbook.extension import load_experiment
    from shotbook.session import DuckDBConfig

    if args.experiment:
        experiment = load_experiment(args.experiment)
    else:
        from shotbook.extension import Experiment

        experiment = Experiment(DuckDBConfig(args.root))
        experiment.setup_default_extensions()
    where = experiment.upgrade_database()
    print("store is up to date" if where is None else f"previous catalog copied to {where}")
    return 0


def _copy(args: argparse.Namespace) -> int:
    from shotbook.extension import Experiment, load_experiment
    from shotbook.session import copy_store

    from ._stores import store_config

    experiment = load_experiment(args.experiment) if args.experiment else None
    if experiment is None:
        experiment = Experiment()
        experiment.setup_default_extensions()
    serializer = experiment.build_serializer()
    source = store_config(args.source).create_storage_manager(serializer)
    destination_config = store_config(args.destination)
    destination = destination_config.create_storage_manager(serializer)
    destination.upgrade()

    def progress(step: Any) -> None:
        print(
            f"  {step.sequence}: {step.sequences_done} / {step.sequences_total} sequences, "
            f"{step.shots_copied} shots",
            flush=True,
        )

    try:
        summary = copy_store(source, destination, progress=progress)
    finally:
        source.close()
        destination.close()
    print(
        f"copied {summary.sequences} sequences, {summary.shots} shots, {summary.folders} folders "
        f"to {args.destination}; every shot verified"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ._report import run_with_report

    report = None if args.report is None else Path(args.report)
    outcome = run_with_report(args.experiment, args.sequence, report, progress=not args.no_progress)
    if outcome.summary is not None:
        print(outcome.summary)
    if outcome.error is not None and (outcome.summary is None or outcome.summary.failure is None):
        print(f"error: {type(outcome.error).__name__}: {outcome.error}", file=sys.stderr)
    if report is not None:
        print(f"report: {report.resolve()}")
    return 0 if outcome.ok else 1


def _import_caqtus(args: argparse.Namespace) -> int:
    from shotbook.extension import CaqtusImportError, Experiment, load_experiment

    from ._stores import load_object, store_config

    experiment = load_experiment(args.experiment) if args.experiment else None
    if experiment is None:
        experiment = Experiment()
        experiment.setup_default_extensions()
    device_types = load_object(args.devices) if args.devices else {}
    destination = store_config(args.destination).create_storage_manager(
        experiment.build_serializer()
    )
    destination.upgrade()

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    from shotbook.extension import import_caqtus

    try:
        summary = import_caqtus(
            args.source, destination, device_types, progress=not args.quiet, warn=warn
        )
    except CaqtusImportError as error:
        print(f"shotbook import-caqtus: {error}", file=sys.stderr)
        return 2
    finally:
        destination.close()
    print(
        f"imported {summary.sequences_imported} sequences ({summary.sequences_skipped} already "
        f"there), {summary.shots_written} shots, {summary.folders} folders into "
        f"{args.destination}; every shot verified"
    )
    for path, problems in summary.incomplete.items():
        print(f"incomplete: {path}: {len(problems)} expression(s) kept as text (see its notes)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``shotbook`` command."""
    parser = argparse.ArgumentParser(prog="shotbook", description=__doc__)
    parser.add_argument("--version", action="version", version=f"shotbook {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="run a simulated time-of-flight scan, store it and fit the temperature",
    )
    demo.add_argument("--points", type=int, default=8, help="time-of-flight values")
    demo.add_argument("--repetitions", type=int, default=3, help="shots per value")
    demo.add_argument("--root", default="shotbook-data", help="folder of the DuckDB store")
    demo.add_argument("--seed", type=int, default=0, help="seed of the simulated camera")
    demo.add_argument(
        "--list", action="store_true", help="only list the scan's shots and their parameters"
    )
    demo.set_defaults(handler=_demo)

    device = commands.add_parser("device-server", help="serve a lab's devices to other computers")
    device.add_argument("experiment", help="MODULE:EXPERIMENT, e.g. my_lab:experiment")
    device.add_argument("--name", default="device_server", help="registered server name")
    device.add_argument("--host", default="127.0.0.1", help="address to listen on")
    device.add_argument("--port", type=int, default=None, help="port (default: registered)")
    device.set_defaults(handler=_device_server)

    server = commands.add_parser("experiment-server", help="run sequences for remote notebooks")
    server.add_argument("experiment", help="MODULE:EXPERIMENT, e.g. my_lab:experiment")
    server.add_argument("--name", default="experiment-server", help="name of the log file")
    server.set_defaults(handler=_experiment_server)

    keys = commands.add_parser("keygen", help="write a CurveZMQ key pair (PATH and PATH.pub)")
    keys.add_argument("path", help="where to write the secret key")
    keys.set_defaults(handler=_keygen)

    upgrade = commands.add_parser("upgrade", help="create or migrate a store (copies it first)")
    upgrade.add_argument("experiment", nargs="?", help="MODULE:EXPERIMENT (else --root)")
    upgrade.add_argument("--root", default="shotbook-data", help="folder of a DuckDB store")
    upgrade.set_defaults(handler=_upgrade)

    copy = commands.add_parser(
        "copy",
        help="copy a store to another (folder = DuckDB, .sqlite file, postgresql://... or .yaml)",
    )
    copy.add_argument("source", help="the store to read")
    copy.add_argument("destination", help="an empty store to fill")
    copy.add_argument("--experiment", help="MODULE:EXPERIMENT whose extensions the stores hold")
    copy.set_defaults(handler=_copy)

    run = commands.add_parser(
        "run",
        help="run one sequence without Jupyter (for cron); exit status 1 unless it finishes",
    )
    run.add_argument("experiment", help="MODULE:EXPERIMENT, e.g. my_lab:experiment")
    run.add_argument("sequence", help="path of the sequence to run, e.g. '/scans/tof'")
    run.add_argument(
        "--report",
        metavar="FILE",
        help="write a self-contained HTML report here, on success and on failure",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)

    caqtus = commands.add_parser(
        "import-caqtus",
        help="import a caqtus database (SQLite file or postgresql://...) into a store; rerun "
        "to resume an interrupted import",
    )
    caqtus.add_argument("source", help="the caqtus database: a .sqlite file or postgresql://...")
    caqtus.add_argument("destination", help="the store to fill (as for copy)")
    caqtus.add_argument("--experiment", help="MODULE:EXPERIMENT whose extensions the store holds")
    caqtus.add_argument(
        "--devices",
        help="MODULE:NAME of a dict {caqtus configuration type name: converter} "
        "(unmapped types are kept as opaque entries)",
    )
    caqtus.add_argument("--quiet", action="store_true", help="no progress bar")
    caqtus.set_defaults(handler=_import_caqtus)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``shotbook`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
