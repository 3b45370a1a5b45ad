"""What a sequencer's compiled instructions put on its outputs, as signals against time.

The instructions are run-length trees (:mod:`shotbook.compile`); they are never expanded
per tick here: a channel becomes a short list of :class:`Piece` (a constant run or a
straight ramp) by walking the tree, and times are seconds from the device's own start.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from shotbook.compile import Concatenated, Instruction, LinearRamp, Repeated

PICOSECOND = 1e-12
MAX_PIECES = 200_000
"""More pieces than this in one channel is refused (a per-tick pattern over a long shot)."""


@dataclass(frozen=True)
class Piece:
    """One run of a channel: from ``start`` to ``stop`` (s), linear from ``first`` to ``last``
    (the value the line reaches at ``stop``; equal to ``first`` for a constant run)."""

    start: float
    stop: float
    first: float
    last: float

    def value_at(self, time: float) -> float:
        """The value at ``time`` inside the piece (linear interpolation)."""
        if self.first == self.last or self.stop <= self.start:
            return self.first
        fraction = (time - self.start) / (self.stop - self.start)
        return self.first + (self.last - self.first) * fraction


def _tick_runs(instruction: Instruction) -> Iterator[tuple[int, float, float]]:
    """``(ticks, first value, value one past the end)`` runs, walking the tree."""
    constant = instruction.constant_value()
    if constant is not None:
        value = float(constant)
        yield instruction.length, value, value
        return
    if isinstance(instruction, Concatenated):
        for part in instruction.parts:
            yield from _tick_runs(part)
        return
    if isinstance(instruction, Repeated):
        for _ in range(instruction.repetitions):
            yield from _tick_runs(instruction.instruction)
        return
    if isinstance(instruction, LinearRamp):
        start, stop = float(instruction.start[()]), float(instruction.stop[()])
        slope = (stop - start) / instruction.span
        first = start + slope * instruction.first
        yield instruction.length, first, first + slope * instruction.length
        return
    for ticks, value in instruction.to_segments(max_segments=MAX_PIECES):  # a pattern
        yield ticks, float(value), float(value)


def channel_pieces(
    instruction: Instruction, time_step: int, offset: float = 0.0, where: str = ""
) -> list[Piece]:
    """The pieces of a single-channel instruction; ``offset`` (s) is added to every time.

    Example:
        >>> from shotbook.compile import concatenate, constant, linear_ramp
        >>> ramp = concatenate(constant(1.0, 2), linear_ramp(0.0, 4.0, 4))
        >>> [(p.start, p.stop, p.first, p.last) for p in channel_pieces(ramp, 500_000_000_000)]
        [(0.0, 1.0, 1.0, 1.0), (1.0, 3.0, 0.0, 4.0)]
    """
    pieces: list[Piece] = []
    tick = 0
    step = time_step * PICOSECOND
    for ticks, first, last in _tick_runs(instruction):
        if ticks == 0:
            continue
        start, stop = offset + tick * step, offset + (tick + ticks) * step
        previous = pieces[-1] if pieces else None
        if previous is not None and first == last and previous.first == previous.last == first:
            pieces[-1] = Piece(previous.start, stop, first, first)
        else:
            pieces.append(Piece(start, stop, first, last))
        if len(pieces) > MAX_PIECES:
            raise ValueError(f"{where}: more than {MAX_PIECES} runs in one channel")
        tick += ticks
    return pieces


class Signal:
    """A channel's value against time: pieces, ``idle`` before the first and the last value
    held after the last (as output hardware does)."""

    def __init__(self, pieces: list[Piece], idle: float) -> None:
        self.pieces = pieces
        self.idle = idle
        self._starts = [piece.start for piece in pieces]

    @classmethod
    def constant(cls, value: float) -> Signal:
        """A signal that never changes."""
        return cls([], value)

    def value_at(self, time: float) -> float:
        """The value at ``time`` (s)."""
        if not self.pieces or time < self.pieces[0].start:
            return self.idle
        index = bisect.bisect_right(self._starts, time) - 1
        piece = self.pieces[index]
        if time >= piece.stop:
            return piece.last if index == len(self.pieces) - 1 else piece.first
        return piece.value_at(time)

    def breakpoints(self) -> list[float]:
        """Every time the signal may change slope or value."""
        times = []
        for piece in self.pieces:
            times.append(piece.start)
            times.append(piece.stop)
        return times

    def is_linear_between(self, start: float, stop: float) -> bool:
        """Whether the value moves (a ramp) between two neighbouring breakpoints."""
        if not self.pieces or stop <= self.pieces[0].start or start >= self.pieces[-1].stop:
            return False
        index = bisect.bisect_right(self._starts, start) - 1
        piece = self.pieces[max(index, 0)]
        return piece.first != piece.last

    def on_intervals(self) -> list[tuple[float, float]]:
        """``(start, stop)`` of the runs where a digital signal is on (non-zero)."""
        out: list[tuple[float, float]] = []
        if self.idle and (not self.pieces or self.pieces[0].start > 0):
            out.append((float("-inf"), self.pieces[0].start if self.pieces else float("inf")))
        for index, piece in enumerate(self.pieces):
            if piece.first:
                stop = float("inf") if index == len(self.pieces) - 1 else piece.stop
                if out and out[-1][1] == piece.start:
                    out[-1] = (out[-1][0], stop)
                else:
                    out.append((piece.start, stop))
        return out

    def rising_edges(self, low_before: bool = True) -> list[float]:
        """Times where a digital signal goes from off to on (at its first piece if it starts
        high and ``low_before``)."""
        edges = []
        previous = 0.0 if low_before else self.idle
        for piece in self.pieces:
            if piece.first and not previous:
                edges.append(piece.start)
            previous = piece.first
        return edges


def overlap(intervals: list[tuple[float, float]], start: float, stop: float) -> float:
    """Total length (s) of ``[start, stop]`` covered by ``intervals``."""
    return sum(max(0.0, min(stop, b) - max(start, a)) for a, b in intervals)


def intersect(
    first: list[tuple[float, float]], second: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The intervals covered by both lists of sorted, disjoint ``(start, stop)`` intervals.

    Example:
        >>> intersect([(0.0, 2.0), (3.0, 5.0)], [(1.0, 4.0)])
        [(1.0, 2.0), (3.0, 4.0)]
    """
    out: list[tuple[float, float]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        stop = min(first[i][1], second[j][1])
        if stop > start:
            out.append((start, stop))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out
