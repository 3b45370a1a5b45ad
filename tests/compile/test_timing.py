"""Exact time: picoseconds and ticks."""

from __future__ import annotations

import math

import pytest

from shotbook.compile import ms, ns, ps_to_seconds, seconds_to_ps, ticks_at, us


def test_seconds_round_to_the_nearest_picosecond() -> None:
    assert seconds_to_ps(145e-3) == 145_000_000_000
    assert seconds_to_ps(0.1 + 0.2) == 300_000_000_000  # float noise disappears
    assert seconds_to_ps(1.4e-12) == 1
    assert seconds_to_ps(-2e-9) == -2_000
    assert ps_to_seconds(50_000) == 50e-9


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e7])
def test_invalid_durations_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="duration"):
        seconds_to_ps(value)


def test_ticks_are_the_ceiling_in_integers() -> None:
    assert ticks_at(0, ns(50)) == 0
    assert ticks_at(1, ns(50)) == 1
    assert ticks_at(ns(50), ns(50)) == 1
    assert ticks_at(ns(50) + 1, ns(50)) == 2
    assert (ns(1), us(1), ms(1)) == (1_000, 1_000_000, 1_000_000_000)


def test_no_drift_over_a_billion_ticks() -> None:
    dt = 3  # ps: nothing is a round number
    start = 10**9 * dt + 1
    assert ticks_at(start, dt) == 10**9 + 1
    # a float computation drifts here; the integer one does not
    assert ticks_at(10**9 * 12_500 - 1, 12_500) == 10**9
    # summing a 1 ns step 10^9 times in floats is off; in integer picoseconds it is exact
    assert sum([ns(1)] * 1000) * 10**6 == 10**9 * ns(1)
