"""What every storage backend provides: a manager that opens sessions on the store.

A backend (DuckDB + Parquet by default; SQLite or PostgreSQL later) implements
:class:`StorageManager`; everything above the session layer uses only these
interfaces. Sessions hold no lock between calls: each call is its own short
transaction, so a ``with manager.session()`` block may stay open for hours.

>>> from shotbook.registry import Serializer, default_registry
>>> from shotbook.session import DuckDBConfig
>>> manager = DuckDBConfig("shotbook-data").create_storage_manager(    # doctest: +SKIP
...     Serializer(default_registry()))
>>> with manager.session() as session:                                 # doctest: +SKIP
...     session.paths.create("/calibrations/mot")
...     [str(p) for p in session.paths.children("/calibrations")]
['/calibrations/mot']
"""

from __future__ import annotations

import builtins
import getpass
import os
import socket
from collections.abc import Iterable, Mapping, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, Self, runtime_checkable

from shotbook.types._paths import PureSequencePath

from ._states import State

if TYPE_CHECKING:
    import polars

    from shotbook.types import ParameterNamespace, StepsConfiguration, TimeLanes

    from ._columns._codec import DisplayUnit
    from ._sequence import Sequence, Shot

PathLike = PureSequencePath | str
"""A sequence path, as a :class:`PureSequencePath` or its text (``"/a/b"``)."""


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment (some containers)
        return "unknown"


@dataclass(frozen=True)
class RunOwner:
    """The process that runs a sequence: its host, process id and user.

    >>> owner = RunOwner.current()
    >>> owner.pid == os.getpid()
    True
    """

    host: str
    pid: int
    user: str

    @classmethod
    def current(cls) -> RunOwner:
        """The owner describing this process."""
        return cls(host=socket.gethostname(), pid=os.getpid(), user=_current_user())

    def __str__(self) -> str:
        return f"{self.user}@{self.host} (pid {self.pid})"


@dataclass(frozen=True)
class AuditRecord:
    """One change recorded in the store's audit log.

    ``path`` is where the sequence or folder was (for a rename, before it), ``target`` where
    a rename put it; ``user``, ``host`` and ``pid`` say who asked (``user`` is ``None`` for
    an interrupt sent through the experiment server, whose clients report only their host
    and pid); ``time`` is timezone-aware UTC.
    """

    time: datetime
    action: str
    path: str
    target: str | None
    sequence_id: str | None
    user: str | None
    host: str
    pid: int | None
    detail: str

    def __str__(self) -> str:
        who = f"{self.user}@{self.host}" if self.user else self.host
        pid = f" pid {self.pid}" if self.pid is not None else ""
        where = f"{self.path} → {self.target}" if self.target else self.path
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.time:%Y-%m-%d %H:%M:%S} UTC {self.action} {where} by {who}{pid}{detail}"


@dataclass(frozen=True)
class RenamedName:
    """A stored path that was not in Unicode NFC, and the name an upgrade gave it.

    ``clash`` is the path it differs from only in normalisation (then ``new`` is a free
    name such as ``café (2)``, never the same sequence or folder), else ``None``.
    """

    old: str
    new: str
    clash: str | None = None

    @property
    def reason(self) -> str:
        """Why it was renamed, in words."""
        if self.clash is None:
            return "its name was not in Unicode NFC"
        return f"it differs from {self.clash} only in Unicode normalisation"

    def __str__(self) -> str:
        return f"{self.old} → {self.new} ({self.reason})"


@dataclass(frozen=True)
class SequenceStats:
    """What the panel shows about one sequence, read in one query for many sequences.

    Times are timezone-aware UTC datetimes; ``start_time`` is when the sequence was
    prepared, ``stop_time`` when it ended. ``expected_number_of_shots`` is ``None``
    before it is prepared or when the scan's length is only known at run time.
    """

    path: PureSequencePath
    state: State
    number_of_shots: int
    expected_number_of_shots: int | None
    created: datetime
    start_time: datetime | None
    stop_time: datetime | None
    owner: RunOwner | None
    last_heartbeat: datetime | None
    ran_by: str | None
    host: str | None
    shotbook_version: str | None


class RunningSequence(NamedTuple):
    """A sequence in ``PREPARING`` or ``RUNNING``, with the process that owns its run."""

    path: PureSequencePath
    owner: RunOwner | None
    last_heartbeat: datetime | None


@runtime_checkable
class ShotWriter(Protocol):
    """Writes the shots of one running sequence; it never reads the catalog.

    ``write_shot`` returns once the shot is durable (it survives the writer's death).
    """

    def write_shot(
        self,
        index: int,
        parameters: Mapping[str, float | int | bool],
        data: Mapping[str, Any],
        start: datetime,
        end: datetime,
        *,
        units: Mapping[str, DisplayUnit | None] | None = None,
        data_units: Mapping[str, str | None] | None = None,
    ) -> None:
        """Store shot ``index`` (parameters may be a ``ShotParameters``, which has units).

        ``data`` maps ``device.label`` to floats, ints, bools or numpy arrays (hence its
        ``Any`` values); ``units`` gives a parameter's display unit (``shotbook.types.Unit``);
        ``data_units`` the unit symbol a data column's values are in (``{"dmm.voltage":
        "V"}``), stored with the column as given (a column keeps one unit in a sequence).
        """
        ...

    def close(self) -> None:
        """Finish background work (compaction); idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> None: ...


class PathHierarchy(Protocol):
    """The folder tree of the store; sequences are its leaves."""

    def exists(self, path: PathLike) -> bool:
        """Whether a folder or a sequence is at ``path`` (the root always exists)."""
        ...

    def create(self, path: PathLike) -> builtins.list[PureSequencePath]:
        """Create the folder ``path`` and its missing parents; return those created, top first.

        Raises :class:`PathIsSequenceError` if ``path`` or a parent is a sequence.
        """
        ...

    def delete(self, path: PathLike, delete_sequences: bool = False) -> None:
        """Delete a folder with everything under it, or a sequence.

        Unless ``delete_sequences`` is true, a sequence (:class:`PathIsSequenceError`) or a
        folder holding sequences (:class:`PathHasChildrenError`) is refused. A running
        sequence is never deleted (:class:`SequenceNotEditableError`).
        """
        ...

    def children(self, path: PathLike) -> set[PureSequencePath]:
        """The folders and sequences directly under the folder ``path``."""
        ...

    def creation_date(self, path: PathLike) -> datetime:
        """When ``path`` was created (UTC); for the root, when the store was created."""
        ...

    def move(self, source: PathLike, destination: PathLike) -> None:
        """Rename or move a folder (with its content) or a sequence; data stays where it is.

        Missing parents of ``destination`` are created.
        """
        ...

    def all_paths(self) -> set[PureSequencePath]:
        """Every folder and sequence of the store (the root excluded)."""
        ...


class SequenceCollection(Protocol):
    """The sequences of the store: content, life cycle and shots."""

    def is_sequence(self, path: PathLike) -> bool:
        """Whether ``path`` is a sequence (``False`` for a folder; raises if it does not exist)."""
        ...

    def create(
        self, path: PathLike, iteration: StepsConfiguration, time_lanes: TimeLanes
    ) -> Sequence:
        """Create a DRAFT sequence at ``path`` (missing parent folders are created)."""
        ...

    def get_iteration(self, path: PathLike) -> StepsConfiguration:
        """The scan of the sequence."""
        ...

    def set_iteration(self, path: PathLike, iteration: StepsConfiguration) -> None:
        """Replace the scan (DRAFT only, else :class:`SequenceNotEditableError`)."""
        ...

    def get_time_lanes(self, path: PathLike) -> TimeLanes:
        """The time lanes of the sequence."""
        ...

    def set_time_lanes(self, path: PathLike, time_lanes: TimeLanes) -> None:
        """Replace the time lanes (DRAFT only, else :class:`SequenceNotEditableError`)."""
        ...

    def get_state(self, path: PathLike) -> State:
        """The state of the sequence."""
        ...

    def get_stats(self, path: PathLike) -> SequenceStats:
        """State, shot counts, times and run information of one sequence."""
        ...

    def list(
        self, under: PathLike = "/", *, states: Iterable[State] | None = None
    ) -> builtins.list[SequenceStats]:
        """Stats of every sequence under the folder ``under`` (at any depth), sorted by path.

        One query, whatever the number of sequences; ``states`` keeps only those states.
        """
        ...

    def all_sequences(self) -> builtins.list[SequenceStats]:
        """Stats of every sequence of the store, sorted by path."""
        ...

    def get_notes(self, path: PathLike) -> str:
        """The free-text notes of the sequence."""
        ...

    def set_notes(self, path: PathLike, notes: str) -> None:
        """Replace the notes (allowed in any state)."""
        ...

    def duplicate(self, source: PathLike, destination: PathLike) -> Sequence:
        """A new DRAFT sequence with the scan, time lanes and notes of ``source``."""
        ...

    def prepare(
        self,
        path: PathLike,
        global_parameters: ParameterNamespace,
        device_configurations: Mapping[str, Any],
        owner: RunOwner,
        expected_number_of_shots: int | None,
    ) -> None:
        """DRAFT → PREPARING: snapshot the globals and device configurations, record the owner."""
        ...

    def start(self, path: PathLike) -> ShotWriter:
        """PREPARING → RUNNING; return the writer of the sequence's shots."""
        ...

    def finish(self, path: PathLike) -> None:
        """RUNNING → FINISHED (close the shot writer first)."""
        ...

    def interrupt(
        self, path: PathLike, requested_by: RunOwner | None = None, detail: str = ""
    ) -> None:
        """PREPARING | RUNNING → INTERRUPTED; the audit log records who asked (this process
        when ``requested_by`` is ``None``)."""
        ...

    def crash(self, path: PathLike, traceback: str) -> None:
        """PREPARING | RUNNING → CRASHED, keeping ``traceback``."""
        ...

    def reset_to_draft(self, path: PathLike) -> None:
        """FINISHED | INTERRUPTED | CRASHED → DRAFT; deletes the shots and the snapshots."""
        ...

    def heartbeat(self, path: PathLike) -> datetime:
        """Record that the owner of the run is alive; returns the time stored (UTC)."""
        ...

    def running_sequences(self) -> builtins.list[RunningSequence]:
        """Sequences in PREPARING or RUNNING, with their owner and last heartbeat."""
        ...

    def get_traceback(self, path: PathLike) -> str | None:
        """The traceback stored when the sequence crashed, else ``None``."""
        ...

    def get_global_parameters(self, path: PathLike) -> ParameterNamespace | None:
        """The globals snapshot taken at prepare (``None`` for a DRAFT)."""
        ...

    def get_device_configurations(self, path: PathLike) -> dict[str, Any] | None:
        """The device configurations snapshot taken at prepare (``None`` for a DRAFT)."""
        ...

    def get_shots(self, path: PathLike) -> builtins.list[Shot]:
        """The shots of the sequence, by index; their content is read on first use."""
        ...

    def get_shot(self, path: PathLike, index: int) -> Shot:
        """One shot (:class:`ShotNotFoundError` if there is none with this index)."""
        ...

    def scan(self, path: PathLike) -> polars.LazyFrame:
        """A lazy frame over the shots, one row per shot (readable while running)."""
        ...

    def read(self, path: PathLike) -> polars.DataFrame:
        """All the shots of the sequence, one row per shot."""
        ...


class ExperimentSession(Protocol):
    """A view on the store; every call is a short transaction and no lock is held between them."""

    @property
    def paths(self) -> PathHierarchy:
        """The folder tree."""
        ...

    @property
    def sequences(self) -> SequenceCollection:
        """The sequences."""
        ...

    @property
    def default_device_configurations(self) -> MutableMapping[str, Any]:
        """The device configurations used by the next runs, by device name."""
        ...

    def get_global_parameters(self) -> ParameterNamespace:
        """The current global parameters."""
        ...

    def set_global_parameters(self, parameters: ParameterNamespace) -> None:
        """Replace the global parameters."""
        ...

    def get_sequence(self, path: PathLike) -> Sequence:
        """The sequence at ``path`` (:class:`PathIsNotSequenceError` for a folder)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Group the calls made inside the block into one transaction.

        The store is held for the whole block (other processes wait): keep it short.
        """
        ...

    def audit_log(self, path: PathLike | None = None) -> builtins.list[AuditRecord]:
        """Who deleted, reset, renamed or interrupted ``path`` (and what is under it; every
        sequence when ``None``), and when, oldest first."""
        ...


class StorageManager(Protocol):
    """Opens sessions on one store."""

    def session(self) -> AbstractContextManager[ExperimentSession]:
        """A session; cheap, and it holds no lock between calls."""
        ...

    def upgrade(self) -> str | None:
        """Create a missing store or migrate an older one; return where the backup copy is."""
        ...

    def normalise_names(self) -> builtins.list[RenamedName]:
        """Rename stored paths that are not in Unicode NFC (written before names were
        normalised); names that differ only in normalisation are kept apart, never merged.
        Returns what was renamed (each rename is also in the audit log)."""
        ...

    def close(self) -> None:
        """Release what the manager holds (nothing is held between calls)."""
        ...


@runtime_checkable
class DatedPaths(Protocol):
    """A path hierarchy that takes back recorded creation dates (a copy, an import)."""

    def set_creation_date(self, path: PathLike, created: datetime) -> None:
        """Record another creation date for ``path``."""
        ...


@runtime_checkable
class ChangeCounting(Protocol):
    """A session that says cheaply whether the store changed (every catalog session does)."""

    def change_count(self) -> int | None:
        """A number that grows with each committed change (``None``: not known, list it)."""
        ...


@runtime_checkable
class RestorableSequences(Protocol):
    """Sequences that take back their recorded times and run information (a copy, an import)."""

    def restore_record(self, path: PathLike, stats: SequenceStats) -> None:
        """Record the times and run information of ``stats`` for the sequence ``path``."""
        ...


@runtime_checkable
class LocalStoreFolder(Protocol):
    """A store kept in files on a disk of this computer (DuckDB, SQLite; not PostgreSQL).

    The run loop keeps small files there: the note of a run whose end could not be written
    (a full disk), read by the next experiment manager at start-up.
    """

    def run_notes_folder(self) -> Path:
        """A folder beside the store for the run loop's small files (it may not exist yet)."""
        ...


@runtime_checkable
class ShotFolders(Protocol):
    """A store (or a session on it) that keeps each sequence's shots as a Parquet folder.

    The default backend's manager and sessions are ``ShotFolders``; fast readers such as
    ``shotbook.analysis`` check ``isinstance(x, ShotFolders)`` and read the folder with
    :func:`~shotbook.session.scan_shot_folder` instead of going through the session's frames.
    Other backends (SQL) keep shots in tables and are not ``ShotFolders``.

    >>> from shotbook.session import DuckDBStorageManager, ShotFolders
    >>> manager = DuckDBStorageManager(serializer, DuckDBConfig("data"))  # doctest: +SKIP
    >>> isinstance(manager, ShotFolders)                                  # doctest: +SKIP
    True
    """

    def shot_folder(self, path: PathLike) -> Path:
        """The folder of the shots of the sequence at ``path``, read in the catalog.

        It exists once the run started (it may be missing for a DRAFT). Raises
        :class:`PathNotFoundError` / :class:`PathIsNotSequenceError` when no sequence is there.
        """
        ...

    def locate_shots(self, path: PathLike) -> Path | None:
        """The shot folder of the sequence at ``path``, found without opening the catalog.

        ``None`` when the store cannot vouch for it now (then ask :meth:`shot_folder` in a
        session); the answer is never a wrong folder.
        """
        ...


__all__ = [
    "AuditRecord",
    "ExperimentSession",
    "PathHierarchy",
    "PathLike",
    "RenamedName",
    "RunOwner",
    "RunningSequence",
    "SequenceCollection",
    "SequenceStats",
    "ShotFolders",
    "ShotWriter",
    "StorageManager",
]
