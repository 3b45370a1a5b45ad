"""The instruction tree: compact, immutable, with value equality."""

from __future__ import annotations

import numpy as np
import pytest

from shotbook.compile import (
    Concatenated,
    InstructionError,
    LinearRamp,
    Pattern,
    Repeated,
    concatenate,
    constant,
    empty,
    linear_ramp,
    map_values,
    pattern,
    repeat,
    stack_channels,
)


def test_constant_is_two_nodes_whatever_its_length() -> None:
    line = constant(True, 10**9)
    assert len(line) == 10**9
    assert line.node_count() == 2
    assert line.leaf_values() == 1
    assert line.to_segments() == [(10**9, True)]
    assert line.value_at(10**9 - 1)


def test_length_arithmetic_never_expands() -> None:
    huge = repeat(constant(1.5, 10**9), 10**9)
    assert len(huge) == 10**18
    assert huge.node_count() == 2  # a repetition of a repetition flattens
    assert isinstance(huge, Repeated)
    assert huge.repetitions == 10**18
    both = concatenate(huge, huge)
    assert both.length == 2 * 10**18
    assert both.node_count() == 2


def test_pattern_of_equal_values_is_a_repetition() -> None:
    assert pattern([1, 1, 1]) == constant(1, 3)
    assert isinstance(pattern([1, 1, 1]), Repeated)
    assert isinstance(pattern([1, 2]), Pattern)
    with pytest.raises(InstructionError, match="1-D"):
        pattern([[1, 2]])


def test_concatenation_merges_equal_neighbours() -> None:
    a = pattern([True, False])
    assert concatenate(a, a) == repeat(a, 2)
    assert isinstance(concatenate(a, a), Repeated)
    assert concatenate(repeat(a, 3), a, repeat(a, 2)).node_count() == 2
    merged = concatenate(constant(0, 5), constant(0, 7), constant(1, 2))
    assert merged.to_segments() == [(12, 0), (2, 1)]
    assert isinstance(merged, Concatenated)
    assert len(merged.parts) == 2
    nested = concatenate(concatenate(a, constant(True, 3)), concatenate(constant(False, 4)))
    assert all(not isinstance(part, Concatenated) for part in nested.children())
    assert concatenate(empty(bool), a, empty(bool)) == a


def test_dtypes_must_match() -> None:
    with pytest.raises(InstructionError, match="dtypes"):
        concatenate(constant(True, 2), constant(1.0, 2))


def test_dense_array_and_segments() -> None:
    line = concatenate(constant(1, 3), pattern([2, 3]), repeat(pattern([4, 5]), 2))
    assert line.to_array().tolist() == [1, 1, 1, 2, 3, 4, 5, 4, 5]
    assert line.to_segments() == [(3, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 4), (1, 5)]
    with pytest.raises(InstructionError, match="refusing to expand"):
        constant(0, 10**9).to_array()
    with pytest.raises(InstructionError, match="segments"):
        repeat(pattern([0, 1]), 100).to_segments(max_segments=10)


def test_equality_compares_values_not_trees() -> None:
    a = concatenate(constant(1, 2), pattern([2, 1]), constant(1, 2))
    b = Concatenated([Pattern(np.array([1, 1, 2])), Repeated(3, Pattern(np.array([1])))])
    assert a == b
    assert a != concatenate(constant(1, 2), pattern([2, 1]), constant(1, 3))
    assert a != constant(1.0, 7)  # another dtype
    assert hash(a) == hash(b)


def test_slices_are_exact_and_compact() -> None:
    wave = repeat(concatenate(constant(True, 3), constant(False, 2)), 10**6)
    dense = repeat(concatenate(constant(True, 3), constant(False, 2)), 5).to_array()
    for start, stop in [(0, 25), (1, 24), (3, 8), (4, 6), (7, 7), (2, 3)]:
        assert wave[start:stop].to_array().tolist() == dense[start:stop].tolist()
    middle = wave[1 : 10**6 * 5 - 1]
    assert middle.node_count() < 20
    assert len(middle) == 5 * 10**6 - 2


def test_linear_ramp_values_and_slices() -> None:
    ramp = linear_ramp(0.0, 4.0, 4)
    assert ramp.to_array().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert ramp[1:3].to_array().tolist() == [1.0, 2.0]
    assert ramp[1:3] == pattern([1.0, 2.0])
    assert float(ramp.value_at(3)) == 3.0
    assert linear_ramp(2.0, 2.0, 10) == constant(2.0, 10)
    assert concatenate(ramp[:2], ramp[2:]) == ramp
    assert isinstance(concatenate(ramp[:2], ramp[2:]), LinearRamp)
    with pytest.raises(InstructionError, match="floating"):
        LinearRamp(0, 1, 3, dtype=np.int64)


def test_values_at_matches_dense() -> None:
    line = concatenate(constant(0.0, 3), linear_ramp(0.0, 8.0, 8), repeat(pattern([1.0, 2.0]), 3))
    ticks = np.array([0, 2, 3, 5, 10, 11, 12, 16])
    assert line.values_at(ticks).tolist() == line.to_array()[ticks].tolist()
    with pytest.raises(IndexError):
        line.value_at(17)


def test_stacking_a_square_wave_with_constants_stays_compact() -> None:
    period = concatenate(constant(True, 10_000), constant(False, 10_000))
    wave = repeat(period, 1000)  # 1 kHz over 1 s at 50 ns
    half = repeat(concatenate(constant(True, 5_000), constant(False, 5_000)), 2000)
    stacked = stack_channels(
        {
            "wave": wave,
            "level": constant(1.5, len(wave)),
            "double": half,
            "off": constant(False, len(wave)),
        }
    )
    assert stacked.fields == ("wave", "level", "double", "off")
    assert stacked.node_count() <= 12
    assert stacked.field("wave") == wave
    assert stacked.field("double") == half
    assert stacked.field("level") == constant(1.5, len(wave))
    sample = stacked[19_990:20_010].to_array()
    assert sample["wave"].tolist() == [False] * 10 + [True] * 10
    assert sample["double"].tolist() == [False] * 10 + [True] * 10


def test_stacking_matches_dense_stacking() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        channels = {}
        for name in "abc":
            parts = []
            for _ in range(rng.integers(1, 5)):
                kind = rng.integers(0, 3)
                n = int(rng.integers(1, 6))
                if kind == 0:
                    parts.append(constant(float(rng.integers(0, 3)), n))
                elif kind == 1:
                    parts.append(pattern(rng.integers(0, 3, n).astype(float)))
                else:
                    parts.append(linear_ramp(0.0, float(rng.integers(1, 5)), n))
            line = concatenate(*parts)
            channels[name] = line
        length = min(len(c) for c in channels.values())
        channels = {k: v[:length] for k, v in channels.items()}
        stacked = stack_channels(channels)
        dense = stacked.to_array()
        for name, line in channels.items():
            assert dense[name].tolist() == line.to_array().tolist()
            assert stacked.field(name) == line


def test_stacked_ramps_stay_ramps() -> None:
    a = concatenate(constant(0.0, 3), linear_ramp(0.0, 4.0, 4))
    b = concatenate(constant(1.0, 3), linear_ramp(1.0, -1.0, 4))
    stacked = stack_channels({"a": a, "b": b, "c": constant(2.0, 7)})
    assert any(isinstance(node, LinearRamp) for node in stacked.children())
    assert stacked.leaf_values() <= 4
    assert stacked.field("b") == b


def test_stacking_merges_neighbours_as_concatenate_does() -> None:
    # equal neighbours (a breakpoint of a direct Concatenated where nothing changes) merge,
    # one-tick neighbours join into one pattern, a constant beside a ramp stays apart
    a = Concatenated([constant(True, 2), constant(True, 3), constant(False, 1), constant(True, 1)])
    b = Concatenated([constant(False, 5), Pattern(np.array([True, False]))])
    stacked = stack_channels({"a": a, "b": b})
    record = np.dtype([("a", np.bool_), ("b", np.bool_)])
    expected = concatenate(
        constant(np.array((True, False), dtype=record)[()], 5, record),
        Pattern(np.array([(False, True), (True, False)], dtype=record)),
    )
    assert repr(stacked) == repr(expected)
    assert stacked == expected
    ramp = concatenate(constant(1.0, 2), linear_ramp(1.0, 3.0, 2), constant(3.0, 2))
    stacked = stack_channels({"ramp": ramp, "flag": constant(True, 6)})
    assert [type(part).__name__ for part in stacked.children()] == [
        "Repeated", "LinearRamp", "Repeated",
    ]  # fmt: skip
    assert stacked.field("ramp") == ramp
    assert stacked.field("flag") == constant(True, 6)


def test_stacking_refuses_different_lengths() -> None:
    with pytest.raises(InstructionError, match="different lengths"):
        stack_channels({"a": constant(True, 3), "b": constant(True, 4)})


def test_map_values_logic() -> None:
    a = concatenate(constant(True, 3), constant(False, 3))
    b = repeat(pattern([True, False]), 3)
    assert map_values(np.logical_and, a, b, dtype=bool).to_array().tolist() == [
        True, False, True, False, False, False,
    ]  # fmt: skip
    inverted = map_values(np.logical_not, repeat(pattern([True, False]), 10**8), dtype=bool)
    assert inverted.node_count() <= 4
    assert inverted.value_at(0) == np.False_
