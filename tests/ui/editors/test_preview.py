"""The timeline preview: channels of shot k, packed as float64 bytes."""

from __future__ import annotations

from typing import Any

import numpy as np

from shotbook.ui.editors import SequenceEditors, TimelinePreview

from .conftest import PATH


def channel(preview: TimelinePreview, device: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.frombuffer(preview.data, dtype="<f8")
    meta = next(c for c in preview.channels if (c["device"], c["channel"]) == (device, name))
    start, length = meta["offset"], meta["length"]
    return data[start : start + length + 1], data[start + length + 1 : start + 2 * length + 1]


def test_the_preview_walks_the_scan_to_the_chosen_shot(experiment: Any) -> None:
    preview = TimelinePreview.from_experiment(experiment, PATH)
    assert preview.error == ""
    assert preview.shot_count == 4
    assert len(preview.channels) == 12
    times, values = channel(preview, "digital", "mot light")
    # load 100 ms on, then time of flight (2 ms at shot 0) and 100 us off
    assert list(values) == [1.0, 0.0]
    assert np.isclose(times[1], 0.1)
    assert np.isclose(preview.duration, 0.1 + 0.002 + 100e-6)
    preview.shot = 3  # time of flight 8 ms
    assert "time_of_flight = 8 ms" in preview.shot_label
    assert np.isclose(preview.duration, 0.1 + 0.008 + 100e-6)
    _, detuning = channel(preview, "analog", "mot detuning")
    assert np.isclose(detuning[0], -15 / 60 * 10)  # -15 MHz through the calibration, in V
    assert detuning[-1] == 0.0


def test_past_the_end_and_broken_sequences_say_why(experiment: Any) -> None:
    preview = TimelinePreview.from_experiment(experiment, PATH)
    preview.shot = 9
    assert preview.error == "the scan has no shot 9 (shots are numbered from 0)"
    assert preview.channels == []
    assert preview.data == b""
    editors = SequenceEditors.from_experiment(experiment, PATH)
    editors.preview.shot = 0
    editors.lanes.handle(
        {"action": "set_cells", "lane": "coil current", "start": 0, "stop": 1, "value": "50 A"}
    )
    assert "outside the calibration range" in editors.preview.error
    assert editors.problems
    editors.lanes.handle({"action": "undo"})
    assert editors.preview.error == ""
    assert editors.problems == []
