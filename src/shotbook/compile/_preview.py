"""A bounded-resolution preview of a shot's outputs, to draw before launching."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from shotbook.types import ShotParameters, TimeLanes

from ._devices import CompilerFactory
from ._instructions import Instruction, InstructionError
from ._sequence import SequenceCompiler
from ._timing import PS_PER_SECOND

__all__ = ["ChannelPreview", "compile_preview"]


@dataclass(frozen=True)
class ChannelPreview:
    """One channel as steps: ``values[i]`` holds from ``times[i]`` to ``times[i + 1]``.

    ``times`` (seconds, ``len(values) + 1`` edges) ends at the end of the shot. ``exact`` is
    False when the channel had more segments than the preview's budget and was sampled.
    """

    times: np.ndarray
    values: np.ndarray
    exact: bool


def _preview(instruction: Instruction, time_step: int, max_points: int) -> ChannelPreview:
    step_seconds = time_step / PS_PER_SECOND
    length = instruction.length
    try:
        segments = instruction.to_segments(max_segments=max_points)
    except InstructionError:
        ticks = np.unique(np.linspace(0, length - 1, max_points).astype(np.int64))
        values = instruction.values_at(ticks)
        edges = np.append(ticks, length) * step_seconds
        return ChannelPreview(edges, values, exact=False)
    counts = np.array([count for count, _ in segments], dtype=np.int64)
    edges = np.concatenate([[0], np.cumsum(counts)]) * step_seconds
    values = np.array([value for _, value in segments], dtype=instruction.dtype)
    return ChannelPreview(edges, values, exact=True)


def compile_preview(
    time_lanes: TimeLanes,
    device_configurations: Mapping[str, Any],
    shot_parameters: ShotParameters,
    max_points: int = 2000,
    *,
    compilers: Mapping[type, CompilerFactory] | None = None,
) -> dict[str, dict[str, ChannelPreview]]:
    """Each sequencer channel of one shot as at most ``max_points`` steps, by device then
    channel. Lanes used by no device are allowed (the panel shows the timeline while it is
    being edited); other errors are raised as in :meth:`SequenceCompiler.compile_shot`.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points}")
    compiler = SequenceCompiler(time_lanes, device_configurations, compilers=compilers)
    shot = compiler.compile_shot(shot_parameters, check_lane_use=False)
    out: dict[str, dict[str, ChannelPreview]] = {}
    for device, parameters in shot.items():
        sequence = parameters.get("sequence")
        time_step = parameters.get("time_step")
        if not isinstance(sequence, Instruction) or not isinstance(time_step, int):
            continue
        out[device] = {
            name: _preview(sequence.field(name), time_step, max_points) for name in sequence.fields
        }
    return out
