"""Exact time: integer picoseconds, and the ticks of a device's clock.

A device with time step ``dt`` (integer picoseconds) plays tick ``i`` at time ``i * dt``. A block
of a lane from ``t_start`` to ``t_stop`` covers ticks ``ceil(t_start / dt)`` up to (excluded)
``ceil(t_stop / dt)``: the first tick at or after its start, until the first tick of the next
block. All of this is integer arithmetic, so nothing drifts over 10^9 ticks.

>>> seconds_to_ps(145e-3), ticks_at(50_000_001, 50_000), ns(50)
(145000000000, 1001, 50000)
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "PS_PER_SECOND",
    "ms",
    "ns",
    "ps_to_seconds",
    "seconds_to_ps",
    "ticks_at",
    "us",
]

PS_PER_SECOND: Final = 10**12
"""Picoseconds in one second."""

MAX_DURATION_PS: Final = 10**12 * 10**6
"""Longest duration accepted (10^6 s, about 11 days): beyond it something is wrong."""


def seconds_to_ps(seconds: float) -> int:
    """The nearest whole number of picoseconds to ``seconds``.

    Raises ``ValueError`` for NaN, infinities and durations beyond ``MAX_DURATION_PS``.
    """
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be finite, got {seconds} s")
    value = round(seconds * PS_PER_SECOND)
    if abs(value) > MAX_DURATION_PS:
        raise ValueError(f"{seconds} s is longer than the longest duration accepted (10^6 s)")
    return value


def ps_to_seconds(ps: int) -> float:
    """Picoseconds as float seconds (correctly rounded)."""
    return ps / PS_PER_SECOND


def ticks_at(time_ps: int, time_step_ps: int) -> int:
    """The index of the first tick at or after ``time_ps``: ``ceil(time_ps / time_step_ps)``."""
    return -(-time_ps // time_step_ps)


def ns(value: int) -> int:
    """Nanoseconds as picoseconds: ``ns(50) == 50_000``."""
    return value * 1_000


def us(value: int) -> int:
    """Microseconds as picoseconds."""
    return value * 1_000_000


def ms(value: int) -> int:
    """Milliseconds as picoseconds."""
    return value * 1_000_000_000
