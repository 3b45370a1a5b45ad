"""Names of older stores that are not in Unicode NFC: upgrade renames them, never merges."""

from __future__ import annotations

import unicodedata
from typing import Any

import duckdb
import pytest

from shotbook.extension import Experiment
from shotbook.session import PathExistsError, RenamedName
from shotbook.types import PureSequencePath, StepsConfiguration, TimeLanes

COMPOSED = unicodedata.normalize("NFC", "café")
DECOMPOSED = unicodedata.normalize("NFD", "café")
TEA = unicodedata.normalize("NFD", "thé")
NAIVE = unicodedata.normalize("NFD", "naïve")


def _raw(manager: Any, statements: list[tuple[str, list[Any]]]) -> None:
    """Run SQL on the store directly, bypassing every check (as an older shotbook wrote)."""
    config = manager.config
    if hasattr(config, "catalog_path"):  # DuckDB
        connection = duckdb.connect(str(config.catalog_path))
        for sql, arguments in statements:
            connection.execute(sql, arguments)
        connection.close()
    else:
        manager.catalog.run(lambda tx: [tx.execute(s, a) for s, a in statements])


def _rename_raw(old: str, new: str) -> list[tuple[str, list[Any]]]:
    parent = new.rpartition("/")[0] or "/"
    return [
        ("UPDATE paths SET path = ?, parent = ? WHERE path = ?", [new, parent, old]),
        ("UPDATE sequences SET path = ? WHERE path = ?", [new, old]),
    ]


def test_upgrade_renames_unnormalised_names_and_keeps_clashing_ones_apart(
    storage_manager: Any, steps: StepsConfiguration, lanes: TimeLanes
) -> None:
    with storage_manager.session() as session:
        for path, notes in [
            (f"/amb/{COMPOSED}", "composed"),
            ("/amb/b", "decomposed"),
            ("/amb/t", "tea"),
            ("/n/x", "under a decomposed folder"),
        ]:
            session.sequences.create(path, steps, lanes)
            session.sequences.set_notes(path, notes)
        assert storage_manager.normalise_names() == []  # nothing to do in a new store
        # every entry point now normalises: the old forms cannot be written through them
        with pytest.raises(PathExistsError):
            session.sequences.create(f"/amb/{DECOMPOSED}", steps, lanes)
    _raw(
        storage_manager,
        [
            *_rename_raw("/amb/b", f"/amb/{DECOMPOSED}"),
            *_rename_raw("/amb/t", f"/amb/{TEA}"),
            *_rename_raw("/n", f"/{NAIVE}"),
            *_rename_raw("/n/x", f"/{NAIVE}/x"),
        ],
    )
    nfc = unicodedata.normalize("NFC", NAIVE)
    tea = unicodedata.normalize("NFC", TEA)
    renamed = storage_manager.normalise_names()
    assert renamed == [
        RenamedName(f"/{NAIVE}", f"/{nfc}"),
        RenamedName(f"/amb/{DECOMPOSED}", f"/amb/{COMPOSED} (2)", f"/amb/{COMPOSED}"),
        RenamedName(f"/amb/{TEA}", f"/amb/{tea}"),
        RenamedName(f"/{NAIVE}/x", f"/{nfc}/x"),
    ]
    assert "differs from /amb/café only in Unicode normalisation" in str(renamed[1])
    assert storage_manager.normalise_names() == []
    with storage_manager.session() as session:
        assert session.paths.all_paths() == {
            PureSequencePath(p)
            for p in (
                "/amb",
                f"/amb/{COMPOSED}",
                f"/amb/{COMPOSED} (2)",
                f"/amb/{tea}",
                f"/{nfc}",
                f"/{nfc}/x",
            )
        }
        notes = {
            str(stats.path): session.sequences.get_notes(stats.path)
            for stats in session.sequences.all_sequences()
        }
        assert notes == {
            f"/amb/{COMPOSED}": "composed",
            f"/amb/{COMPOSED} (2)": "decomposed",  # kept apart, never merged
            f"/amb/{tea}": "tea",
            f"/{nfc}/x": "under a decomposed folder",
        }
        assert session.sequences.get_notes(f"/amb/{TEA}") == "tea"  # any form reaches it
        log = session.audit_log(f"/amb/{COMPOSED} (2)")
        assert [(e.action, e.path) for e in log] == [("rename", f"/amb/{DECOMPOSED}")]
        assert log[0].detail.startswith("upgrade: it differs from")


def test_shotbook_upgrade_prints_every_rename(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], steps: StepsConfiguration, lanes: TimeLanes
) -> None:
    from shotbook.cli import main
    from shotbook.session import DuckDBConfig

    root = tmp_path / "store"
    experiment = Experiment(DuckDBConfig(root))
    experiment.setup_default_extensions()
    manager = experiment.get_storage_manager()
    with manager.session() as session:
        session.sequences.create(f"/{COMPOSED}", steps, lanes)
        session.sequences.create("/b", steps, lanes)
    _raw(manager, _rename_raw("/b", f"/{DECOMPOSED}"))
    assert main(["upgrade", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"shotbook: renamed /{DECOMPOSED} → /{COMPOSED} (2) (it differs from" in out
    assert main(["upgrade", "--root", str(root)]) == 0
    assert "renamed" not in capsys.readouterr().out
    (entry,) = experiment.audit_log(f"/{COMPOSED} (2)")
    assert (entry.action, entry.target) == ("rename", f"/{COMPOSED} (2)")
    experiment.close()
