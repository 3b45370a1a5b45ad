"""Fixtures: server processes on 127.0.0.1 running tests/rpc/server_process.py."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("server_process.py")
CLIENT_SCRIPT = Path(__file__).with_name("client_process.py")


class ServerProcess:
    """A running server_process.py; ``rpc`` and ``events`` are its addresses."""

    def __init__(self, mode: str, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), mode, *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
            raise RuntimeError(f"server process {mode} failed (exit {self.process.returncode})")
        addresses = json.loads(line)
        self.rpc: str = addresses["rpc"]
        self.events: str = addresses["events"]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Start server processes; all are stopped at the end of the test."""
    started: list[ServerProcess] = []

    def start(mode: str = "basic", *options: str) -> ServerProcess:
        server = ServerProcess(mode, *options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    """A basic server process shared by the tests of a module."""
    process = ServerProcess("basic")
    yield process
    process.stop()
