"""The caqtus 6.29 fixture database (beside the repository) and ways to derive others."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "caqtus-6.29"
SCAN = "\\scans\\2024\\detuning\\probe_detuning_scan"


def fixture_dir() -> Path:
    """The fixture folder; skipped when missing, except in CI (CI=true) where it fails."""
    if not (FIXTURE / "caqtus.sqlite").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the caqtus fixture is missing: {FIXTURE}")
        pytest.skip(f"the caqtus fixture is not beside the repository: {FIXTURE}")
    return FIXTURE


def scaled_copy(source: Path, target: Path, shots: int) -> Path:
    """A copy of the fixture whose finished scan has ``shots`` shots (its shots repeated)."""
    shutil.copyfile(source, target)
    connection = sqlite3.connect(target)
    with connection:
        (sequence_id,) = connection.execute(
            "SELECT s.id FROM sequences s JOIN path p ON p.id = s.path_id WHERE p.path = ?",
            [SCAN],
        ).fetchone()
        originals = connection.execute(
            'SELECT id, start_time, end_time FROM shots WHERE sequence_id = ? ORDER BY "index"',
            [sequence_id],
        ).fetchall()
        for index in range(len(originals), shots):
            shot_id, start, end = originals[index % len(originals)]
            cursor = connection.execute(
                'INSERT INTO shots (sequence_id, "index", start_time, end_time) '
                "VALUES (?, ?, ?, ?)",
                [sequence_id, index, start, end],
            )
            new = cursor.lastrowid
            connection.execute(
                'INSERT INTO "shot.parameters" (shot_id, content) SELECT ?, content '
                'FROM "shot.parameters" WHERE shot_id = ?',
                [new, shot_id],
            )
            connection.execute(
                'INSERT INTO "shot.data.arrays" (shot_id, label, dtype, shape, bytes) '
                'SELECT ?, label, dtype, shape, bytes FROM "shot.data.arrays" WHERE shot_id = ?',
                [new, shot_id],
            )
            connection.execute(
                'INSERT INTO "shot.data.structured" (shot_id, label, content) '
                'SELECT ?, label, content FROM "shot.data.structured" WHERE shot_id = ?',
                [new, shot_id],
            )
        connection.execute(
            "UPDATE sequences SET expected_number_of_shots = ? WHERE id = ?", [shots, sequence_id]
        )
    connection.close()
    return target
