"""Whole sequences with lab instruments beside the simulated lab, run by a
``LocalExperimentManager``: the ``run`` fixture shared by the QCoDeS and VISA run tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shotbook.control import LocalExperimentManager, LocalExperimentManagerConfiguration
from shotbook.device.sim import simulated_lab
from shotbook.registry import TypeRegistry
from tests.control.lab import create_sequence, lab_registry, make_storage, setup_store, tof_scan

FAST = LocalExperimentManagerConfiguration(
    heartbeat_interval=0.2, stale_after=5.0, shot_timeout=10.0, server_ping_timeout=1.0
)
"""Short heartbeats and time-outs, so a failing instrument ends a test quickly."""


def sequence_runs(
    tmp_path: Path, register: Callable[[TypeRegistry, dict[type, Any]], Any]
) -> Iterator[Any]:
    """Yield ``run(path, instruments, **manager options)``: a 4-shot time-of-flight scan on
    the simulated lab plus ``instruments`` (device configurations by name), stored under
    ``tmp_path``; ``run.storage`` is the store. Managers and store are closed afterwards."""
    registry, compilers = lab_registry()
    register(registry, compilers)
    storage = make_storage(tmp_path / "store", registry)
    managers: list[LocalExperimentManager] = []

    def run_sequence(path: str, instruments: dict[str, Any], **options: Any) -> Any:
        setup_store(storage, {**simulated_lab(replay=2), **instruments})
        create_sequence(storage, path, tof_scan(4))
        options.setdefault("configuration", FAST)
        manager = LocalExperimentManager(storage, registry, compilers=compilers, **options)
        managers.append(manager)
        return manager.run_sequence(path, progress=False)

    run_sequence.storage = storage  # type: ignore[attr-defined]
    yield run_sequence
    for manager in managers:
        manager.close(timeout=30)
    storage.close()
