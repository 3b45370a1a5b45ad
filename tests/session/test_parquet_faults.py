"""Crash safety and concurrent readers of the Parquet shot store, with real processes.

A writer process killed at any point (random moments, and chosen points inside a shot write
and a compaction) leaves each acknowledged shot exactly once; a reader process polling a
running sequence never sees a shot twice nor misses an acknowledged one.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from shotbook.session import ParquetShotStore

PROCS = Path(__file__).parent / "procs"
sys.path.insert(0, str(PROCS))
from shot_writer import expected_shot  # noqa: E402

SRC = Path(__file__).parents[2] / "src"


def start(script: str, *args: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(PROCS)])}
    return subprocess.Popen(
        [sys.executable, str(PROCS / script), *map(str, args)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def acknowledged(log: Path) -> list[int]:
    """Indices the writer logged after write_shot returned (complete lines only)."""
    if not log.exists():
        return []
    return [int(line) for line in log.read_text().splitlines(keepends=True) if line.endswith("\n")]


def check_after_crash(folder: Path, log: Path) -> None:
    acked = acknowledged(log)
    store = ParquetShotStore(folder)
    store.sweep()
    stored = store.read_table(["shot_index"]).column(0).to_pylist()
    assert [i for i, n in Counter(stored).items() if n > 1] == []
    assert set(acked) <= set(stored), f"lost acknowledged shots {sorted(set(acked) - set(stored))}"
    # At most the shot in flight (appended, not yet logged) is extra.
    in_flight = max(acked, default=-1) + 1
    assert set(stored) - set(acked) <= {in_flight}
    assert store.shot_indices() == sorted(stored)
    frame = store.read_polars()
    for row, index in enumerate(frame.get_column("shot_index")):
        parameters, data = expected_shot(index)
        assert frame.get_column("repeat")[row] == parameters["repeat"]
        picture = frame.get_column("camera.picture")[row].to_numpy()
        np.testing.assert_array_equal(picture, data["camera.picture"])
    names = [p.name for p in folder.iterdir()]
    assert not [n for n in names if n.startswith(".tmp-")]
    # The store opens for writing again and carries on.
    with store.writer() as writer:
        parameters, data = expected_shot(in_flight + 1)
        now = datetime.now(UTC)
        writer.write_shot(in_flight + 1, parameters, data, now, now)
    assert store.shot_indices() == [*sorted(stored), in_flight + 1]
    # everything is compacted and the journals are gone
    assert not [p.name for p in folder.iterdir() if p.name.startswith(("shot-", "journal-"))]


@pytest.mark.parametrize("seed", range(20))
def test_kill_at_a_random_moment(tmp_path: Path, seed: int) -> None:
    chance = random.Random(seed)
    folder, log = tmp_path / "seq", tmp_path / "acked.log"
    writer = start("shot_writer.py", folder, log, chance.choice([2, 3, 5]))
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(chance.uniform(0.0, 0.3))
    finally:
        writer.kill()
        writer.wait()
    check_after_crash(folder, log)


CRASH_POINTS = [
    ("shot-torn", 3),
    ("shot-torn", 8),
    ("shot-after-append", 4),
    ("part-before-rename", 2),
    ("part-after-rename", 2),
    ("manifest-before-swap", 2),
    ("manifest-after-swap", 1),
    ("manifest-after-swap", 2),
    ("mid-delete", 4),
]


@pytest.mark.parametrize(("point", "occurrence"), CRASH_POINTS)
def test_kill_at_chosen_points(tmp_path: Path, point: str, occurrence: int) -> None:
    folder, log = tmp_path / "seq", tmp_path / "acked.log"
    writer = start("shot_writer.py", folder, log, 3, point, occurrence)
    try:
        writer.wait(timeout=60)
    finally:
        writer.kill()
    assert writer.returncode != 0, "the writer should have died at the crash point"
    assert acknowledged(log), "the crash should come after some acknowledged shots"
    check_after_crash(folder, log)


def test_a_reader_process_sees_a_consistent_running_sequence(tmp_path: Path) -> None:
    folder, log, stop = tmp_path / "seq", tmp_path / "acked.log", tmp_path / "stop"
    count = tmp_path / "reads"
    store = ParquetShotStore(folder, compact_every=5)
    reader = start("shot_reader.py", folder, log, stop, count)

    def reads_so_far() -> int:
        try:
            return int(count.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    written = 0
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready"
        # 120 shots at least, and on until the reader has read 10 times during the writes (a
        # loaded machine may give it little time), within a generous deadline
        deadline = time.monotonic() + 120
        with store.writer() as writer, open(log, "a") as acked:
            while written < 120 or (reads_so_far() < 10 and time.monotonic() < deadline):
                parameters, data = expected_shot(written)
                now = datetime.now(UTC)
                writer.write_shot(written, parameters, data, now, now)
                acked.write(f"{written}\n")
                acked.flush()
                written += 1
                time.sleep(0.02)
        stop.touch()
        output, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    result = json.loads(output.strip().splitlines()[-1])
    assert result["problems"] == []
    assert result["reads"] >= 10
    assert store.shot_indices() == list(range(written))
