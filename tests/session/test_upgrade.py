"""Schema versions of the DuckDB catalog: refuse other versions untouched, migrate on upgrade."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from shotbook.registry import Serializer
from shotbook.session import DuckDBConfig, DuckDBStorageManager, State, StoreVersionError
from shotbook.types import (
    AnalogTimeLane,
    DigitalTimeLane,
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    PureSequencePath,
    Ramp,
    StepsConfiguration,
    TimeLanes,
    VariableDeclaration,
)

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store_v0.sql"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_v0(root: Path) -> Path:
    root.mkdir(parents=True)
    catalog = root / "catalog.duckdb"
    connection = duckdb.connect(str(catalog))
    connection.execute(FIXTURE.read_text(encoding="utf-8"))
    connection.close()
    return catalog


def test_a_v0_store_is_refused_untouched_then_upgraded(
    tmp_path: Path, serializer: Serializer
) -> None:
    root = tmp_path / "old store"
    catalog = build_v0(root)
    before = digest(catalog)
    manager = DuckDBStorageManager(serializer, DuckDBConfig(root))
    with manager.session() as session:
        for call in (
            lambda: session.paths.all_paths(),
            lambda: session.sequences.all_sequences(),
            lambda: session.get_global_parameters(),
        ):
            with pytest.raises(StoreVersionError) as caught:
                call()
            message = str(caught.value)
            assert str(catalog) in message
            assert "schema version 0" in message
            assert "shotbook upgrade" in message
            assert "Experiment.upgrade_database()" in message
            assert "left unchanged" in message
    assert digest(catalog) == before
    assert sorted(p.name for p in root.iterdir()) == ["catalog.duckdb"]

    backup = manager.upgrade()
    assert backup is not None
    backup_path = Path(backup)
    assert backup_path.parent == root
    assert backup_path.name.startswith("catalog.duckdb.bak-0-")
    assert digest(backup_path) == before  # the copy is the v0 catalog, byte for byte
    assert manager.upgrade() is None  # already current

    fresh = DuckDBStorageManager(serializer, DuckDBConfig(root))
    with fresh.session() as session:
        assert session.paths.all_paths() == {
            PureSequencePath(p)
            for p in (
                "/calibrations",
                "/calibrations/mot",
                "/calibrations/mot/detuning scan",
                "/calibrations/mot/loading",
                "/empty folder",
            )
        }
        assert session.paths.children("/calibrations/mot") == {
            PureSequencePath("/calibrations/mot/detuning scan"),
            PureSequencePath("/calibrations/mot/loading"),
        }
        assert session.paths.creation_date("/empty folder") == datetime(
            2025, 3, 3, 11, 0, tzinfo=UTC
        )
        scan = "/calibrations/mot/detuning scan"
        assert session.sequences.get_iteration(scan) == StepsConfiguration(
            [
                VariableDeclaration("mot.detuning", "-2 MHz"),
                LinspaceLoop("wait_time", "1 ms", "3 ms", 3, [ExecuteShot()]),
            ]
        )
        assert session.sequences.get_time_lanes(scan) == TimeLanes(
            ["load", "ramp", "image"],
            ["100 ms", "wait_time", "10 us"],
            {
                "mot.coils": DigitalTimeLane([True, True, False]),
                "mot.current": AnalogTimeLane(["2 A", Ramp(), "0 A"]),
            },
        )
        stats = session.sequences.get_stats(scan)
        assert stats.state is State.FINISHED
        assert (stats.number_of_shots, stats.expected_number_of_shots) == (3, 3)
        assert stats.start_time == datetime(2025, 3, 1, 9, 6, tzinfo=UTC)
        assert session.sequences.get_notes(scan) == ""
        loading = "/calibrations/mot/loading"
        assert session.sequences.get_state(loading) is State.CRASHED
        assert "camera timeout" in (session.sequences.get_traceback(loading) or "")
        assert session.get_global_parameters() == ParameterNamespace.from_mapping(
            {"mot": {"detuning": "-10 MHz"}, "probe": "2 * mot.detuning"}
        )
        assert dict(session.default_device_configurations) == {
            "camera": {"exposure": 0.01, "roi": [0, 0, 512, 512]}
        }
        # the migrated store is fully usable
        session.sequences.set_notes(scan, "migrated")
        session.sequences.reset_to_draft(loading)
        assert session.sequences.get_state(loading) is State.DRAFT
        assert [entry.action for entry in session.audit_log(loading)] == ["reset"]


def test_a_store_of_a_newer_version_is_refused_even_by_upgrade(
    tmp_path: Path, serializer: Serializer
) -> None:
    config = DuckDBConfig(tmp_path / "store")
    manager = DuckDBStorageManager(serializer, config)
    assert manager.upgrade() is None  # creates it
    connection = duckdb.connect(str(config.catalog_path))
    connection.execute("UPDATE schema_version SET version = 7")
    connection.close()
    before = digest(config.catalog_path)
    newer = DuckDBStorageManager(serializer, config)
    with pytest.raises(StoreVersionError, match="schema version 7, written by a newer shotbook"):
        newer.upgrade()
    with newer.session() as session, pytest.raises(StoreVersionError, match="Upgrade shotbook"):
        session.paths.exists("/a")
    assert digest(config.catalog_path) == before
    assert [p.name for p in config.root.iterdir()] == ["catalog.duckdb"]


def test_upgrade_creates_a_missing_store(tmp_path: Path, serializer: Serializer) -> None:
    config = DuckDBConfig(tmp_path / "new" / "store")
    manager = DuckDBStorageManager(serializer, config)
    assert manager.upgrade() is None
    assert config.catalog_path.is_file()
    with manager.session() as session:
        assert session.paths.all_paths() == set()
    assert manager.upgrade() is None
