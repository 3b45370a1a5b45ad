"""Fast path for the default backend: read a sequence's shot folder directly.

The storage interface gives every backend's shots as a lazy frame; for the DuckDB + Parquet
backend this module reads the sequence's folder with the session's public read side
(``shotbook.session.scan_shot_folder``: polars' Parquet reader for the small columns, with
filters pushed into it, and arrays read straight into ``pl.Array``), and takes the column
kinds and units from the folder's manifest instead of from a stored shot.

The folder of a sequence is found without the catalog when the storage manager can vouch for
it (``locate_shots(path)`` of :class:`~shotbook.session.ShotFolders`, see
:func:`locate_folders`): opening the DuckDB catalog costs more than reading a few thousand
shots. Otherwise, inside a session, through the session's ``shot_folder(path)``
(``parquet_part``). A backend that is not ``ShotFolders`` goes through
``sequences.scan(path)``.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ._selection import SequenceSelection, exact_paths
from ._sequence_columns import ColumnMeta

if TYPE_CHECKING:
    from shotbook.session import ExperimentSession, StorageManager
    from shotbook.types import PureSequencePath

__all__ = ["folder_part", "locate_folders", "parquet_part", "read_folder"]

Part = tuple[pl.LazyFrame, dict[str, ColumnMeta]]
"""A sequence's lazy frame and the kind and unit of each of its columns."""


def folder_part(folder: Path) -> Part:
    """The lazy frame and columns of the shots stored in ``folder`` (a sequence's folder)."""
    from shotbook.session import scan_shot_folder, snapshot_shot_folder

    schema = snapshot_shot_folder(folder).columns
    columns = {name: ColumnMeta(info.kind, info.unit) for name, info in schema.items()}
    return scan_shot_folder(folder, columns=schema), columns


def parquet_part(session: ExperimentSession, path: PureSequencePath) -> Part | None:
    """The lazy frame and columns of ``path`` read straight from its Parquet files.

    ``None`` when the session does not keep shots as folders (:class:`ShotFolders`; then use
    the generic way).
    """
    from shotbook.session import ShotFolders

    if not isinstance(session, ShotFolders):
        return None
    return folder_part(session.shot_folder(path))


def locate_folders(
    storage_manager: StorageManager, what: SequenceSelection | None
) -> builtins.list[tuple[str, Path]] | None:
    """The shot folders of a selection that names sequences exactly, found without the catalog.

    Uses the manager's ``locate_shots(path) -> Path | None`` (:class:`ShotFolders`, the
    default backend's sidecar index). ``None`` (open a session instead) when the manager is
    not ``ShotFolders``, when the
    selection holds a pattern or a non-path item, or when any path is not vouched for (a
    folder, a draft without shots, an unknown path, an older store): then the session
    reports what is wrong, as it always did.
    """
    from shotbook.session import ShotFolders

    if what is None or not isinstance(storage_manager, ShotFolders):
        return None
    paths = exact_paths(what)
    if paths is None:
        return None
    folders = []
    for path in paths:
        folder = storage_manager.locate_shots(path)
        if folder is None:
            return None
        folders.append((str(path), Path(folder)))
    return folders


def read_folder(
    folder: Path,
    wanted: builtins.list[str] | None,
    where: pl.Expr | None,
    *,
    fixed: tuple[str, ...],
) -> tuple[pl.DataFrame, dict[str, ColumnMeta]] | None:
    """The shots of one folder read at once (no lazy plan around the reader), and the kind
    and unit of its columns.

    ``wanted`` names columns of the folder or ``fixed`` ones other than the first
    (``sequence``, which the caller adds); ``None`` when a name, or a name ``where`` uses, is
    not one of those (the lazy path then reports it, or handles it).
    """
    from shotbook.session import collect_shot_folder, snapshot_shot_folder

    snapshot = snapshot_shot_folder(folder)
    schema = snapshot.columns
    known = {*fixed[1:], *schema}
    names = [*fixed[1:], *schema] if wanted is None else wanted
    used = [] if where is None else where.meta.root_names()
    if not known.issuperset(names) or not known.issuperset(used):
        return None
    frame = collect_shot_folder(folder, schema, names, where, snapshot=snapshot)
    columns = {name: ColumnMeta(info.kind, info.unit) for name, info in schema.items()}
    return frame, columns
