"""Fixtures of the control tests: a store with the simulated lab, managers, subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shotbook.control import LocalExperimentManager, LocalExperimentManagerConfiguration
from shotbook.device.sim import simulated_lab

from .lab import lab_registry, make_storage, setup_store

PROCS = Path(__file__).with_name("procs")


@pytest.fixture
def lab() -> tuple[Any, dict[type, Any]]:
    return lab_registry()


@pytest.fixture
def storage(tmp_path: Path, lab: tuple[Any, dict[type, Any]]) -> Iterator[Any]:
    registry, _ = lab
    store = make_storage(tmp_path / "store", registry)
    setup_store(store, simulated_lab(replay=2))
    yield store
    store.close()


FAST = LocalExperimentManagerConfiguration(
    heartbeat_interval=0.2, stale_after=5.0, shot_timeout=5.0, server_ping_timeout=1.0
)


@pytest.fixture
def make_manager(storage: Any, lab: tuple[Any, dict[type, Any]]) -> Iterator[Any]:
    registry, compilers = lab
    managers: list[LocalExperimentManager] = []

    def make(**kwargs: Any) -> LocalExperimentManager:
        kwargs.setdefault("compilers", compilers)
        kwargs.setdefault("configuration", FAST)
        manager = LocalExperimentManager(kwargs.pop("storage", storage), registry, **kwargs)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.close(timeout=30)


class Process:
    """A helper script under procs/ in a subprocess; it prints 'READY <port> ...' when up."""

    def __init__(self, script: str, *args: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(PROCS.parent.parent.parent), *sys.path])
        self.process = subprocess.Popen(
            [sys.executable, str(PROCS / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        if not line or not line[0].startswith("READY"):
            self.kill()
            raise RuntimeError(f"{script} did not start: {self.stderr()}")
        self.ready = line[0].split()
        self.port = int(self.ready[1])

    def stderr(self) -> str:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        return self.process.stderr.read() if self.process.stderr else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def spawn() -> Iterator[Any]:
    processes: list[Process] = []

    def start(script: str, *args: str) -> Process:
        process = Process(script, *args)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()
