"""Fixtures: registries with the simulated lab, and device servers in real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shotbook.device.remote import register_device_class
from shotbook.device.sim import register_sim_types
from shotbook.registry import TypeRegistry, default_registry

from .lab_devices import BrokenOpenDevice, EchoDevice, MeterDevice

SCRIPT = Path(__file__).with_name("device_server_script.py")


def lab_registry() -> TypeRegistry:
    registry = default_registry()
    register_sim_types(registry)
    register_device_class(registry, "echo_device", EchoDevice)
    register_device_class(registry, "broken_device", BrokenOpenDevice)
    register_device_class(registry, "meter_device", MeterDevice)
    return registry


@pytest.fixture
def registry() -> TypeRegistry:
    return lab_registry()


class ServerProcess:
    """A device server running in a subprocess (``python device_server_script.py``)."""

    def __init__(
        self,
        log_dir: Path,
        *args: str,
        script: Path = SCRIPT,
        env: dict[str, str] | None = None,
        start_timeout: float = 30,
    ) -> None:
        self.log_dir = log_dir
        self.process = subprocess.Popen(
            [sys.executable, str(script), "--log-dir", str(log_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()))
        reader.start()
        reader.join(start_timeout)
        if not line or " listening on tcp://127.0.0.1:" not in line[0]:
            self.kill()
            raise RuntimeError(f"the device server did not start: {self.process.stderr.read()}")
        self.port = int(line[0].rsplit(":", 1)[1])

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[type[ServerProcess]]:
    servers: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        server = ServerProcess(tmp_path / "logs", *args)
        servers.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in servers:
        server.kill()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One device server process shared by the tests of a module (lease timeout 1 s)."""
    server = ServerProcess(
        tmp_path_factory.mktemp("logs"),
        "--name",
        "shared",
        "--lease-timeout",
        "1",
        "--max-message-size",
        str(4 * 1024 * 1024),
    )
    yield server
    server.kill()
