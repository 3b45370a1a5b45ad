"""Fixtures of the storage tests: a fresh store per test, for every storage backend.

The conformance suite uses only the public interfaces through ``storage_manager``,
which is parametrized by :data:`BACKENDS`. A backend joins the suite with one line
in that dict: a function of the test's temporary folder returning a context
manager that yields the backend's configuration (anything with
``create_storage_manager(serializer)``), e.g.::

    "sqlite": lambda tmp: nullcontext(SQLiteConfig(tmp / "store")),
    "postgresql": lambda tmp: fresh_postgresql_config(),   # creates, then drops, a database
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shotbook.registry import Serializer, default_registry
from shotbook.session import DuckDBConfig
from shotbook.types import (
    AnalogTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    Ramp,
    StepsConfiguration,
    TimeLanes,
    VariableDeclaration,
)
from tests.session import test_sql_stores as sql_stores

BACKENDS: dict[str, Callable[[Path], AbstractContextManager[Any]]] = {
    "duckdb": lambda tmp: nullcontext(DuckDBConfig(tmp / "store", compact_every=4)),
    "sqlite": lambda tmp: sql_stores.sqlite(tmp),
    "postgresql": lambda tmp: sql_stores.postgresql(tmp),
}


@dataclass(frozen=True)
class CameraConfiguration:
    """A device configuration registered only for these tests."""

    exposure: float
    gain: int
    name: str


@pytest.fixture
def serializer() -> Serializer:
    """The serializer of the core types plus the test's camera configuration."""
    registry = default_registry()
    registry.register("test_camera_configuration", CameraConfiguration)
    return Serializer(registry)


@pytest.fixture(params=sorted(BACKENDS))
def storage_manager(
    request: pytest.FixtureRequest, tmp_path: Path, serializer: Serializer
) -> Iterator[Any]:
    """A storage manager on a new, empty store of each backend."""
    with BACKENDS[request.param](tmp_path) as config:
        manager = config.create_storage_manager(serializer)
        manager.upgrade()
        try:
            yield manager
        finally:
            manager.close()


@pytest.fixture
def session(storage_manager: Any) -> Iterator[Any]:
    """A session on the fresh store, open for the whole test."""
    with storage_manager.session() as opened:
        yield opened


@pytest.fixture
def steps() -> StepsConfiguration:
    """A scan of 3 shots over ``wait_time``."""
    return StepsConfiguration(
        [
            VariableDeclaration("mot.detuning", "-2 MHz"),
            LinspaceLoop("wait_time", "1 ms", "3 ms", 3, [ExecuteShot()]),
        ]
    )


@pytest.fixture
def lanes() -> TimeLanes:
    """Three steps with a digital and an analog lane."""
    return TimeLanes(
        ["load", "ramp", "image"],
        ["100 ms", "wait_time", "10 us"],
        {
            "mot.coils": DigitalTimeLane([True, True, False]),
            "mot.current": AnalogTimeLane(["2 A", Ramp(), "0 A"]),
        },
    )


@pytest.fixture
def global_parameters() -> ParameterNamespace:
    """Globals used by the scan."""
    return ParameterNamespace.from_mapping(
        {"mot": {"power": "5 mW"}, "probe": {"detuning": "-1 MHz"}}
    )
