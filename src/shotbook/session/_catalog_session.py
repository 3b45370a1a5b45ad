"""One session over a catalog of paths and sequences, for every backend.

The catalog (DuckDB, SQLite or PostgreSQL) gives short transactions with one small API
(:class:`CatalogTransaction`: SQL with ``?`` placeholders and only portable constructs,
times converted by the database's adapter). Each call of a session is one transaction; no
lock is held between calls. What differs between backends is where the shots are: a
:class:`ShotStorage` strategy counts, writes, deletes and reads them (Parquet folders beside
a DuckDB catalog, or tables of the same SQL database).
"""

from __future__ import annotations

import builtins
import functools
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from collections.abc import Sequence as PySequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from shotbook.types._paths import PureSequencePath, as_path

from ._errors import (
    PathExistsError,
    PathHasChildrenError,
    PathIsNotSequenceError,
    PathIsSequenceError,
    PathNotFoundError,
    SequenceNotEditableError,
    ShotNotFoundError,
    StorageError,
)
from ._interfaces import PathLike, RunningSequence, RunOwner, SequenceStats, ShotWriter
from ._sequence import Sequence, Shot, ShotContent
from ._states import State, check_transition

if TYPE_CHECKING:
    import polars

    from shotbook.types import ParameterNamespace, StepsConfiguration, TimeLanes

T = TypeVar("T")

_ACTIVE = (State.PREPARING.value, State.RUNNING.value)
_RECORD_COLUMNS = (
    "created, started, stopped, owner_host, owner_pid, owner_user, heartbeat, ran_by, host, "
    "shotbook_version"
)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class TimeAdapter(Protocol):
    """How a catalog gives back the times it stores."""

    def from_db_time(self, value: Any) -> datetime:
        """A stored time as a timezone-aware UTC datetime."""
        ...


class CatalogTransaction(Protocol):
    """An open catalog transaction (``_sql_catalog.SQLTransaction``, ``_duckdb_catalog``'s)."""

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

    def shot_count(self, state: State, uuid: str, stored: Any) -> int:
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


@functools.lru_cache(maxsize=65536)
def _stored_path(text: str) -> PureSequencePath:
    """A path read from the store (parsed once, then cached: listing 2,000 stays fast)."""
    return PureSequencePath(text)


def _subtree(path: PureSequencePath) -> tuple[str, list[Any]]:
    """A SQL condition matching ``path`` and everything under it."""
    if path.is_root():
        return "1 = 1", []
    prefix = f"{path}/"
    return "(path = ? OR substr(path, 1, ?) = ?)", [str(path), len(prefix), prefix]


def _kind(tx: CatalogTransaction, path: PureSequencePath) -> str | None:
    """``"folder"``, ``"sequence"`` or ``None`` when nothing is at ``path``."""
    if path.is_root():
        return "folder"
    row = tx.one(
        "SELECT s.uuid FROM paths p LEFT JOIN sequences s ON s.path = p.path WHERE p.path = ?",
        [str(path)],
    )
    if row is None:
        return None
    return "folder" if row[0] is None else "sequence"


def _require_folder(tx: CatalogTransaction, path: PureSequencePath) -> None:
    kind = _kind(tx, path)
    if kind is None:
        raise PathNotFoundError(path, "no folder or sequence at this path")
    if kind == "sequence":
        raise PathIsSequenceError(path, "it is a sequence, not a folder")


def _create_folders(
    tx: CatalogTransaction,
    path: PureSequencePath,
    now: datetime,
    target: PureSequencePath | None = None,
) -> list[PureSequencePath]:
    """Create ``path`` and its missing parents as folders; return those created, top first."""
    target = path if target is None else target
    if path.is_root():
        return []
    chain = [*reversed([p for p in path.ancestors() if not p.is_root()]), path]
    placeholders = ", ".join("?" for _ in chain)
    rows = tx.all(
        "SELECT p.path, s.uuid FROM paths p LEFT JOIN sequences s "
        f"ON s.path = p.path WHERE p.path IN ({placeholders})",
        [str(p) for p in chain],
    )
    existing = {text: uuid is not None for text, uuid in rows}
    created: list[PureSequencePath] = []
    for node in chain:
        is_sequence = existing.get(str(node))
        if is_sequence is None:
            tx.execute(
                "INSERT INTO paths VALUES (?, ?, ?)", [str(node), str(node.parent), tx.time(now)]
            )
            created.append(node)
        elif is_sequence:
            if node == target:
                raise PathIsSequenceError(target, "a sequence is already at this path")
            raise PathIsSequenceError(
                target, f"it would go under {node}, which is a sequence, not a folder"
            )
    return created


def _sequence_row(
    tx: CatalogTransaction, path: PureSequencePath, extra: str = ""
) -> tuple[str, State, tuple[Any, ...]]:
    """The uuid and state of the sequence at ``path`` (and ``extra`` columns)."""
    columns = "uuid, state" + (f", {extra}" if extra else "")
    row = tx.one(f"SELECT {columns} FROM sequences WHERE path = ?", [str(path)])
    if row is None:
        if _kind(tx, path) is None:
            raise PathNotFoundError(path, "no sequence at this path")
        raise PathIsNotSequenceError(path, "it is a folder, not a sequence")
    return str(row[0]), State(row[1]), tuple(row[2:])


class CatalogPathHierarchy:
    """The folder tree, stored in the ``paths`` table."""

    def __init__(self, session: CatalogSession) -> None:
        self._session = session

    def exists(self, path: PathLike) -> bool:
        """Whether a folder or a sequence is at ``path`` (the root always exists)."""
        path = as_path(path)
        if path.is_root():
            return True
        return self._session._read(lambda tx: _kind(tx, path) is not None)

    def create(self, path: PathLike) -> list[PureSequencePath]:
        """Create the folder ``path`` and its missing parents; return those created, top first.

        >>> session.paths.create("/calibrations/mot")   # doctest: +SKIP
        [PureSequencePath('/calibrations'), PureSequencePath('/calibrations/mot')]
        """
        path = as_path(path)
        return self._session._write(lambda tx: _create_folders(tx, path, utc_now()))

    def delete(self, path: PathLike, delete_sequences: bool = False) -> None:
        """Delete a folder and everything under it, or a sequence, with their shots."""
        path = as_path(path)
        if path.is_root():
            raise StorageError(path, "the root folder cannot be deleted; delete its children")
        self._session._write(lambda tx: self._delete(tx, path, delete_sequences))

    def _delete(
        self, tx: CatalogTransaction, path: PureSequencePath, delete_sequences: bool
    ) -> None:
        kind = _kind(tx, path)
        if kind is None:
            raise PathNotFoundError(path, "nothing to delete: no folder or sequence at this path")
        condition, arguments = _subtree(path)
        sequences = sorted(
            tx.all(f"SELECT path, uuid, state FROM sequences WHERE {condition}", arguments)
        )
        if sequences and not delete_sequences:
            if kind == "sequence":
                raise PathIsSequenceError(
                    path, "it is a sequence: pass delete_sequences=True to delete it and its shots"
                )
            names = ", ".join(row[0] for row in sequences[:3])
            more = f" and {len(sequences) - 3} more" if len(sequences) > 3 else ""
            raise PathHasChildrenError(
                path,
                f"the folder holds {len(sequences)} sequence(s) ({names}{more}): pass "
                "delete_sequences=True to delete them with their shots",
            )
        running = [row[0] for row in sequences if row[2] in _ACTIVE]
        if running:
            raise SequenceNotEditableError(
                path,
                f"{', '.join(running[:3])} is being run and cannot be deleted; interrupt it first",
            )
        uuids = [row[1] for row in sequences]
        tx.touch(uuids)
        self._session._shots.delete(tx, uuids)
        tx.execute(f"DELETE FROM sequences WHERE {condition}", arguments)
        tx.execute(f"DELETE FROM paths WHERE {condition}", arguments)

    def children(self, path: PathLike) -> set[PureSequencePath]:
        """The folders and sequences directly under the folder ``path``."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> list[str]:
            _require_folder(tx, path)
            return [
                row[0] for row in tx.all("SELECT path FROM paths WHERE parent = ?", [str(path)])
            ]

        return {_stored_path(text) for text in self._session._read(action)}

    def creation_date(self, path: PathLike) -> datetime:
        """When ``path`` was created (UTC); for the root, when the store was created."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> datetime:
            if path.is_root():
                row = tx.one("SELECT min(store_created) FROM schema_version")
            else:
                row = tx.one("SELECT created FROM paths WHERE path = ?", [str(path)])
            if row is None or row[0] is None:
                raise PathNotFoundError(path, "no folder or sequence at this path")
            return tx.catalog.from_db_time(row[0])

        return self._session._read(action)

    def move(self, source: PathLike, destination: PathLike) -> None:
        """Rename or move a folder (with its content) or a sequence, with their shots."""
        source = as_path(source)
        destination = as_path(destination)
        if source.is_root():
            raise StorageError(source, "the root folder cannot be moved")
        if destination.is_relative_to(source):
            raise StorageError(source, f"cannot move a folder into itself (to {destination})")
        self._session._write(lambda tx: self._move(tx, source, destination))

    @staticmethod
    def _move(
        tx: CatalogTransaction, source: PureSequencePath, destination: PureSequencePath
    ) -> None:
        if _kind(tx, source) is None:
            raise PathNotFoundError(source, "nothing to move: no folder or sequence at this path")
        if destination.is_root() or _kind(tx, destination) is not None:
            raise PathExistsError(
                destination,
                f"cannot move {source} here: something is already at this path; "
                "choose another name or delete it first",
            )
        parent = destination.parent
        assert parent is not None
        _create_folders(tx, parent, utc_now(), destination)
        old, new, start = str(source), str(destination), len(str(source)) + 1
        condition, arguments = _subtree(source)
        tx.touch(
            row[0] for row in tx.all(f"SELECT uuid FROM sequences WHERE {condition}", arguments)
        )
        tx.execute(
            "UPDATE paths SET parent = CASE WHEN path = ? THEN CAST(? AS TEXT) "
            "ELSE CAST(? AS TEXT) || substr(parent, ?) END, "
            f"path = CAST(? AS TEXT) || substr(path, ?) WHERE {condition}",
            [old, str(parent), new, start, new, start, *arguments],
        )
        tx.execute(
            f"UPDATE sequences SET path = CAST(? AS TEXT) || substr(path, ?) WHERE {condition}",
            [new, start, *arguments],
        )

    def all_paths(self) -> set[PureSequencePath]:
        """Every folder and sequence of the store (the root excluded)."""
        rows = self._session._read(lambda tx: tx.all("SELECT path FROM paths"))
        return {_stored_path(row[0]) for row in rows}


class CatalogSequenceCollection:
    """The sequences, in the ``sequences`` table; their shots where the shot storage keeps them."""

    def __init__(self, session: CatalogSession) -> None:
        self._session = session

    @property
    def _manager(self) -> Any:
        return self._session._manager

    def _dumps(self, value: Any) -> str:
        return self._manager.serializer.dumps(value)

    def _loads(self, text: str) -> Any:
        return self._manager.serializer.loads(text)

    # --- content ---------------------------------------------------------------------------

    def is_sequence(self, path: PathLike) -> bool:
        """Whether ``path`` is a sequence (``False`` for a folder)."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> bool:
            kind = _kind(tx, path)
            if kind is None:
                raise PathNotFoundError(path, "no folder or sequence at this path")
            return kind == "sequence"

        return self._session._read(action)

    def create(
        self, path: PathLike, iteration: StepsConfiguration, time_lanes: TimeLanes
    ) -> Sequence:
        """Create a DRAFT sequence at ``path``; missing parent folders are created."""
        path = as_path(path)
        if path.is_root():
            raise PathExistsError(path, "the root is a folder: give the sequence a name")
        iteration_text = self._dumps(iteration)
        lanes_text = self._dumps(time_lanes)

        def action(tx: CatalogTransaction) -> None:
            kind = _kind(tx, path)
            if kind is not None:
                raise PathExistsError(
                    path, f"a {kind} is already at this path; choose another name"
                )
            moment = utc_now()
            now = tx.time(moment)
            parent = path.parent
            assert parent is not None
            _create_folders(tx, parent, moment, path)
            tx.execute("INSERT INTO paths VALUES (?, ?, ?)", [str(path), str(parent), now])
            uuid = str(uuid_module.uuid4())
            tx.touch([uuid])
            tx.execute(
                "INSERT INTO sequences (uuid, path, state, iteration, time_lanes, notes, created) "
                "VALUES (?, ?, ?, ?, ?, '', ?)",
                [
                    uuid,
                    str(path),
                    State.DRAFT.value,
                    iteration_text,
                    lanes_text,
                    now,
                ],
            )

        self._session._write(action)
        return Sequence(path, self._manager)

    def _get_column(self, path: PathLike, column: str) -> Any:
        path = as_path(path)
        _, _, (value,) = self._session._read(lambda tx: _sequence_row(tx, path, column))
        return value

    def _set_if_draft(self, path: PathLike, column: str, value: Any, what: str) -> None:
        path = as_path(path)
        text = self._dumps(value)

        def action(tx: CatalogTransaction) -> None:
            _, state, _ = _sequence_row(tx, path)
            if not state.is_editable():
                raise SequenceNotEditableError(
                    path,
                    f"its {what} cannot be changed: it is {state}, only a DRAFT can be "
                    "edited; reset it to draft or duplicate it",
                )
            tx.execute(f"UPDATE sequences SET {column} = ? WHERE path = ?", [text, str(path)])

        self._session._write(action)

    def get_iteration(self, path: PathLike) -> StepsConfiguration:
        """The scan of the sequence."""
        return self._loads(self._get_column(path, "iteration"))

    def set_iteration(self, path: PathLike, iteration: StepsConfiguration) -> None:
        """Replace the scan (DRAFT only)."""
        self._set_if_draft(path, "iteration", iteration, "scan")

    def get_time_lanes(self, path: PathLike) -> TimeLanes:
        """The time lanes of the sequence."""
        return self._loads(self._get_column(path, "time_lanes"))

    def set_time_lanes(self, path: PathLike, time_lanes: TimeLanes) -> None:
        """Replace the time lanes (DRAFT only)."""
        self._set_if_draft(path, "time_lanes", time_lanes, "time lanes")

    def get_notes(self, path: PathLike) -> str:
        """The free-text notes of the sequence."""
        return str(self._get_column(path, "notes"))

    def set_notes(self, path: PathLike, notes: str) -> None:
        """Replace the notes (allowed in any state)."""
        path = as_path(path)
        if not isinstance(notes, str):
            raise TypeError(f"notes of {path} are a str, got {type(notes).__name__}")

        def action(tx: CatalogTransaction) -> None:
            _sequence_row(tx, path)
            tx.execute("UPDATE sequences SET notes = ? WHERE path = ?", [notes, str(path)])

        self._session._write(action)

    def get_traceback(self, path: PathLike) -> str | None:
        """The traceback stored when the sequence crashed, else ``None``."""
        value = self._get_column(path, "traceback")
        return None if value is None else str(value)

    def get_global_parameters(self, path: PathLike) -> ParameterNamespace | None:
        """The globals snapshot taken at prepare (``None`` for a DRAFT)."""
        text = self._get_column(path, "global_parameters")
        return None if text is None else self._loads(text)

    def get_device_configurations(self, path: PathLike) -> dict[str, Any] | None:
        """The device configurations snapshot taken at prepare (``None`` for a DRAFT)."""
        text = self._get_column(path, "device_configurations")
        return None if text is None else dict(self._loads(text))

    def duplicate(self, source: PathLike, destination: PathLike) -> Sequence:
        """A new DRAFT at ``destination`` with the scan, time lanes and notes of ``source``."""
        source = as_path(source)
        destination = as_path(destination)
        if destination.is_root():
            raise PathExistsError(destination, "the root is a folder: give the copy a name")

        def action(tx: CatalogTransaction) -> None:
            _sequence_row(tx, source)
            kind = _kind(tx, destination)
            if kind is not None:
                raise PathExistsError(
                    destination,
                    f"cannot duplicate {source} here: a {kind} is already at this path",
                )
            now = utc_now()
            parent = destination.parent
            assert parent is not None
            _create_folders(tx, parent, now, destination)
            tx.execute(
                "INSERT INTO paths VALUES (?, ?, ?)", [str(destination), str(parent), tx.time(now)]
            )
            uuid = str(uuid_module.uuid4())
            tx.touch([uuid])
            tx.execute(
                "INSERT INTO sequences (uuid, path, state, iteration, time_lanes, notes, created) "
                "SELECT ?, ?, ?, iteration, time_lanes, notes, ? FROM sequences WHERE path = ?",
                [
                    uuid,
                    str(destination),
                    State.DRAFT.value,
                    tx.time(now),
                    str(source),
                ],
            )

        self._session._write(action)
        return Sequence(destination, self._manager)

    # --- stats -------------------------------------------------------------------------------

    def _stats_query(self) -> str:
        return (
            f"SELECT path, uuid, state, expected_shots, {self._session._shots.stats_count}, "
            f"{_RECORD_COLUMNS} FROM sequences"
        )

    def _stats_from_rows(
        self, time: Callable[[Any], datetime], rows: Iterable[tuple[Any, ...]]
    ) -> builtins.list[SequenceStats]:
        """Stats from rows of :meth:`_stats_query` (after the transaction: shots may be counted)."""
        shot_count = self._session._shots.shot_count
        out = []
        for (
            text, uuid, state_text, expected, count, created, started, stopped,
            owner_host, owner_pid, owner_user, heartbeat, ran_by, host, version,
        ) in rows:  # fmt: skip
            state = State(state_text)
            owner = (
                RunOwner(owner_host, int(owner_pid), owner_user)
                if owner_host is not None and owner_pid is not None
                else None
            )
            out.append(
                SequenceStats(
                    path=_stored_path(text),
                    state=state,
                    number_of_shots=0 if state is State.DRAFT else shot_count(state, uuid, count),
                    expected_number_of_shots=None if expected is None else int(expected),
                    created=time(created),
                    start_time=None if started is None else time(started),
                    stop_time=None if stopped is None else time(stopped),
                    owner=owner,
                    last_heartbeat=None if heartbeat is None else time(heartbeat),
                    ran_by=ran_by,
                    host=host,
                    shotbook_version=version,
                )
            )
        return out

    def get_state(self, path: PathLike) -> State:
        """The state of the sequence."""
        path = as_path(path)
        return self._session._read(lambda tx: _sequence_row(tx, path))[1]

    def get_stats(self, path: PathLike) -> SequenceStats:
        """State, shot counts, times and run information of one sequence."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> tuple[TimeAdapter, builtins.list[tuple[Any, ...]]]:
            _sequence_row(tx, path)
            return tx.catalog, tx.all(f"{self._stats_query()} WHERE path = ?", [str(path)])

        catalog, rows = self._session._read(action)
        return self._stats_from_rows(catalog.from_db_time, rows)[0]

    def list(
        self, under: PathLike = "/", *, states: Iterable[State] | None = None
    ) -> builtins.list[SequenceStats]:
        """Stats of every sequence under the folder ``under`` (any depth), sorted by path.

        One query whatever the number of sequences; only sequences being run have their
        shots counted (the others have the count recorded when their run ended), after the
        transaction.
        """
        under = as_path(under)
        wanted = None if states is None else [State(s).value for s in states]

        def action(tx: CatalogTransaction) -> tuple[TimeAdapter, builtins.list[tuple[Any, ...]]]:
            if not under.is_root():
                _require_folder(tx, under)
            condition, arguments = _subtree(under)
            if wanted is not None:
                if not wanted:
                    return tx.catalog, []
                condition += f" AND state IN ({', '.join('?' for _ in wanted)})"
                arguments.extend(wanted)
            return tx.catalog, tx.all(f"{self._stats_query()} WHERE {condition}", arguments)

        catalog, rows = self._session._read(action)
        stats = self._stats_from_rows(catalog.from_db_time, rows)
        stats.sort(key=lambda s: s.path.parts)
        return stats

    def all_sequences(self) -> builtins.list[SequenceStats]:
        """Stats of every sequence of the store, sorted by path."""
        return self.list("/")

    # --- life cycle --------------------------------------------------------------------------

    def prepare(
        self,
        path: PathLike,
        global_parameters: ParameterNamespace,
        device_configurations: Mapping[str, Any],
        owner: RunOwner,
        expected_number_of_shots: int | None,
        *,
        ran_by: str | None = None,
        host: str | None = None,
    ) -> None:
        """DRAFT → PREPARING: snapshot the globals and device configurations, record the run.

        ``ran_by`` and ``host`` (who asked for the run, from where) default to the owner's.
        Two processes preparing the same sequence at once: one wins, the other gets
        :class:`InvalidStateTransitionError`.
        """
        from shotbook import __version__

        path = as_path(path)
        globals_text = self._dumps(global_parameters)
        devices_text = self._dumps(dict(device_configurations))
        if expected_number_of_shots is not None and (
            isinstance(expected_number_of_shots, bool)
            or not isinstance(expected_number_of_shots, int)
            or expected_number_of_shots < 0
        ):
            raise ValueError(
                f"{path}: expected_number_of_shots is an int >= 0 or None, "
                f"got {expected_number_of_shots!r}"
            )

        def action(tx: CatalogTransaction) -> None:
            _, state, _ = _sequence_row(tx, path)
            check_transition(path, state, State.PREPARING)
            now = tx.time(utc_now())
            tx.execute(
                "UPDATE sequences SET state = ?, global_parameters = ?, "
                "device_configurations = ?, owner_host = ?, owner_pid = ?, owner_user = ?, "
                "heartbeat = ?, ran_by = ?, host = ?, shotbook_version = ?, started = ?, "
                "stopped = NULL, expected_shots = ?, number_of_shots = NULL, traceback = NULL "
                "WHERE path = ?",
                [
                    State.PREPARING.value,
                    globals_text,
                    devices_text,
                    owner.host,
                    owner.pid,
                    owner.user,
                    now,
                    ran_by if ran_by is not None else owner.user,
                    host if host is not None else owner.host,
                    __version__,
                    now,
                    expected_number_of_shots,
                    str(path),
                ],
            )

        self._session._write(action)

    def start(self, path: PathLike) -> ShotWriter:
        """PREPARING → RUNNING; return the writer of the shots (it never reads the catalog)."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> str:
            uuid, state, _ = _sequence_row(tx, path)
            check_transition(path, state, State.RUNNING)
            tx.execute(
                "UPDATE sequences SET state = ?, heartbeat = ? WHERE path = ?",
                [State.RUNNING.value, tx.time(utc_now()), str(path)],
            )
            self._session._shots.before_start(tx, uuid)
            tx.touch([uuid])
            return uuid

        uuid = self._session._write(action)
        return self._session._shots.writer(uuid, path)

    def _end(self, path: PathLike, state: State, traceback: str | None = None) -> None:
        path = as_path(path)

        def action(tx: CatalogTransaction) -> None:
            uuid, current, _ = _sequence_row(tx, path)
            check_transition(path, current, state)
            count = self._session._shots.count_in(tx, uuid)
            tx.execute(
                "UPDATE sequences SET state = ?, stopped = ?, number_of_shots = ?, "
                "traceback = ? WHERE path = ?",
                [state.value, tx.time(utc_now()), count, traceback, str(path)],
            )

        self._session._write(action)

    def finish(self, path: PathLike) -> None:
        """RUNNING → FINISHED; records the number of shots (close the shot writer first)."""
        self._end(path, State.FINISHED)

    def interrupt(self, path: PathLike) -> None:
        """PREPARING | RUNNING → INTERRUPTED; the shots written so far are kept."""
        self._end(path, State.INTERRUPTED)

    def crash(self, path: PathLike, traceback: str) -> None:
        """PREPARING | RUNNING → CRASHED, keeping ``traceback``; written shots are kept."""
        if not isinstance(traceback, str):
            raise TypeError(f"{path}: the traceback is a str, got {type(traceback).__name__}")
        self._end(path, State.CRASHED, traceback)

    def reset_to_draft(self, path: PathLike) -> None:
        """FINISHED | INTERRUPTED | CRASHED → DRAFT; deletes the shots, snapshots and run info.

        The sequence gets a new id in the same transaction (the shots of the old id go with
        it, or right after the commit when they are files), so a crash never leaves a
        half-reset sequence and a writer left over from the old run can never add shots to
        the new one.
        """
        path = as_path(path)

        def action(tx: CatalogTransaction) -> None:
            uuid, state, _ = _sequence_row(tx, path)
            check_transition(path, state, State.DRAFT)
            new_uuid = str(uuid_module.uuid4())
            tx.touch([uuid, new_uuid])
            self._session._shots.delete(tx, [uuid])
            tx.execute(
                "UPDATE sequences SET uuid = ?, state = ?, global_parameters = NULL, "
                "device_configurations = NULL, owner_host = NULL, owner_pid = NULL, "
                "owner_user = NULL, heartbeat = NULL, ran_by = NULL, host = NULL, "
                "shotbook_version = NULL, started = NULL, stopped = NULL, "
                "expected_shots = NULL, number_of_shots = NULL, traceback = NULL "
                "WHERE path = ?",
                [new_uuid, State.DRAFT.value, str(path)],
            )

        self._session._write(action)

    def heartbeat(self, path: PathLike) -> datetime:
        """Record that the owner of the run is alive; returns the time stored (UTC)."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> datetime:
            _, state, _ = _sequence_row(tx, path)
            if not state.is_active():
                raise StorageError(
                    path, f"no heartbeat for a sequence that is {state}: it is not being run"
                )
            stored = tx.time(utc_now())
            tx.execute("UPDATE sequences SET heartbeat = ? WHERE path = ?", [stored, str(path)])
            return tx.catalog.from_db_time(stored)

        return self._session._write(action)

    def running_sequences(self) -> builtins.list[RunningSequence]:
        """Sequences in PREPARING or RUNNING with their owner and last heartbeat, by path.

        A manager marks CRASHED only those whose owner is gone.
        """

        def action(tx: CatalogTransaction) -> builtins.list[RunningSequence]:
            rows = tx.all(
                "SELECT path, owner_host, owner_pid, owner_user, heartbeat FROM sequences "
                "WHERE state IN (?, ?)",
                list(_ACTIVE),
            )
            return [
                RunningSequence(
                    _stored_path(text),
                    RunOwner(host, int(pid), user)
                    if host is not None and pid is not None
                    else None,
                    None if beat is None else tx.catalog.from_db_time(beat),
                )
                for text, host, pid, user, beat in rows
            ]

        running = self._session._read(action)
        running.sort(key=lambda r: r.path.parts)
        return running

    # --- shots -------------------------------------------------------------------------------

    def _id_of(self, path: PureSequencePath) -> tuple[State, str]:
        """The state and uuid of the sequence at ``path`` (its shots are keyed by the uuid)."""
        uuid, state, _ = self._session._read(lambda tx: _sequence_row(tx, path))
        return state, uuid

    def _loader(self, path: PureSequencePath, uuid: str) -> Callable[[int], ShotContent]:
        read_shot = self._session._shots.loader(uuid)

        def load(index: int) -> ShotContent:
            record = read_shot(index)
            if record is None:
                raise ShotNotFoundError(path, index, f"the sequence has no shot {index}")
            return record

        return load

    def _indices(self, state: State, uuid: str) -> builtins.list[int]:
        return [] if state is State.DRAFT else self._session._shots.indices(uuid)

    def get_shots(self, path: PathLike) -> builtins.list[Shot]:
        """The shots of the sequence by index; their content is read on first use."""
        path = as_path(path)
        state, uuid = self._id_of(path)
        indices = self._indices(state, uuid)
        if not indices:
            return []
        loader = self._loader(path, uuid)
        return [Shot(path, index, loader) for index in indices]

    def get_shot(self, path: PathLike, index: int) -> Shot:
        """One shot (:class:`ShotNotFoundError` if there is none with this index)."""
        path = as_path(path)
        state, uuid = self._id_of(path)
        indices = self._indices(state, uuid)
        if index not in indices:
            what = f"{len(indices)} shots" if indices else "no shot"
            raise ShotNotFoundError(
                path, index, f"the sequence has no shot {index} (it is {state} with {what})"
            )
        return Shot(path, index, self._loader(path, uuid))

    def _framed(self, path: PathLike) -> str | None:
        """The uuid of the sequence when it has a frame of shots (else ``None``)."""
        state, uuid = self._id_of(as_path(path))
        if state is State.DRAFT or not self._session._shots.has_frame(state, uuid):
            return None
        return uuid

    def scan(self, path: PathLike) -> polars.LazyFrame:
        """A lazy frame over the shots, one row per shot (readable while running)."""
        import polars

        uuid = self._framed(path)
        return polars.LazyFrame() if uuid is None else self._session._shots.scan(uuid)

    def read(self, path: PathLike) -> polars.DataFrame:
        """All the shots of the sequence, one row per shot."""
        import polars

        uuid = self._framed(path)
        return polars.DataFrame() if uuid is None else self._session._shots.read(uuid)


class CatalogDeviceConfigurations(MutableMapping[str, Any]):
    """The default device configurations, by device name; each access is one transaction."""

    def __init__(self, session: CatalogSession) -> None:
        self._session = session

    def __getitem__(self, name: str) -> Any:
        row = self._session._read(
            lambda tx: tx.one("SELECT content FROM device_configurations WHERE name = ?", [name])
        )
        if row is None:
            raise KeyError(f"no default configuration for device {name!r}")
        return self._session._manager.serializer.loads(row[0])

    def __setitem__(self, name: str, configuration: Any) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a device name is a non-empty str, got {name!r}")
        text = self._session._manager.serializer.dumps(configuration)
        self._session._write(
            lambda tx: tx.execute(
                "INSERT INTO device_configurations VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET content = excluded.content, modified = excluded.modified",
                [name, text, tx.time(utc_now())],
            )
        )

    def __delitem__(self, name: str) -> None:
        def action(tx: CatalogTransaction) -> None:
            row = tx.one("DELETE FROM device_configurations WHERE name = ? RETURNING name", [name])
            if row is None:
                raise KeyError(f"no default configuration for device {name!r}")

        self._session._write(action)

    def _names(self) -> builtins.list[str]:
        rows = self._session._read(lambda tx: tx.all("SELECT name FROM device_configurations"))
        return sorted(row[0] for row in rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"DefaultDeviceConfigurations({self._names()!r})"


class CatalogSession:
    """A session on a store; cheap to create, holds nothing between calls.

    ``catalog`` runs the transactions; ``shots`` keeps the shots. Backends name their
    sessions (``DuckDBSession``, ``SQLSession``) by subclassing.
    """

    _paths_type: type[CatalogPathHierarchy] = CatalogPathHierarchy
    _sequences_type: type[CatalogSequenceCollection] = CatalogSequenceCollection
    _devices_type: type[CatalogDeviceConfigurations] = CatalogDeviceConfigurations

    def __init__(self, manager: Any, catalog: Catalog, shots: ShotStorage, where: str) -> None:
        self._manager = manager
        self._catalog = catalog
        self._shots = shots
        self._where = where
        self._paths = self._paths_type(self)
        self._sequences = self._sequences_type(self)
        self._devices = self._devices_type(self)

    def _run(self, action: Callable[[CatalogTransaction], T], write: bool) -> T:
        return self._catalog.run(action, write=write)  # joins a transaction() block

    def _read(self, action: Callable[[CatalogTransaction], T]) -> T:
        return self._run(action, False)

    def _write(self, action: Callable[[CatalogTransaction], T]) -> T:
        return self._run(action, True)

    @property
    def paths(self) -> CatalogPathHierarchy:
        """The folder tree."""
        return self._paths

    @property
    def sequences(self) -> CatalogSequenceCollection:
        """The sequences."""
        return self._sequences

    @property
    def default_device_configurations(self) -> CatalogDeviceConfigurations:
        """The device configurations used by the next runs, by device name."""
        return self._devices

    def get_global_parameters(self) -> ParameterNamespace:
        """The current global parameters (empty when none were set)."""
        row = self._read(lambda tx: tx.one("SELECT content FROM global_parameters WHERE id = 1"))
        if row is None:
            from shotbook.types import ParameterNamespace

            return ParameterNamespace.empty()
        return self._manager.serializer.loads(row[0])

    def set_global_parameters(self, parameters: ParameterNamespace) -> None:
        """Replace the global parameters."""
        text = self._manager.serializer.dumps(parameters)
        self._write(
            lambda tx: tx.execute(
                "INSERT INTO global_parameters VALUES (1, ?, ?) ON CONFLICT (id) "
                "DO UPDATE SET content = excluded.content, modified = excluded.modified",
                [text, tx.time(utc_now())],
            )
        )

    def get_sequence(self, path: PathLike) -> Sequence:
        """The sequence at ``path`` (:class:`PathIsNotSequenceError` for a folder)."""
        path = as_path(path)
        self._read(lambda tx: _sequence_row(tx, path))
        return Sequence(path, self._manager)

    def transaction(self) -> AbstractContextManager[None]:
        """Group the calls made in the block (in this thread) into one transaction.

        The store's write lock is held for the whole block, so other writers wait: keep it
        short. An error in the block rolls every change of the block back.

        >>> with session.transaction():                     # doctest: +SKIP
        ...     for i in range(100):
        ...         session.sequences.create(f"/scans/{i}", steps, lanes)
        """
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._catalog.hold():
            yield

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r})"


__all__ = [
    "CatalogDeviceConfigurations",
    "CatalogPathHierarchy",
    "CatalogSequenceCollection",
    "CatalogSession",
    "CatalogTransaction",
    "ShotStorage",
    "utc_now",
]
