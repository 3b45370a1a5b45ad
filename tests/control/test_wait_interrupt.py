"""Ctrl-C while waiting for a run: a flag, never a KeyboardInterrupt torn through a call."""

from __future__ import annotations

import io
import os
import signal
import time

import pytest

from shotbook.control import RunSummary, wait_with_progress


class _Manager:
    """Stands in for a manager whose wait() holds a lock when the Ctrl-C arrives."""

    def __init__(self, presses: int) -> None:
        self.presses = presses
        self.calls_done: list[str] = []
        self.torn: list[str] = []
        self.interrupted = False
        self.waits = 0

    def current(self) -> None:
        return None

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        try:
            if self.presses:
                self.presses -= 1
                signal.raise_signal(signal.SIGINT)  # as if pressed while the lock is held
            time.sleep(0.001)
        except BaseException:
            self.torn.append("wait")
            raise
        self.calls_done.append("wait")
        return self.interrupted and self.waits > 3

    def interrupt(self) -> bool:
        self.interrupted = True
        return True

    def last_run(self) -> RunSummary:
        return RunSummary("/scan", "interrupted", 7, 40, None, None)


@pytest.mark.skipif(os.name == "nt", reason="raise_signal(SIGINT) on Windows differs")
def test_ctrl_c_while_waiting_sets_a_flag_and_interrupts_at_the_boundary() -> None:
    manager = _Manager(presses=1)
    out = io.StringIO()
    summary = wait_with_progress(manager, "/scan", progress=False, stream=out)  # type: ignore[arg-type]
    assert manager.torn == []  # the call holding the lock was not cut in the middle
    assert manager.interrupted
    assert summary.state == "interrupted"
    assert out.getvalue() == "Interrupted /scan after 7 / 40 shots\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(os.name == "nt", reason="raise_signal(SIGINT) on Windows differs")
def test_a_second_ctrl_c_stops_waiting_and_leaves_the_run_stopping() -> None:
    manager = _Manager(presses=2)
    out = io.StringIO()
    summary = wait_with_progress(manager, "/scan", progress=False, stream=out)  # type: ignore[arg-type]
    assert manager.torn == []
    assert summary.state == "interrupting"
    assert out.getvalue() == "Stopping /scan in the background (interrupted twice)\n"
