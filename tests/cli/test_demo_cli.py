"""The `shotbook` command."""

import subprocess
import sys

from shotbook.cli import main


def test_demo_lists_expected_shots_with_units(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo", "--points", "3", "--repetitions", "2"]) == 0
    out = capsys.readouterr().out
    assert "expected shots: 6" in out
    assert "time_of_flight" in out
    rows = [line for line in out.splitlines() if line[:4].strip().isdigit()]
    assert len(rows) == 6
    assert "2 ms" in rows[0]
    assert "14 ms" in rows[-1]


def test_console_script_runs_as_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shotbook.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "shotbook" in result.stdout
