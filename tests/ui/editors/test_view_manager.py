"""ExperimentView connects to an experiment server at once, and to a local manager lazily."""

from __future__ import annotations

from typing import Any

import pytest

from shotbook.control import (
    LocalExperimentManagerConfiguration,
    RemoteExperimentManagerConfiguration,
)
from shotbook.extension import Experiment
from shotbook.ui import ExperimentView


def _count_connects(experiment: Experiment, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []

    def connect() -> Any:
        calls.append(experiment.experiment_manager_location)
        raise ConnectionError("no experiment server in this test")

    monkeypatch.setattr(experiment, "connect_to_experiment_manager", connect)
    return calls


def test_a_remote_manager_is_connected_when_the_view_opens(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = RemoteExperimentManagerConfiguration("127.0.0.1", 1)
    experiment.configure_experiment_manager(location)
    calls = _count_connects(experiment, monkeypatch)
    view = ExperimentView(experiment, poll_interval=3600.0)
    try:
        assert view.panel.flush()
        assert calls == [location]  # runs of the server are followed by their events
    finally:
        view.close()


def test_a_local_manager_is_created_only_when_needed(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment.configure_experiment_manager(LocalExperimentManagerConfiguration())
    calls = _count_connects(experiment, monkeypatch)
    view = ExperimentView(experiment, poll_interval=3600.0)
    try:
        assert view.panel.flush()
        assert calls == []
    finally:
        view.close()
