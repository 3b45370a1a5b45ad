"""A reader process for the concurrency test: reads a running sequence every 100 ms.

Usage: python shot_reader.py FOLDER ACK_LOG STOP_FILE COUNT_FILE

Before each read it takes the indices the writer has acknowledged (ACK_LOG); the read must
hold each of them exactly once. After each read it writes the number of reads so far to
COUNT_FILE (so that the writer can go on until the reader has really read during the run,
however loaded the machine). Prints one JSON line: reads, max call duration, problems.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from shotbook.session import ParquetShotStore


def acknowledged(log: Path) -> set[int]:
    try:
        text = log.read_text()
    except FileNotFoundError:
        return set()
    return {int(line) for line in text.splitlines(keepends=True) if line.endswith("\n")}


def main() -> None:
    folder, log, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    count = Path(sys.argv[4])
    store = ParquetShotStore(folder)
    reads = 0
    longest = 0.0
    problems: list[str] = []
    print("ready", flush=True)
    while True:
        last = stop.exists()
        acked = acknowledged(log)
        calls = {
            "read_table": lambda: store.read_table(["shot_index"]).column(0).to_pylist(),
            "read_polars": lambda: store.read_polars().get_column("shot_index").to_list(),
            "scan_polars": lambda: (
                store.scan_polars()
                .select("shot_index", "camera.picture")
                .collect()
                .get_column("shot_index")
                .to_list()
            ),
            "shot_indices": store.shot_indices,
        }
        for name, call in calls.items():
            started = time.perf_counter()
            seen = call()
            longest = max(longest, time.perf_counter() - started)
            twice = [index for index, count in Counter(seen).items() if count > 1]
            missing = sorted(acked - set(seen))
            if twice:
                problems.append(f"{name}: shots seen twice: {twice}")
            if missing:
                problems.append(f"{name}: acknowledged shots missing: {missing}")
        if acked:
            started = time.perf_counter()
            record = store.read_shot(max(acked))
            longest = max(longest, time.perf_counter() - started)
            if record.index != max(acked):
                problems.append(f"read_shot({max(acked)}) gave shot {record.index}")
        reads += 1
        partial = count.with_suffix(".tmp")
        partial.write_text(str(reads))
        partial.replace(count)
        if last:
            break
        time.sleep(0.1)
    print(json.dumps({"reads": reads, "longest": longest, "problems": problems}), flush=True)


if __name__ == "__main__":
    main()
