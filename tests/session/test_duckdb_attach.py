"""The catalog file is attached to one shared in-memory DuckDB per process only during calls."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shotbook.session._duckdb._attach import attached

_OPEN_IN_ANOTHER_PROCESS = """
import sys, duckdb
try:
    connection = duckdb.connect(sys.argv[1])
except duckdb.IOException as error:
    print("locked" if "lock" in str(error).lower() else f"error: {error}")
else:
    print(connection.execute("SELECT count(*) FROM t").fetchone()[0])
"""


def other_process_sees(path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _OPEN_IN_ANOTHER_PROCESS, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout.strip() or result.stderr


def test_the_file_is_released_after_the_call_and_held_during_it(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    with attached(path) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
        connection.execute("INSERT INTO t VALUES (1), (2)")
        assert other_process_sees(path) == "locked"
    assert other_process_sees(path) == "2"


def test_threads_share_the_attachment_and_keep_their_own_transactions(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    with attached(path) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
    inside = threading.Event()
    done = threading.Event()
    seen: list[int] = []

    def writer() -> None:
        with attached(path) as connection:
            connection.begin()
            connection.execute("INSERT INTO t VALUES (7)")
            inside.set()
            done.wait(30)
            connection.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(30)
    with attached(path) as connection:  # the other thread's transaction is not committed yet
        seen.append(connection.execute("SELECT count(*) FROM t").fetchone()[0])  # type: ignore[index]
    done.set()
    thread.join(30)
    with attached(path) as connection:
        seen.append(connection.execute("SELECT count(*) FROM t").fetchone()[0])  # type: ignore[index]
    assert seen == [0, 1]
    assert other_process_sees(path) == "1"


def test_a_file_held_by_another_process_raises_and_counts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.duckdb"
    with attached(path) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c = duckdb.connect({str(path)!r}); "
         "print('held', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException, match="lock"), attached(path):
            pass
    finally:
        holder.communicate("\n", timeout=30)
    with attached(path) as connection:  # attachable again once the other process is gone
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert other_process_sees(path) == "0"


def test_paths_with_quotes_are_attached(tmp_path: Path) -> None:
    folder = tmp_path / "o'brien lab"
    folder.mkdir()
    with attached(folder / "catalog.duckdb") as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
    assert other_process_sees(folder / "catalog.duckdb") == "0"


def _child_reads(path: str, result: Any) -> None:
    with attached(Path(path)) as connection:
        result.put(connection.execute("SELECT count(*) FROM t").fetchone()[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_attaches_with_its_own_instance(tmp_path: Path) -> None:
    """A process forked while the parent had the catalog attached does not use the parent's
    DuckDB instance (not fork-safe), and can open the catalog once the parent lets it go."""
    path = tmp_path / "catalog.duckdb"
    with attached(path) as connection:
        connection.execute("CREATE TABLE t (a INTEGER)")
        connection.execute("INSERT INTO t VALUES (1), (2), (3)")
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    child = context.Process(target=_child_reads, args=(str(path), result))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert result.get(timeout=10) == 3
    with attached(path) as connection:  # the parent's own instance still works
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (3,)
