"""Name a store on the command line: a folder, a SQLite file, or a PostgreSQL server."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def store_config(text: str) -> Any:
    """The storage configuration that ``text`` names.

    * ``postgresql://user[:password]@host[:port]/database`` → ``PostgreSQLConfig``
    * a ``.yaml`` / ``.yml`` file → ``PostgreSQLConfig.from_yaml``
    * a ``.sqlite`` / ``.sqlite3`` / ``.db`` file → ``SQLiteConfig``
    * anything else: a folder holding a DuckDB store → ``DuckDBConfig``

    >>> type(store_config("lab-data")).__name__, type(store_config("lab.sqlite")).__name__
    ('DuckDBConfig', 'SQLiteConfig')
    """
    from shotbook.session import DuckDBConfig, PostgreSQLConfig, SQLiteConfig

    if text.startswith(("postgresql://", "postgres://")):
        url = urlparse(text)
        if not url.username or not url.path.strip("/"):
            raise ValueError(
                f"{text!r}: a PostgreSQL store is postgresql://user[:password]@host[:port]/database"
            )
        return PostgreSQLConfig(
            username=unquote(url.username),
            password=unquote(url.password) if url.password else None,
            host=url.hostname or "127.0.0.1",
            port=url.port or 5432,
            database=url.path.strip("/"),
        )
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml"):
        return PostgreSQLConfig.from_yaml(path)
    if path.suffix.lower() in SQLITE_SUFFIXES:
        return SQLiteConfig(path)
    return DuckDBConfig(path)


def load_object(reference: str) -> Any:
    """The object ``MODULE:NAME`` names (the module is imported, as for ``--experiment``)."""
    import importlib

    module_name, _, name = reference.partition(":")
    if not module_name or not name:
        raise ValueError(f"{reference!r}: expected MODULE:NAME, e.g. my_lab:caqtus_devices")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, name)
    except AttributeError:
        raise ValueError(f"{reference!r}: module {module_name} has no {name!r}") from None
