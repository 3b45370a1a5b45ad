"""The whole panel, driven through its views' traits, on a real store and a real manager."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shotbook.session._states import State
from shotbook.ui import ExperimentPanel

from .conftest import Lab
from .lab import add_scan, make_manager

_ids = itertools.count(1)


def ask(panel: ExperimentPanel, action: str, **fields: Any) -> dict[str, Any]:
    """Write a browser command as the front end does; wait for the answer."""
    command_id = next(_ids)
    panel.browser.command = {"id": command_id, "action": action, **fields}
    assert panel.flush()
    return dict(panel.browser.status)


def run(panel: ExperimentPanel, action: str, **fields: Any) -> dict[str, Any]:
    """Press a run-control button as the front end does; wait for the answer."""
    panel.run_control.command = {"id": next(_ids), "action": action, **fields}
    assert panel.flush()
    return dict(panel.run_control.status)


def paths(panel: ExperimentPanel) -> dict[str, str]:
    return {row["path"]: row["kind"] for row in panel.browser.current_rows()}


@pytest.fixture
def panel(lab: Lab, manager: Any) -> Iterator[ExperimentPanel]:
    shown = ExperimentPanel(lab.storage, manager, poll_interval=0.2)
    yield shown
    shown.close()


def finish(panel: ExperimentPanel, manager: Any) -> None:
    assert manager.wait(60)
    assert manager.flush_events()
    assert panel.flush()


def test_browser_lists_folders_and_sequences(panel: ExperimentPanel) -> None:
    assert paths(panel) == {"/scans": "folder", "/scans/tof": "sequence"}
    row = panel.browser.row("/scans/tof")
    assert row is not None
    assert (row["state"], row["shots"], row["expected"]) == ("draft", 0, None)
    assert row["created"]


def test_create_rename_duplicate_and_notes(panel: ExperimentPanel, lab: Lab) -> None:
    assert ask(panel, "new_folder", path="/calibrations/mot")["ok"]
    assert paths(panel)["/calibrations/mot"] == "folder"
    answer = ask(panel, "new_sequence", path="/calibrations/mot/loading")
    assert answer["ok"], answer
    assert panel.browser.row("/calibrations/mot/loading")["state"] == "draft"
    assert ask(
        panel, "rename", path="/calibrations/mot/loading", destination="/calibrations/mot/load"
    )["ok"]
    assert "/calibrations/mot/loading" not in paths(panel)
    assert ask(panel, "duplicate", path="/scans/tof", destination="/scans/tof copy")["ok"]
    assert paths(panel)["/scans/tof copy"] == "sequence"
    assert ask(panel, "select", path="/scans/tof")["ok"] is not False
    assert ask(panel, "set_notes", path="/scans/tof", notes="MOT at -15 MHz")["ok"]
    with lab.storage.session() as session:
        assert session.sequences.get_notes("/scans/tof") == "MOT at -15 MHz"
        assert session.sequences.is_sequence("/calibrations/mot/load")
    ask(panel, "select", path="/scans/tof copy")
    ask(panel, "select", path="/scans/tof")
    assert panel.browser.notes == "MOT at -15 MHz"
    # the audit log of the selected sequence shows beside its notes
    assert panel.browser.history == ""
    ask(panel, "select", path="/calibrations/mot/load")
    assert "rename /calibrations/mot/loading → /calibrations/mot/load by " in panel.browser.history


def test_errors_are_reported_in_the_status_line(panel: ExperimentPanel) -> None:
    answer = ask(panel, "new_folder", path="/scans/tof/inside")
    assert answer["ok"] is False
    assert "/scans/tof" in answer["message"]
    answer = ask(panel, "new_folder", path="")
    assert answer["ok"] is False
    assert "path" in answer["message"]
    answer = ask(panel, "confirm", token=12345)
    assert answer["ok"] is False
    assert "nothing to confirm" in answer["message"]


def test_delete_asks_first(panel: ExperimentPanel, lab: Lab) -> None:
    answer = ask(panel, "delete", path="/scans")
    assert "confirmation" in answer["message"]
    question = panel.browser.confirm
    assert "Delete folder /scans with its 1 sequence" in question["message"]
    assert "/scans/tof" in paths(panel), "nothing is deleted before the confirmation"
    assert ask(panel, "cancel")["ok"]
    assert panel.browser.confirm == {}
    assert "/scans/tof" in paths(panel)
    ask(panel, "delete", path="/scans/tof")
    stale = panel.browser.confirm["token"] - 1
    assert ask(panel, "confirm", token=stale)["ok"] is False
    token = panel.browser.confirm["token"]
    assert ask(panel, "confirm", token=token)["ok"]
    assert "/scans/tof" not in paths(panel)
    with lab.storage.session() as session:
        assert not session.paths.exists("/scans/tof")


def test_run_to_the_end_shows_progress_image_and_plot(panel: ExperimentPanel, manager: Any) -> None:
    ask(panel, "select", path="/scans/tof")
    assert panel.run_control.can_start
    answer = run(panel, "start")
    assert answer["ok"], answer
    finish(panel, manager)
    control = panel.run_control
    assert (control.path, control.state) == ("/scans/tof", "finished")
    assert control.progress == "8 / 8 shots"
    assert control.running == ""
    assert not control.can_start
    row = panel.browser.row("/scans/tof")
    assert (row["state"], row["shots"], row["expected"]) == ("finished", 8, 8)
    assert row["ran_by"]
    assert row["duration"] is not None
    image = panel.image
    assert (image.dtype, image.shape) == ("uint16", [512, 512])
    frame = np.frombuffer(image.image, dtype="<u2").reshape(512, 512)
    assert frame.std() > 0, "the cloud picture is not flat"
    assert "shot 7" in image.label
    plot = panel.plot
    assert (plot.x_label, plot.y_label) == ("time_of_flight", "analysis.atom_number")
    assert plot.count == 8
    gx, mean, error = plot.groups()
    assert gx.tolist() == pytest.approx([2.0, 6.0, 10.0, 14.0])
    assert np.all(np.isfinite(mean))
    assert np.all(error >= 0)
    # the cloud falls and spreads: fewer counts above the median at long times of flight
    assert mean[0] > mean[-1]


def test_a_deleted_runs_picture_does_not_stay_up(panel: ExperimentPanel, manager: Any) -> None:
    """Issue 18, item 9: the picture of a run whose sequence was deleted stayed shown."""
    ask(panel, "select", path="/scans/tof")
    assert run(panel, "start")["ok"]
    finish(panel, manager)
    assert panel.image.shape == [512, 512]
    ask(panel, "delete", path="/scans/tof")
    assert ask(panel, "confirm", token=panel.browser.confirm["token"])["ok"]
    assert panel.flush()
    assert panel.image.shape == [0, 0]
    assert panel.image.image == b""
    assert panel.image.last_image is None  # nor in the saved notebook's snapshot
    assert panel.image.label == "no sequence selected"


def test_interrupt_stops_a_slow_scan(lab: Lab, tmp_path: Any) -> None:
    from .lab import make_store

    storage, registry, compilers = make_store(tmp_path / "slow", speed=0.05)
    add_scan(storage, "/scans/long", points=20, repetitions=2)
    manager = make_manager(storage, registry, compilers)
    panel = ExperimentPanel(storage, lambda: manager, poll_interval=0.2)
    try:
        panel.select("/scans/long")
        assert run(panel, "start")["ok"]
        with manager.events() as events:
            for event in events:
                if getattr(event, "topic", "") == "shot.stored":
                    break
        answer = run(panel, "interrupt")
        assert answer["ok"]
        assert "interrupting" in answer["message"]
        finish(panel, manager)
        control = panel.run_control
        assert control.state == "interrupted"
        assert 1 <= control.shots < 40
        assert panel.browser.row("/scans/long")["state"] == "interrupted"
        assert run(panel, "interrupt")["ok"] is False
        # reset to draft asks first, then deletes the shots
        ask(panel, "reset", path="/scans/long")
        assert "shots will be deleted" in panel.browser.confirm["message"]
        assert ask(panel, "confirm", token=panel.browser.confirm["token"])["ok"]
        assert panel.browser.row("/scans/long")["state"] == "draft"
        assert panel.run_control.can_start
    finally:
        panel.close()
        manager.close()
        storage.close()


def test_a_refused_start_shows_where_and_the_traceback(panel: ExperimentPanel, lab: Lab) -> None:
    from shotbook.types import TimeLanes

    from .lab import tof_lanes, tof_scan

    lanes = tof_lanes()
    broken = TimeLanes(
        lanes.step_names, ["mot.loading_time", "time_of_flight", "1 MHz"], lanes.lanes
    )
    with lab.storage.session() as session:
        session.sequences.create("/scans/broken", tof_scan(), broken)
    panel.refresh()
    ask(panel, "select", path="/scans/broken")
    answer = run(panel, "start")
    assert answer["ok"] is False
    assert "/scans/broken" in answer["message"]
    error = panel.run_control.error
    assert error["path"] == "/scans/broken"
    assert error["reason"]
    assert "remote_traceback" not in error
    panel.run_control.show_traceback = True
    assert panel.flush()
    assert "Traceback" in panel.run_control.traceback
    assert panel.browser.row("/scans/broken")["state"] == "draft"


def test_runs_started_elsewhere_are_followed_by_polling(lab: Lab) -> None:
    panel = ExperimentPanel(lab.storage, None, poll_interval=0.1)
    other = make_manager(lab.storage, lab.registry, lab.compilers)
    try:
        assert not panel.run_control.can_start, "no manager: the panel only browses"
        other.run_sequence("/scans/tof", progress=False)
        panel.refresh()
        assert panel.flush()
        panel.refresh()
        assert panel.flush()
        assert panel.run_control.path == "/scans/tof"
        assert panel.run_control.state == "finished"
        assert panel.run_control.progress == "8 / 8 shots"
        assert panel.plot.count == 8
        assert panel.image.shape == [512, 512]
        answer = run(panel, "start")
        assert answer["ok"] is False
        assert "no experiment manager" in answer["message"]
    finally:
        panel.close()
        other.close()


def test_a_run_that_started_and_ended_between_two_reads_is_shown(lab: Lab) -> None:
    """A short run started elsewhere can begin and end between two polls of the store."""
    add_scan(lab.storage, "/scans/spare")
    panel = ExperimentPanel(lab.storage, None, poll_interval=3600.0)  # reads on refresh only
    other = make_manager(lab.storage, lab.registry, lab.compilers)
    try:
        assert panel.run_control.path == ""
        other.run_sequence("/scans/tof", progress=False)
        panel.refresh()
        assert panel.flush()
        assert panel.run_control.path == "/scans/tof"
        assert panel.run_control.state == "finished"
        assert panel.run_control.progress == "8 / 8 shots"
        panel.select("/scans/spare")  # the user's choice stands at the next reads
        assert panel.flush()
        panel.refresh()
        assert panel.flush()
        assert panel.run_control.path == "/scans/spare"
    finally:
        panel.close()
        other.close()


def test_saved_output_has_the_table_and_the_last_image(
    panel: ExperimentPanel, manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ask(panel, "select", path="/scans/tof")
    run(panel, "start")
    finish(panel, manager)
    monkeypatch.setenv("SHOTBOOK_PANEL_STATIC", "0")
    bundle = panel._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.widget.model_id
    monkeypatch.setenv("SHOTBOOK_PANEL_STATIC", "1")
    assert "application/vnd.jupyter.widget-view+json" not in panel._repr_mimebundle_()
    html = bundle["text/html"]
    assert "shotbook-static-table" in html
    assert "/scans/tof" in html
    assert "8 / 8 shots" in html
    assert "finished" in html
    assert '<img alt="camera.cloud' in html
    assert "data:image/png;base64," in html


def test_a_new_panel_shows_the_last_run(panel: ExperimentPanel, manager: Any, lab: Lab) -> None:
    ask(panel, "select", path="/scans/tof")
    run(panel, "start")
    finish(panel, manager)
    second = ExperimentPanel(lab.storage, manager, poll_interval=5.0)
    try:
        assert second.flush()
        assert second.run_control.path == "/scans/tof"
        assert second.run_control.progress == "8 / 8 shots"
        assert second.image.shape == [512, 512]
        assert second.plot.count == 8
        with lab.storage.session() as session:
            assert session.sequences.get_state("/scans/tof") is State.FINISHED
    finally:
        second.close()


def test_nbconvert_html_of_an_executed_notebook_shows_table_and_image(tmp_path: Path) -> None:
    """`jupyter nbconvert --execute` then `--to html`: the table and the image, not a blank."""
    code = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from tests.ui.lab import add_scan, make_manager, make_store
from shotbook.ui import ExperimentPanel
storage, registry, compilers = make_store("store")
add_scan(storage, "/scans/tof")
manager = make_manager(storage, registry, compilers)
manager.run_sequence("/scans/tof", progress=False)
ExperimentPanel(storage, manager)
"""
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "panel",
                "metadata": {},
                "outputs": [],
                "source": code,
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "panel.ipynb").write_text(json.dumps(notebook))
    jupyter = [sys.executable, "-m", "jupyter", "nbconvert"]
    env = {k: v for k, v in os.environ.items() if k != "SHOTBOOK_PANEL_STATIC"}
    for arguments in (["--to", "notebook", "--execute", "--inplace"], ["--to", "html"]):
        subprocess.run(
            [*jupyter, *arguments, "panel.ipynb"], cwd=tmp_path, env=env, check=True,
            capture_output=True, timeout=120,
        )  # fmt: skip
    html = (tmp_path / "panel.html").read_text()
    assert "shotbook-static-table" in html
    assert "/scans/tof" in html
    assert "8 / 8 shots" in html
    assert '<img alt="camera.cloud' in html


def test_a_given_manager_is_followed_by_its_events_not_the_poll(lab: Lab, manager: Any) -> None:
    """A run started from a cell shows each shot from the manager's events: with a poll
    interval of an hour, only the events can bring the progress, the image and the end."""
    panel = ExperimentPanel(lab.storage, manager, poll_interval=3600.0)
    try:
        assert panel.flush()  # the worker has subscribed
        manager.run_sequence("/scans/tof", progress=False)
        assert manager.flush_events()
        assert panel.flush()
        control = panel.run_control
        assert (control.path, control.state) == ("/scans/tof", "finished")
        assert control.progress == "8 / 8 shots"
        assert panel.image.shape == [512, 512]
        assert "shot 7" in panel.image.label
        assert panel.plot.count == 8
        assert panel.browser.row("/scans/tof")["state"] == "finished"
    finally:
        panel.close()


def test_shot_counts_are_sent_from_the_events_thread(lab: Lab, manager: Any) -> None:
    """The count reaches the comm on the manager's events thread, not behind the worker."""
    import threading

    panel = ExperimentPanel(lab.storage, manager, poll_interval=3600.0)
    counts: list[tuple[int, str]] = []

    def record(change: dict[str, Any]) -> None:
        counts.append((change["new"], threading.current_thread().name))

    try:
        panel.select("/scans/tof")  # watched before its first shot (else the worker shows it)
        assert panel.flush()
        panel.run_control.observe(record, names="shots")
        manager.run_sequence("/scans/tof", progress=False)
        assert manager.flush_events()
        assert panel.flush()
        first = {count: thread for count, thread in reversed(counts)}
        assert sorted(first)[-1] == 8
        # (the worker may rarely be first, when it reads the store between a shot's write
        # and the delivery of its event)
        from_events = [n for n in range(1, 9) if first.get(n) not in ("shotbook-panel", None)]
        assert len(from_events) >= 6, counts
    finally:
        panel.close()


def test_a_manager_function_is_called_for_a_run_of_this_process(lab: Lab, manager: Any) -> None:
    """With a function (as the Experiment gives), the panel asks for the manager when the
    store shows a run owned by this process, then follows it by events."""
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return manager

    panel = ExperimentPanel(lab.storage, factory, poll_interval=3600.0)
    try:
        assert panel.flush()
        assert calls == [], "no run yet: the function is not called"
        manager.start_sequence("/scans/tof")  # PREPARING in the store, owned by this process
        panel.refresh()
        assert panel.flush()
        assert calls == [1]
        assert manager.wait(60)
        assert manager.flush_events()
        assert panel.flush()
        assert panel.run_control.state == "finished"
        assert panel.run_control.progress == "8 / 8 shots"
        assert calls == [1]
    finally:
        panel.close()


def test_a_manager_that_cannot_be_reached_leaves_the_panel_polling(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    class Unreachable:
        def start_sequence(self, path: str) -> None:
            raise AssertionError("not called")

        def subscribe(self, callback: Any) -> Any:
            raise ConnectionError("no experiment server at tcp://127.0.0.1:1")

        def is_running(self) -> bool:
            raise ConnectionError("no experiment server at tcp://127.0.0.1:1")

    with caplog.at_level("WARNING", logger="shotbook.ui"):
        panel = ExperimentPanel(lab.storage, Unreachable(), poll_interval=3600.0)
        try:
            assert panel.flush()
            assert "could not subscribe" in caplog.text
            assert "tcp://127.0.0.1:1" in caplog.text
            panel.select("/scans/tof")
            assert panel.flush()
            assert panel.run_control.path == "/scans/tof"
            assert panel.run_control.can_start
            answer = run(panel, "start")
            assert answer["ok"] is False
            assert "tcp://127.0.0.1:1" in answer["message"]
        finally:
            panel.close()


def wait_until(condition: Any, timeout: float = 60.0, what: str = "") -> None:
    """Wait (generously) for ``condition()`` to hold; fail naming ``what`` if it never does."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s for {what}")
        time.sleep(0.05)


def test_the_panel_drives_an_experiment_server_in_another_process(tmp_path: Path) -> None:
    """Start, progress by events, the image, a busy refusal and interrupt, all through a
    RemoteExperimentManager talking to a real experiment server on 127.0.0.1."""
    from shotbook.control import RemoteExperimentManager, RemoteExperimentManagerConfiguration

    from .lab import make_store
    from .procs import experiment_server

    storage, _, _ = make_store(tmp_path / "store", speed=0.05)
    add_scan(storage, "/scans/tof", points=4, repetitions=2)
    add_scan(storage, "/scans/long", points=100, repetitions=4)
    with experiment_server(tmp_path / "store", tmp_path / "logs", speed=0.05) as server:
        remote = RemoteExperimentManager(
            RemoteExperimentManagerConfiguration("127.0.0.1", server.port)
        )
        panel = ExperimentPanel(storage, remote, poll_interval=3600.0)
        control = panel.run_control
        try:
            panel.select("/scans/tof")
            assert panel.flush()
            assert control.can_start
            answer = run(panel, "start")
            assert answer["ok"], answer
            wait_until(lambda: control.state == "finished", what="/scans/tof to finish")
            assert panel.flush()
            assert control.progress == "8 / 8 shots"
            assert panel.image.shape == [512, 512]
            assert "shot 7" in panel.image.label
            assert panel.plot.count == 8
            assert panel.browser.row("/scans/tof")["state"] == "finished"

            panel.select("/scans/long")
            assert panel.flush()
            assert run(panel, "start")["ok"]
            wait_until(lambda: control.shots >= 2, what="two shots of /scans/long")
            assert panel.flush()
            assert control.running == "/scans/long"
            busy = run(panel, "start", path="/scans/tof")
            assert busy["ok"] is False
            assert "already running" in busy["message"], busy
            assert "/scans/long" in busy["message"], busy
            answer = run(panel, "interrupt")
            assert answer["ok"], answer
            wait_until(lambda: control.state == "interrupted", what="the interrupt")
            assert panel.flush()
            assert 2 <= control.shots < 400
            assert control.running == ""
            assert panel.browser.row("/scans/long")["state"] == "interrupted"
            assert "started /scans/tof" in server.log()
        finally:
            panel.close()
            remote.close()
            storage.close()
