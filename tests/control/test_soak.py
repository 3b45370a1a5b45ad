"""A CI-sized soak: 10,000 shots through a device server, a reader polling, memory flat.

``SHOTBOOK_SOAK_SHOTS`` sets another number of shots (e.g. on a slower machine).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .soak import run_soak

SHOTS = int(os.environ.get("SHOTBOOK_SOAK_SHOTS", "10000"))
MIB = 2**20


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_long_scan_loses_no_shot_and_keeps_memory_flat(tmp_path: Path) -> None:
    result = run_soak(tmp_path, SHOTS, sample_every=500)
    assert result.shots == SHOTS
    assert result.stored_indices == list(range(SHOTS))  # no shot lost, none twice
    assert result.reader_errors == []
    assert result.reads > 0
    assert result.reader_counts == sorted(result.reader_counts)  # the reader never went back
    assert [s[0] for s in result.samples] == list(range(500, SHOTS + 1, 500))
    # growth from shot 2,000 to the end, by the trend of the samples (single samples move
    # by tens of MiB around each compaction, either way)
    manager, server = result.trend_growth(min(2000, SHOTS // 5))
    assert manager <= 20 * MIB, f"the manager grew by {manager / MIB:.1f} MiB: {result.samples}"
    assert server <= 20 * MIB, f"the device server grew by {server / MIB:.1f} MiB"
