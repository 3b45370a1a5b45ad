"""Decoding the client's ``Sequence`` back to per-channel values, for the tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from shotbook.compile import Instruction
from shotbook.device.pulsestreamer import quantize


def pulses(sequence: Any) -> np.ndarray:
    """The sequence's merged pulses: structured array (count, digi, a0, a1)."""
    return np.asarray(sequence.getData(as_ndarray=True))


def dense(sequence: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-nanosecond values: ``digital`` (8, n) of 0/1 and ``analog`` (2, n) int16 levels."""
    data = pulses(sequence)
    counts = data["count"].astype(np.int64)
    digital = np.stack([np.repeat((data["digi"] >> bit) & 1, counts) for bit in range(8)])
    analog = np.stack([np.repeat(data[key], counts) for key in ("a0", "a1")])
    return digital, analog


def merge(durations: np.ndarray, values: np.ndarray) -> list[tuple[int, int]]:
    """Runs with equal neighbours merged, as (duration, value) pairs."""
    out: list[tuple[int, int]] = []
    for duration, value in zip(durations.tolist(), values.tolist(), strict=True):
        if out and out[-1][1] == value:
            out[-1] = (out[-1][0] + duration, value)
        elif duration:
            out.append((duration, value))
    return out


def channel_runs(sequence: Any) -> tuple[list[list[tuple[int, int]]], list[list[tuple[int, int]]]]:
    """Per-channel merged runs of the sequence: 8 digital (0/1) and 2 analog (int16)."""
    data = pulses(sequence)
    counts = data["count"].astype(np.int64)
    digital = [merge(counts, (data["digi"] >> bit) & 1) for bit in range(8)]
    analog = [merge(counts, data[key]) for key in ("a0", "a1")]
    return digital, analog


def expected_digital(instruction: Instruction, step_ns: int) -> list[tuple[int, int]]:
    """A digital channel's compiled instruction as runs in ns."""
    return [(count * step_ns, int(value)) for count, value in instruction.to_segments()]


def expected_analog(
    instruction: Instruction, step_ns: int, duration_ns: int
) -> list[tuple[int, int]]:
    """An analog channel's compiled instruction as int16 runs in ns, cut at ``duration_ns``."""
    levels = quantize(instruction.to_array())
    ends = np.minimum(np.arange(1, len(levels) + 1, dtype=np.int64) * step_ns, duration_ns)
    return merge(np.diff(ends, prepend=0), levels)
