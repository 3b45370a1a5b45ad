"""Real processes on one SQL store: a run, a reader-editor and two racers at once.

One process runs a sequence (writes shots, heartbeats, finishes); another creates and
edits other sequences and reads the running one again and again; two more race to
prepare the same sequence. Nothing is lost or seen twice, the reader sees whole shots
only, exactly one racer wins, and the loser gets a clear error. The longest call of each
process is checked to stay under a few seconds (a liveness check, not a benchmark).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from shotbook.registry import Serializer, default_registry
from shotbook.session import SQLiteConfig, State
from shotbook.types import ExecuteShot, StepsConfiguration, TimeLanes

from .test_sql_stores import postgresql_config

SRC = Path(__file__).resolve().parents[2] / "src"
SHOTS = 30

CHILD = r"""
import json, sys, time
from pathlib import Path
from datetime import UTC, datetime
import numpy as np
from shotbook.registry import Serializer, default_registry
from shotbook.session import InvalidStateTransitionError, RunOwner
from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration, TimeLanes

role, backend, options, shots = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
flag = Path(sys.argv[5])  # the editor creates it once it has read the sequence mid-run
if backend == "sqlite":
    from shotbook.session import SQLiteConfig
    config = SQLiteConfig(options["path"], lock_timeout=30)
else:
    from shotbook.session import PostgreSQLConfig
    config = PostgreSQLConfig(**{**options, "lock_timeout": 30})
manager = config.create_storage_manager(Serializer(default_registry()))
longest = 0.0

def timed(call):
    global longest
    start = time.perf_counter()
    result = call()
    longest = max(longest, time.perf_counter() - start)
    return result

steps, lanes = StepsConfiguration([ExecuteShot()]), TimeLanes(["a"], ["1 ms"])
picture = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
print("ready", flush=True)
sys.stdin.readline()
with manager.session() as session:
    s = session.sequences
    if role == "writer":
        empty, owner = ParameterNamespace.empty(), RunOwner.current()
        timed(lambda: s.prepare("/run/live", empty, {}, owner, shots))
        with timed(lambda: s.start("/run/live")) as writer:
            for index in range(shots):
                now = datetime.now(UTC)
                timed(lambda: writer.write_shot(
                    index, {"n": index}, {"camera.picture": picture + index,
                                          "analysis.total": float(index)}, now, now))
                if index % 5 == 0:
                    timed(lambda: s.heartbeat("/run/live"))
                if index == shots // 2:  # let the editor see the run half done
                    deadline = time.monotonic() + 60
                    while not flag.exists() and time.monotonic() < deadline:
                        time.sleep(0.01)
                time.sleep(0.005)
        timed(lambda: s.finish("/run/live"))
        result = {"written": shots}
    elif role == "editor":
        counts, edits, reads, problems = [], 0, 0, []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            path = f"/edits/{edits}"
            timed(lambda: s.create(path, steps, lanes))
            timed(lambda: s.set_notes(path, f"edit {edits}"))
            edits += 1
            state = timed(lambda: s.get_state("/run/live"))
            frame = timed(lambda: s.read("/run/live"))
            reads += 1
            indices = frame["shot_index"].to_list() if frame.height else []
            if indices != list(range(len(indices))):
                problems.append(f"indices {indices}")
            for row in frame.iter_rows(named=True) if frame.height else []:
                image = np.array(row["camera.picture"], dtype=np.uint16)
                if not np.array_equal(image, picture + row["shot_index"]):
                    problems.append(f"shot {row['shot_index']} is not whole")
                if row["n"] != row["shot_index"]:
                    problems.append(f"shot {row['shot_index']} has n = {row['n']}")
            counts.append(timed(lambda: s.get_stats("/run/live").number_of_shots))
            if state.name == "RUNNING" and 0 < len(indices) < shots:
                flag.touch()
            if state.name == "FINISHED" and counts[-1] == shots:
                break
        result = {"counts": counts, "edits": edits, "reads": reads, "problems": problems}
    else:  # racer
        try:
            timed(lambda: s.prepare("/race/target", ParameterNamespace.empty(), {},
                                    RunOwner.current(), 1))
            result = {"outcome": "won"}
        except InvalidStateTransitionError as error:
            result = {"outcome": "refused", "message": str(error)}
result["longest"] = longest
manager.close()
print(json.dumps(result), flush=True)
"""


def child_options(backend: str, config: Any) -> str:
    if backend == "sqlite":
        return json.dumps({"path": str(config.path)})
    options = asdict(config)
    options.pop("lock_timeout")
    return json.dumps(options)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_readers_editors_and_racers_at_once(backend: str, tmp_path: Path) -> None:
    config = (
        SQLiteConfig(tmp_path / "shared.sqlite") if backend == "sqlite" else postgresql_config()
    )
    manager = config.create_storage_manager(Serializer(default_registry()))
    manager.upgrade()
    steps, lanes = StepsConfiguration([ExecuteShot()]), TimeLanes(["a"], ["1 ms"])
    with manager.session() as session:
        session.sequences.create("/run/live", steps, lanes)
        session.sequences.create("/race/target", steps, lanes)
    environment = {**os.environ, "PYTHONPATH": str(SRC)}
    roles = ["writer", "editor", "racer", "racer"]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                role,
                backend,
                child_options(backend, config),
                str(SHOTS),
                str(tmp_path / "seen-mid-run"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for role in roles
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == "ready", child.stderr.read() if child.stderr else line
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    writer, editor, *racers = results
    assert writer["written"] == SHOTS
    assert editor["problems"] == []
    assert editor["reads"] >= 1
    counts = editor["counts"]
    assert counts == sorted(counts)  # never a shot that vanishes
    assert counts[-1] == SHOTS
    assert any(0 < count < SHOTS for count in counts)  # it did read the sequence mid-run
    assert sorted(r["outcome"] for r in racers) == ["refused", "won"]
    loser = next(r for r in racers if r["outcome"] == "refused")
    assert (
        "/race/target: cannot change the sequence from PREPARING to PREPARING" in loser["message"]
    )
    for result in results:
        assert result["longest"] < 5.0, result  # liveness: nobody waited for long
    with manager.session() as session:
        assert session.sequences.get_state("/run/live") is State.FINISHED
        frame = session.sequences.read("/run/live")
        assert frame["shot_index"].to_list() == list(range(SHOTS))
        edited = session.sequences.list("/edits")
        assert len(edited) == editor["edits"]
        assert session.sequences.get_notes("/edits/0") == "edit 0"
        assert session.sequences.get_state("/race/target") is State.PREPARING
    manager.close()
