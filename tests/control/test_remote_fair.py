"""An experiment server stays answerable with 200 clients waiting for its run to end."""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from shotbook.control import RemoteExperimentManager, RemoteExperimentManagerConfiguration

from .lab import create_sequence, shots_of, state_of, tof_scan
from .test_remote import _server, _slow

WAITING_CLIENTS = 200


def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def test_interrupt_and_queries_answer_with_200_clients_waiting(
    storage: Any, spawn: Any, tmp_path: Path
) -> None:
    _slow(storage, 0.5)
    create_sequence(storage, "/long", tof_scan(1000))
    server = _server(spawn, tmp_path)
    config = RemoteExperimentManagerConfiguration("127.0.0.1", server.port)
    waiting = [RemoteExperimentManager(config) for _ in range(WAITING_CLIENTS)]
    started = threading.Semaphore(0)

    def wait(manager: RemoteExperimentManager) -> bool:
        started.release()
        return manager.wait(60)

    try:
        with (
            RemoteExperimentManager(config) as control,
            ThreadPoolExecutor(WAITING_CLIENTS) as pool,
        ):
            control.start_sequence("/long")
            results = [pool.submit(wait, manager) for manager in waiting]
            for _ in range(WAITING_CLIENTS):
                assert started.acquire(timeout=60)
            # sample the answers over a while, as the waits pile up on the server
            latencies = []
            for _ in range(10):
                seconds, running = _timed(control.is_running)
                assert running
                latencies.append(seconds)
                seconds, progress = _timed(control.current)
                assert progress is not None
                latencies.append(seconds)
                time.sleep(0.05)  # a sampling interval, not a wait for a condition
            assert statistics.median(latencies) < 0.1, latencies
            assert not any(result.done() for result in results)
            interrupts = [_timed(control.interrupt) for _ in range(3)]
            assert interrupts[0][1] is True
            assert statistics.median(s for s, _ in interrupts) < 0.1, interrupts
            # the run ends at its next shot: every waiting client hears it
            assert [result.result(timeout=60) for result in results] == [True] * WAITING_CLIENTS
            summary = control.last_run()
            assert summary is not None
            assert summary.state == "interrupted"
    finally:
        for manager in waiting:
            manager.close()
    assert state_of(storage, "/long") == "interrupted"
    assert len(shots_of(storage, "/long")) == summary.number_of_shots
    log = (tmp_path / "logs" / "test-experiment-server.log").read_text()
    who = f"host {socket.gethostname()} pid {os.getpid()}"
    assert f"interrupt of /long requested by {who}" in log
