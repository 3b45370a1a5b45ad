"""Paths of a catalog: folders and sequences in one tree, and the queries both kinds share."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from shotbook.types._paths import PureSequencePath, as_path

from .._errors import (
    PathExistsError,
    PathHasChildrenError,
    PathIsNotSequenceError,
    PathIsSequenceError,
    PathNotFoundError,
    SequenceNotEditableError,
    StorageError,
)
from .._interfaces import PathLike
from .._states import State
from ._audit import record as audit_record
from ._protocols import CatalogAccess, CatalogTransaction, utc_now

ACTIVE_STATES = (State.PREPARING.value, State.RUNNING.value)


@functools.lru_cache(maxsize=65536)
def stored_path(text: str) -> PureSequencePath:
    """A path read from the store (parsed once, then cached: listing 2,000 stays fast)."""
    return PureSequencePath(text)


def subtree_condition(path: PureSequencePath) -> tuple[str, list[Any]]:
    """A SQL condition matching ``path`` and everything under it."""
    if path.is_root():
        return "1 = 1", []
    prefix = f"{path}/"
    return "(path = ? OR substr(path, 1, ?) = ?)", [str(path), len(prefix), prefix]


def path_kind(tx: CatalogTransaction, path: PureSequencePath) -> str | None:
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


def require_folder(tx: CatalogTransaction, path: PureSequencePath) -> None:
    kind = path_kind(tx, path)
    if kind is None:
        raise PathNotFoundError(path, "no folder or sequence at this path")
    if kind == "sequence":
        raise PathIsSequenceError(path, "it is a sequence, not a folder")


def create_folders(
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


def sequence_row(
    tx: CatalogTransaction, path: PureSequencePath, extra: str = ""
) -> tuple[str, State, tuple[Any, ...]]:
    """The uuid and state of the sequence at ``path`` (and ``extra`` columns)."""
    columns = "uuid, state" + (f", {extra}" if extra else "")
    row = tx.one(f"SELECT {columns} FROM sequences WHERE path = ?", [str(path)])
    if row is None:
        if path_kind(tx, path) is None:
            raise PathNotFoundError(path, "no sequence at this path")
        raise PathIsNotSequenceError(path, "it is a folder, not a sequence")
    return str(row[0]), State(row[1]), tuple(row[2:])


class CatalogPathHierarchy:
    """The folder tree, stored in the ``paths`` table."""

    def __init__(self, session: CatalogAccess) -> None:
        self._session = session

    def exists(self, path: PathLike) -> bool:
        """Whether a folder or a sequence is at ``path`` (the root always exists)."""
        path = as_path(path)
        if path.is_root():
            return True
        return self._session.read(lambda tx: path_kind(tx, path) is not None)

    def create(self, path: PathLike) -> list[PureSequencePath]:
        """Create the folder ``path`` and its missing parents; return those created, top first.

        >>> session.paths.create("/calibrations/mot")   # doctest: +SKIP
        [PureSequencePath('/calibrations'), PureSequencePath('/calibrations/mot')]
        """
        path = as_path(path)
        return self._session.write(lambda tx: create_folders(tx, path, utc_now()))

    def delete(self, path: PathLike, delete_sequences: bool = False) -> None:
        """Delete a folder and everything under it, or a sequence, with their shots."""
        path = as_path(path)
        if path.is_root():
            raise StorageError(path, "the root folder cannot be deleted; delete its children")
        self._session.write(lambda tx: self._delete(tx, path, delete_sequences))

    def _delete(
        self, tx: CatalogTransaction, path: PureSequencePath, delete_sequences: bool
    ) -> None:
        kind = path_kind(tx, path)
        if kind is None:
            raise PathNotFoundError(path, "nothing to delete: no folder or sequence at this path")
        condition, arguments = subtree_condition(path)
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
        running = [row[0] for row in sequences if row[2] in ACTIVE_STATES]
        if running:
            raise SequenceNotEditableError(
                path,
                f"{', '.join(running[:3])} is being run and cannot be deleted; interrupt it first",
            )
        uuids = [row[1] for row in sequences]
        tx.touch(uuids)
        for text, uuid, _ in sequences:
            audit_record(tx, "delete", text, sequence_id=uuid)
        if kind == "folder":
            audit_record(tx, "delete", path)
        self._session.shots.delete(tx, uuids)
        tx.execute(f"DELETE FROM sequences WHERE {condition}", arguments)
        tx.execute(f"DELETE FROM paths WHERE {condition}", arguments)

    def children(self, path: PathLike) -> set[PureSequencePath]:
        """The folders and sequences directly under the folder ``path``."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> list[str]:
            require_folder(tx, path)
            return [
                row[0] for row in tx.all("SELECT path FROM paths WHERE parent = ?", [str(path)])
            ]

        return {stored_path(text) for text in self._session.read(action)}

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

        return self._session.read(action)

    def move(self, source: PathLike, destination: PathLike) -> None:
        """Rename or move a folder (with its content) or a sequence, with their shots."""
        source = as_path(source)
        destination = as_path(destination)
        if source.is_root():
            raise StorageError(source, "the root folder cannot be moved")
        if destination.is_relative_to(source):
            raise StorageError(source, f"cannot move a folder into itself (to {destination})")
        self._session.write(lambda tx: self._move(tx, source, destination))

    @staticmethod
    def _move(
        tx: CatalogTransaction, source: PureSequencePath, destination: PureSequencePath
    ) -> None:
        if path_kind(tx, source) is None:
            raise PathNotFoundError(source, "nothing to move: no folder or sequence at this path")
        if destination.is_root() or path_kind(tx, destination) is not None:
            raise PathExistsError(
                destination,
                f"cannot move {source} here: something is already at this path; "
                "choose another name or delete it first",
            )
        parent = destination.parent
        assert parent is not None
        create_folders(tx, parent, utc_now(), destination)
        old, new, start = str(source), str(destination), len(str(source)) + 1
        condition, arguments = subtree_condition(source)
        moved = tx.all(f"SELECT uuid, path FROM sequences WHERE {condition}", arguments)
        tx.touch(row[0] for row in moved)
        sequence_id = next((row[0] for row in moved if row[1] == old), None)
        audit_record(tx, "rename", source, target=destination, sequence_id=sequence_id)
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
        rows = self._session.read(lambda tx: tx.all("SELECT path FROM paths"))
        return {stored_path(row[0]) for row in rows}

    def set_creation_date(self, path: PathLike, created: datetime) -> None:
        """Record another creation date (used when copying a store)."""
        path = as_path(path)

        def action(tx: CatalogTransaction) -> None:
            if path_kind(tx, path) is None:
                raise PathNotFoundError(path, "no folder or sequence at this path")
            tx.execute("UPDATE paths SET created = ? WHERE path = ?", [tx.time(created), str(path)])
            tx.execute(
                "UPDATE sequences SET created = ? WHERE path = ?", [tx.time(created), str(path)]
            )

        self._session.write(action)


__all__ = [
    "ACTIVE_STATES",
    "CatalogPathHierarchy",
    "create_folders",
    "path_kind",
    "require_folder",
    "sequence_row",
    "stored_path",
    "subtree_condition",
]
