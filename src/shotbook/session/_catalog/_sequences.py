"""Sequences of a catalog: their configuration, states, owners and shots."""

from __future__ import annotations

import builtins
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shotbook.types._paths import PureSequencePath, as_path

from .._errors import (
    PathExistsError,
    PathNotFoundError,
    SequenceNotEditableError,
    ShotNotFoundError,
    StorageError,
)
from .._interfaces import (
    PathLike,
    RunningSequence,
    RunOwner,
    SequenceStats,
    ShotWriter,
    StorageManager,
)
from .._sequence import Sequence, Shot, ShotContent
from .._states import State, check_transition

if TYPE_CHECKING:
    import polars

    from shotbook.types import ParameterNamespace, StepsConfiguration, TimeLanes


from ._audit import record as audit_record
from ._paths import (
    ACTIVE_STATES,
    create_folders,
    path_kind,
    require_folder,
    sequence_row,
    stored_path,
    subtree_condition,
)
from ._protocols import CatalogAccess, CatalogTransaction, TimeAdapter, utc_now

RECORD_COLUMNS = (
    "created, started, stopped, owner_host, owner_pid, owner_user, heartbeat, ran_by, host, "
    "shotbook_version"
)


class CatalogSequenceCollection:
    """The sequences, in the ``sequences`` table; their shots where the shot storage keeps them."""

    def __init__(self, session: CatalogAccess) -> None:
        self._session = session

    @property
    def _manager(self) -> StorageManager:
        return self._session.storage_manager

    def _dumps(self, value: object) -> str:
        return self._session.serializer.dumps(value)

    def _loads(self, text: str) -> Any:
        return self._session.serializer.loads(text)

    # --- content ---------------------------------------------------------------------------

    def is_sequence(self, path: PathLike) -> bool:
        """Whether ``path`` is a sequence (``False`` for a folder)."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> bool:
            kind = path_kind(tx, path)
            if kind is None:
                raise PathNotFoundError(path, "no folder or sequence at this path")
            return kind == "sequence"

        return self._session.read(action)

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
            kind = path_kind(tx, path)
            if kind is not None:
                raise PathExistsError(
                    path, f"a {kind} is already at this path; choose another name"
                )
            uuid, now = _new_sequence_path(tx, path)
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

        self._session.write(action)
        return Sequence(path, self._manager)

    def _get_column(self, path: PathLike, column: str) -> Any:
        path = as_path(path)
        _, _, (value,) = self._session.read(lambda tx: sequence_row(tx, path, column))
        return value

    def _set_if_draft(self, path: PathLike, column: str, value: Any, what: str) -> None:
        path = as_path(path)
        text = self._dumps(value)

        def action(tx: CatalogTransaction) -> None:
            _, state, _ = sequence_row(tx, path)
            if not state.is_editable():
                raise SequenceNotEditableError(
                    path,
                    f"its {what} cannot be changed: it is {state}, only a DRAFT can be "
                    "edited; reset it to draft or duplicate it",
                )
            tx.execute(f"UPDATE sequences SET {column} = ? WHERE path = ?", [text, str(path)])

        self._session.write(action)

    def get_iteration(self, path: PathLike) -> StepsConfiguration:
        """The scan of the sequence."""
        iteration: StepsConfiguration = self._loads(self._get_column(path, "iteration"))
        return iteration

    def set_iteration(self, path: PathLike, iteration: StepsConfiguration) -> None:
        """Replace the scan (DRAFT only)."""
        self._set_if_draft(path, "iteration", iteration, "scan")

    def get_time_lanes(self, path: PathLike) -> TimeLanes:
        """The time lanes of the sequence."""
        time_lanes: TimeLanes = self._loads(self._get_column(path, "time_lanes"))
        return time_lanes

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
            sequence_row(tx, path)
            tx.execute("UPDATE sequences SET notes = ? WHERE path = ?", [notes, str(path)])

        self._session.write(action)

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
            sequence_row(tx, source)
            kind = path_kind(tx, destination)
            if kind is not None:
                raise PathExistsError(
                    destination,
                    f"cannot duplicate {source} here: a {kind} is already at this path",
                )
            uuid, now = _new_sequence_path(tx, destination)
            tx.execute(
                "INSERT INTO sequences (uuid, path, state, iteration, time_lanes, notes, created) "
                "SELECT ?, ?, ?, iteration, time_lanes, notes, ? FROM sequences WHERE path = ?",
                [
                    uuid,
                    str(destination),
                    State.DRAFT.value,
                    now,
                    str(source),
                ],
            )

        self._session.write(action)
        return Sequence(destination, self._manager)

    # --- stats -------------------------------------------------------------------------------

    def _stats_query(self) -> str:
        return (
            f"SELECT path, uuid, state, expected_shots, {self._session.shots.stats_count}, "
            f"{RECORD_COLUMNS} FROM sequences"
        )

    def _stats_from_rows(
        self, time: Callable[[Any], datetime], rows: Iterable[tuple[Any, ...]]
    ) -> builtins.list[SequenceStats]:
        """Stats from rows of :meth:`_stats_query` (after the transaction: shots may be counted)."""
        shot_count = self._session.shots.shot_count
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
                    path=stored_path(text),
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
        return self._session.read(lambda tx: sequence_row(tx, path))[1]

    def get_stats(self, path: PathLike) -> SequenceStats:
        """State, shot counts, times and run information of one sequence."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> tuple[TimeAdapter, builtins.list[tuple[Any, ...]]]:
            sequence_row(tx, path)
            return tx.catalog, tx.all(f"{self._stats_query()} WHERE path = ?", [str(path)])

        catalog, rows = self._session.read(action)
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
                require_folder(tx, under)
            condition, arguments = subtree_condition(under)
            if wanted is not None:
                if not wanted:
                    return tx.catalog, []
                condition += f" AND state IN ({', '.join('?' for _ in wanted)})"
                arguments.extend(wanted)
            return tx.catalog, tx.all(f"{self._stats_query()} WHERE {condition}", arguments)

        catalog, rows = self._session.read(action)
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
        from shotbook._version import __version__

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
            _, state, _ = sequence_row(tx, path)
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

        self._session.write(action)

    def start(self, path: PathLike) -> ShotWriter:
        """PREPARING → RUNNING; return the writer of the shots (it never reads the catalog)."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> str:
            uuid, state, _ = sequence_row(tx, path)
            check_transition(path, state, State.RUNNING)
            tx.execute(
                "UPDATE sequences SET state = ?, heartbeat = ? WHERE path = ?",
                [State.RUNNING.value, tx.time(utc_now()), str(path)],
            )
            self._session.shots.before_start(tx, uuid)
            tx.touch([uuid])
            return uuid

        uuid = self._session.write(action)
        return self._session.shots.writer(uuid, path)

    def _end(
        self,
        path: PathLike,
        state: State,
        traceback: str | None = None,
        audit: Callable[[CatalogTransaction, str], None] | None = None,
    ) -> None:
        path = as_path(path)

        def action(tx: CatalogTransaction) -> None:
            uuid, current, _ = sequence_row(tx, path)
            check_transition(path, current, state)
            count = self._session.shots.count_in(tx, uuid)
            tx.execute(
                "UPDATE sequences SET state = ?, stopped = ?, number_of_shots = ?, "
                "traceback = ? WHERE path = ?",
                [state.value, tx.time(utc_now()), count, traceback, str(path)],
            )
            if audit is not None:
                audit(tx, uuid)

        self._session.write(action)

    def finish(self, path: PathLike) -> None:
        """RUNNING → FINISHED; records the number of shots (close the shot writer first)."""
        self._end(path, State.FINISHED)

    def interrupt(
        self, path: PathLike, requested_by: RunOwner | None = None, detail: str = ""
    ) -> None:
        """PREPARING | RUNNING → INTERRUPTED; the shots written so far are kept.

        The audit log records who asked (``requested_by``; this process when ``None``).
        """
        path = as_path(path)
        self._end(
            path,
            State.INTERRUPTED,
            audit=lambda tx, uuid: audit_record(
                tx, "interrupt", path, sequence_id=uuid, by=requested_by, detail=detail
            ),
        )

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
            uuid, state, _ = sequence_row(tx, path)
            check_transition(path, state, State.DRAFT)
            new_uuid = str(uuid_module.uuid4())
            tx.touch([uuid, new_uuid])
            audit_record(tx, "reset", path, sequence_id=uuid)
            self._session.shots.delete(tx, [uuid])
            tx.execute(
                "UPDATE sequences SET uuid = ?, state = ?, global_parameters = NULL, "
                "device_configurations = NULL, owner_host = NULL, owner_pid = NULL, "
                "owner_user = NULL, heartbeat = NULL, ran_by = NULL, host = NULL, "
                "shotbook_version = NULL, started = NULL, stopped = NULL, "
                "expected_shots = NULL, number_of_shots = NULL, traceback = NULL "
                "WHERE path = ?",
                [new_uuid, State.DRAFT.value, str(path)],
            )

        self._session.write(action)

    def heartbeat(self, path: PathLike) -> datetime:
        """Record that the owner of the run is alive; returns the time stored (UTC)."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> datetime:
            _, state, _ = sequence_row(tx, path)
            if not state.is_active():
                raise StorageError(
                    path, f"no heartbeat for a sequence that is {state}: it is not being run"
                )
            stored = tx.time(utc_now())
            tx.execute("UPDATE sequences SET heartbeat = ? WHERE path = ?", [stored, str(path)])
            return tx.catalog.from_db_time(stored)

        return self._session.write(action, logged=False)  # not a change a reader shows

    def running_sequences(self) -> builtins.list[RunningSequence]:
        """Sequences in PREPARING or RUNNING with their owner and last heartbeat, by path.

        A manager marks CRASHED only those whose owner is gone.
        """

        def action(tx: CatalogTransaction) -> builtins.list[RunningSequence]:
            rows = tx.all(
                "SELECT path, owner_host, owner_pid, owner_user, heartbeat FROM sequences "
                "WHERE state IN (?, ?)",
                list(ACTIVE_STATES),
            )
            return [
                RunningSequence(
                    stored_path(text),
                    RunOwner(host, int(pid), user)
                    if host is not None and pid is not None
                    else None,
                    None if beat is None else tx.catalog.from_db_time(beat),
                )
                for text, host, pid, user, beat in rows
            ]

        running = self._session.read(action)
        running.sort(key=lambda r: r.path.parts)
        return running

    # --- shots -------------------------------------------------------------------------------

    def _id_of(self, path: PureSequencePath) -> tuple[State, str]:
        """The state and uuid of the sequence at ``path`` (its shots are keyed by the uuid)."""
        uuid, state, _ = self._session.read(lambda tx: sequence_row(tx, path))
        return state, uuid

    def _loader(self, path: PureSequencePath, uuid: str) -> Callable[[int], ShotContent]:
        read_shot = self._session.shots.loader(uuid)

        def load(index: int) -> ShotContent:
            record = read_shot(index)
            if record is None:
                raise ShotNotFoundError(path, index, f"the sequence has no shot {index}")
            return record

        return load

    def _indices(self, state: State, uuid: str) -> builtins.list[int]:
        return [] if state is State.DRAFT else self._session.shots.indices(uuid)

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
        if state is State.DRAFT or not self._session.shots.has_frame(state, uuid):
            return None
        return uuid

    def scan(self, path: PathLike) -> polars.LazyFrame:
        """A lazy frame over the shots, one row per shot (readable while running)."""
        import polars

        uuid = self._framed(path)
        return polars.LazyFrame() if uuid is None else self._session.shots.scan(uuid)

    def read(self, path: PathLike) -> polars.DataFrame:
        """All the shots of the sequence, one row per shot."""
        import polars

        uuid = self._framed(path)
        return polars.DataFrame() if uuid is None else self._session.shots.read(uuid)

    def restore_record(self, path: PathLike, stats: SequenceStats) -> None:
        """Record the times and run information of ``stats`` (used when copying a store).

        Only the record changes (creation, start, stop and heartbeat times, owner, who ran
        it, where, with which shotbook version, expected shots); not the state nor shots.
        """
        path = as_path(path)

        def action(tx: CatalogTransaction) -> None:
            sequence_row(tx, path)
            owner = stats.owner
            tx.execute(
                "UPDATE sequences SET created = ?, started = ?, stopped = ?, heartbeat = ?, "
                "owner_host = ?, owner_pid = ?, owner_user = ?, ran_by = ?, host = ?, "
                "shotbook_version = ?, expected_shots = ? WHERE path = ?",
                [
                    tx.time(stats.created),
                    tx.time(stats.start_time),
                    tx.time(stats.stop_time),
                    tx.time(stats.last_heartbeat),
                    None if owner is None else owner.host,
                    None if owner is None else owner.pid,
                    None if owner is None else owner.user,
                    stats.ran_by,
                    stats.host,
                    stats.shotbook_version,
                    stats.expected_number_of_shots,
                    str(path),
                ],
            )
            tx.execute(
                "UPDATE paths SET created = ? WHERE path = ?", [tx.time(stats.created), str(path)]
            )

        self._session.write(action)


def _new_sequence_path(tx: CatalogTransaction, path: PureSequencePath) -> tuple[str, Any]:
    """The path row of a new sequence (and its missing parent folders), and the sequence's
    new uuid (its location changes: noted for the shot locator) and creation time."""
    moment = utc_now()
    parent = path.parent
    assert parent is not None
    create_folders(tx, parent, moment, path)
    now = tx.time(moment)
    tx.execute("INSERT INTO paths VALUES (?, ?, ?)", [str(path), str(parent), now])
    uuid = str(uuid_module.uuid4())
    tx.touch([uuid])
    return uuid, now


__all__ = ["RECORD_COLUMNS", "CatalogSequenceCollection"]
