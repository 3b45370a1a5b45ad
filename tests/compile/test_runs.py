"""Run-length encoding with period detection."""

from __future__ import annotations

import numpy as np

from shotbook.compile import RunEncoder, concatenate, constant, repeat


def test_periodic_runs_become_one_repetition() -> None:
    encoder = RunEncoder(bool)
    for _ in range(10_000):
        encoder.add_run(3, True)
        encoder.add_run(5, False)
    line = encoder.finish()
    assert line == repeat(concatenate(constant(True, 3), constant(False, 5)), 10_000)
    assert line.node_count() <= 6


def test_chunks_may_cut_runs_anywhere() -> None:
    values = np.tile(np.array([True] * 7 + [False] * 3), 500)
    values[2001] = False  # one glitch breaks the period, which then resumes
    encoder = RunEncoder(bool)
    for start in range(0, len(values), 333):
        encoder.add_values(values[start : start + 333])
    line = encoder.finish()
    assert line.to_array().tolist() == values.tolist()
    assert line.node_count() < 40


def test_aperiodic_runs_are_kept_in_order() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 2, 5000).astype(bool)
    encoder = RunEncoder(bool)
    encoder.add_values(values)
    assert encoder.finish().to_array().tolist() == values.tolist()
    assert RunEncoder(bool).finish().length == 0
