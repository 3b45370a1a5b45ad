"""Run-length time lanes and the table of lanes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbook.types import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Expression,
    Ramp,
    TakePicture,
    TimeLaneError,
    TimeLanes,
)


def test_digital_blocks_merge_equal_bools() -> None:
    lane = DigitalTimeLane([True, True, False, True])
    assert lane.blocks == ((True, 2), (False, 1), (True, 1))
    assert len(lane) == 4
    assert list(lane) == [True, True, False, True]
    assert lane.block_bounds() == [(0, 2), (2, 3), (3, 4)]
    assert lane.block_index(1) == 0


def test_expression_blocks_are_kept_apart() -> None:
    lane = DigitalTimeLane.from_blocks(
        [("square_wave(t * 1 kHz)", 1), ("square_wave(t * 1 kHz)", 1)]
    )
    assert len(lane.blocks) == 2
    assert lane[0] == Expression("square_wave(t * 1 kHz)")


def test_with_value_splits_blocks_at_the_edges() -> None:
    lane = AnalogTimeLane.from_blocks([("1 V", 4)])
    edited = lane.with_value(1, 3, "2 V")
    assert edited.blocks == ((Expression("1 V"), 1), (Expression("2 V"), 2), (Expression("1 V"), 1))
    assert lane.blocks == ((Expression("1 V"), 4),), "lanes are immutable"


def test_merge_and_split() -> None:
    lane = AnalogTimeLane(["1 V", "2 V", "3 V"])
    merged = lane.merged(0, 2)
    assert merged.blocks == ((Expression("1 V"), 2), (Expression("3 V"), 1))
    assert merged.split(1).blocks == (
        (Expression("1 V"), 1),
        (Expression("1 V"), 1),
        (Expression("3 V"), 1),
    )
    assert merged.split(0) is merged


def test_insert_and_remove_steps() -> None:
    lane = DigitalTimeLane.from_blocks([(True, 2), (False, 1)])
    assert lane.inserted_step(1).blocks == ((True, 3), (False, 1))
    assert lane.inserted_step(3, True).blocks == ((True, 2), (False, 1), (True, 1))
    assert lane.removed_step(2).blocks == ((True, 2),)
    with pytest.raises(TimeLaneError, match="at least one step"):
        DigitalTimeLane([True]).removed_step(0)


def test_ramp_cannot_be_first_or_last_or_doubled() -> None:
    with pytest.raises(TimeLaneError, match="first"):
        AnalogTimeLane([Ramp(), "1 V"])
    with pytest.raises(TimeLaneError, match="last"):
        AnalogTimeLane(["1 V", Ramp()])
    with pytest.raises(TimeLaneError, match="follow each other"):
        AnalogTimeLane(["1 V", Ramp(), Ramp(), "2 V"])
    assert AnalogTimeLane(["1 V", Ramp(), "2 V"])[1] == Ramp()


def test_camera_lane_pictures() -> None:
    lane = CameraTimeLane([None, "atoms", None, TakePicture("background")])
    assert lane.pictures() == ["atoms", "background"]
    with pytest.raises(TimeLaneError, match="used twice: a"):
        CameraTimeLane(["a", None, "a"])


def test_inserting_after_a_picture_adds_an_empty_camera_cell() -> None:
    lane = CameraTimeLane([None, "atoms"])
    assert list(lane.inserted_step(2)) == [None, TakePicture("atoms"), None]
    table = TimeLanes(["a", "b"], ["1 ms", "1 ms"], {"camera": lane})
    assert list(table.inserted_step(2, "c", "1 ms").lanes["camera"])[-1] is None


def test_invalid_spans_and_values() -> None:
    with pytest.raises(TimeLaneError, match="block 1 spans 0"):
        DigitalTimeLane.from_blocks([(True, 0)])
    with pytest.raises(TimeLaneError, match="expressions"):
        AnalogTimeLane([1.0])  # type: ignore[list-item]


def test_table_checks_every_lane_length() -> None:
    with pytest.raises(TimeLaneError, match=r"lane 'coils' has 1 steps but the table has 2"):
        TimeLanes(["a", "b"], ["1 ms", "2 ms"], {"coils": DigitalTimeLane([True])})
    with pytest.raises(TimeLaneError, match="2 step names but 1 step durations"):
        TimeLanes(["a", "b"], ["1 ms"])


def test_table_edits() -> None:
    lanes = TimeLanes(
        ["load", "image"],
        ["100 ms", "10 us"],
        {"coils": DigitalTimeLane([True, False]), "aom": AnalogTimeLane(["1 V", "2 V"])},
    )
    bigger = lanes.inserted_step(1, "wait", "wait_time")
    assert bigger.step_names == ("load", "wait", "image")
    assert all(len(lane) == 3 for lane in bigger.lanes.values())
    assert bigger.removed_step(1) == lanes
    renamed = lanes.renamed_lane("coils", "mot.coils")
    assert list(renamed.lanes) == ["mot.coils", "aom"]
    assert list(renamed.reordered_lanes(["aom", "mot.coils"]).lanes) == ["aom", "mot.coils"]
    assert list(lanes.without_lane("coils").lanes) == ["aom"]
    assert lanes.with_duration(0, "50 ms").step_durations[0] == Expression("50 ms")
    with pytest.raises(TypeError, match="immutable"):
        lanes.lanes["x"] = DigitalTimeLane([True, True])  # type: ignore[index]
    with pytest.raises(KeyError, match="no lane named 'nope'"):
        lanes.without_lane("nope")


@given(
    st.lists(st.booleans(), min_size=1, max_size=12),
    st.data(),
)
def test_digital_edits_keep_cells(values: list[bool], data: st.DataObject) -> None:
    lane = DigitalTimeLane(values)
    assert list(lane) == values
    start = data.draw(st.integers(0, len(values) - 1))
    stop = data.draw(st.integers(start + 1, len(values)))
    new_value = data.draw(st.booleans())
    edited = lane.with_value(start, stop, new_value)
    expected = values[:start] + [new_value] * (stop - start) + values[stop:]
    assert list(edited) == expected
    assert len(edited.split(start)) == len(values)
