"""Store and load the reference workload on the SQLite and PostgreSQL backends, beside DuckDB.

Reference workload: 200 shots, each a 512x512 uint16 image (Poisson noise) + 3 scalars +
7 parameters. For each backend and run (a fresh store each time): write the 200 shots
through the sequence's shot writer (ms per shot, the writer's close included), then load
all shots into polars with the images, then only the scalars and parameters. Median of
the runs; the DuckDB + Parquet backend is measured in the same process as the baseline.

    python bench/bench_sql_storage.py [--runs 5] [--shots 200] [--no-postgresql]

PostgreSQL: 127.0.0.1:5432 (or PGHOST/PGPORT/PGUSER); a database is created for the run
and dropped after.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig, PostgreSQLConfig, RunOwner, SQLiteConfig
from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration, TimeLanes

PARAMETERS = ("mot.detuning", "mot.power", "probe.detuning", "wait_time", "repump.power",
              "tof", "coil.current")  # fmt: skip
SCALARS = ("analysis.atom_number", "analysis.width", "analysis.temperature")


class Unit:
    def __init__(self, symbol: str, scale: float) -> None:
        self.symbol, self.scale = symbol, scale

    def from_si(self, x: float) -> float:
        return x / self.scale


UNITS = {"mot.detuning": Unit("MHz", 1e6), "wait_time": Unit("ms", 1e-3), "tof": Unit("ms", 1e-3)}


def run_once(config: Any, images: np.ndarray, shots: int) -> dict[str, float]:
    manager = config.create_storage_manager(Serializer(default_registry()))
    manager.upgrade()
    steps, lanes = StepsConfiguration([ExecuteShot()]), TimeLanes(["a"], ["1 ms"])
    start_time = datetime(2026, 11, 25, tzinfo=UTC)
    with manager.session() as session:
        session.sequences.create("/bench", steps, lanes)
        session.sequences.prepare(
            "/bench", ParameterNamespace.empty(), {}, RunOwner.current(), shots
        )
        writer = session.sequences.start("/bench")
        begin = time.perf_counter()
        for index in range(shots):
            parameters = {name: 1e-3 * (index + k) for k, name in enumerate(PARAMETERS)}
            data = {name: float(index * (k + 1)) for k, name in enumerate(SCALARS)}
            data["camera.picture"] = images[index % len(images)]
            moment = start_time + timedelta(milliseconds=145 * index)
            writer.write_shot(index, parameters, data, moment, moment, units=UNITS)
        writer.close()
        write = (time.perf_counter() - begin) / shots * 1e3
        session.sequences.finish("/bench")
        begin = time.perf_counter()
        frame = session.sequences.read("/bench")
        load_all = (time.perf_counter() - begin) * 1e3
        assert frame.height == shots
        assert frame.schema["camera.picture"] == pl.Array(pl.UInt16, (512, 512))
        begin = time.perf_counter()
        small = session.sequences.scan("/bench").select(["shot_index", *PARAMETERS, *SCALARS])
        scalars = small.collect()
        load_scalars = (time.perf_counter() - begin) * 1e3
        assert scalars.height == shots
    manager.close()
    return {"write": write, "load_all": load_all, "load_scalars": load_scalars}


def median_of(
    runs: int, make: Callable[[int], Any], images: np.ndarray, shots: int
) -> dict[str, float]:
    results = [run_once(make(number), images, shots) for number in range(runs)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--shots", type=int, default=200)
    parser.add_argument("--no-postgresql", action="store_true")
    arguments = parser.parse_args()
    rng = np.random.default_rng(0)
    images = rng.poisson(120, (16, 512, 512)).astype(np.uint16)
    folder = Path(tempfile.mkdtemp(prefix="bench-sql-"))
    backends: dict[str, Callable[[int], Any]] = {
        "duckdb+parquet (baseline)": lambda n: DuckDBConfig(folder / f"duck{n}"),
        "sqlite": lambda n: SQLiteConfig(folder / f"lite{n}.sqlite"),
    }
    drop: Callable[[], None] | None = None
    if not arguments.no_postgresql:
        import psycopg

        host = os.environ.get("PGHOST", "127.0.0.1")
        port = int(os.environ.get("PGPORT", "5432"))
        user = os.environ.get("PGUSER") or getpass.getuser()
        database = f"shotbook_bench_{secrets.token_hex(4)}"
        with psycopg.connect(
            host=host, port=port, user=user, dbname="postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{database}"')

        def drop() -> None:
            with psycopg.connect(
                host=host, port=port, user=user, dbname="postgres", autocommit=True
            ) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

        backends["postgresql"] = lambda n: PostgreSQLConfig(
            user, host=host, port=port, database=database, schema=f"run{n}"
        )
    try:
        table = {name: median_of(arguments.runs, make, images, arguments.shots)
                 for name, make in backends.items()}  # fmt: skip
    finally:
        if drop is not None:
            drop()
    base = table["duckdb+parquet (baseline)"]
    print(f"{arguments.shots} shots, median of {arguments.runs} runs")
    print("| backend | write ms/shot | load all (images) ms | load scalars ms | ratios vs DuckDB |")
    print("|---|---|---|---|---|")
    for name, row in table.items():
        ratios = " / ".join(
            f"{row[k] / base[k]:.1f}x" for k in ("write", "load_all", "load_scalars")
        )
        print(f"| {name} | {row['write']:.2f} | {row['load_all']:.0f} | {row['load_scalars']:.1f} "
              f"| {ratios} |")  # fmt: skip


if __name__ == "__main__":
    main()
