"""The `shotbook` command."""

import subprocess
import sys

from shotbook.cli import main


def test_demo_lists_expected_shots_with_units(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo", "--list", "--points", "3", "--repetitions", "2"]) == 0
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


def test_demo_runs_the_scan_stores_it_and_fits_the_temperature(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import re

    root = tmp_path / "store"
    assert main(["demo", "--root", str(root), "--points", "4", "--repetitions", "2"]) == 0
    out = capsys.readouterr().out
    assert "8 / 8 shots" in out
    assert str(root.resolve()) in out
    match = re.search(
        r"fitted temperature: ([0-9.]+) ± ([0-9.]+) µK\s+\(simulated: ([0-9.]+) µK\)", out
    )
    assert match, out
    fitted, _, truth = (float(g) for g in match.groups())
    assert abs(fitted - truth) / truth < 0.10
    assert (root / "catalog.duckdb").exists()
