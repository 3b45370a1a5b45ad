"""Real processes sharing one DuckDB store: no call waits long, a killed writer loses nothing.

Children are plain ``python -c`` processes on the same store. They measure the
longest duration of each of their calls. The assertion on it is a liveness check, not a
performance figure (those are in bench/): every call took under half the default bounded
lock wait (5 s of 10 s, as the SQL twin asks), and the editor saw the run progress between its
edits (the two processes interleaved rather than one waiting for the other to finish). A
1 s bound failed at load average 8-11 on unchanged code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig, DuckDBStorageManager, State
from shotbook.types import ExecuteShot, LinspaceLoop, StepsConfiguration, TimeLanes

SRC = Path(__file__).resolve().parents[2] / "src"

CHILD = r"""
import json, sys, time
from datetime import UTC, datetime
import numpy as np
from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig, DuckDBStorageManager, RunOwner
from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration, TimeLanes
import shotbook.session._parquet._store  # imported before timing: the check is about waits

role, root, path, duration, out = sys.argv[1:6]
duration = float(duration)
manager = DuckDBStorageManager(
    Serializer(default_registry()), DuckDBConfig(root, compact_every=3, lock_timeout=30)
)
longest = {}

def timed(name, call):
    start = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - start
    longest[name] = max(longest.get(name, 0.0), elapsed)
    return result

import polars as pl  # warm polars' Parquet reader up before timing anything
pl.DataFrame({"a": [1]}).write_parquet(out + ".warm.parquet")
pl.scan_parquet(out + ".warm.parquet").collect()
with manager.session() as session:
    session.sequences.get_stats(path)
print("ready", flush=True)
sys.stdin.readline()  # wait for "go": both children start together
with manager.session() as session:  # kept open for the whole life of the process
    if role in ("writer", "killed-writer"):
        timed("prepare", lambda: session.sequences.prepare(
            path, ParameterNamespace.empty(), {}, RunOwner.current(), None))
        writer = timed("start", lambda: session.sequences.start(path))
        log = open(out + ".acked", "a", encoding="utf-8")
        picture = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
        end = time.monotonic() + duration
        index, last_beat = 0, 0.0
        while time.monotonic() < end:
            now = datetime.now(UTC)
            timed("write_shot", lambda: writer.write_shot(
                index, {"n": index}, {"camera.picture": picture + index,
                                      "analysis.atom_number": float(index)}, now, now))
            log.write(f"{index}\n")
            log.flush()
            index += 1
            if time.monotonic() - last_beat > 0.3:
                timed("heartbeat", lambda: session.sequences.heartbeat(path))
                last_beat = time.monotonic()
            time.sleep(0.01)
        timed("close", writer.close)
        timed("finish", lambda: session.sequences.finish(path))
        result = {"shots": index}
    else:  # editor: edits other sequences and reads the running one every 100 ms
        seen, edits = [], 0
        steps = StepsConfiguration([ExecuteShot()])
        lanes = TimeLanes(["a"], ["1 ms"])

        def edit(step, name):  # one edit per tick, in turn
            return [
                ("create", lambda: session.sequences.create(name, steps, lanes)),
                ("set_notes", lambda: session.sequences.set_notes(name, "note")),
                ("set_iteration", lambda: session.sequences.set_iteration(name, steps)),
                ("duplicate", lambda: session.sequences.duplicate(name, name + " copy")),
                ("delete", lambda: session.paths.delete(name + " copy", delete_sequences=True)),
                ("list", lambda: session.sequences.all_sequences()),
            ][step]

        end = time.monotonic() + duration
        tick_number = 0
        while time.monotonic() < end:
            tick = time.monotonic()
            stats = timed("get_stats", lambda: session.sequences.get_stats(path))
            frame = timed("read", lambda: session.sequences.read(path))
            seen.append([stats.number_of_shots, frame.height,
                         frame["shot_index"].to_list() if frame.height else []])
            step = tick_number % 6
            timed(*edit(step, f"/edits/seq {tick_number // 6}"))
            edits += 1
            tick_number += 1
            time.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
        result = {"seen": seen, "edits": edits}
result["longest"] = longest
with open(out, "w", encoding="utf-8") as file:
    json.dump(result, file)
"""


def start_child(
    role: str, root: Path, path: str, duration: float, out: Path
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, role, str(root), path, str(duration), str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def go(*processes: subprocess.Popen[str]) -> None:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStorageManager:
    manager = DuckDBStorageManager(
        Serializer(default_registry()), DuckDBConfig(tmp_path / "store", lock_timeout=30)
    )
    manager.upgrade()
    with manager.session() as session:
        steps = StepsConfiguration([LinspaceLoop("n", "0", "1", 1000, [ExecuteShot()])])
        session.sequences.create("/run", steps, TimeLanes(["a"], ["1 ms"]))
        session.paths.create("/edits")
    return manager


def test_a_writer_and_an_editor_never_wait_long(
    store: DuckDBStorageManager, tmp_path: Path
) -> None:
    root = store.config.root
    with store.session() as held_all_along:  # a session open in this process too
        writer = start_child("writer", root, "/run", 3.0, tmp_path / "writer.json")
        editor = start_child("editor", root, "/run", 3.0, tmp_path / "editor.json")
        go(writer, editor)
        assert writer.wait(timeout=120) == 0
        assert editor.wait(timeout=120) == 0
        written: dict[str, Any] = json.loads((tmp_path / "writer.json").read_text())
        edited: dict[str, Any] = json.loads((tmp_path / "editor.json").read_text())

        for role, result in (("writer", written), ("editor", edited)):
            slowest = max(result["longest"].items(), key=lambda item: item[1])
            print(role, {name: round(value * 1e3) for name, value in result["longest"].items()})
            assert slowest[1] < 5.0, f"{role}: {slowest[0]} waited {slowest[1]:.2f} s"
        assert written["shots"] >= 30  # the writer kept writing
        assert edited["edits"] >= 12
        counts = [count for count, _, _ in edited["seen"]]
        assert counts == sorted(counts), "the number of shots went backwards"
        assert len(set(counts)) >= 5, "the editor did not see the run progress"
        for count, height, indices in edited["seen"]:
            assert indices == list(range(len(indices)))  # no shot twice, none missing
            assert height >= 0
            assert count >= 0
        stats = held_all_along.sequences.get_stats("/run")
        assert stats.state is State.FINISHED
        assert stats.number_of_shots == written["shots"]
        assert held_all_along.sequences.read("/run").height == written["shots"]
        created = {path.name for path in held_all_along.paths.children("/edits")}
        originals = {name for name in created if not name.endswith(" copy")}
        assert len(originals) == (edited["edits"] + 5) // 6  # one per cycle of 6 edits
        assert len(created - originals) <= 1  # copies were deleted, but maybe the last one
        assert held_all_along.sequences.get_notes("/edits/seq 0") == "note"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("acknowledged_before_kill", [4, 11])
def test_a_killed_writer_leaves_a_usable_store(
    store: DuckDBStorageManager, tmp_path: Path, acknowledged_before_kill: int
) -> None:
    out = tmp_path / "killed.json"
    acked_log = Path(str(out) + ".acked")
    writer = start_child("killed-writer", store.config.root, "/run", 60.0, out)
    go(writer)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if acked_log.exists() and len(acked_log.read_text().split()) >= acknowledged_before_kill:
            break
        time.sleep(0.005)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    acked = [int(line) for line in acked_log.read_text().split()]
    assert len(acked) >= acknowledged_before_kill

    with store.session() as session:
        [running] = session.sequences.running_sequences()
        assert running.path.parts == ("run",)
        assert running.owner is not None
        assert running.owner.pid == writer.pid
        session.sequences.crash("/run", f"owner {running.owner} is gone")
        assert session.sequences.get_state("/run") is State.CRASHED
        indices = [shot.index for shot in session.sequences.get_shots("/run")]
        assert len(indices) == len(set(indices))
        assert set(acked) <= set(indices)
        # at most the shot being written when killed may be there beyond the log
        assert len(indices) <= len(acked) + 1
        frame = session.sequences.read("/run")
        assert frame["shot_index"].to_list() == indices
        assert session.sequences.get_stats("/run").number_of_shots == len(indices)
        last = session.sequences.get_shot("/run", acked[-1])
        assert last["analysis.atom_number"] == float(acked[-1])
        session.sequences.reset_to_draft("/run")
        assert session.sequences.get_shots("/run") == []
