"""Processes the panel's tests start: an experiment server on the simulated lab."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    log_dir: Path

    def log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.log_dir.glob("*.log")))


@contextmanager
def experiment_server(store: Path, log_dir: Path, *, speed: float = 0.0) -> Iterator[ServerProcess]:
    """Run ``tests.ui.procs.experiment_server`` on ``store`` (made by ``make_store``) for the
    block: a real process serving on 127.0.0.1; stopped with SIGTERM (killed if it hangs)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    command = [
        sys.executable, "-m", "tests.ui.procs.experiment_server", "--store", str(store),
        "--log-dir", str(log_dir), "--speed", str(speed),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(60)
    try:
        if not line or not line[0].startswith("READY"):
            process.kill()
            _, error = process.communicate(timeout=10)
            raise RuntimeError(f"the experiment server did not start:\n{error}")
        yield ServerProcess(process, int(line[0].split()[1]), log_dir)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
