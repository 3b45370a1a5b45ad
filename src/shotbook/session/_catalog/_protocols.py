"""The small interfaces a catalog session is built on: transactions, catalogs, shot storage,
and :class:`CatalogAccess`, the one door through which a session's parts (its paths,
sequences and device configurations) reach the session's catalog, shots and serializer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Sequence as PySequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, SupportsInt, TypeVar

from shotbook.types._paths import PureSequencePath

from .._interfaces import ShotWriter, StorageManager
from .._sequence import ShotContent
from .._states import State

if TYPE_CHECKING:
    import polars

    from shotbook.registry import SerializerProtocol


T = TypeVar("T")


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class TimeAdapter(Protocol):
    """How a catalog gives back the times it stores."""

    def from_db_time(self, value: Any) -> datetime:
        """A stored time as a timezone-aware UTC datetime."""
        ...


class CatalogTransaction(Protocol):
    """An open catalog transaction (``_sql._catalog.SQLTransaction``, ``_duckdb._catalog``'s)."""

    changed: bool
    """Whether the transaction already appended its row to the change log (``_changes``)."""

    @property
    def catalog(self) -> TimeAdapter:
        """The catalog, for converting stored times."""
        ...

    def execute(self, sql: str, parameters: PySequence[Any] = ()) -> Any:
        """Run one statement (``?`` placeholders); returns the cursor."""
        ...

    def one(self, sql: str, parameters: PySequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query (``None`` when there is none)."""
        ...

    def all(self, sql: str, parameters: PySequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query."""
        ...

    def time(self, moment: datetime | None) -> Any:
        """A timezone-aware datetime as the database stores it."""
        ...

    def touch(self, uuids: Iterable[str]) -> None:
        """Say that the transaction may change where these sequences are, or whether they are."""
        ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction is committed."""
        ...


class Catalog(Protocol):
    """Runs transactions on a store's catalog."""

    change_log: bool
    """Whether the store has the change log (known once a transaction was begun)."""

    def run(self, action: Callable[[Any], T], *, write: bool = True) -> T:
        """Run ``action`` in one transaction (joining a held one of this thread)."""
        ...

    def hold(self) -> AbstractContextManager[Any]:
        """One write transaction for a whole block; calls of this thread join it."""
        ...


class ShotStorage(Protocol):
    """Where a backend keeps the shots of its sequences (keyed by the sequence's uuid)."""

    stats_count: str
    """The SQL expression of the shot-count column of a ``sequences`` row in stats queries."""

    def shot_count(self, state: State, uuid: str, stored: SupportsInt | None) -> int:
        """The number of shots of a sequence that is not a DRAFT (``stored``: the column)."""
        ...

    def count_in(self, tx: CatalogTransaction, uuid: str) -> int:
        """The number of shots, recorded in ``tx`` when the run ends."""
        ...

    def delete(self, tx: CatalogTransaction, uuids: PySequence[str]) -> None:
        """Delete the shots of these sequences as part of ``tx`` (delete or reset to draft)."""
        ...

    def before_start(self, tx: CatalogTransaction, uuid: str) -> None:
        """Prepare the shots' place in the transaction that starts the run."""
        ...

    def writer(self, uuid: str, path: PureSequencePath) -> ShotWriter:
        """The writer of the shots, after the run started."""
        ...

    def indices(self, uuid: str) -> list[int]:
        """The indices of the stored shots, sorted."""
        ...

    def has_frame(self, state: State, uuid: str) -> bool:
        """Whether :meth:`scan` and :meth:`read` give a frame (else an empty one, no columns)."""
        ...

    def loader(self, uuid: str) -> Callable[[int], ShotContent | None]:
        """Reads one shot by index (``None`` when there is none)."""
        ...

    def scan(self, uuid: str) -> polars.LazyFrame:
        """A lazy frame over the shots, one row per shot."""
        ...

    def read(self, uuid: str) -> polars.DataFrame:
        """Every shot, one row per shot."""
        ...


class SerializingManager(StorageManager, Protocol):
    """A storage manager with the serializer its sessions store objects with."""

    @property
    def serializer(self) -> SerializerProtocol:
        """Encodes and decodes the stored objects (configurations, parameters)."""
        ...


class CatalogAccess(Protocol):
    """What the parts of a catalog session use of it (``_session.SessionCatalog`` gives it)."""

    @property
    def storage_manager(self) -> StorageManager:
        """The manager whose session this is (what a :class:`Sequence` is bound to)."""
        ...

    @property
    def serializer(self) -> SerializerProtocol:
        """The manager's serializer."""
        ...

    @property
    def shots(self) -> ShotStorage:
        """Where the backend keeps the shots."""
        ...

    def read(self, action: Callable[[CatalogTransaction], T]) -> T:
        """Run ``action`` in a read transaction (joining a held one of this thread)."""
        ...

    def write(self, action: Callable[[CatalogTransaction], T], *, logged: bool = True) -> T:
        """Run ``action`` in a write transaction (joining a held one of this thread);
        counted in the change log unless not ``logged``."""
        ...


__all__ = [
    "Catalog",
    "CatalogAccess",
    "CatalogTransaction",
    "SerializingManager",
    "ShotStorage",
    "TimeAdapter",
    "utc_now",
]
