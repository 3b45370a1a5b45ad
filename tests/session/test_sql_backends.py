"""What the SQL backends (SQLite, PostgreSQL) do beyond the conformance suite.

Shots read back exactly as the default backend returns them; schema versions are checked
at open; lock waits are bounded; concurrent edits in one process resolve cleanly.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from shotbook.registry import Serializer
from shotbook.session import (
    DuckDBConfig,
    InvalidStateTransitionError,
    RunOwner,
    ShotExistsError,
    ShotSchemaError,
    SQLiteConfig,
    State,
    StorageError,
    StoreLockedError,
    StoreVersionError,
)
from shotbook.types import ParameterNamespace

from .test_sql_stores import postgresql_config

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class MHz:
    """A display unit (the store only needs ``symbol`` and ``from_si``)."""

    symbol = "MHz"

    @staticmethod
    def from_si(x: float) -> float:
        return x / 1e6


def make_config(backend: str, tmp_path: Path, **options: Any) -> Any:
    if backend == "sqlite":
        return SQLiteConfig(tmp_path / "store.sqlite", **options)
    return postgresql_config(**options)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def manager(backend: str, tmp_path: Path, serializer: Serializer) -> Iterator[Any]:
    created = make_config(backend, tmp_path).create_storage_manager(serializer)
    created.upgrade()
    yield created
    created.close()


def write_rich_shots(manager: Any, steps: Any, lanes: Any, path: str = "/rich") -> None:
    """Shots with every kind of value: NaN, missing values, ints, bools, several dtypes."""
    with manager.session() as session:
        session.sequences.create(path, steps, lanes)
        session.sequences.prepare(path, ParameterNamespace.empty(), {}, RunOwner.current(), 4)
        with session.sequences.start(path) as writer:
            for index in range(4):
                begin = T0 + timedelta(seconds=index, microseconds=7)
                data: dict[str, Any] = {
                    "camera.picture": np.arange(12, dtype=">u2").reshape(3, 4) * index,
                    "camera.float": np.full((2, 3), 0.5 * index, dtype=np.float32),
                    "camera.mask": np.array([True, False, index % 2 == 0]),
                    "analysis.n": float("nan") if index == 2 else 1e5 * index,
                    "analysis.good": index != 1,
                    "analysis.count": -index,
                    "analysis.inf": float("inf"),
                }
                if index == 1:
                    data["camera.float"] = None
                    data["analysis.count"] = None
                writer.write_shot(
                    index,
                    {"detuning": -2e6 - index * 1e5, "repeat": index, "flag": index == 3},
                    data,
                    begin,
                    begin + timedelta(milliseconds=145),
                    units={"detuning": MHz()},
                )
        session.sequences.finish(path)


def test_shots_read_back_as_with_the_default_backend(
    manager: Any, tmp_path: Path, serializer: Serializer, steps: Any, lanes: Any
) -> None:
    duck = DuckDBConfig(tmp_path / "duck").create_storage_manager(serializer)
    write_rich_shots(duck, steps, lanes)
    write_rich_shots(manager, steps, lanes)
    with duck.session() as reference, manager.session() as session:
        expected = reference.sequences.read("/rich")
        frame = session.sequences.read("/rich")
        assert frame.schema == expected.schema
        assert frame.schema["camera.picture"] == pl.Array(pl.UInt16, (3, 4))
        assert frame.equals(expected)
        assert frame["analysis.count"].to_list() == [0, None, -2, -3]
        assert np.isnan(frame["analysis.n"][2])
        assert frame["detuning"].to_list() == pytest.approx([-2.0, -2.1, -2.2, -2.3])
        lazy = session.sequences.scan("/rich")
        picked = (
            lazy.filter(pl.col("analysis.good") & (pl.col("repeat") >= 2))
            .select("repeat", "camera.picture")
            .collect()
        )
        assert picked.equals(
            reference.sequences.scan("/rich")
            .filter(pl.col("analysis.good") & (pl.col("repeat") >= 2))
            .select("repeat", "camera.picture")
            .collect()
        )
        assert picked["repeat"].to_list() == [2, 3]
        assert lazy.select("analysis.inf").collect()["analysis.inf"].to_list() == [np.inf] * 4
        assert lazy.head(2).collect().height == 2
        for index in range(4):
            shot = session.sequences.get_shot("/rich", index)
            other = reference.sequences.get_shot("/rich", index)
            assert shot.units == other.units == {"detuning": "MHz", "repeat": None, "flag": None}
            assert shot.parameters == other.parameters
            assert (shot.start_time, shot.end_time) == (other.start_time, other.end_time)
            assert shot.data.keys() == other.data.keys()
            for key, value in other.data.items():
                if isinstance(value, np.ndarray):
                    assert shot[key].dtype == value.dtype
                    assert shot[key].shape == value.shape
                    np.testing.assert_array_equal(shot[key], value)
                elif value != value:
                    assert shot[key] != shot[key]
                else:
                    assert shot[key] == value
                    assert type(shot[key]) is type(value)
    duck.close()


def test_projection_reads_only_the_columns_asked(manager: Any, steps: Any, lanes: Any) -> None:
    write_rich_shots(manager, steps, lanes)
    uuid = manager.catalog.run(
        lambda tx: tx.one("SELECT uuid FROM sequences WHERE path = ?", ["/rich"])[0]
    )
    table, schema = manager.shots.read_table(uuid, ["analysis.n", "detuning"])
    assert table.column_names == ["analysis.n", "detuning"]
    assert table.schema.field("detuning").metadata == {b"kind": b"parameter", b"unit": b"MHz"}
    assert schema["camera.picture"].shape == (3, 4)
    with pytest.raises(ValueError, match="no column 'nope'"):
        manager.shots.read_table(uuid, ["nope"])


def test_a_bad_shot_stores_nothing(manager: Any, steps: Any, lanes: Any) -> None:
    with manager.session() as session:
        session.sequences.create("/bad", steps, lanes)
        session.sequences.prepare("/bad", ParameterNamespace.empty(), {}, RunOwner.current(), 3)
        with session.sequences.start("/bad") as writer:
            writer.write_shot(0, {"x": 1.0}, {"cam.image": np.zeros((2, 2), np.uint16)}, T0, T0)
            with pytest.raises(ShotSchemaError, match=r"shot 1: column 'cam.image'"):
                writer.write_shot(1, {"x": 2.0}, {"cam.image": np.zeros((2, 3), np.uint16)}, T0, T0)
            with pytest.raises(ShotExistsError, match="shot 0 is already stored"):
                writer.write_shot(0, {"x": 2.0}, {}, T0, T0)
            with pytest.raises(ValueError, match="'x' is given twice"):
                writer.write_shot(2, {"x": 2.0}, {"x": 1.0}, T0, T0)
            with pytest.raises(ValueError, match="no timezone"):
                writer.write_shot(2, {}, {}, datetime(2026, 1, 1), T0)
        with pytest.raises(RuntimeError, match="closed"):
            writer.write_shot(5, {}, {}, T0, T0)
        assert session.sequences.read("/bad")["shot_index"].to_list() == [0]
        assert session.sequences.get_stats("/bad").number_of_shots == 1


def test_a_second_writer_of_the_same_index_is_refused(manager: Any, steps: Any, lanes: Any) -> None:
    with manager.session() as session:
        session.sequences.create("/twice", steps, lanes)
        session.sequences.prepare("/twice", ParameterNamespace.empty(), {}, RunOwner.current(), 1)
        session.sequences.start("/twice").close()
        uuid = manager.catalog.run(
            lambda tx: tx.one("SELECT uuid FROM sequences WHERE path = ?", ["/twice"])[0]
        )
        first = manager.shot_writer(uuid, "/twice")
        second = manager.shot_writer(uuid, "/twice")  # e.g. a stale writer elsewhere
        first.write_shot(0, {"x": 1}, {}, T0, T0)
        with pytest.raises(ShotExistsError):
            second.write_shot(0, {"x": 2}, {}, T0, T0)
        first.close()
        second.close()
        assert [s.parameters for s in session.sequences.get_shots("/twice")] == [{"x": 1}]


def test_reset_gives_a_new_id_so_a_stale_writer_cannot_mix_runs(
    manager: Any, steps: Any, lanes: Any
) -> None:
    with manager.session() as session:
        session.sequences.create("/again", steps, lanes)
        session.sequences.prepare("/again", ParameterNamespace.empty(), {}, RunOwner.current(), 1)
        stale = session.sequences.start("/again")
        stale.write_shot(0, {"x": 1}, {}, T0, T0)
        session.sequences.interrupt("/again")
        session.sequences.reset_to_draft("/again")
        stale.write_shot(1, {"x": 1}, {}, T0, T0)  # lands nowhere visible
        stale.close()
        session.sequences.prepare("/again", ParameterNamespace.empty(), {}, RunOwner.current(), 1)
        with session.sequences.start("/again") as writer:
            writer.write_shot(0, {"x": 2}, {}, T0, T0)
        session.sequences.finish("/again")
        assert session.sequences.read("/again")["x"].to_list() == [2]


def test_a_store_of_another_version_is_refused_untouched(
    backend: str, tmp_path: Path, serializer: Serializer
) -> None:
    config = make_config(backend, tmp_path)
    first = config.create_storage_manager(serializer)
    first.upgrade()
    with first.session() as session:
        session.paths.create("/kept")
    first.catalog.run(lambda tx: tx.execute("UPDATE schema_version SET version = 7"))
    first.close()
    before = digest(config)
    second = config.create_storage_manager(serializer)
    newer = "schema version 7, written by a newer"
    with second.session() as session, pytest.raises(StoreVersionError, match=newer):
        session.paths.all_paths()
    with pytest.raises(StoreVersionError, match="Upgrade shotbook"):
        second.upgrade()
    second.close()
    assert digest(config) == before
    old = config.create_storage_manager(serializer)
    old.catalog.run(lambda tx: tx.execute("UPDATE schema_version SET version = 0"), check=False)
    with old.session() as session, pytest.raises(StoreVersionError, match="shotbook upgrade"):
        session.sequences.all_sequences()
    with pytest.raises(StoreVersionError, match="no migration"):
        old.upgrade()
    old.close()


def digest(config: Any) -> str:
    """A fingerprint of the store's content."""
    if isinstance(config, SQLiteConfig):
        connection = sqlite3.connect(config.path)
        text = "\n".join(connection.iterdump())
        connection.close()
        return hashlib.sha256(text.encode()).hexdigest()
    import psycopg

    with psycopg.connect(**config.connection_arguments()) as connection:
        connection.execute(f'SET search_path TO "{config.schema}"')
        rows = [
            connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("schema_version", "paths", "sequences")
        ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_upgrade_creates_a_store_and_is_idempotent(
    backend: str, tmp_path: Path, serializer: Serializer
) -> None:
    manager = make_config(backend, tmp_path).create_storage_manager(serializer)
    assert manager.upgrade() is None
    assert manager.upgrade() is None
    with manager.session() as session:
        assert session.paths.creation_date("/") <= datetime.now(UTC)
    manager.close()
    with pytest.raises(StorageError, match="closed"), manager.session():
        pass


def test_sqlite_waits_a_bounded_time_for_the_write_lock(
    tmp_path: Path, serializer: Serializer, steps: Any, lanes: Any
) -> None:
    config = SQLiteConfig(tmp_path / "locked.sqlite", lock_timeout=0.2)
    manager = config.create_storage_manager(serializer)
    manager.upgrade()
    holder = sqlite3.connect(config.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    with manager.session() as session:
        assert session.paths.all_paths() == set()  # readers never wait
        with pytest.raises(StoreLockedError, match=r"locked.sqlite: .*waited 0\.\d s"):
            session.paths.create("/blocked")
        holder.execute("ROLLBACK")
        session.paths.create("/blocked")
        assert session.paths.exists("/blocked")
    holder.close()
    manager.close()


def test_postgresql_waits_a_bounded_time_for_a_held_row(
    serializer: Serializer, steps: Any, lanes: Any
) -> None:
    import psycopg

    config = postgresql_config(lock_timeout=0.3)
    manager = config.create_storage_manager(serializer)
    manager.upgrade()
    with manager.session() as session:
        session.sequences.create("/held", steps, lanes)
        with psycopg.connect(**config.connection_arguments()) as holder:
            holder.execute(f'SET search_path TO "{config.schema}"')
            holder.execute("SELECT * FROM sequences WHERE path = '/held' FOR UPDATE")
            assert session.sequences.get_notes("/held") == ""  # readers never wait
            with pytest.raises(StoreLockedError, match=r"schema .*waited 0\.\d s"):
                session.sequences.set_notes("/held", "blocked")
        session.sequences.set_notes("/held", "done")
        assert session.sequences.get_notes("/held") == "done"
    manager.close()


def test_concurrent_edits_in_threads_resolve_cleanly(manager: Any, steps: Any, lanes: Any) -> None:
    with manager.session() as session:
        session.sequences.create("/race", steps, lanes)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def worker(number: int) -> None:
        with manager.session() as session:
            barrier.wait()
            for step in range(5):
                session.sequences.create(f"/threads/{number}/{step}", steps, lanes)
                session.sequences.set_notes("/race", f"{number}-{step}")
            try:
                session.sequences.prepare(
                    "/race", ParameterNamespace.empty(), {}, RunOwner("h", number, "u"), 1
                )
                outcomes.append("won")
            except InvalidStateTransitionError as error:
                outcomes.append(str(error))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("won") == 1
    refused = [text for text in outcomes if text != "won"]
    assert len(refused) == 3
    assert all("/race: cannot change the sequence from PREPARING to" in t for t in refused)
    with manager.session() as session:
        assert len(session.sequences.list("/threads")) == 20
        assert session.sequences.get_state("/race") is State.PREPARING


def test_postgresql_unreachable_is_a_clear_error(serializer: Serializer) -> None:
    from shotbook.session import PostgreSQLConfig

    config = PostgreSQLConfig("nobody", host="127.0.0.1", port=1, lock_timeout=1)
    manager = config.create_storage_manager(serializer)
    with (
        manager.session() as session,
        pytest.raises(
            StorageError, match=r"postgresql://nobody@127.0.0.1:1/shotbook: cannot connect"
        ),
    ):
        session.paths.all_paths()
    manager.close()


def test_a_shot_stored_between_the_schema_and_the_rows_is_read_whole(
    manager: Any, steps: Any, lanes: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader of a running sequence reads the schema, then the rows: a shot stored between
    the two (with the sequence's first columns) must come back with its columns, not as a
    row missing them (seen as KeyError 'camera.picture' in a reader process on PostgreSQL)."""
    from shotbook.session._sql._shots import SQLShotReader

    picture = np.arange(6, dtype=np.uint16).reshape(2, 3)
    with manager.session() as session:
        session.sequences.create("/live", steps, lanes)
        session.sequences.prepare("/live", ParameterNamespace.empty(), {}, RunOwner.current(), 2)
        with session.sequences.start("/live") as writer:
            real_columns = SQLShotReader.columns
            calls = 0

            def columns_then_a_shot(reader: Any, sequence_id: str) -> Any:
                nonlocal calls
                schema = real_columns(reader, sequence_id)
                calls += 1
                if calls == 1:  # the writer stores shot 0 right after the schema was read
                    writer.write_shot(0, {"n": 0}, {"camera.picture": picture}, T0, T0)
                return schema

            monkeypatch.setattr(SQLShotReader, "columns", columns_then_a_shot)
            frame = session.sequences.read("/live")
            monkeypatch.setattr(SQLShotReader, "columns", real_columns)
        assert frame["shot_index"].to_list() == [0]
        assert frame["n"].to_list() == [0]
        assert np.array_equal(np.asarray(frame["camera.picture"][0]), picture)
