"""Item 2 of issue 18: the live plot offers every stored per-shot value, picks one, and an
analysis added after a run applies to the next run (or a warning says why not)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shotbook.control import LocalExperimentManager, RemoteExperimentManagerConfiguration
from shotbook.extension import Experiment
from shotbook.session import DuckDBConfig
from shotbook.ui import ExperimentPanel
from shotbook.ui._panel_choices import NOTHING_TO_PLOT

from .conftest import Lab
from .lab import add_scan


def _brightest(data: Any, parameters: Any) -> float:
    return float(np.max(data["camera.cloud"]))


def test_without_analyses_the_plot_shows_picture_sums_and_says_how_to_add_values(
    lab: Lab,
) -> None:
    bare = LocalExperimentManager(lab.storage, lab.registry, compilers=lab.compilers)
    panel = ExperimentPanel(lab.storage, bare, poll_interval=0.2)
    try:
        assert panel.plot_hint.value == NOTHING_TO_PLOT  # nothing stored yet
        bare.run_sequence("/scans/tof", progress=False)
        assert bare.flush_events()
        panel.refresh()
        assert panel.flush()
        assert panel.y_choice.value == "sum(camera.cloud)"
        assert panel.plot_hint.value == ""
        assert panel.x_choice.value == "time_of_flight"
        assert panel.plot.count == 8
        x, _mean, error = panel.plot.groups()
        assert len(x) == 4  # 4 values of x, each repeated twice: mean ± standard error
        assert np.all(error > 0)
        picked = panel.y_choice.options
        assert "sum(camera.cloud)" in picked
    finally:
        panel.close()
        bare.close()


def test_an_analysis_added_after_a_run_applies_to_the_next(lab: Lab, manager: Any) -> None:
    manager.run_sequence("/scans/tof", progress=False)
    manager.add_analysis("brightest", _brightest)
    add_scan(lab.storage, "/scans/again")
    manager.run_sequence("/scans/again", progress=False)
    with lab.storage.session() as session:
        first = session.sequences.get_shot("/scans/tof", 0).data
        second = session.sequences.get_shot("/scans/again", 0).data
    assert "analysis.brightest" not in first
    assert second["analysis.brightest"] == pytest.approx(float(np.max(second["camera.cloud"])))


def test_experiment_forwards_a_late_analysis_or_warns(tmp_path: Path) -> None:
    experiment = Experiment(DuckDBConfig(tmp_path / "store"))
    manager = experiment.get_local_experiment_manager()
    try:
        experiment.add_shot_analysis("brightest", _brightest)
        assert "brightest" in manager.analyses  # the manager made before it applies it
    finally:
        manager.close()
    experiment.configure_experiment_manager(RemoteExperimentManagerConfiguration("127.0.0.1", 1))
    with pytest.warns(UserWarning, match="experiment server"):
        experiment.add_shot_analysis("late", _brightest)
