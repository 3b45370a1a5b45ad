"""Benchmark of ``to_xarray`` beside ``read_shots`` of the same shots (issue 23's budget).

Builds a store holding the reference workload's images (200 shots of a 512x512 uint16 image,
7 parameters, 3 scalar results; the store and its filling are those of bench_analysis.py),
then, interleaved over ``--runs`` rounds, times in the same process:

- ``read_shots(manager, "/bench/images")`` (the baseline);
- ``to_xarray(frame)`` of that frame (the conversion alone);
- both together (what a notebook cell does).

Budget: to_xarray of the 200 shots ≤ 1.5x read_shots of the same, with no copy of the images.

Run: PYTHONPATH=src python bench/bench_xarray.py [--runs 7]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_analysis import fill, pictures
from shotbook.analysis import read_shots, to_xarray
from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-xarray-"))
    try:
        manager = DuckDBConfig(root / "store", compact_every=50).create_storage_manager(
            Serializer(default_registry())
        )
        manager.upgrade()
        fill(manager, "/bench/images", 200, pictures())
        frame = read_shots(manager, "/bench/images")
        dataset = to_xarray(frame)
        image = dataset["camera.picture"].values
        assert image.shape == (200, 512, 512)
        assert not image.flags["OWNDATA"], "to_xarray copied the images"
        del frame, dataset, image
        reads, converts, both = [], [], []
        for _ in range(args.runs):
            gc.collect()
            start = time.perf_counter()
            frame = read_shots(manager, "/bench/images")
            reads.append(time.perf_counter() - start)
            start = time.perf_counter()
            dataset = to_xarray(frame)
            converts.append(time.perf_counter() - start)
            del frame, dataset
            gc.collect()
            start = time.perf_counter()
            dataset = to_xarray(read_shots(manager, "/bench/images"))
            both.append(time.perf_counter() - start)
            del dataset  # freed outside the timed part, as the baseline's frame is
        manager.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    read = statistics.median(reads) * 1e3
    convert = statistics.median(converts) * 1e3
    total = statistics.median(both) * 1e3
    print(f"read_shots, 200 shots of 512x512 uint16: median {read:.1f} ms ({args.runs} runs)")
    print(
        f"to_xarray of that frame:                  median {convert:.2f} ms ({convert / read:.3f}x)"
    )
    print(f"read_shots + to_xarray:                   median {total:.1f} ms ({total / read:.2f}x)")


if __name__ == "__main__":
    main()
