"""Run-length encoding with period detection: a long square wave becomes one repetition."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._instructions import Instruction, concatenate, constant, empty, repeat

__all__ = ["RunEncoder"]

MAX_PERIOD_RUNS = 8
"""Longest period (in runs) looked for; longer periods are stored run by run."""


class RunEncoder:
    """Collects values chunk by chunk (or runs) and builds a compact instruction.

    Memory holds the runs of at most a few periods: a periodic signal becomes
    ``repeat(period, n)`` whatever its length. Partial periods at the ends are kept as runs.

    >>> encoder = RunEncoder(bool)
    >>> for _ in range(1000):
    ...     encoder.add_values(np.array([True, True, False]))
    >>> encoder.finish()
    Repeated(1000, Concatenated([Repeated(2, Pattern([True])), Pattern([False])]))
    """

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)
        self._pieces: list[Instruction] = []
        self._buffer: list[tuple[int, Any]] = []
        self._period: tuple[tuple[int, Any], ...] | None = None
        self._repetitions = 0
        self._position = 0
        self._open: tuple[int, Any] | None = None

    def add_values(self, values: np.ndarray) -> None:
        """Append values (a 1-D array)."""
        if not len(values):
            return
        changes = (np.flatnonzero(values[1:] != values[:-1]) + 1).tolist()
        bounds = [0, *changes, len(values)]
        items = values[bounds[:-1]].tolist()
        for start, stop, value in zip(bounds, bounds[1:], items, strict=False):
            self.add_run(stop - start, value)

    def add_run(self, count: int, value: Any) -> None:
        """Append ``count`` ticks of ``value`` (a Python scalar)."""
        if count <= 0:
            return
        if self._open is not None:
            if self._open[1] == value:
                self._open = (self._open[0] + count, value)
                return
            self._close(self._open)
        self._open = (count, value)

    def _close(self, run: tuple[int, Any]) -> None:
        if self._period is not None:
            if run == self._period[self._position]:
                self._position += 1
                if self._position == len(self._period):
                    self._repetitions += 1
                    self._position = 0
                return
            self._pieces.append(repeat(self._runs(self._period), self._repetitions))
            self._buffer = list(self._period[: self._position])
            self._period = None
        buffer = self._buffer
        buffer.append(run)
        for period in range(1, MAX_PERIOD_RUNS + 1):
            if len(buffer) < 2 * period:
                break
            if buffer[-period:] == buffer[-2 * period : -period]:
                self._emit(buffer[: -2 * period])
                self._period = tuple(buffer[-period:])
                self._repetitions = 2
                self._position = 0
                self._buffer = []
                return
        if len(buffer) > 4 * MAX_PERIOD_RUNS:
            self._emit(buffer[: -2 * MAX_PERIOD_RUNS])
            self._buffer = buffer[-2 * MAX_PERIOD_RUNS :]

    def _runs(self, runs: Any) -> Instruction:
        return concatenate(
            empty(self.dtype), *(constant(value, count, self.dtype) for count, value in runs)
        )

    def _emit(self, runs: list[tuple[int, Any]]) -> None:
        if runs:
            self._pieces.append(self._runs(runs))

    def finish(self) -> Instruction:
        """The instruction of everything added."""
        if self._open is not None:
            self._close(self._open)
            self._open = None
        if self._period is not None:
            self._pieces.append(repeat(self._runs(self._period), self._repetitions))
            self._emit(list(self._period[: self._position]))
            self._period = None
        self._emit(self._buffer)
        self._buffer = []
        pieces, self._pieces = self._pieces, []
        return concatenate(empty(self.dtype), *pieces)
