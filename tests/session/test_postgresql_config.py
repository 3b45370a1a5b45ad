"""PostgreSQLConfig and SQLiteConfig: validation, YAML, no password in the repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotbook.session import PostgreSQLConfig, SQLiteConfig


def test_defaults_and_repr_without_password() -> None:
    config = PostgreSQLConfig("lab", "s3cret p@ss")
    assert (config.host, config.port, config.database, config.schema) == (
        "127.0.0.1",
        5432,
        "shotbook",
        "public",
    )
    assert "s3cret" not in repr(config)
    assert config.where == "postgresql://lab@127.0.0.1:5432/shotbook"
    assert config.uri() == "postgresql://lab:s3cret%20p%40ss@127.0.0.1:5432/shotbook"
    assert config.connection_arguments()["password"] == "s3cret p@ss"
    assert "password" not in PostgreSQLConfig("lab").connection_arguments()
    assert PostgreSQLConfig("lab", schema="rb87").where.endswith("(schema rb87)")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"username": ""}, "username"),
        ({"username": "a", "port": 0}, "port"),
        ({"username": "a", "port": True}, "port"),
        ({"username": "a", "schema": 'x"; DROP'}, "plain identifier"),
        ({"username": "a", "lock_timeout": float("inf")}, "lock_timeout"),
        ({"username": "a", "database": ""}, "database"),
    ],
)
def test_bad_values_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostgreSQLConfig(**options)  # type: ignore[arg-type]


def test_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "storage.yaml"
    path.write_text("username: lab\nhost: db.example\nport: 5433\ndatabase: rb87\n")
    assert PostgreSQLConfig.from_yaml(path) == PostgreSQLConfig(
        "lab", host="db.example", port=5433, database="rb87"
    )
    path.write_text("username: lab\npasword: x\n")
    with pytest.raises(ValueError, match=r"storage.yaml: unknown key\(s\) pasword"):
        PostgreSQLConfig.from_yaml(path)
    path.write_text("host: db\n")
    with pytest.raises(ValueError, match="'username' is required"):
        PostgreSQLConfig.from_yaml(path)
    path.write_text("username: lab\nport: nope\n")
    with pytest.raises(ValueError, match=r"storage.yaml: .*port"):
        PostgreSQLConfig.from_yaml(path)
    path.write_text("- a list\n")
    with pytest.raises(ValueError, match="expected a mapping"):
        PostgreSQLConfig.from_yaml(path)


def test_sqlite_config() -> None:
    config = SQLiteConfig("lab.sqlite", lock_timeout=2)
    assert config.path == Path("lab.sqlite")
    assert (config.fsync, config.lock_timeout) == (False, 2.0)
    with pytest.raises(ValueError, match="lock_timeout"):
        SQLiteConfig("x", lock_timeout=-1)
