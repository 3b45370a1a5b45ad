"""Scans: declarations, loops, shots, and the expected number of shots."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbook.types import (
    ArangeLoop,
    DimensionError,
    ExecuteShot,
    IterationError,
    LinspaceLoop,
    ParameterNamespace,
    StepsConfiguration,
    UndefinedParameterError,
    VariableDeclaration,
)


def test_linspace_keeps_the_start_unit_and_includes_stop() -> None:
    scan = StepsConfiguration([LinspaceLoop("wait_time", "1 ms", "3 ms", 3, [ExecuteShot()])])
    shots = list(scan.walk())
    assert [s["wait_time"] for s in shots] == pytest.approx([1e-3, 2e-3, 3e-3])
    assert [s.display("wait_time") for s in shots] == pytest.approx([1.0, 2.0, 3.0])
    assert shots[0].unit("wait_time").symbol == "ms"
    assert str(shots[1]) == "wait_time = 2 ms"


def test_integer_arange_gives_ints() -> None:
    scan = StepsConfiguration([ArangeLoop("rep", "0", "5", "2", [ExecuteShot()])])
    values = [s["rep"] for s in scan.walk()]
    assert values == [0, 2, 4]
    assert all(type(v) is int for v in values)


def test_float_arange_excludes_stop_and_counts_right() -> None:
    scan = StepsConfiguration([ArangeLoop("x", "0 V", "1 V", "0.1 V", [ExecuteShot()])])
    values = [s["x"] for s in scan.walk()]
    assert len(values) == 10
    assert scan.expected_number_shots() == 10
    assert values[-1] == pytest.approx(0.9)


def test_nesting_declarations_and_globals() -> None:
    globals_ = ParameterNamespace.from_mapping({"mot": {"detuning": "-10 MHz"}})
    scan = StepsConfiguration(
        [
            VariableDeclaration("probe", "mot.detuning / 2"),
            LinspaceLoop(
                "a",
                "0",
                "1",
                2,
                [ArangeLoop("b", "0", "3", "1", [ExecuteShot()]), ExecuteShot()],
            ),
            ExecuteShot(),
        ]
    )
    shots = list(scan.walk(globals_))
    assert len(shots) == 2 * (3 + 1) + 1 == scan.expected_number_shots(globals_)
    assert shots[0]["probe"] == pytest.approx(-5e6)
    assert shots[0]["mot.detuning"] == pytest.approx(-10e6)
    assert [(s["a"], s.get("b")) for s in shots[:4]] == [(0.0, 0), (0.0, 1), (0.0, 2), (0.0, 2)]


def test_expected_shots_unknown_when_bounds_depend_on_loop_values() -> None:
    scan = StepsConfiguration(
        [ArangeLoop("a", "1", "4", "1", [ArangeLoop("b", "0", "a", "1", [ExecuteShot()])])]
    )
    assert scan.expected_number_shots() is None
    assert len(list(scan.walk())) == 1 + 2 + 3


def test_walk_is_lazy() -> None:
    scan = StepsConfiguration([ArangeLoop("i", "0", "1e6", "1", [ExecuteShot()])])
    first = next(iter(scan.walk()))
    assert first["i"] == 0
    assert scan.expected_number_shots() == 1_000_000


def test_dimension_mismatch_in_loop_names_the_step() -> None:
    scan = StepsConfiguration([LinspaceLoop("x", "1 ms", "2 MHz", 3, [ExecuteShot()])])
    with pytest.raises(IterationError, match=r"step 1 .*start '1 ms'.*stop '2 MHz'"):
        scan.compile()


def test_undefined_name_names_the_step() -> None:
    scan = StepsConfiguration([VariableDeclaration("a", "b + 1"), ExecuteShot()])
    with pytest.raises(UndefinedParameterError, match=r"step 1 \(a = b \+ 1\)"):
        scan.compile()


def test_zero_step_is_an_error_at_run_time() -> None:
    scan = StepsConfiguration([ArangeLoop("x", "0", "1", "0", [ExecuteShot()])])
    with pytest.raises(IterationError, match="non-zero"):
        list(scan.walk())


def test_declaration_dimension_errors() -> None:
    with pytest.raises(DimensionError):
        StepsConfiguration([VariableDeclaration("a", "1 s + 1 Hz")]).compile()


def test_bad_linspace_num() -> None:
    with pytest.raises(IterationError, match="integer >= 0"):
        LinspaceLoop("x", "0", "1", -1)


@given(st.integers(0, 30), st.integers(0, 5), st.integers(1, 4))
def test_expected_equals_walked(n_outer: int, n_inner: int, step: int) -> None:
    scan = StepsConfiguration(
        [
            LinspaceLoop(
                "a",
                "0",
                "1",
                n_outer,
                [ArangeLoop("b", "0", str(n_inner), str(step), [ExecuteShot()])],
            )
        ]
    )
    assert scan.expected_number_shots() == len(list(scan.walk()))
