"""`experiment.launch_condetrol()` from a script serves the panel on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    from shotbook.extension import Experiment
    from shotbook.session import DuckDBConfig

    experiment = Experiment(DuckDBConfig("store"))
    experiment.setup_default_extensions()
    from shotbook.types import DigitalTimeLane, ExecuteShot, StepsConfiguration, TimeLanes

    lanes = TimeLanes(["a"], ["1 ms"], {"mot light": DigitalTimeLane([True])})
    with experiment.storage_session() as session:
        session.sequences.create("/calibrations/tof", StepsConfiguration([ExecuteShot()]), lanes)
    experiment.launch_condetrol(mode="voila")
    """
)


def test_launch_condetrol_outside_a_notebook_serves_the_panel(tmp_path: Path) -> None:
    (tmp_path / "my_lab_panel.py").write_text(SCRIPT)
    process = subprocess.Popen(
        [sys.executable, "my_lab_panel.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        url = None
        lines = []
        while time.monotonic() < deadline and url is None:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"http://127\.0\.0\.1:\d+/\S*", line)
            url = found.group(0) if found else None
        assert url, "".join(lines)
        with urllib.request.urlopen(url, timeout=60) as response:  # Voila runs the notebook
            page = response.read().decode()
        assert response.status == 200
        assert page.count("application/vnd.jupyter.widget-view+json") == 1  # the live panel
        assert "/calibrations/tof" in page  # and its static table, with the store's sequence
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
