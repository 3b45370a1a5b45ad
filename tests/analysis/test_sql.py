"""SQL over every shot of the store: the shots, sequences and parameters views."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import polars as pl
import pytest

from shotbook.analysis import SQLError, sql
from shotbook.session import StorageManager

from .helpers import T0, SequenceSpec, draft, fill, new_manager, running, tof_a, tof_b, write


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageManager]:
    """/tof/a (notes "first scan") and /tof/b, finished, and a draft /tof/c."""
    manager = new_manager(tmp_path_factory.mktemp("sql") / "store")
    fill(manager, tof_a())
    fill(manager, tof_b())
    draft(manager, "/tof/c")
    yield manager
    manager.close()


def test_shots_has_one_row_per_shot_with_scalar_columns(store: StorageManager) -> None:
    frame = sql(store, "SELECT * FROM shots ORDER BY sequence, shot_index")
    assert frame.height == 11
    assert frame.columns[:4] == ["sequence", "shot_index", "start_time", "end_time"]
    assert "camera.picture" not in frame.columns  # arrays are left out
    assert {"mot.detuning", "wait_time", "repeat", "imaging.enabled", "probe.power"} <= set(
        frame.columns
    )
    assert frame.schema["start_time"] == pl.Datetime("us", "UTC")
    assert frame.get_column("start_time")[0] == T0
    assert frame.get_column("analysis.atom_number").to_list() == [
        *(1000.0 + i for i in range(6)),
        *(2000.0 + i for i in range(5)),
    ]
    # /tof/b's detuning (kHz) is converted to /tof/a's unit (MHz, first by path)
    assert frame.get_column("mot.detuning").to_list()[6:] == pytest.approx(
        [-1.5 + 0.25 * i for i in range(5)]
    )
    assert frame.get_column("probe.power").null_count() == 6


def test_dotted_names_are_quoted_and_grouping_works(store: StorageManager) -> None:
    frame = sql(
        store,
        """
        SELECT sequence, "repeat", avg("analysis.atom_number") AS atoms, count(*) AS n
        FROM shots WHERE "wait_time" > 1.5
        GROUP BY ALL ORDER BY sequence, "repeat"
        """,
    )
    assert frame.rows() == [
        ("/tof/a", 0, 1003.0, 2),  # shots 2 and 4
        ("/tof/a", 1, 1003.0, 3),  # shots 1, 3, 5
        ("/tof/b", 0, 2002.0, 3),
        ("/tof/b", 1, 2002.0, 2),
    ]


def test_unquoted_dotted_names_get_a_hint(store: StorageManager) -> None:
    with pytest.raises(SQLError, match=r'(?s)"mot".*double quotes: SELECT "mot\.detuning"'):
        sql(store, "SELECT mot.detuning FROM shots")
    with pytest.raises(SQLError, match="the views are shots, sequences, parameters"):
        sql(store, "SELECT * FROM nothing_here")
    with pytest.raises(ValueError, match="needs a query"):
        sql(store, "  ")


def test_sequences_view_describes_every_sequence(store: StorageManager) -> None:
    frame = sql(store, "SELECT * FROM sequences ORDER BY path")
    assert frame.columns == [
        "path",
        "state",
        "shots",
        "expected",
        "created",
        "start_time",
        "stop_time",
        "ran_by",
        "host",
        "notes",
    ]
    assert frame.select("path", "state", "shots", "expected", "notes").rows() == [
        ("/tof/a", "finished", 6, 6, "first scan"),
        ("/tof/b", "finished", 5, 5, ""),
        ("/tof/c", "draft", 0, None, ""),
    ]
    assert frame.get_column("created").dtype == pl.Datetime("us", "UTC")
    assert frame.get_column("stop_time")[2] is None
    started = frame.get_column("start_time")[0]
    assert started is not None
    assert started.utcoffset() == UTC.utcoffset(None)


def test_parameters_view_is_long_with_units(store: StorageManager) -> None:
    frame = sql(
        store, "SELECT * FROM parameters WHERE sequence = '/tof/b' AND shot_index = 2 ORDER BY name"
    )
    assert frame.columns == ["sequence", "shot_index", "name", "value", "unit"]
    rows = {name: (value, unit) for _, _, name, value, unit in frame.rows()}
    assert rows == {
        "mot.detuning": (pytest.approx(-1.0), "MHz"),
        "probe.power": (pytest.approx(2.0), "mW"),
        "repeat": (0.0, None),
        "wait_time": (pytest.approx(6.0), "ms"),
    }
    counts = sql(store, "SELECT sequence, count(*) AS n FROM parameters GROUP BY 1 ORDER BY 1")
    assert counts.rows() == [("/tof/a", 6 * 4), ("/tof/b", 5 * 4)]
    bools = sql(store, "SELECT value FROM parameters WHERE name = 'imaging.enabled'")
    assert sorted(bools.get_column("value").to_list()) == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


def test_views_join(store: StorageManager) -> None:
    frame = sql(
        store,
        """
        SELECT q.path, q.notes, count(*) AS n FROM shots s
        JOIN sequences q ON q.path = s.sequence GROUP BY ALL ORDER BY 1
        """,
    )
    assert frame.rows() == [("/tof/a", "first scan", 6), ("/tof/b", "", 5)]


def test_queries_cannot_touch_files(store: StorageManager, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(SQLError, match="disabled"):
        sql(store, f"SELECT * FROM read_csv('{secret.as_posix()}')")
    with pytest.raises(SQLError):
        sql(store, f"COPY (SELECT 1) TO '{(tmp_path / 'out.csv').as_posix()}'")
    assert not (tmp_path / "out.csv").exists()


def test_an_empty_store_has_empty_views(tmp_path: Path) -> None:
    manager = new_manager(tmp_path / "empty")
    assert sql(manager, "SELECT count(*) AS n FROM shots").item() == 0
    assert sql(manager, "SELECT * FROM parameters").columns == [
        "sequence",
        "shot_index",
        "name",
        "value",
        "unit",
    ]
    assert sql(manager, "SELECT * FROM sequences").height == 0
    assert sql(manager, "SELECT 1 + 1 AS two").item() == 2
    manager.close()


def test_a_running_sequence_is_queried_as_it_grows(tmp_path: Path) -> None:
    manager = new_manager(tmp_path / "live")
    spec = SequenceSpec("/live", 6, lambda i: {"wait_time": 1e-3 * i}, {"wait_time": "ms"})
    with running(manager, spec) as writer:
        write(writer, spec, range(2))
        query = "SELECT count(*) AS n, max(wait_time) AS w FROM shots"
        assert sql(manager, query).rows() == [(2, 1.0)]
        state = sql(manager, "SELECT state, shots FROM sequences").rows()
        assert state == [("running", 2)]
        write(writer, spec, range(2, 5))
        assert sql(manager, query).rows() == [(5, 4.0)]
    manager.close()
