"""The manifest of a sequence folder, file names, and crash-safe file replacement.

``manifest.json`` lists the compacted files (``part-0003.parquet``) with the shot indices each
covers, the column schema of the sequence, and files waiting to be deleted. It is replaced
atomically (temporary file, optional fsync, ``os.replace``): a reader sees the old or the new
manifest, never a mix. Journaled shots (``journal-0007-3fa2c1d0.arrows``, see ``_journal``)
and per-shot files of earlier versions (``shot-000042.parquet``) whose index a part covers are
ignored by readers and deleted by the writer or by a sweep.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from .._columns._codec import ColumnInfo
from .._errors import ShotStoreError

MANIFEST_NAME: Final = "manifest.json"
TEMP_PREFIX: Final = ".tmp-"
_FORMAT: Final = "shotbook-parquet-shots"
_VERSION: Final = 1
_SHOT_FILE: Final = re.compile(r"shot-(\d+)\.parquet")
_PART_FILE: Final = re.compile(r"part-(\d+)\.parquet")
# Windows refuses to replace or delete a file another process holds open: retry for this long.
_REPLACE_PATIENCE_S: Final = 2.0


def shot_file_name(index: int) -> str:
    """``shot-000042.parquet``."""
    return f"shot-{index:06d}.parquet"


def part_file_name(number: int) -> str:
    """``part-0003.parquet``."""
    return f"part-{number:04d}.parquet"


def parse_shot_file(name: str) -> int | None:
    """The shot index of a per-shot file name, else ``None``."""
    match = _SHOT_FILE.fullmatch(name)
    return int(match.group(1)) if match else None


def parse_part_file(name: str) -> int | None:
    """The number of a compacted file name, else ``None``."""
    match = _PART_FILE.fullmatch(name)
    return int(match.group(1)) if match else None


def temp_name(suffix: str) -> str:
    """A fresh temporary file name (``.tmp-<uuid><suffix>``), swept at open if orphaned."""
    return f"{TEMP_PREFIX}{uuid.uuid4().hex}{suffix}"


def to_ranges(indices: Iterable[int]) -> list[list[int]]:
    """Sorted indices as half-open ranges: ``[0, 1, 2, 5]`` -> ``[[0, 3], [5, 6]]``."""
    ranges: list[list[int]] = []
    for index in sorted(indices):
        if ranges and ranges[-1][1] == index:
            ranges[-1][1] = index + 1
        else:
            ranges.append([index, index + 1])
    return ranges


def from_ranges(ranges: Iterable[Iterable[int]]) -> Iterator[int]:
    """The indices of half-open ranges."""
    for start, stop in ranges:
        yield from range(start, stop)


@dataclass(frozen=True)
class Part:
    """A compacted file and the shots it holds."""

    file: str
    shots: tuple[int, ...]


@dataclass(frozen=True)
class Manifest:
    """The content of ``manifest.json``."""

    parts: tuple[Part, ...] = ()
    columns: tuple[ColumnInfo, ...] = ()
    garbage: tuple[str, ...] = ()
    _covered: frozenset[int] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        covered = frozenset(index for part in self.parts for index in part.shots)
        object.__setattr__(self, "_covered", covered)

    @property
    def covered(self) -> frozenset[int]:
        """The shot indices the compacted files hold."""
        return self._covered

    def with_part(self, part: Part) -> Manifest:
        """This manifest with one more compacted file."""
        return replace(self, parts=(*self.parts, part))

    def with_columns(self, columns: Iterable[ColumnInfo]) -> Manifest:
        """This manifest with another column list."""
        return replace(self, columns=tuple(columns))

    def with_garbage(self, garbage: Iterable[str]) -> Manifest:
        """This manifest with another list of files waiting to be deleted."""
        return replace(self, garbage=tuple(sorted(set(garbage))))

    def to_json(self) -> dict[str, Any]:
        """The JSON document."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "parts": [{"file": p.file, "shots": to_ranges(p.shots)} for p in self.parts],
            "columns": [c.to_json() for c in self.columns],
            "garbage": list(self.garbage),
        }

    @staticmethod
    def from_json(data: Any, where: Path) -> Manifest:
        """Parse and check a manifest document."""
        try:
            if data.get("format") != _FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {_FORMAT!r}")
            if data.get("version") != _VERSION:
                raise ValueError(f"version {data.get('version')!r} is not {_VERSION}")
            parts = []
            for entry in data["parts"]:
                name = str(entry["file"])
                if parse_part_file(name) is None:
                    raise ValueError(f"{name!r} is not a part file name")
                shots = tuple(from_ranges((int(a), int(b)) for a, b in entry["shots"]))
                parts.append(Part(name, shots))
            columns = tuple(ColumnInfo.from_json(c, str(where)) for c in data["columns"])
            garbage = tuple(str(name) for name in data.get("garbage", ()))
            for name in garbage:
                if Path(name).name != name:
                    raise ValueError(f"garbage entry {name!r} is not a file name")
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ShotStoreError(
                f"the manifest {where} is not a valid shot manifest ({error}); restore it or "
                "remove the sequence's shots"
            ) from None
        return Manifest(tuple(parts), columns, garbage)


def read_manifest(folder: Path) -> Manifest:
    """The folder's manifest (an empty one if there is none yet)."""
    path = folder / MANIFEST_NAME
    for attempt in range(50):
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return Manifest()
        except PermissionError:  # Windows: being replaced right now
            if attempt == 49:
                raise
            time.sleep(0.01)
            continue
        return parse_manifest(path, text)
    raise AssertionError("unreachable")


def parse_manifest(path: Path, text: bytes) -> Manifest:
    """The manifest whose file ``path`` holds ``text``; a clear error if it is damaged."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ShotStoreError(
            f"the manifest {path} is not valid JSON ({error}); restore it or remove the "
            "sequence's shots"
        ) from None
    return Manifest.from_json(data, path)


def write_manifest(folder: Path, manifest: Manifest, *, fsync: bool) -> None:
    """Replace the folder's manifest atomically."""
    text = json.dumps(manifest.to_json(), indent=1).encode()
    temporary = folder / temp_name(".json")
    try:
        with open(temporary, "wb") as file:
            file.write(text)
            if fsync:
                file.flush()
                os.fsync(file.fileno())
        replace_file(temporary, folder / MANIFEST_NAME)
    except BaseException:
        remove_quietly(temporary)
        raise
    if fsync:
        fsync_directory(folder)


def replace_file(source: Path, target: Path) -> None:
    """``os.replace`` that waits a little if Windows refuses because a reader holds the target."""
    deadline = time.monotonic() + _REPLACE_PATIENCE_S
    while True:
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to the disk."""
    # Windows needs a handle opened for writing to flush it.
    descriptor = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_directory(folder: Path) -> None:
    """Flush a directory entry (a rename) to the disk where the OS allows it.

    Windows cannot open directories this way (and NTFS journals renames): skipped there.
    """
    if os.name == "nt":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def remove_quietly(path: Path) -> bool:
    """Delete a file; ``True`` if it is gone, ``False`` if the OS refused (held open)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return True
    except PermissionError:
        return False
    return True
