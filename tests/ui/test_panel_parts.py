"""The panel's collaborators on their own: the worker, the manager link, the plot choices,
and the shape of the panel's modules (one job each, small, no reaching into each other)."""

from __future__ import annotations

import ast
import threading
from pathlib import Path
from typing import Any

import pytest

from shotbook.ui._panel_choices import NONE, PlotChoices
from shotbook.ui._panel_connection import ManagerConnection
from shotbook.ui._panel_worker import PanelWorker

UI = Path(__file__).parents[2] / "src" / "shotbook" / "ui"


def test_the_worker_runs_tasks_in_order_and_survives_a_failing_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = PanelWorker(poll_read=lambda: lambda: None, interval=3600.0)
    done: list[int] = []

    def fails() -> None:
        raise RuntimeError("store unreadable")

    worker.start()
    try:
        with caplog.at_level("ERROR", logger="shotbook.ui"):
            worker.submit(lambda: done.append(1))
            worker.submit(fails)
            worker.submit(lambda: done.append(2))
            assert worker.wait_idle(30.0)
        assert done == [1, 2]
        assert "store unreadable" in caplog.text
    finally:
        worker.close()
    worker.submit(lambda: done.append(3))  # dropped once closed
    assert done == [1, 2]


def test_the_poller_reads_on_its_thread_and_applies_on_the_worker() -> None:
    threads: dict[str, str] = {}
    applied = threading.Event()

    def read() -> Any:
        threads["read"] = threading.current_thread().name

        def apply() -> None:
            threads["apply"] = threading.current_thread().name
            applied.set()

        return apply

    worker = PanelWorker(poll_read=read, interval=0.05)
    worker.start()
    try:
        assert applied.wait(30.0)
    finally:
        worker.close()
    assert threads == {"read": "shotbook-poll", "apply": "shotbook-panel"}


def test_a_poll_interval_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        PanelWorker(poll_read=lambda: lambda: None, interval=0)


class _Manager:
    def __init__(self) -> None:
        self.callbacks: list[Any] = []
        self.closed = 0

    def start_sequence(self, path: str) -> None:
        raise AssertionError("not called")

    def is_running(self) -> bool:
        return True

    def subscribe(self, callback: Any) -> Any:
        self.callbacks.append(callback)
        manager = self

        class Subscription:
            def close(self) -> None:
                manager.closed += 1

        return Subscription()


def test_the_manager_function_is_called_once_and_subscribed_to() -> None:
    made: list[_Manager] = []

    def make() -> Any:
        made.append(_Manager())
        return made[-1]

    events: list[Any] = []
    connection = ManagerConnection(make, events.append)
    assert connection.has_source
    assert not connection.source_is_manager
    assert not connection.connected
    assert not connection.runs()
    first = connection.get()
    assert connection.get() is first
    assert len(made) == 1
    assert made[0].callbacks == [events.append]
    assert connection.runs()
    connection.close()
    assert made[0].closed == 1


def test_an_unreachable_manager_is_logged_once_and_not_created_after_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def unreachable() -> Any:
        calls.append(1)
        raise ConnectionError("no experiment server at tcp://127.0.0.1:1")

    connection = ManagerConnection(unreachable, lambda event: None)
    with caplog.at_level("WARNING", logger="shotbook.ui"):
        connection.connect_quietly(2.0)
        connection.connect_quietly(2.0)
    assert calls == [1]
    assert caplog.text.count("could not subscribe") == 1
    with pytest.raises(ConnectionError):
        connection.get()  # a click tries again, and says why it fails
    connection.close()
    assert connection.get() is None
    assert calls == [1, 1]
    assert ManagerConnection(None, lambda event: None).get() is None


def test_plot_choices_keep_what_was_asked_and_what_the_person_picked() -> None:
    changes: list[int] = []
    choices = PlotChoices(lambda: changes.append(1), scalar="analysis.atoms")
    assert (choices.image, choices.y, choices.x) == (None, None, None)
    choices.offer(["camera.image"], ["analysis.width", "analysis.atoms"], ["power", "time"])
    assert (choices.image, choices.y, choices.x) == ("camera.image", "analysis.atoms", "power")
    assert changes == []  # options set by the panel are not the person's choices
    values = {0: {"power": 1.0, "time": 1.0}, 1: {"power": 1.0, "time": 2.0}}
    choices.pick_x(["power", "time"], values)
    assert choices.x == "time"
    choices.x_choice.value = "power"  # the person picks
    assert changes == [1]
    choices.pick_x(["power", "time"], values)
    assert choices.x == "power"
    choices.offer([], ["analysis.width"], ["power"])
    assert (choices.image, choices.y) == (None, "analysis.width")
    assert choices.image_choice.options == (NONE,)


def _panel_modules() -> list[Path]:
    modules = sorted(UI.glob("_panel*.py"))
    assert len(modules) >= 6, modules
    return modules


@pytest.mark.parametrize("module", _panel_modules(), ids=lambda path: path.name)
def test_each_panel_module_is_small_and_reaches_into_no_other_object(module: Path) -> None:
    text = module.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 400, f"{module.name} has grown above 400 lines"
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            methods = [
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            assert len(methods) <= 20, f"{module.name}: {node.name} has {len(methods)} methods"
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            is_own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            # IPython's display protocol is public despite its leading underscore
            public_protocol = node.attr.startswith("_repr_") and node.attr.endswith("_")
            assert is_own or public_protocol, (
                f"{module.name}:{node.lineno} reads {ast.unparse(node)} of another object"
            )
