"""StopSignals: the server main thread's wait for Ctrl-C, SIGTERM or a stop event."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from shotbook.rpc import StopSignals


def _send_later(signum: int, delay: float = 0.05, times: int = 1) -> threading.Thread:
    def send() -> None:
        for _ in range(times):
            threading.Event().wait(delay)
            os.kill(os.getpid(), signum)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


@pytest.mark.skipif(os.name == "nt", reason="os.kill(SIGINT) kills the process on Windows")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_wait_and_the_previous_handler_comes_back(signum: int) -> None:
    before = signal.getsignal(signum)
    with StopSignals() as signals:
        assert signal.getsignal(signum) != before
        sender = _send_later(signum, times=3)  # a burst: no KeyboardInterrupt escapes
        assert signals.wait(poll=0.01) == signal.Signals(signum).name
        sender.join()
    assert signal.getsignal(signum) == before
    assert len(signals.received) >= 1


def test_a_stop_event_ends_the_wait() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    with StopSignals() as signals:
        assert signals.wait(stop, poll=0.01) == "stop"
    assert signals.received == []


def test_outside_the_main_thread_no_handler_is_installed() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def run() -> None:
        stop = threading.Event()
        stop.set()
        with StopSignals() as signals:
            seen.append(signal.getsignal(signal.SIGINT))
            seen.append(signals.wait(stop))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before, "stop"]


@pytest.mark.skipif(os.name == "nt", reason="os.kill(SIGINT) kills the process on Windows")
def test_a_signal_repeated_after_the_grace_period_forces_a_keyboard_interrupt() -> None:
    with StopSignals(force_after=0.05) as signals:
        signal.raise_signal(signal.SIGINT)
        assert signals.wait(poll=0.01) == "SIGINT"
        time.sleep(0.1)  # shutting down, past the grace period
        with pytest.raises(KeyboardInterrupt, match="SIGINT again"):
            signal.raise_signal(signal.SIGINT)
