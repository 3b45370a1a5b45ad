"""The bounded preview drawn before launching a sequence."""

from __future__ import annotations

import numpy as np
import pytest

from shotbook.compile import SequencerConfiguration, compile_preview
from shotbook.types import AnalogTimeLane, DigitalTimeLane, Expression, Ramp, TimeLanes

from .helpers import analog_channel, digital_sequencer, shot


def test_preview_is_exact_when_small_and_bounded_when_not() -> None:
    lanes = TimeLanes(
        ["a", "b", "c"],
        ["1 ms", "10 ms", "1 ms"],
        {
            "x": DigitalTimeLane([True, Expression("square_wave(t * 10 kHz)"), False]),
            "y": DigitalTimeLane([False, True, False]),
            "v": AnalogTimeLane(["0 V", Ramp(), "2 V"]),
            "unused": DigitalTimeLane([True, True, True]),
        },
    )
    devices = {
        "seq": digital_sequencer(50_000, x="x", y="y"),
        "card": SequencerConfiguration(time_step=1_000_000, channels=(analog_channel("v", "v"),)),
    }
    preview = compile_preview(lanes, devices, shot(), max_points=100)
    y = preview["seq"]["y"]
    assert y.exact
    assert y.values.tolist() == [False, True, False]
    assert np.allclose(y.times, [0, 1e-3, 11e-3, 12e-3])
    x = preview["seq"]["x"]
    assert not x.exact  # 200 edges in 10 ms
    assert len(x.values) <= 100
    assert len(x.times) == len(x.values) + 1
    assert x.times[-1] == pytest.approx(12e-3)
    v = preview["card"]["v"]
    assert len(v.values) <= 100
    assert v.values[0] == 0.0
    assert v.values[-1] == 2.0
    assert np.all(np.diff(v.values) >= 0)


def test_preview_needs_at_least_two_points() -> None:
    lanes = TimeLanes(["a"], ["1 ms"], {})
    with pytest.raises(ValueError, match="max_points"):
        compile_preview(lanes, {}, shot(), max_points=1)
