"""The small parts of control: events, errors, summaries, analyses, retries, owners, progress."""

from __future__ import annotations

import io
import math
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
import pytest

from shotbook.control import (
    AnalysisFailed,
    LocalExperimentManagerConfiguration,
    ManagerBusyError,
    RemoteExperimentManagerConfiguration,
    RunProgress,
    RunSummary,
    SequenceFailed,
    SequenceFailedError,
    SequenceStateChanged,
    ShotAnalyses,
    ShotProblems,
    ShotRetried,
    ShotRetryConfig,
    ShotStored,
    TextProgress,
    event_from_dict,
    pid_alive,
)
from shotbook.control._owners import owner_gone_reason
from shotbook.session import RunOwner
from shotbook.types import ShotParameters, parse_unit

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

EVENTS = [
    SequenceStateChanged("/a", "running", 3, 10, T0),
    SequenceStateChanged("/a", "running", 0, None, T0),
    ShotStored("/a", 4, T0, T0 + timedelta(milliseconds=150), 2, {"analysis.atoms": 1.5e6}),
    ShotRetried("/a", 4, 1, "camera 'camera' got no picture"),
    AnalysisFailed("/a", 5, "fit", "ValueError: no cloud"),
    SequenceFailed("/a", {"path": "/a", "reason": "boom"}),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_survive_the_wire(event: Any) -> None:
    data = event.to_dict()
    assert data["kind"] == event.topic
    assert event_from_dict(msgpack.unpackb(msgpack.packb(data))) == event


def test_unknown_event_kinds_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"unknown event kind 'shot\.exploded'; known kinds"):
        event_from_dict({"kind": "shot.exploded", "path": "/a"})


def test_a_failure_names_the_shot_its_parameters_and_where() -> None:
    parameters = ShotParameters(
        {"wait_time": 0.004, "n": 3}, {"wait_time": parse_unit("ms"), "n": None}
    )
    cause = ValueError("the duration is negative")
    cause.step = "tof"  # type: ignore[attr-defined]
    cause.lane = "mot light"  # type: ignore[attr-defined]
    error = SequenceFailedError.from_exception(
        "/scans/a", cause, shot_index=6, parameters=parameters, number_of_shots=6
    )
    text = str(error)
    assert text.startswith("sequence /scans/a crashed at shot 6 (6 shots stored): ValueError:")
    assert "at: lane 'mot light', step 'tof'" in text
    assert "shot parameters: wait_time = 4 ms, n = 3" in text
    assert error.__cause__ is cause
    again = SequenceFailedError.from_dict(msgpack.unpackb(msgpack.packb(error.to_dict())))
    assert str(again) == text.replace("wait_time = 4 ms", "wait_time = 4 ms")
    assert again.parameters == {"wait_time": "4 ms", "n": 3}
    assert (again.shot_index, again.location, again.error_type) == (6, error.location, "ValueError")


def test_busy_errors_and_summaries_round_trip() -> None:
    busy = ManagerBusyError.from_dict(ManagerBusyError("/b", "/a").to_dict())
    assert (busy.requested, busy.running) == ("/b", "/a")
    assert "running /a" in str(busy)
    failure = SequenceFailedError("/a", "boom", shot_index=2, number_of_shots=2)
    summary = RunSummary("/a", "crashed", 2, 5, T0, T0, failure)
    again = RunSummary.from_dict(msgpack.unpackb(msgpack.packb(summary.to_dict())))
    assert (again.state, again.number_of_shots, again.started) == ("crashed", 2, T0)
    lines = str(again).splitlines()
    assert lines[0] == "/a: crashed after 2 / 5 shots"
    assert lines[1] == "  sequence /a crashed at shot 2 (2 shots stored): boom"
    assert lines[-1].startswith("  ran 0.0 s from ")
    assert not again.ok
    with pytest.raises(SequenceFailedError, match="crashed at shot 2"):
        again.raise_for_failure()
    progress = RunProgress("/a", "running", 3, None, T0)
    assert RunProgress.from_dict(progress.to_dict()) == progress


def test_analyses_keep_their_keys_when_they_fail() -> None:
    calls = iter([{"x": 1.0, "y": 2.0}, RuntimeError("no fit")])

    def fit(data: Any, parameters: Any) -> Any:
        result = next(calls)
        if isinstance(result, Exception):
            raise result
        return result

    analyses = ShotAnalyses({"fit": fit, "sum": lambda data, parameters: data["a"] + 1})
    first = analyses.run({"a": 1}, {})
    assert first.values == {"analysis.fit.x": 1.0, "analysis.fit.y": 2.0,
                            "analysis.fit.failed": False, "analysis.sum": 2.0,
                            "analysis.sum.failed": False}  # fmt: skip
    second = analyses.run({"a": 1}, {})
    assert math.isnan(second.values["analysis.fit.x"])
    assert second.values["analysis.fit.failed"]
    assert second.errors == {"fit": "RuntimeError: no fit"}
    assert second.scalars()["analysis.sum"] == 2.0


def test_analysis_names_are_checked() -> None:
    with pytest.raises(ValueError, match="not a"):
        ShotAnalyses({"not a name": lambda d, p: 1.0})
    with pytest.raises(TypeError, match="not callable"):
        ShotAnalyses({"x": 3})  # type: ignore[dict-item]


def test_retry_configuration() -> None:
    config = ShotRetryConfig((TimeoutError,), number_of_attempts=2)
    assert config.should_retry(TimeoutError(), 1)
    assert not config.should_retry(TimeoutError(), 2)
    assert not config.should_retry(KeyboardInterrupt(), 1)
    assert ShotRetryConfig(TimeoutError).exceptions_to_retry == (TimeoutError,)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="number_of_attempts is an int >= 1"):
        ShotRetryConfig((), 0)
    with pytest.raises(TypeError, match="exception classes"):
        ShotRetryConfig(("TimeoutError",))  # type: ignore[arg-type]


def test_configurations_are_checked() -> None:
    with pytest.raises(ValueError, match="stale_after"):
        LocalExperimentManagerConfiguration(heartbeat_interval=5.0, stale_after=2.0)
    with pytest.raises(ValueError, match="compile_ahead is an int >= 1"):
        LocalExperimentManagerConfiguration(compile_ahead=0)
    with pytest.raises(ValueError, match="both server_public_key and client_secret_key_file"):
        RemoteExperimentManagerConfiguration("lab", 5570, server_public_key="x" * 40)
    with pytest.raises(ValueError, match="port"):
        RemoteExperimentManagerConfiguration("lab", 0)
    assert RemoteExperimentManagerConfiguration("lab", 5570).address == "tcp://lab:5570"


def test_owners_gone_or_alive() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    now = datetime.now(UTC)
    assert pid_alive(os.getpid())
    assert not pid_alive(dead.pid)
    assert "no longer running" in (
        owner_gone_reason(RunOwner(host, dead.pid, "u"), now, 30.0) or ""
    )
    parent = os.getppid()
    assert owner_gone_reason(RunOwner(host, parent, "u"), now, 30.0) is None
    other = RunOwner("another-host", 1, "u")
    assert owner_gone_reason(other, now - timedelta(seconds=5), 30.0) is None
    assert "no heartbeat for 60 s" in (
        owner_gone_reason(other, now - timedelta(seconds=60), 30.0) or ""
    )


def test_text_progress_prints_rate_and_time_left() -> None:
    out = io.StringIO()
    progress = TextProgress("/a", out, every=0.0)
    progress.update(1, 4, "running")
    progress.update(2, 4, "running")
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("/a: 1 / 4 shots (running)")
    assert "shots/s" in lines[-1]
    assert "s left" in lines[-1]
    assert len(lines) == 2  # close() does not repeat the last line


def test_a_terminal_gets_a_tqdm_bar_and_a_pipe_plain_lines() -> None:
    from shotbook.control._progress import make_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    bar = make_progress("/a", 4, terminal)
    bar.update(2, 4, "running")
    bar.update(4, 4, "finished")
    bar.close()
    assert "4/4" in terminal.getvalue()
    assert "\r" in terminal.getvalue()
    assert isinstance(make_progress("/a", 4, io.StringIO()), TextProgress)


def test_the_problem_tally_counts_shots_and_keeps_the_first_message() -> None:
    from shotbook.control import RunSummary, ShotProblems
    from shotbook.control._problems import MAX_MESSAGE, ProblemTally

    tally = ProblemTally()
    tally.note("retried", 3, "TimeoutError: no picture")
    tally.note("retried", 3, "TimeoutError: no picture, again")  # the same shot once more
    tally.note("analysis 'fit' failed", 4, "x" * 1000)
    tally.note("retried", 8, "TimeoutError: other")
    retried, fit = tally.problems()
    assert retried == ShotProblems("retried", 2, 3, "TimeoutError: no picture")
    assert fit.shots == 1
    assert len(fit.first_message) == MAX_MESSAGE
    assert str(retried) == "retried on 2 shots (first on shot 3: TimeoutError: no picture)"
    summary = RunSummary("/a", "finished", 9, 9, None, None, None, tally.problems())
    assert RunSummary.from_dict(summary.to_dict()) == summary  # what a remote manager gets
    older = summary.to_dict()
    del older["problems"]  # from a server of an earlier version
    assert RunSummary.from_dict(older).problems == ()


def test_a_summary_reads_as_text_and_as_html() -> None:
    failure = SequenceFailedError(
        "/scan <1>",
        "camera timed out",
        shot_index=3,
        parameters={"wait_time": "4 ms"},
        location="device 'camera'",
        error_type="TimeoutError",
        number_of_shots=3,
    )
    problems = (ShotProblems("analysis 'fit' failed", 2, 1, "no peak"),)
    summary = RunSummary(
        "/scan <1>", "crashed", 3, 24, T0, T0 + timedelta(seconds=6), failure, problems
    )
    text = str(summary)
    assert text.splitlines()[:2] == [
        "/scan <1>: crashed after 3 / 24 shots",
        "  analysis 'fit' failed on 2 shots (first on shot 1: no peak)",
    ]
    assert "  at: device 'camera'" in text
    assert "  shot parameters: wait_time = 4 ms" in text
    assert text.splitlines()[-1] == "  ran 6.0 s from 2026-11-25 12:00:00 UTC, 0.50 shots/s"
    html = summary._repr_html_()
    assert "/scan &lt;1&gt;" in html  # escaped
    assert "TimeoutError: camera timed out" in html
    assert "<li>analysis &#x27;fit&#x27; failed on 2 shots" in html
    printed: list[str] = []

    class Printer:
        def text(self, value: str) -> None:
            printed.append(value)

    summary._repr_pretty_(Printer(), False)
    assert printed == [text]
    assert "RunSummary(" not in printed[0]
