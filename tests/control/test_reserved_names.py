"""Parameters named like a column every shot has are refused before the run, on every store."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shotbook.control import SequenceFailedError
from shotbook.device.sim import simulated_lab
from shotbook.registry import Serializer
from shotbook.types import ExecuteShot, LinspaceLoop, StepsConfiguration, VariableDeclaration

from .lab import create_sequence, make_storage, setup_store, shots_of, state_of

# (parameter name, the column it collides with, as the error names it)
RESERVED = [
    ("shot_index", "'shot_index'"),
    ("start_time", "'start_time'"),
    ("end_time", "'end_time'"),
    ("sequence", "'sequence'"),
    ("Shot_Index", "'shot_index'"),  # column names are case-insensitive in SQL
    ("analysis.atoms", "'analysis.'"),
    ("camera.cloud", "'camera.cloud'"),  # a picture of the lab's camera lane
]


def _scan(name: str, *, declared: bool = False) -> StepsConfiguration:
    inner = (
        [VariableDeclaration(name, "1"), ExecuteShot()]
        if declared
        else [LinspaceLoop(name, "0", "1", 2, [ExecuteShot()])]
    )
    return StepsConfiguration([LinspaceLoop("time_of_flight", "2 ms", "4 ms", 2, inner)])


@pytest.fixture(params=["duckdb", "sqlite", "postgresql"])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path, lab: Any) -> Iterator[Any]:
    registry, _ = lab
    if request.param == "duckdb":
        storage = make_storage(tmp_path / "store", registry)
    else:
        from tests.session import test_sql_stores

        maker = getattr(test_sql_stores, request.param)
        with maker(tmp_path) as config:
            storage = config.create_storage_manager(Serializer(registry))
        storage.upgrade()
    setup_store(storage, simulated_lab(replay=2))
    yield storage
    storage.close()


def test_reserved_parameter_names_are_refused_before_the_run(
    any_storage: Any, make_manager: Any
) -> None:
    manager = make_manager(storage=any_storage)
    declared = itertools.cycle([False, True])
    for number, (name, column) in enumerate(RESERVED):
        path = create_sequence(
            any_storage, f"/reserved/s{number}", _scan(name, declared=next(declared))
        )
        with pytest.raises(SequenceFailedError) as caught:
            manager.start_sequence(path)
        text = str(caught.value)
        assert f"parameter {name!r}" in text, text
        assert column in text, text
        assert caught.value.shot_index is None
        assert state_of(any_storage, path) == "draft"
        assert len(shots_of(any_storage, path)) == 0
    # a name that only looks alike runs
    path = create_sequence(any_storage, "/reserved/fine", _scan("shot_index_offset"))
    summary = manager.run_sequence(path, progress=False)
    assert summary is not None
    assert summary.state == "finished"
    assert len(shots_of(any_storage, path)) == 4
