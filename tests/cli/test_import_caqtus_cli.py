"""``shotbook import-caqtus SOURCE DEST``: the fixture into a SQLite store, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotbook.cli import main
from shotbook.registry import OpaqueDeviceConfiguration, Serializer, default_registry
from shotbook.session import SQLiteConfig, State

from ..extension.caqtus_fixture import fixture_dir


def test_import_caqtus_into_a_sqlite_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = tmp_path / "lab.sqlite"
    source = str(fixture_dir() / "caqtus.sqlite")
    assert main(["import-caqtus", source, str(destination), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "imported 4 sequences (0 already there), 11 shots, 6 folders" in out
    assert "kept as an opaque configuration" in err  # no --devices: every device is opaque
    manager = SQLiteConfig(destination).create_storage_manager(Serializer(default_registry()))
    with manager.session() as session:
        stats = session.sequences.get_stats("/scans/2024/detuning/probe_detuning_scan")
        assert stats.state is State.FINISHED
        assert stats.number_of_shots == 6
        assert isinstance(
            session.default_device_configurations["Camera"], OpaqueDeviceConfiguration
        )
    manager.close()
    assert main(["import-caqtus", source, str(destination), "--quiet"]) == 0
    assert "(4 already there), 0 shots" in capsys.readouterr().out


def test_import_caqtus_refuses_a_file_that_is_not_caqtus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["import-caqtus", str(junk), str(tmp_path / "store"), "--quiet"]) == 2
    assert "not a caqtus database" in capsys.readouterr().err
