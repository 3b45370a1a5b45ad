"""Fresh SQL stores for the tests (used by ``conftest.BACKENDS`` and the SQL tests).

PostgreSQL: one database is created per test process on first use (connecting to the
``postgres`` database of 127.0.0.1:5432, or ``PGHOST``/``PGPORT``/``PGUSER``) and dropped
when the process exits; each store is a fresh schema in it. When the server cannot be
reached the test is skipped, which the suite's conftest turns into a failure in CI.
"""

from __future__ import annotations

import atexit
import getpass
import itertools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

HOST = os.environ.get("PGHOST", "127.0.0.1")
PORT = int(os.environ.get("PGPORT", "5432"))
USER = os.environ.get("PGUSER") or getpass.getuser()

_database: str | None = None
_unreachable: str | None = None
_schemas = itertools.count()


def _drop_database(name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(
            host=HOST, port=PORT, user=USER, dbname="postgres", autocommit=True
        ) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass  # the server went away: nothing left to drop


def test_database() -> str:
    """The database of this test process (created on first call, dropped at exit)."""
    global _database, _unreachable
    if _database is not None:
        return _database
    if _unreachable is not None:
        pytest.skip(_unreachable)
    import psycopg

    try:
        admin = psycopg.connect(
            host=HOST, port=PORT, user=USER, dbname="postgres", autocommit=True, connect_timeout=5
        )
    except psycopg.OperationalError as error:
        _unreachable = f"PostgreSQL is not reachable at {HOST}:{PORT} as {USER}: {error}"
        pytest.skip(_unreachable)
    name = f"shotbook_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    atexit.register(_drop_database, name)
    _database = name
    return name


test_database.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def postgresql_config(**options: Any) -> Any:
    """The configuration of a new, empty PostgreSQL store (a fresh schema)."""
    from shotbook.session import PostgreSQLConfig

    schema = f"store_{next(_schemas)}_{secrets.token_hex(3)}"
    return PostgreSQLConfig(
        USER, host=HOST, port=PORT, database=test_database(), schema=schema, **options
    )


@contextmanager
def postgresql(tmp: Path) -> Iterator[Any]:
    """A new PostgreSQL store for one test."""
    yield postgresql_config()


@contextmanager
def sqlite(tmp: Path) -> Iterator[Any]:
    """A new SQLite store for one test."""
    from shotbook.session import SQLiteConfig

    yield SQLiteConfig(tmp / "store.sqlite")
