"""A session on the DuckDB catalog: every call is one short transaction.

No lock is held between calls: the catalog file is opened for each call (or for a
block grouped with :meth:`DuckDBSession.transaction`) and closed right after, so
a session may stay open for hours while other processes use the store. Reading
shot files and counting shots happen after the catalog is closed.
"""

from __future__ import annotations

import builtins
import functools
import shutil
import threading
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from shotbook.types._paths import PureSequencePath, as_path

from ._duckdb_catalog import DuckDBCatalog, Transaction, utc_now
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

    from ._duckdb_manager import DuckDBStorageManager

T = TypeVar("T")

_STATS_COLUMNS = (
    "path, uuid, state, expected_shots, number_of_shots, created, started, stopped, "
    "owner_host, owner_pid, owner_user, heartbeat, ran_by, host, shotbook_version"
)
_ACTIVE = (State.PREPARING.value, State.RUNNING.value)


@functools.lru_cache(maxsize=65536)
def _stored_path(text: str) -> PureSequencePath:
    """A path read from the catalog (parsed once, then cached: listing 2,000 stays fast)."""
    return PureSequencePath(text)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _subtree(path: PureSequencePath) -> tuple[str, list[Any]]:
    """A SQL condition on ``path`` matching ``path`` and everything under it."""
    if path.is_root():
        return "TRUE", []
    return "(path = ? OR starts_with(path, ?))", [str(path), f"{path}/"]


def _kind(connection: duckdb.DuckDBPyConnection, path: PureSequencePath) -> str | None:
    """``"folder"``, ``"sequence"`` or ``None`` when nothing is at ``path``."""
    if path.is_root():
        return "folder"
    row = connection.execute(
        "SELECT s.uuid FROM paths p LEFT JOIN sequences s ON s.path = p.path WHERE p.path = ?",
        [str(path)],
    ).fetchone()
    if row is None:
        return None
    return "folder" if row[0] is None else "sequence"


def _require_folder(connection: duckdb.DuckDBPyConnection, path: PureSequencePath) -> None:
    kind = _kind(connection, path)
    if kind is None:
        raise PathNotFoundError(path, "no folder or sequence at this path")
    if kind == "sequence":
        raise PathIsSequenceError(path, "it is a sequence, not a folder")


def _create_folders(
    connection: duckdb.DuckDBPyConnection,
    path: PureSequencePath,
    now: datetime,
    target: PureSequencePath | None = None,
) -> list[PureSequencePath]:
    """Create ``path`` and its missing parents as folders; return those created, top first.

    ``target`` is what the caller creates under ``path`` (named in the errors).
    """
    target = path if target is None else target
    if path.is_root():
        return []
    chain = [*reversed([p for p in path.ancestors() if not p.is_root()]), path]
    placeholders = ", ".join("?" for _ in chain)
    rows = connection.execute(
        "SELECT p.path, s.uuid IS NOT NULL FROM paths p LEFT JOIN sequences s "
        f"ON s.path = p.path WHERE p.path IN ({placeholders})",
        [str(p) for p in chain],
    ).fetchall()
    existing = {text: is_sequence for text, is_sequence in rows}
    created: list[PureSequencePath] = []
    for node in chain:
        is_sequence = existing.get(str(node))
        if is_sequence is None:
            parent = node.parent
            connection.execute("INSERT INTO paths VALUES (?, ?, ?)", [str(node), str(parent), now])
            created.append(node)
        elif is_sequence:
            if node == target:
                raise PathIsSequenceError(target, "a sequence is already at this path")
            raise PathIsSequenceError(
                target, f"it would go under {node}, which is a sequence, not a folder"
            )
    return created


class _SequenceRow:
    """The catalog columns of one sequence that the calls below need."""

    __slots__ = ("state", "uuid")

    def __init__(self, uuid: str, state: str) -> None:
        self.uuid = uuid
        self.state = State(state)


def _sequence_row(
    connection: duckdb.DuckDBPyConnection, path: PureSequencePath, extra: str = ""
) -> tuple[_SequenceRow, tuple[Any, ...]]:
    """The uuid and state of the sequence at ``path`` (and ``extra`` columns)."""
    columns = "uuid, state" + (f", {extra}" if extra else "")
    row = connection.execute(
        f"SELECT {columns} FROM sequences WHERE path = ?", [str(path)]
    ).fetchone()
    if row is None:
        if _kind(connection, path) is None:
            raise PathNotFoundError(path, "no sequence at this path")
        raise PathIsNotSequenceError(path, "it is a folder, not a sequence")
    return _SequenceRow(row[0], row[1]), tuple(row[2:])


class DuckDBPathHierarchy:
    """The folder tree, stored in the ``paths`` table of the catalog."""

    def __init__(self, session: DuckDBSession) -> None:
        self._session = session

    def exists(self, path: PathLike) -> bool:
        """Whether a folder or a sequence is at ``path`` (the root always exists)."""
        path = as_path(path)
        if path.is_root():
            return True
        return self._session._run(lambda tx: _kind(tx.connection, path) is not None)

    def create(self, path: PathLike) -> list[PureSequencePath]:
        """Create the folder ``path`` and its missing parents; return those created, top first.

        >>> session.paths.create("/calibrations/mot")   # doctest: +SKIP
        [PureSequencePath('/calibrations'), PureSequencePath('/calibrations/mot')]
        """
        path = as_path(path)
        return self._session._run(lambda tx: _create_folders(tx.connection, path, utc_now()))

    def delete(self, path: PathLike, delete_sequences: bool = False) -> None:
        """Delete a folder and everything under it, or a sequence (see the protocol)."""
        path = as_path(path)
        if path.is_root():
            raise StorageError(path, "the root folder cannot be deleted; delete its children")
        self._session._run(lambda tx: self._delete(tx, path, delete_sequences))

    def _delete(self, tx: Transaction, path: PureSequencePath, delete_sequences: bool) -> None:
        connection = tx.connection
        kind = _kind(connection, path)
        if kind is None:
            raise PathNotFoundError(path, "nothing to delete: no folder or sequence at this path")
        condition, arguments = _subtree(path)
        sequences = connection.execute(
            f"SELECT path, uuid, state FROM sequences WHERE {condition} ORDER BY path",
            arguments,
        ).fetchall()
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
        connection.execute(f"DELETE FROM sequences WHERE {condition}", arguments)
        connection.execute(f"DELETE FROM paths WHERE {condition}", arguments)
        manager = self._session._manager
        for _, uuid, _ in sequences:
            tx.after_commit(functools.partial(manager._delete_shot_folder, uuid))

    def children(self, path: PathLike) -> set[PureSequencePath]:
        """The folders and sequences directly under the folder ``path``."""
        path = as_path(path)

        def action(tx: Transaction) -> list[str]:
            _require_folder(tx.connection, path)
            rows = tx.connection.execute(
                "SELECT path FROM paths WHERE parent = ?", [str(path)]
            ).fetchall()
            return [row[0] for row in rows]

        return {_stored_path(text) for text in self._session._run(action)}

    def creation_date(self, path: PathLike) -> datetime:
        """When ``path`` was created (UTC); for the root, when the store was created."""
        path = as_path(path)

        def action(tx: Transaction) -> datetime:
            if path.is_root():
                row = tx.connection.execute(
                    "SELECT min(store_created) FROM schema_version"
                ).fetchone()
            else:
                row = tx.connection.execute(
                    "SELECT created FROM paths WHERE path = ?", [str(path)]
                ).fetchone()
            if row is None or row[0] is None:
                raise PathNotFoundError(path, "no folder or sequence at this path")
            return row[0].replace(tzinfo=UTC)

        return self._session._run(action)

    def move(self, source: PathLike, destination: PathLike) -> None:
        """Rename or move a folder (with its content) or a sequence; shot data never moves."""
        source = as_path(source)
        destination = as_path(destination)
        if source.is_root():
            raise StorageError(source, "the root folder cannot be moved")
        if destination.is_relative_to(source):
            raise StorageError(source, f"cannot move a folder into itself (to {destination})")
        self._session._run(lambda tx: self._move(tx.connection, source, destination))

    @staticmethod
    def _move(
        connection: duckdb.DuckDBPyConnection,
        source: PureSequencePath,
        destination: PureSequencePath,
    ) -> None:
        if _kind(connection, source) is None:
            raise PathNotFoundError(source, "nothing to move: no folder or sequence at this path")
        if destination.is_root() or _kind(connection, destination) is not None:
            raise PathExistsError(
                destination,
                f"cannot move {source} here: something is already at this path; "
                "choose another name or delete it first",
            )
        parent = destination.parent
        assert parent is not None
        _create_folders(connection, parent, utc_now(), destination)
        old, new, start = str(source), str(destination), len(str(source)) + 1
        condition, arguments = _subtree(source)
        connection.execute(
            "UPDATE paths SET parent = CASE WHEN path = ? THEN ? "
            f"ELSE ? || substr(parent, ?) END, path = ? || substr(path, ?) WHERE {condition}",
            [old, str(parent), new, start, new, start, *arguments],
        )
        connection.execute(
            f"UPDATE sequences SET path = ? || substr(path, ?) WHERE {condition}",
            [new, start, *arguments],
        )

    def all_paths(self) -> set[PureSequencePath]:
        """Every folder and sequence of the store (the root excluded)."""
        rows = self._session._run(
            lambda tx: tx.connection.execute("SELECT path FROM paths").fetchall()
        )
        return {_stored_path(row[0]) for row in rows}


class DuckDBSequenceCollection:
    """The sequences, stored in the ``sequences`` table; shots in per-sequence folders."""

    def __init__(self, session: DuckDBSession) -> None:
        self._session = session

    @property
    def _manager(self) -> DuckDBStorageManager:
        return self._session._manager

    def _dumps(self, value: Any) -> str:
        return self._manager.serializer.dumps(value)

    def _loads(self, text: str) -> Any:
        return self._manager.serializer.loads(text)

    # --- content ---------------------------------------------------------------------------

    def is_sequence(self, path: PathLike) -> bool:
        """Whether ``path`` is a sequence (``False`` for a folder)."""
        path = as_path(path)

        def action(tx: Transaction) -> bool:
            kind = _kind(tx.connection, path)
            if kind is None:
                raise PathNotFoundError(path, "no folder or sequence at this path")
            return kind == "sequence"

        return self._session._run(action)

    def create(
        self, path: PathLike, iteration: StepsConfiguration, time_lanes: TimeLanes
    ) -> Sequence:
        """Create a DRAFT sequence at ``path``; missing parent folders are created."""
        path = as_path(path)
        if path.is_root():
            raise PathExistsError(path, "the root is a folder: give the sequence a name")
        iteration_text = self._dumps(iteration)
        lanes_text = self._dumps(time_lanes)

        def action(tx: Transaction) -> None:
            connection = tx.connection
            kind = _kind(connection, path)
            if kind is not None:
                raise PathExistsError(
                    path, f"a {kind} is already at this path; choose another name"
                )
            now = utc_now()
            parent = path.parent
            assert parent is not None
            _create_folders(connection, parent, now, path)
            connection.execute("INSERT INTO paths VALUES (?, ?, ?)", [str(path), str(parent), now])
            connection.execute(
                "INSERT INTO sequences (uuid, path, state, iteration, time_lanes, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    str(uuid_module.uuid4()),
                    str(path),
                    State.DRAFT.value,
                    iteration_text,
                    lanes_text,
                    now,
                ],
            )

        self._session._run(action)
        return Sequence(path, self._manager)

    def _get_column(self, path: PathLike, column: str) -> Any:
        path = as_path(path)
        _, (value,) = self._session._run(lambda tx: _sequence_row(tx.connection, path, column))
        return value

    def _set_if_draft(self, path: PathLike, column: str, value: Any, what: str) -> None:
        path = as_path(path)
        text = self._dumps(value)

        def action(tx: Transaction) -> None:
            row, _ = _sequence_row(tx.connection, path)
            if not row.state.is_editable():
                raise SequenceNotEditableError(
                    path,
                    f"its {what} cannot be changed: it is {row.state}, only a DRAFT can be "
                    "edited; reset it to draft or duplicate it",
                )
            tx.connection.execute(
                f"UPDATE sequences SET {column} = ? WHERE path = ?", [text, str(path)]
            )

        self._session._run(action)

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

        def action(tx: Transaction) -> None:
            _sequence_row(tx.connection, path)
            tx.connection.execute(
                "UPDATE sequences SET notes = ? WHERE path = ?", [notes, str(path)]
            )

        self._session._run(action)

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

        def action(tx: Transaction) -> None:
            connection = tx.connection
            _sequence_row(connection, source)
            kind = _kind(connection, destination)
            if kind is not None:
                raise PathExistsError(
                    destination,
                    f"cannot duplicate {source} here: a {kind} is already at this path",
                )
            now = utc_now()
            parent = destination.parent
            assert parent is not None
            _create_folders(connection, parent, now, destination)
            connection.execute(
                "INSERT INTO paths VALUES (?, ?, ?)", [str(destination), str(parent), now]
            )
            connection.execute(
                "INSERT INTO sequences (uuid, path, state, iteration, time_lanes, notes, created) "
                "SELECT ?, ?, ?, iteration, time_lanes, notes, ? FROM sequences WHERE path = ?",
                [str(uuid_module.uuid4()), str(destination), State.DRAFT.value, now, str(source)],
            )

        self._session._run(action)
        return Sequence(destination, self._manager)

    # --- stats -------------------------------------------------------------------------------

    def _stats_from_rows(self, rows: Iterable[tuple[Any, ...]]) -> builtins.list[SequenceStats]:
        out = []
        for (
            text,
            uuid,
            state_text,
            expected,
            stored_count,
            created,
            started,
            stopped,
            owner_host,
            owner_pid,
            owner_user,
            heartbeat,
            ran_by,
            host,
            version,
        ) in rows:
            state = State(state_text)
            if state is State.DRAFT:
                count = 0
            elif state.is_active() or stored_count is None:
                count = self._manager._count_shots(uuid)
            else:
                count = int(stored_count)
            owner = (
                RunOwner(owner_host, int(owner_pid), owner_user)
                if owner_host is not None and owner_pid is not None
                else None
            )
            out.append(
                SequenceStats(
                    path=_stored_path(text),
                    state=state,
                    number_of_shots=count,
                    expected_number_of_shots=None if expected is None else int(expected),
                    created=created.replace(tzinfo=UTC),
                    start_time=_utc(started),
                    stop_time=_utc(stopped),
                    owner=owner,
                    last_heartbeat=_utc(heartbeat),
                    ran_by=ran_by,
                    host=host,
                    shotbook_version=version,
                )
            )
        return out

    def get_state(self, path: PathLike) -> State:
        """The state of the sequence."""
        path = as_path(path)
        row, _ = self._session._run(lambda tx: _sequence_row(tx.connection, path))
        return row.state

    def get_stats(self, path: PathLike) -> SequenceStats:
        """State, shot counts, times and run information of one sequence."""
        path = as_path(path)

        def action(tx: Transaction) -> builtins.list[tuple[Any, ...]]:
            _sequence_row(tx.connection, path)
            return tx.connection.execute(
                f"SELECT {_STATS_COLUMNS} FROM sequences WHERE path = ?", [str(path)]
            ).fetchall()

        return self._stats_from_rows(self._session._run(action))[0]

    def list(
        self, under: PathLike = "/", *, states: Iterable[State] | None = None
    ) -> builtins.list[SequenceStats]:
        """Stats of every sequence under the folder ``under`` (any depth), sorted by path.

        One catalog query whatever the number of sequences; only sequences being run
        have their shots counted from their folders (others have a stored count).
        """
        under = as_path(under)
        wanted = None if states is None else [State(s).value for s in states]

        def action(tx: Transaction) -> builtins.list[tuple[Any, ...]]:
            if not under.is_root():
                _require_folder(tx.connection, under)
            condition, arguments = _subtree(under)
            if wanted is not None:
                condition += " AND list_contains(?::VARCHAR[], state)"
                arguments.append(wanted)
            return tx.connection.execute(
                f"SELECT {_STATS_COLUMNS} FROM sequences WHERE {condition}", arguments
            ).fetchall()

        stats = self._stats_from_rows(self._session._run(action))
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

        def action(tx: Transaction) -> None:
            row, _ = _sequence_row(tx.connection, path)
            check_transition(path, row.state, State.PREPARING)
            now = utc_now()
            tx.connection.execute(
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

        self._session._run(action)

    def start(self, path: PathLike) -> ShotWriter:
        """PREPARING → RUNNING; return the writer of the shots (it never reads the catalog)."""
        path = as_path(path)

        def action(tx: Transaction) -> str:
            row, _ = _sequence_row(tx.connection, path)
            check_transition(path, row.state, State.RUNNING)
            tx.connection.execute(
                "UPDATE sequences SET state = ?, heartbeat = ? WHERE path = ?",
                [State.RUNNING.value, utc_now(), str(path)],
            )
            return row.uuid

        uuid = self._session._run(action)
        return self._manager._shot_store(uuid, create=True).writer()

    def _end(self, path: PathLike, state: State, traceback: str | None = None) -> None:
        path = as_path(path)

        def action(tx: Transaction) -> None:
            row, _ = _sequence_row(tx.connection, path)
            check_transition(path, row.state, state)
            count = self._manager._count_shots(row.uuid)
            tx.connection.execute(
                "UPDATE sequences SET state = ?, stopped = ?, number_of_shots = ?, "
                "traceback = ? WHERE path = ?",
                [state.value, utc_now(), count, traceback, str(path)],
            )

        self._session._run(action)

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

        The sequence gets a new, empty data folder in the same transaction, so a crash
        never leaves a half-reset sequence; the old folder is deleted after the commit.
        """
        path = as_path(path)

        def action(tx: Transaction) -> None:
            row, _ = _sequence_row(tx.connection, path)
            check_transition(path, row.state, State.DRAFT)
            tx.connection.execute(
                "UPDATE sequences SET uuid = ?, state = ?, global_parameters = NULL, "
                "device_configurations = NULL, owner_host = NULL, owner_pid = NULL, "
                "owner_user = NULL, heartbeat = NULL, ran_by = NULL, host = NULL, "
                "shotbook_version = NULL, started = NULL, stopped = NULL, "
                "expected_shots = NULL, number_of_shots = NULL, traceback = NULL "
                "WHERE path = ?",
                [str(uuid_module.uuid4()), State.DRAFT.value, str(path)],
            )
            tx.after_commit(functools.partial(self._manager._delete_shot_folder, row.uuid))

        self._session._run(action)

    def heartbeat(self, path: PathLike) -> datetime:
        """Record that the owner of the run is alive; returns the time stored (UTC)."""
        path = as_path(path)

        def action(tx: Transaction) -> datetime:
            row, _ = _sequence_row(tx.connection, path)
            if not row.state.is_active():
                raise StorageError(
                    path, f"no heartbeat for a sequence that is {row.state}: it is not being run"
                )
            now = utc_now()
            tx.connection.execute(
                "UPDATE sequences SET heartbeat = ? WHERE path = ?", [now, str(path)]
            )
            return now.replace(tzinfo=UTC)

        return self._session._run(action)

    def running_sequences(self) -> builtins.list[RunningSequence]:
        """Sequences in PREPARING or RUNNING with their owner and last heartbeat.

        A manager marks CRASHED only those whose owner is gone.
        """
        rows = self._session._run(
            lambda tx: tx.connection.execute(
                "SELECT path, owner_host, owner_pid, owner_user, heartbeat FROM sequences "
                "WHERE state IN (?, ?) ORDER BY path",
                list(_ACTIVE),
            ).fetchall()
        )
        return [
            RunningSequence(
                _stored_path(text),
                RunOwner(host, int(pid), user) if host is not None and pid is not None else None,
                _utc(heartbeat),
            )
            for text, host, pid, user, heartbeat in rows
        ]

    # --- shots -------------------------------------------------------------------------------

    def _folder_of(self, path: PureSequencePath) -> tuple[State, str]:
        row, _ = self._session._run(lambda tx: _sequence_row(tx.connection, path))
        return row.state, row.uuid

    def _loader(self, path: PureSequencePath, uuid: str) -> Callable[[int], ShotContent]:
        store = self._manager._shot_store(uuid)
        not_found = self._manager._shot_not_found_type()

        def load(index: int) -> ShotContent:
            try:
                return store.read_shot(index)
            except not_found:
                raise ShotNotFoundError(path, index, f"the sequence has no shot {index}") from None

        return load

    def get_shots(self, path: PathLike) -> builtins.list[Shot]:
        """The shots of the sequence by index; their content is read on first use."""
        path = as_path(path)
        state, uuid = self._folder_of(path)
        if state is State.DRAFT or not self._manager._has_shot_folder(uuid):
            return []
        indices = self._manager._shot_store(uuid).shot_indices()
        loader = self._loader(path, uuid)
        return [Shot(path, index, loader) for index in indices]

    def get_shot(self, path: PathLike, index: int) -> Shot:
        """One shot (:class:`ShotNotFoundError` if there is none with this index)."""
        path = as_path(path)
        state, uuid = self._folder_of(path)
        indices: builtins.list[int] = []
        if state is not State.DRAFT and self._manager._has_shot_folder(uuid):
            indices = self._manager._shot_store(uuid).shot_indices()
        if index not in indices:
            what = f"{len(indices)} shots" if indices else "no shot"
            raise ShotNotFoundError(
                path, index, f"the sequence has no shot {index} (it is {state} with {what})"
            )
        return Shot(path, index, self._loader(path, uuid))

    def scan(self, path: PathLike) -> polars.LazyFrame:
        """A lazy frame over the shots, one row per shot (readable while running)."""
        import polars

        path = as_path(path)
        state, uuid = self._folder_of(path)
        if state is State.DRAFT or not self._manager._has_shot_folder(uuid):
            return polars.LazyFrame()
        return self._manager._shot_store(uuid).scan_polars()

    def read(self, path: PathLike) -> polars.DataFrame:
        """All the shots of the sequence, one row per shot."""
        import polars

        path = as_path(path)
        state, uuid = self._folder_of(path)
        if state is State.DRAFT or not self._manager._has_shot_folder(uuid):
            return polars.DataFrame()
        return self._manager._shot_store(uuid).read_polars()


class DuckDBDeviceConfigurations(MutableMapping[str, Any]):
    """The default device configurations, by device name; each access is one transaction."""

    def __init__(self, session: DuckDBSession) -> None:
        self._session = session

    def __getitem__(self, name: str) -> Any:
        row = self._session._run(
            lambda tx: tx.connection.execute(
                "SELECT content FROM device_configurations WHERE name = ?", [name]
            ).fetchone()
        )
        if row is None:
            raise KeyError(f"no default configuration for device {name!r}")
        return self._session._manager.serializer.loads(row[0])

    def __setitem__(self, name: str, configuration: Any) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a device name is a non-empty str, got {name!r}")
        text = self._session._manager.serializer.dumps(configuration)
        self._session._run(
            lambda tx: tx.connection.execute(
                "INSERT OR REPLACE INTO device_configurations VALUES (?, ?, ?)",
                [name, text, utc_now()],
            )
        )

    def __delitem__(self, name: str) -> None:
        def action(tx: Transaction) -> None:
            row = tx.connection.execute(
                "DELETE FROM device_configurations WHERE name = ? RETURNING name", [name]
            ).fetchone()
            if row is None:
                raise KeyError(f"no default configuration for device {name!r}")

        self._session._run(action)

    def _names(self) -> builtins.list[str]:
        rows = self._session._run(
            lambda tx: tx.connection.execute(
                "SELECT name FROM device_configurations ORDER BY name"
            ).fetchall()
        )
        return [row[0] for row in rows]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"DefaultDeviceConfigurations({self._names()!r})"


class DuckDBSession:
    """A session on a DuckDB store; cheap to create, holds nothing between calls."""

    def __init__(self, manager: DuckDBStorageManager, catalog: DuckDBCatalog) -> None:
        self._manager = manager
        self._catalog = catalog
        self._local = threading.local()
        self._paths = DuckDBPathHierarchy(self)
        self._sequences = DuckDBSequenceCollection(self)
        self._devices = DuckDBDeviceConfigurations(self)

    def _run(self, action: Callable[[Transaction], T]) -> T:
        held: Transaction | None = getattr(self._local, "held", None)
        if held is not None:
            return action(held)
        return self._catalog.run(action)

    @property
    def paths(self) -> DuckDBPathHierarchy:
        """The folder tree."""
        return self._paths

    @property
    def sequences(self) -> DuckDBSequenceCollection:
        """The sequences."""
        return self._sequences

    @property
    def default_device_configurations(self) -> DuckDBDeviceConfigurations:
        """The device configurations used by the next runs, by device name."""
        return self._devices

    def get_global_parameters(self) -> ParameterNamespace:
        """The current global parameters (empty when none were set)."""
        row = self._run(
            lambda tx: tx.connection.execute(
                "SELECT content FROM global_parameters WHERE id = 1"
            ).fetchone()
        )
        if row is None:
            from shotbook.types import ParameterNamespace

            return ParameterNamespace.empty()
        return self._manager.serializer.loads(row[0])

    def set_global_parameters(self, parameters: ParameterNamespace) -> None:
        """Replace the global parameters."""
        text = self._manager.serializer.dumps(parameters)
        self._run(
            lambda tx: tx.connection.execute(
                "INSERT OR REPLACE INTO global_parameters VALUES (1, ?, ?)", [text, utc_now()]
            )
        )

    def get_sequence(self, path: PathLike) -> Sequence:
        """The sequence at ``path`` (:class:`PathIsNotSequenceError` for a folder)."""
        path = as_path(path)
        self._run(lambda tx: _sequence_row(tx.connection, path))
        return Sequence(path, self._manager)

    def transaction(self) -> AbstractContextManager[None]:
        """Group the calls made in the block (in this thread) into one transaction.

        The catalog is held for the whole block, so other processes wait: keep it short.
        An error in the block rolls every change of the block back.

        >>> with session.transaction():                     # doctest: +SKIP
        ...     for i in range(100):
        ...         session.sequences.create(f"/scans/{i}", steps, lanes)
        """
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if getattr(self._local, "held", None) is not None:
            yield  # nested: part of the enclosing transaction
            return
        with self._catalog.connection() as connection:
            self._catalog.ensure_current(connection)
            connection.begin()
            transaction = Transaction(connection)
            self._local.held = transaction
            try:
                yield
                connection.commit()
            except BaseException:
                with suppress(duckdb.Error):
                    connection.rollback()
                raise
            finally:
                self._local.held = None
        transaction.run_after_commit()

    def __repr__(self) -> str:
        return f"DuckDBSession({str(self._catalog.path)!r})"


def remove_folder(folder: Path) -> None:
    """Delete a data folder, leaving what cannot be deleted now (a reader holds it)."""
    shutil.rmtree(folder, ignore_errors=True)


__all__ = [
    "DuckDBDeviceConfigurations",
    "DuckDBPathHierarchy",
    "DuckDBSequenceCollection",
    "DuckDBSession",
    "remove_folder",
]
