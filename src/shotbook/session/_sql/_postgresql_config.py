"""Configuration of a store kept in a PostgreSQL database (catalog and shots)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from shotbook.registry import SerializerProtocol

    from ._postgresql import PostgreSQLStorageManager

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_KEYS = ("username", "password", "host", "port", "database", "schema", "lock_timeout", "fsync")


@dataclass(frozen=True)
class PostgreSQLConfig:
    """A store in a PostgreSQL database: every computer with a connection reads every shot.

    The tables live in ``schema`` of ``database`` (several stores may share a database
    under different schemas). ``password`` may be left out with trust or peer
    authentication, or when libpq finds it in ``~/.pgpass``; it is never shown in the
    ``repr``. ``lock_timeout`` bounds how long a call waits for a row another process holds;
    ``fsync=False`` lets the shot writer commit without waiting for the server's disk flush
    (a shot survives the writer's death, and the server's only if it is not a power loss or
    an operating-system crash), ``fsync=True`` waits for it.

    >>> config = PostgreSQLConfig("lab", host="db.lab.example", database="rb87")
    >>> config.where
    'postgresql://lab@db.lab.example:5432/rb87'
    """

    username: str
    password: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 5432
    database: str = "shotbook"
    schema: str = "public"
    lock_timeout: float = 10.0
    fsync: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.username, str) or not self.username:
            raise ValueError(f"PostgreSQLConfig.username is a non-empty str, got {self.username!r}")
        if (
            isinstance(self.port, bool)
            or not isinstance(self.port, int)
            or not 0 < self.port < 65536
        ):
            raise ValueError(f"PostgreSQLConfig.port is an int in 1..65535, got {self.port!r}")
        if not isinstance(self.database, str) or not self.database:
            raise ValueError(f"PostgreSQLConfig.database is a non-empty str, got {self.database!r}")
        if not isinstance(self.schema, str) or not _IDENTIFIER.fullmatch(self.schema):
            raise ValueError(
                f"PostgreSQLConfig.schema must be a plain identifier (letters, digits, _), "
                f"got {self.schema!r}"
            )
        timeout = self.lock_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ValueError(f"PostgreSQLConfig.lock_timeout is a number, got {timeout!r}")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"PostgreSQLConfig.lock_timeout must be > 0 s, got {timeout}")

    @classmethod
    def from_yaml(cls, path: str | Path) -> PostgreSQLConfig:
        """Read the configuration from a YAML mapping with the constructor's keys.

        >>> PostgreSQLConfig.from_yaml("storage.yaml")  # doctest: +SKIP

        where ``storage.yaml`` holds e.g.::

            username: lab
            host: db.lab.example
            database: rb87
        """
        import yaml

        path = Path(path)
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(content, dict):
            raise ValueError(
                f"{path}: expected a mapping with keys {', '.join(_KEYS)}, "
                f"got {type(content).__name__}"
            )
        unknown = sorted(str(key) for key in content if key not in _KEYS)
        if unknown:
            raise ValueError(
                f"{path}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join(_KEYS)}"
            )
        if "username" not in content:
            raise ValueError(f"{path}: the key 'username' is required")
        try:
            return cls(**content)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None

    @property
    def where(self) -> str:
        """The store's address for messages (no password)."""
        text = f"postgresql://{self.username}@{self.host}:{self.port}/{self.database}"
        return text if self.schema == "public" else f"{text} (schema {self.schema})"

    def connection_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``psycopg.connect`` (``Any``: typed by each of its parameters)."""
        arguments: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.database,
            "user": self.username,
            "connect_timeout": max(1, math.ceil(self.lock_timeout)),
            "application_name": "shotbook",
        }
        if self.password is not None:
            arguments["password"] = self.password
        return arguments

    def uri(self) -> str:
        """The libpq URI of the database (with the password, if any: do not print it)."""
        credentials = quote(self.username, safe="")
        if self.password is not None:
            credentials += ":" + quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{credentials}@{host}:{self.port}/{quote(self.database, safe='')}"

    def create_storage_manager(self, serializer: SerializerProtocol) -> PostgreSQLStorageManager:
        """The storage manager of this store (imports psycopg only now)."""
        from ._postgresql import PostgreSQLStorageManager

        return PostgreSQLStorageManager(serializer, self)


__all__ = ["PostgreSQLConfig"]
