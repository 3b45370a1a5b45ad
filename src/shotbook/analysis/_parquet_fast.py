"""Fast path for the default backend: polars' own Parquet reader over a sequence's live files.

The storage interface gives every backend's shots as a lazy frame; for the DuckDB + Parquet
backend this module reads the sequence's files with ``polars.scan_parquet`` instead, which
decodes scalars several times faster and filters rows inside the reader (a filter on
parameters reads only the matching images' pages). Arrays are then decoded to ``pl.Array``
exactly as the store does.

Each ``collect()`` lists the live files at that moment (a running sequence shows its new
shots) and starts again if a compaction removed a file while it was being read. Everything
this needs from the backend (private names of ``shotbook.session``) is confined here; any
other backend goes through ``sequences.scan(path)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import polars as pl

from ._sequence_columns import ColumnMeta

if TYPE_CHECKING:
    from shotbook.session import ExperimentSession
    from shotbook.types import PureSequencePath

__all__ = ["parquet_part"]

_SHOT_INDEX: Final = "shot_index"
_TIMES: Final = ("start_time", "end_time")
_RETRIES: Final = 50


def parquet_part(
    session: ExperimentSession, path: PureSequencePath
) -> tuple[pl.LazyFrame, dict[str, ColumnMeta]] | None:
    """The lazy frame and columns of ``path`` read straight from its Parquet files.

    ``None`` when the session is not the default backend's (then use the generic way).
    """
    folder_of = getattr(session.sequences, "_folder_of", None)
    store_of = getattr(getattr(session, "_manager", None), "_shot_store", None)
    if not (callable(folder_of) and callable(store_of)):
        return None
    _, uuid = folder_of(path)
    store = store_of(uuid)
    schema = store.schema()
    columns = {name: ColumnMeta(info.kind, info.unit) for name, info in schema.items()}
    return _scan(Path(store.folder), schema), columns


def _scan(folder: Path, schema: Mapping[str, Any]) -> pl.LazyFrame:
    from shotbook.session._parquet_columns import array_columns, lazy_shots, shots_frame_schema

    raw = shots_frame_schema(schema, decode_arrays=False)
    decoded = shots_frame_schema(schema, decode_arrays=True)
    arrays = array_columns(schema)
    frame: pl.LazyFrame = lazy_shots(
        decoded,
        lambda wanted, predicate: _collect(folder, schema, raw, decoded, arrays, wanted, predicate),
        name="shotbook-parquet-polars",
        detail=str(folder),
    )
    return frame


def _collect(
    folder: Path,
    schema: Mapping[str, Any],
    raw: dict[str, pl.DataType],
    decoded: dict[str, pl.DataType],
    arrays: set[str],
    wanted: list[str],
    predicate: pl.Expr | None,
) -> pl.DataFrame:
    from shotbook.session._parquet_read import take_snapshot

    for _ in range(_RETRIES):
        files = take_snapshot(folder).files
        if not files:
            return pl.DataFrame(schema={name: decoded[name] for name in wanted})
        try:
            return _read(files, schema, raw, arrays, wanted, predicate)
        except FileNotFoundError:
            if all(live.path.exists() for live in files):
                raise
            # a compaction replaced files after they were listed: list them again
    raise FileNotFoundError(
        f"the files of {folder} kept vanishing while being read ({_RETRIES} attempts); is "
        "another process deleting the sequence's shots?"
    )


def _read(
    files: Sequence[Any],
    schema: Mapping[str, Any],
    raw: dict[str, pl.DataType],
    arrays: set[str],
    wanted: list[str],
    predicate: pl.Expr | None,
) -> pl.DataFrame:
    """Read ``wanted`` from these live files (``LiveFile``: a path and the shots it holds)."""
    from shotbook.session._parquet_shots import decode_array_columns

    def scan(chosen: Sequence[Any]) -> pl.LazyFrame:
        names = [str(live.path) for live in chosen]
        return pl.scan_parquet(names, schema=raw, missing_columns="insert", extra_columns="ignore")

    columns = [*wanted, _SHOT_INDEX]
    frame = scan(files)
    after = None
    if predicate is not None:
        roots = predicate.meta.root_names()
        if not arrays.isdisjoint(roots):
            after = predicate  # written against decoded arrays: apply once decoded
            columns += roots
        elif arrays.isdisjoint(wanted):
            frame = frame.filter(predicate)  # evaluated inside the reader
        else:
            # Find the matching shots on the small columns first, then read the arrays only
            # from the files (and, through shot_index statistics, row groups) holding them.
            keys = frame.filter(predicate).select(_SHOT_INDEX).collect()
            matching = keys.get_column(_SHOT_INDEX).to_list()
            wanted_shots = set(matching)
            chosen = [live for live in files if not wanted_shots.isdisjoint(live.shots)]
            if not chosen:
                empty = pl.DataFrame(schema={name: raw[name] for name in dict.fromkeys(columns)})
                return decode_array_columns(empty, schema).select(wanted)
            frame = scan(chosen).filter(pl.col(_SHOT_INDEX).is_in(matching))
    result = frame.select(list(dict.fromkeys(columns))).collect()
    order = result.get_column(_SHOT_INDEX).to_numpy()
    if len(order) > 1 and not bool(np.all(order[1:] > order[:-1])):
        result = result.sort(_SHOT_INDEX)
    result = decode_array_columns(result, schema)
    if after is not None:
        result = result.filter(after)
    return result.select(wanted)
