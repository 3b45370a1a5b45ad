"""A writer process for the crash tests: writes shots in a loop, logs each acknowledged index.

Usage: python shot_writer.py FOLDER LOG COMPACT_EVERY [CRASH_POINT OCCURRENCE]

After ``write_shot`` returns, the index is appended to LOG and flushed. With a crash point, the
process kills itself (SIGKILL) at that point of the OCCURRENCE-th compaction or shot write;
without one it writes until it is killed.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from shotbook.session import ParquetShotStore
from shotbook.session._parquet import _journal as _shot_journal
from shotbook.session._parquet import _writer as _parquet_writer


def expected_shot(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters and data of shot ``index`` (the test recomputes them to compare)."""
    rng = np.random.default_rng(index)
    parameters = {"wait_time": 0.001 * index, "repeat": index, "flag": index % 2 == 0}
    data = {
        "camera.picture": rng.integers(0, 4096, size=(64, 64), dtype=np.uint16),
        "analysis.atom_number": 1000.0 + index,
    }
    return parameters, data


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def install_crash(point: str, occurrence: int) -> None:
    """Kill this process at one point of the writer's work.

    ``shot-torn``: half of the shot's batch is in the journal; ``shot-after-append``: the
    whole batch is, but ``write_shot`` has not returned.
    """
    seen = {"count": 0}

    def hit() -> bool:
        seen["count"] += 1
        return seen["count"] == occurrence

    original_replace: Callable[[Path, Path], None] = _parquet_writer.replace_file
    original_manifest = _parquet_writer.write_manifest
    original_remove = _parquet_writer.remove_quietly
    original_append = _shot_journal.JournalSegment.append

    def append(self: _shot_journal.JournalSegment, batch: pa.RecordBatch, index: int) -> None:
        if point == "shot-torn" and hit():
            message = batch.serialize().to_pybytes()
            with open(self.path, "ab") as file:
                file.write(message[: len(message) // 2])
            die()
        original_append(self, batch, index)
        if point == "shot-after-append" and hit():
            die()

    def replace_file(source: Path, target: Path) -> None:
        if point == "part-before-rename" and hit():
            die()
        original_replace(source, target)
        if point == "part-after-rename" and hit():
            die()

    def write_manifest(folder: Path, manifest: Any, *, fsync: bool) -> None:
        if point == "manifest-before-swap" and manifest.parts and hit():
            die()
        original_manifest(folder, manifest, fsync=fsync)
        if point == "manifest-after-swap" and manifest.parts and hit():
            die()

    def remove_quietly(path: Path) -> bool:
        done = original_remove(path)
        if point == "mid-delete" and hit():
            die()
        return done

    _shot_journal.JournalSegment.append = append  # type: ignore[method-assign]
    _parquet_writer.replace_file = replace_file  # type: ignore[assignment]
    _parquet_writer.write_manifest = write_manifest  # type: ignore[assignment]
    _parquet_writer.remove_quietly = remove_quietly  # type: ignore[assignment]


def main() -> None:
    folder, log_path, compact_every = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    if len(sys.argv) > 4:
        install_crash(sys.argv[4], int(sys.argv[5]))
    store = ParquetShotStore(folder, compact_every=compact_every)
    with open(log_path, "a") as log, store.writer() as writer:
        print("ready", flush=True)
        for index in range(100_000):
            parameters, data = expected_shot(index)
            now = datetime.now(UTC)
            writer.write_shot(index, parameters, data, now, now)
            log.write(f"{index}\n")
            log.flush()


if __name__ == "__main__":
    main()
