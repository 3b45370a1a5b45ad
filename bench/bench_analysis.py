"""Benchmark of loading shots for analysis (shotbook.analysis) beside plain polars.

Builds one store per run of this script (default DuckDB + Parquet backend, compaction every
50 shots, through the sequence's shot writer):

- ``/bench/scalars``: 10,000 scalar-only shots (7 parameters + 3 scalar results);
- ``/bench/images``: the reference workload, 200 shots of a 512x512 uint16 image + 3 scalars
  + 7 parameters.

Then, interleaved over ``--runs`` rounds, it times ``read_shots`` (folder lookup: the store's
sidecar index, or the catalog; file listing, read, array decoding, units) and, in the same
round, plain ``polars.read_parquet``
of the same live files plus the same array conversion (``decode_array_columns``) as the
baseline. Medians go to bench/results/analysis.md.

Run: cd /work/main && .venv/bin/python bench/bench_analysis.py [--runs 11]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shotbook.analysis import read_shots, scan_shots, sql
from shotbook.registry import Serializer, default_registry
from shotbook.session import (
    DuckDBConfig,
    RunOwner,
    StorageManager,
    decode_array_columns,
    snapshot_shot_folder,
)
from shotbook.types import (
    ExecuteShot,
    ParameterNamespace,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
    parse_unit,
)

RESULTS = Path(__file__).parent / "results" / "analysis.md"
T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)
UNITS = {
    "mot.detuning": parse_unit("MHz"),
    "wait_time": parse_unit("ms"),
    "repeat": None,
    "imaging.enabled": None,
    "mot.power": parse_unit("mW"),
    "probe.detuning": parse_unit("MHz"),
    "tof.voltage": parse_unit("V"),
}


def parameters(index: int) -> ShotParameters:
    values = {
        "mot.detuning": -2e6 + 1e4 * (index % 200),
        "wait_time": 1e-3 * (1 + index % 20),
        "repeat": index // 20,
        "imaging.enabled": index % 2 == 0,
        "mot.power": 0.005,
        "probe.detuning": 1e6 * (index % 7),
        "tof.voltage": 0.1 * (index % 11),
    }
    return ShotParameters(values, UNITS)


def scalars(index: int, rng: np.random.Generator) -> dict[str, Any]:
    return {
        "analysis.atom_number": float(rng.normal(1e5, 1e3)),
        "analysis.x": float(rng.normal(256, 2)),
        "analysis.width": float(rng.normal(30, 1)),
    }


def pictures() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:512, 0:512]
    frames = []
    for index in range(200):
        width = 30 + index % 20
        cloud = 2000 * np.exp(-((x - 256) ** 2 + (y - 250) ** 2) / (2 * width**2))
        frames.append(rng.poisson(cloud + 100).astype(np.uint16))
    return frames


def fill(manager: StorageManager, path: str, shots: int, images: list[np.ndarray] | None) -> None:
    rng = np.random.default_rng(1)
    with manager.session() as session:
        session.sequences.create(path, StepsConfiguration([ExecuteShot()]), TimeLanes([], []))
        session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), shots)
        with session.sequences.start(path) as writer:
            for index in range(shots):
                data = scalars(index, rng)
                if images is not None:
                    data["camera.picture"] = images[index]
                begin = T0 + timedelta(seconds=index)
                writer.write_shot(
                    index, parameters(index), data, begin, begin + timedelta(milliseconds=145)
                )
        session.sequences.finish(path)


def shot_folder(manager: Any, path: str) -> Path:
    """The sequence's Parquet folder (through the catalog if the sidecar cannot tell)."""
    located = getattr(manager, "locate_shots", lambda path: None)(path)
    if located is not None:
        return Path(located)
    folder: Path = manager.shot_folder(path)  # the default backend is ShotFolders
    return folder


def baseline_read(folder: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """Plain polars over the live files, then the same array decoding as the store."""
    snapshot = snapshot_shot_folder(folder)
    files = [str(live.path) for live in snapshot.files]
    frame = pl.read_parquet(files, columns=columns)
    return decode_array_columns(frame, snapshot.columns)


def baseline_filtered(folder: Path, predicate: pl.Expr, columns: list[str]) -> pl.DataFrame:
    snapshot = snapshot_shot_folder(folder)
    files = [str(live.path) for live in snapshot.files]
    frame = pl.scan_parquet(files).filter(predicate).select(columns).collect()
    return decode_array_columns(frame, snapshot.columns)


def timed(action: Callable[[], Any], calls: int = 5) -> float:
    """The median of ``calls`` consecutive calls, in ms, with the garbage collector paused
    (as ``timeit`` does): one sample of a run."""
    samples = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(calls):
            start = time.perf_counter()
            action()
            samples.append((time.perf_counter() - start) * 1e3)
    finally:
        gc.enable()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--scalar-shots", type=int, default=10_000)
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-analysis-"))
    try:
        manager = DuckDBConfig(root / "store").create_storage_manager(
            Serializer(default_registry())
        )
        manager.upgrade()
        start = time.perf_counter()
        fill(manager, "/bench/scalars", arguments.scalar_shots, None)
        built_scalars = time.perf_counter() - start
        start = time.perf_counter()
        fill(manager, "/bench/images", 200, pictures())
        built_images = time.perf_counter() - start
        print(f"store built: {built_scalars:.1f} s scalars, {built_images:.1f} s images")
        folders = {
            "scalars": shot_folder(manager, "/bench/scalars"),
            "images": shot_folder(manager, "/bench/images"),
        }
        files = {key: len(snapshot_shot_folder(folder).files) for key, folder in folders.items()}
        locate = getattr(manager, "locate_shots", None)
        located = all(
            callable(locate) and locate(path) is not None
            for path in ("/bench/scalars", "/bench/images")
        )
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        few = ["wait_time", "analysis.atom_number"]
        picked = pl.col("wait_time") == 3.0
        n = arguments.scalar_shots
        # frames made once (catalog read once): collect() alone is the read path
        scalars_lazy = scan_shots(manager, "/bench/scalars")
        images_lazy = scan_shots(manager, "/bench/images")
        image_columns = ["shot_index", "camera.picture"]
        cases: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None, str]] = {
            f"read_shots, {n} scalar shots, all columns": (
                lambda: read_shots(manager, "/bench/scalars"),
                lambda: baseline_read(folders["scalars"]),
                "1.3x",
            ),
            f"read_shots, {n} scalar shots, 2 columns": (
                lambda: read_shots(manager, "/bench/scalars", few),
                lambda: baseline_read(folders["scalars"], few),
                "1.3x",
            ),
            "read_shots, 200 image shots, all columns (images decoded)": (
                lambda: read_shots(manager, "/bench/images"),
                lambda: baseline_read(folders["images"]),
                "1.3x",
            ),
            "read_shots, 200 image shots, where wait_time == 3 (10 shots)": (
                lambda: read_shots(manager, "/bench/images", image_columns, where=picked),
                lambda: baseline_filtered(folders["images"], picked, image_columns),
                "",
            ),
            f"scan_shots(...).collect() only, {n} scalar shots, all columns": (
                scalars_lazy.collect,
                lambda: baseline_read(folders["scalars"]),
                "1.3x",
            ),
            f"scan_shots(...).collect() only, {n} scalar shots, 2 columns": (
                lambda: scalars_lazy.select(few).collect(),
                lambda: baseline_read(folders["scalars"], few),
                "1.3x",
            ),
            "scan_shots(...).collect() only, 200 image shots, all columns": (
                images_lazy.collect,
                lambda: baseline_read(folders["images"]),
                "1.3x",
            ),
            "scan_shots(...).collect() only, 200 image shots, where wait_time == 3": (
                lambda: images_lazy.filter(picked).select(image_columns).collect(),
                lambda: baseline_filtered(folders["images"], picked, image_columns),
                "",
            ),
            "read_shots, both sequences, 2 columns (10,200 rows)": (
                lambda: read_shots(manager, "/bench/*", few),
                None,
                "",
            ),
            'sql: GROUP BY "wait_time" over all shots': (
                lambda: sql(
                    manager,
                    'SELECT "wait_time", avg("analysis.atom_number") FROM shots GROUP BY 1',
                ),
                None,
                "",
            ),
            "one catalog operation (session + get_state), for reference": (
                lambda: manager.session().__enter__().sequences.get_state("/bench/images"),
                None,
                "",
            ),
        }
        # check once that both sides read the same rows
        ours = read_shots(manager, "/bench/images", ["shot_index", "camera.picture"])
        theirs = baseline_read(folders["images"], ["shot_index", "camera.picture"])
        assert ours.equals(theirs), "read_shots and the baseline differ"
        measured: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
        for run in range(arguments.runs):
            for name, (action, baseline, _) in cases.items():
                if baseline is not None and run % 2:  # alternate which side goes first
                    measured[name][1].append(timed(baseline))
                measured[name][0].append(timed(action))
                if baseline is not None and not run % 2:
                    measured[name][1].append(timed(baseline))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        rows = []
        for name, (_, _, budget) in cases.items():
            ours_ms = statistics.median(measured[name][0])
            base = measured[name][1]
            base_ms = statistics.median(base) if base else None
            # the ratio of each run's pair (same machine state), then their median
            paired = [a / b for a, b in zip(measured[name][0], base, strict=True)] if base else []
            ratio = f"{statistics.median(paired):.2f}" if paired else ""
            base_text = f"{base_ms:.1f}" if base_ms is not None else ""
            rows.append(f"| {name} | {ours_ms:.1f} | {base_text} | {ratio} | {budget} |")
            print(rows[-1])
        write_results(
            arguments, rows, files, built_scalars, built_images, (load_before, load), located
        )
        manager.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def write_results(
    arguments: argparse.Namespace,
    rows: list[str],
    files: dict[str, int],
    built_scalars: float,
    built_images: float,
    load: tuple[float, float],
    located: bool,
) -> None:
    lookup = (
        "the store's sidecar index (`locate_shots`, no catalog open)"
        if located
        else "one catalog transaction (the sidecar index could not vouch for the folders)"
    )
    text = f"""# Loading shots for analysis (shotbook.analysis) — benchmark

Date: 2026-11-26. Machine: the 2-core build VM. Command:
`cd /work/main && .venv/bin/python bench/bench_analysis.py --runs {arguments.runs}`

Store: default DuckDB + Parquet backend, compaction every 50 shots, written through the
sequence's shot writer (`/bench/scalars`: {arguments.scalar_shots} shots of 7 parameters + 3
scalar results, {files["scalars"]} live files, built in {built_scalars:.1f} s; `/bench/images`:
200 shots of a 512×512 uint16 image + 3 scalars + 7 parameters, {files["images"]} live files,
built in {built_images:.1f} s).

Median of {arguments.runs} interleaved runs, in ms; each run's figure is the median of 5
consecutive calls with the garbage collector paused, the two sides timed one after the other
(alternating which goes first); the ratio is the median of the runs' paired ratios. Baseline,
in the same run: plain
`polars.read_parquet` (or `scan_parquet(...).filter(...)`) of the same live files plus the same
array conversion (`decode_array_columns`, binary → `pl.Array(pl.UInt16, (512, 512))`);
`read_shots` also finds the sequence's folder (here through {lookup}),
lists the live files, reads the manifest, adds the `sequence` column and remembers the units.

| measure | read_shots | baseline | ratio | budget |
|---|---:|---:|---:|---|
{chr(10).join(rows)}

Load average (1 min) before the timed rounds {load[0]:.1f}, after {load[1]:.1f}, on 2 cores
(other jobs share the machine; the image rows move by ±40% between runs, so compare rows of
the same run).

Notes. `read_shots` = the folder lookup (the last row shows what one catalog operation costs
here, which the sidecar index avoids: DuckDB opens the catalog file for each transaction,
~15–20 ms) + the read. The `scan_shots(...).collect()` rows time the read path alone on
frames made once (as when a running sequence's frame is collected again). Reads
(`shotbook.session.scan_shot_folder`) use polars' own Parquet reader for parameters and
scalars, with filters pushed into it, and pyarrow for the image column, which is
fixed-size binary on disk and becomes `pl.Array` without a copy (the baseline's
`read_parquet` + `decode_array_columns` copies the image bytes twice more). With a filter,
the images of a few matching shots are read by polars page by page, those of most shots by
pyarrow from the row groups (by `shot_index` statistics) holding them.
"""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
