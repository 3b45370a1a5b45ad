"""The static check of parameter names against the columns every shot has."""

from __future__ import annotations

import pytest

from shotbook.compile import (
    ANALYSIS_PREFIX,
    RESERVED_COLUMN_NAMES,
    ReservedNameError,
    SequenceCheckError,
    check_sequence,
    known_data_columns,
    reserved_name_problems,
)
from shotbook.session._columns._codec import FIXED_COLUMNS
from shotbook.types import (
    CameraTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    StepsConfiguration,
    TakePicture,
    TimeLanes,
)


def test_the_reserved_names_cover_the_stores_fixed_columns() -> None:
    assert set(FIXED_COLUMNS) <= set(RESERVED_COLUMN_NAMES)
    assert "sequence" in RESERVED_COLUMN_NAMES
    assert ANALYSIS_PREFIX == "analysis."


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("shot_index", "shot_index"),
        ("START_TIME", "start_time"),
        ("end_time", "end_time"),
        ("sequence", "sequence"),
        ("analysis", "analysis."),
        ("Analysis.fit.width", "analysis."),
        ("camera.atoms", "camera.atoms"),
        ("Camera.Background", "camera.background"),
        ("meter.power", "meter.power"),
    ],
)
def test_each_collision_names_the_parameter_and_the_column(name: str, column: str) -> None:
    columns = {"camera.atoms": "camera", "camera.background": "camera", "meter.power": "meter"}
    (problem,) = reserved_name_problems([name, "mot.detuning"], columns)
    assert isinstance(problem, ReservedNameError)
    assert (problem.parameter, problem.column) == (name, column)
    assert f"parameter {name!r} collides with the column {column!r}" in str(problem)


def test_names_that_only_look_alike_pass() -> None:
    names = [
        "shot_index_offset",
        "sequence_number",
        "analysis_gain",
        "cameras.x",
        "camera",
        "mot.x",
        "camera.exposure",  # a device's prefix, but no column of it
    ]
    assert reserved_name_problems(names, {"camera.atoms": "camera"}) == []


def test_the_known_data_columns_come_from_camera_lanes_and_declared_labels() -> None:
    class Meter:
        def data_labels(self) -> tuple[str, ...]:
            return ("power", "temperature")

    lanes = TimeLanes(
        ["load", "image"],
        ["10 ms", "1 ms"],
        {
            "camera": CameraTimeLane([None, TakePicture("atoms")]),
            "led": DigitalTimeLane([True, False]),
        },
    )
    columns = known_data_columns(lanes, {"camera": object(), "meter": Meter(), "led": object()})
    assert columns == {
        "camera.atoms": "camera",
        "meter.power": "meter",
        "meter.temperature": "meter",
    }


def test_check_sequence_reports_a_reserved_scan_variable_or_global() -> None:
    lanes = TimeLanes(["a"], ["1 ms"], {"led": DigitalTimeLane([True])})
    scan = StepsConfiguration([LinspaceLoop("end_time", "0", "1", 2, [ExecuteShot()])])
    globals_ = ParameterNamespace.from_mapping({"analysis": {"gain": "2"}})
    with pytest.raises(SequenceCheckError) as caught:
        check_sequence(lanes, scan, globals_, {})
    text = str(caught.value)
    assert "parameter 'end_time' collides with the column 'end_time'" in text
    assert "parameter 'analysis.gain' collides with the column 'analysis.'" in text
