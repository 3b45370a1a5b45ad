"""A process for the shot-locator tests: one catalog operation, optionally killed half-way.

Usage: python locator_child.py ROOT OPERATION ARG... [--die POINT]

OPERATION: ``move SOURCE DESTINATION`` | ``delete PATH`` | ``reset PATH``.
POINT: ``before-commit`` (markers removed, catalog not committed), ``after-commit`` (catalog
committed, markers and index not yet written) or ``mid-settle`` (committed, markers
written, killed as it writes the index). The process kills itself (no cleanup runs) at that point.
Prints ``done`` when the operation ends normally.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterable
from typing import Any

from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig, DuckDBStorageManager
from shotbook.session._parquet import _locator as _shot_locator


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def install(point: str) -> None:
    original = _shot_locator.ShotLocator.commit

    def commit(
        self: Any, connection: Any, touched: Iterable[str], commit: Callable[[], object]
    ) -> None:
        if point == "before-commit":
            original(self, connection, touched, die)
        elif point == "after-commit":

            def commit_then_die() -> None:
                commit()
                die()

            original(self, connection, touched, commit_then_die)
        elif point == "mid-settle":
            write = _shot_locator._write_atomically

            def dying_write(target: Any, text: str) -> None:
                if target.name == _shot_locator.INDEX_NAME:  # markers written, index not
                    die()
                write(target, text)

            _shot_locator._write_atomically = dying_write
            original(self, connection, touched, commit)
        else:
            raise SystemExit(f"unknown crash point {point!r}")

    _shot_locator.ShotLocator.commit = commit  # type: ignore[method-assign]


def main() -> None:
    arguments = sys.argv[1:]
    if "--die" in arguments:
        at = arguments.index("--die")
        install(arguments[at + 1])
        del arguments[at : at + 2]
    root, operation, *rest = arguments
    manager = DuckDBStorageManager(Serializer(default_registry()), DuckDBConfig(root))
    with manager.session() as session:
        if operation == "move":
            session.paths.move(rest[0], rest[1])
        elif operation == "delete":
            session.paths.delete(rest[0], delete_sequences=True)
        elif operation == "reset":
            session.sequences.reset_to_draft(rest[0])
        else:
            raise SystemExit(f"unknown operation {operation!r}")
    print("done", flush=True)


if __name__ == "__main__":
    main()
