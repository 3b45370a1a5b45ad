"""A long scan through a device server with a reader polling: shots kept, memory flat.

Used by ``tests/control/test_soak.py`` (CI-sized) and ``bench/bench_soak.py`` (figures).
The scan runs the simulated lab's reference shot with a 64x64 camera region, every device
on a device server in another process (127.0.0.1), devices at speed 0 (no real-time waits).
The resident memory of this process (the manager) and of the device server is sampled
every ``sample_every`` stored shots; a reader in another process (as another notebook would)
polls the store meanwhile.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
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

    def peak_growth(self, from_shot: int) -> tuple[int, int]:
        """Largest RSS rise (manager, device server) above the sample at ``from_shot``."""
        later = [s for s in self.samples if s[0] >= from_shot]
        start = later[0]
        return max(s[1] for s in later) - start[1], max(s[2] for s in later) - start[2]

    def trend_growth(self, from_shot: int) -> tuple[float, float]:
        """RSS growth (manager, device server) over the samples from ``from_shot`` to the end,
        by their least-squares line: compaction every 1,000 shots moves single samples by
        tens of MiB either way, a leak shows in the slope."""
        later = [s for s in self.samples if s[0] >= from_shot]
        shots = [float(s[0]) for s in later]
        mean = sum(shots) / len(shots)
        spread = sum((x - mean) ** 2 for x in shots)
        growth = []
        for column in (1, 2):
            values = [float(s[column]) for s in later]
            average = sum(values) / len(values)
            slope = sum((x - mean) * (y - average) for x, y in zip(shots, values, strict=True))
            growth.append(slope / spread * (shots[-1] - shots[0]))
        return growth[0], growth[1]


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


READER = """
import sys
from shotbook.session import DuckDBConfig
from shotbook.registry import Serializer, default_registry
from shotbook.device.sim import register_sim_types
registry = default_registry()
register_sim_types(registry)
storage = DuckDBConfig(sys.argv[1]).create_storage_manager(Serializer(registry))
path, every = sys.argv[2], float(sys.argv[3])
print("READY", flush=True)
import select
while not select.select([sys.stdin], [], [], every)[0]:
    try:
        with storage.session() as session:
            frame = session.sequences.scan(path).select("shot_index").collect()
        indices = frame["shot_index"].to_list()
        if indices != list(range(len(indices))):
            print("ERROR the reader saw shots out of order", flush=True)
        print("COUNT", len(indices), flush=True)
    except Exception as error:
        print("ERROR", type(error).__name__, str(error).replace(chr(10), " "), flush=True)
storage.close()
"""


class _ReaderProcess:
    """Another process reading the running sequence's shot indices every ``every`` s."""

    def __init__(self, store: Path, path: str, every: float) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *sys.path])
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(store), path, str(every)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "READY":
            self.process.kill()
            raise RuntimeError("the reader process did not start")

    def stop(self) -> tuple[list[int], list[str]]:
        """Stop it; returns the counts it read and the errors it met."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        output = self.process.stdout.read()
        self.process.wait(30)
        counts = [int(line.split()[1]) for line in output.splitlines() if line.startswith("COUNT")]
        errors = [line for line in output.splitlines() if line.startswith("ERROR")]
        return counts, errors


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

        reader = _ReaderProcess(folder / "store", path, poll_every)
        subscription = manager.subscribe(sample)
        started = time.perf_counter()
        try:
            summary = manager.run_sequence(path, progress=False)
            seconds = time.perf_counter() - started
            manager.flush_events()
        finally:
            reader_counts, reader_errors = reader.stop()
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
