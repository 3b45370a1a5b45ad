"""A notebook's interrupt (the stop button) during run_sequence, in a real IPython kernel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel  # via nbclient, a test dependency

SETUP = """
from pathlib import Path
from shotbook.cli._demo import build_demo_experiment, create_demo_sequence
experiment = build_demo_experiment(Path({root!r}))
manager = experiment.get_local_experiment_manager()
path = create_demo_sequence(experiment, points=400, repetitions=10, seed=0)
"""

RUN = """
print("RUNNING", flush=True)
summary = manager.run_sequence(path)
"""

AFTER = """
print("AFTER", manager.is_running(), summary.state, summary.number_of_shots)
again = manager.run_sequence(create_demo_sequence(experiment, 2, 1, 0), progress=False)
print("AGAIN", again.state, again.number_of_shots)
experiment.close()
"""


def _execute(client: Any, code: str, *, on_output: Any = None, timeout: float = 120) -> tuple:
    """Run ``code``; return (reply status, stdout text, error tracebacks)."""
    message_id = client.execute(code)
    text: list[str] = []
    errors: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = client.get_iopub_msg(timeout=deadline - time.monotonic())
        if message["parent_header"].get("msg_id") != message_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            text.append(content["text"])
            if on_output is not None:
                on_output("".join(text))
        elif kind == "error":
            errors.append("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            reply = client.get_shell_msg(timeout=30)
            return reply["content"]["status"], "".join(text), errors
    raise AssertionError(f"no answer to {code!r} in {timeout} s; printed {''.join(text)!r}")


@pytest.mark.slow
def test_interrupting_the_kernel_stops_the_scan_with_one_line(tmp_path: Path) -> None:
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        status, _, errors = _execute(client, SETUP.format(root=str(tmp_path / "store")))
        assert status == "ok", errors
        interrupted = False

        def interrupt_once_running(text: str) -> None:
            nonlocal interrupted
            if "RUNNING" in text and not interrupted:
                interrupted = True
                time.sleep(1.5)  # some shots in: the stop button
                manager.interrupt_kernel()

        status, text, errors = _execute(client, RUN, on_output=interrupt_once_running)
        assert interrupted
        assert status == "ok", errors  # no traceback, no KeyboardInterrupt
        assert errors == []
        lines = [line for line in text.splitlines() if line.startswith("Interrupted /demo/")]
        assert len(lines) == 1, text
        assert lines[0].endswith(" / 4000 shots")

        status, text, errors = _execute(client, AFTER)
        assert status == "ok", errors
        after = next(line for line in text.splitlines() if line.startswith("AFTER"))
        assert after.split()[1:3] == ["False", "interrupted"]
        assert 0 <= int(after.split()[3]) < 4000
        assert "AGAIN finished 2" in text  # the manager is free: no lock left held
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
