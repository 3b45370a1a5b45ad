"""A long scan through a device server with a reader polling: shots kept, memory flat.

Used by ``tests/control/test_soak.py`` (CI-sized) and ``bench/bench_soak.py`` (figures).
The scan runs the simulated lab's reference shot with a 64x64 camera region, every device
on a device server in another process (127.0.0.1), devices at speed 0 (no real-time waits).
The resident memory of this process (the manager) and of the device server is sampled
every ``sample_every`` stored shots; a reader thread polls the store meanwhile.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shotbook.control import (
    LocalExperimentManager,
    LocalExperimentManagerConfiguration,
    ShotStored,
)
from shotbook.device.remote import InsecureRPCConfiguration
from shotbook.device.sim import simulated_lab

from .lab import create_sequence, lab_registry, make_storage, setup_store, tof_scan

ROOT = Path(__file__).resolve().parents[2]
ROI = (224, 224, 64, 64)


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclasses.dataclass
class SoakResult:
    shots: int
    seconds: float
    stored_indices: list[int]
    samples: list[tuple[int, int, int]]  # (shots stored, manager rss, device server rss)
    reads: int
    reader_counts: list[int]
    reader_errors: list[str]

    def growth(self, from_shot: int) -> tuple[int, int]:
        """RSS growth (manager, device server) from the first sample at or after ``from_shot``
        to the last sample."""
        start = next(s for s in self.samples if s[0] >= from_shot)
        end = self.samples[-1]
        return end[1] - start[1], end[2] - start[2]


class _DeviceServerProcess:
    def __init__(self, log_dir: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *sys.path])
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/control/procs/device_server.py"),
             "--log-dir", str(log_dir)],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY"):
            self.process.kill()
            raise RuntimeError(f"the device server did not start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def run_soak(
    folder: Path,
    shots: int,
    *,
    sample_every: int = 500,
    poll_every: float = 0.25,
    progress: Callable[[str], Any] | None = None,
) -> SoakResult:
    """Run the soak scan of ``shots`` shots in a new store under ``folder``."""
    registry, compilers = lab_registry()
    storage = make_storage(folder / "store", registry)
    server = _DeviceServerProcess(folder / "logs")
    try:
        lab = {
            name: dataclasses.replace(configuration, device_server="pc-2")
            for name, configuration in simulated_lab(replay=8).items()
        }
        lab["camera"] = dataclasses.replace(lab["camera"], roi=ROI)
        setup_store(storage, lab)
        path = create_sequence(storage, "/soak/scan", tof_scan(shots, "2 ms", "4 ms"))
        manager = LocalExperimentManager(
            storage,
            registry,
            compilers=compilers,
            device_servers={"pc-2": InsecureRPCConfiguration("127.0.0.1", server.port)},
            configuration=LocalExperimentManagerConfiguration(
                heartbeat_interval=0.5, stale_after=30.0, shot_timeout=10.0
            ),
        )
        samples: list[tuple[int, int, int]] = []
        own = os.getpid()

        def sample(event: Any) -> None:
            if isinstance(event, ShotStored) and (event.index + 1) % sample_every == 0:
                stored = event.index + 1
                samples.append((stored, rss_bytes(own), rss_bytes(server.process.pid)))
                if progress is not None:
                    progress(f"{stored} shots, manager {samples[-1][1] / 2**20:.1f} MiB")

        stop = threading.Event()
        reader_counts: list[int] = []
        reader_errors: list[str] = []

        def read() -> None:
            while not stop.wait(poll_every):
                try:
                    with storage.session() as session:
                        frame = session.sequences.scan(path).select("shot_index").collect()
                    indices = frame["shot_index"].to_list()
                    if indices != list(range(len(indices))):
                        reader_errors.append(f"the reader saw shots {indices[:5]}... out of order")
                    reader_counts.append(len(indices))
                except Exception as error:  # noted, the soak goes on
                    reader_errors.append(f"{type(error).__name__}: {error}")

        reader = threading.Thread(target=read, name="soak-reader", daemon=True)
        subscription = manager.subscribe(sample)
        started = time.perf_counter()
        try:
            reader.start()
            summary = manager.run_sequence(path, progress=False)
            seconds = time.perf_counter() - started
            manager.flush_events()
        finally:
            stop.set()
            reader.join(30)
            subscription.close()
            manager.close(timeout=30)
        assert summary is not None
        with storage.session() as session:
            stored = session.sequences.scan(path).select("shot_index").collect()
        return SoakResult(
            shots=summary.number_of_shots,
            seconds=seconds,
            stored_indices=sorted(stored["shot_index"].to_list()),
            samples=samples,
            reads=len(reader_counts),
            reader_counts=reader_counts,
            reader_errors=reader_errors,
        )
    finally:
        server.stop()
        storage.close()
