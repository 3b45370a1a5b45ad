"""Entry point of the ``shotbook`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shotbook import __version__


def _show_scan(args: argparse.Namespace) -> int:
    from shotbook.types import format_value

    from ._demo_scan import demo_globals, demo_scan

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``shotbook`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
