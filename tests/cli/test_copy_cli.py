"""`shotbook copy`: a demo store copied to SQLite, verified, and readable there."""

from pathlib import Path

import pytest

from shotbook.cli import main
from shotbook.cli._stores import store_config
from shotbook.extension import Experiment
from shotbook.session import DuckDBConfig, PostgreSQLConfig, SQLiteConfig


def test_store_names() -> None:
    assert isinstance(store_config("some/folder"), DuckDBConfig)
    assert isinstance(store_config("lab.sqlite"), SQLiteConfig)
    config = store_config("postgresql://alice:s3cret@db.lab:5433/shots")
    assert isinstance(config, PostgreSQLConfig)
    assert (config.username, config.host, config.port, config.database) == (
        "alice",
        "db.lab",
        5433,
        "shots",
    )
    assert "s3cret" not in repr(config)
    with pytest.raises(ValueError, match="postgresql://user"):
        store_config("postgresql://db.lab")


def test_copy_a_demo_store_to_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "duck"
    assert main(["demo", "--root", str(source), "--points", "3", "--repetitions", "1"]) == 0
    destination = tmp_path / "copy.sqlite"
    assert main(["copy", str(source), str(destination)]) == 0
    assert "copied 1 sequences, 3 shots" in capsys.readouterr().out

    experiment = Experiment(SQLiteConfig(destination))
    experiment.setup_default_extensions()
    with experiment.storage_session() as session:
        (path,) = [s.path for s in session.sequences.all_sequences()]
        frame = session.sequences.read(path)
    assert frame.height == 3
    assert frame["camera.atoms"].dtype.inner is not None  # images kept as arrays
    # analysis works on the SQLite store too: SQL over all shots, and loading by pattern
    table = experiment.sql('select count(*) as n, max("time_of_flight") as tof from shots')
    assert table.row(0) == (3, 14.0)
    loaded = experiment.read_shots("/demo/*", columns=["time_of_flight", "camera.atoms"])
    assert loaded["camera.atoms"].dtype.shape == (512, 512)  # type: ignore[attr-defined]
    experiment.close()
