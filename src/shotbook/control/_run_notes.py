"""Run notes: the end of a run kept on disk when the store could not take it (a full disk).

When a run starts, its manager writes a note of :data:`NOTE_SIZE` bytes beside the store
(``run-notes/<digest>.run-note``, see :class:`~shotbook.session.LocalStoreFolder`): written
while the disk still has room, so its blocks are allocated. When the run ends and its final
state cannot be written to the store (the disk is full), the reason is written *over* those
bytes, which needs no new space on an ordinary filesystem, and the manager keeps retrying
the store. Once the store takes the state the note is deleted; if the manager is gone first,
the next manager finds the note at start-up and stores the reason with the CRASHED state.
The note is deleted once the run's end is stored *and* its final compaction is over: a note
left by a process that is gone also tells the next manager that the run's shot folder (named
in the note) has no live writer, so the temporary files a kill left there can be removed.

A note holds JSON padded with spaces: the sequence path, the owner (host, pid, user), and
once the run ended the reason. Nothing in a note is ever executed; an unreadable note is
ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from shotbook.session import LocalStoreFolder, RunOwner, StorageManager

_log = logging.getLogger("shotbook.control")

NOTE_SIZE: Final = 32 * 1024
"""Bytes of a run note, allocated when the run starts (a longer reason is shortened)."""
_SUFFIX: Final = ".run-note"
_FORMAT: Final = "shotbook-run-note"
_BINARY: Final = getattr(os, "O_BINARY", 0)


@dataclass(frozen=True)
class NoteContent:
    """What a run note says: whose run of which sequence, and why it ended (once it did)."""

    file: Path
    path: str
    owner: RunOwner
    reason: str | None
    written: str | None
    folder: Path | None


def notes_folder(storage_manager: StorageManager) -> Path | None:
    """Where the store keeps run notes, or ``None`` for a store on a server (PostgreSQL)."""
    if isinstance(storage_manager, LocalStoreFolder):
        return storage_manager.run_notes_folder()
    return None


def _encode(document: dict[str, Any]) -> bytes:
    """The note's bytes, exactly :data:`NOTE_SIZE` long (the reason shortened to fit)."""
    reason = document.get("reason")
    while True:
        data = json.dumps(document, ensure_ascii=True).encode("ascii")
        if len(data) <= NOTE_SIZE:
            return data + b" " * (NOTE_SIZE - len(data))
        assert isinstance(reason, str), "a note without a reason always fits"
        keep = max(0, len(reason) - (len(data) - NOTE_SIZE) - 64)
        head = keep // 3
        reason = f"{reason[:head]}\n[... shortened ...]\n{reason[len(reason) - (keep - head) :]}"
        document = {**document, "reason": reason}


class RunNote:
    """The note of one run: created when it starts, overwritten in place, deleted at the end."""

    def __init__(self, file: Path, path: str, owner: RunOwner) -> None:
        self.file = file
        self.path = path
        self.owner = owner
        self.folder: Path | None = None
        self.reason: str | None = None

    @classmethod
    def create(cls, folder: Path, path: str, owner: RunOwner) -> RunNote:
        """Write the note of a run starting now (:data:`NOTE_SIZE` bytes, flushed)."""
        digest = hashlib.sha256(f"{owner.host}\0{owner.pid}\0{path}".encode()).hexdigest()[:24]
        note = cls(folder / f"{digest}{_SUFFIX}", path, owner)
        folder.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY
        note._write(flags, None)
        return note

    def record(self, reason: str) -> None:
        """Write the reason over the note's allocated bytes (no new space needed)."""
        self.reason = reason
        self._write(os.O_WRONLY | _BINARY, reason)

    def record_folder(self, folder: Path) -> None:
        """Write the run's shot folder into the note (in place)."""
        self.folder = folder
        self._write(os.O_WRONLY | _BINARY, self.reason)

    def _write(self, flags: int, reason: str | None) -> None:
        document = {
            "format": _FORMAT,
            "path": self.path,
            "host": self.owner.host,
            "pid": self.owner.pid,
            "user": self.owner.user,
            "written": None if reason is None else datetime.now(UTC).isoformat(),
            "reason": reason,
            "folder": None if self.folder is None else str(self.folder),
        }
        data = memoryview(_encode(document))
        descriptor = os.open(self.file, flags)
        try:
            while data:
                data = data[os.write(descriptor, data) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def discard(self) -> None:
        """Delete the note (the store has the run's end)."""
        with contextlib.suppress(FileNotFoundError):
            self.file.unlink()


def create_note(storage_manager: StorageManager, path: str, owner: RunOwner) -> RunNote | None:
    """The note of a run starting now, or ``None`` (a server store, or it could not be written:
    then a failed end is only retried from memory)."""
    folder = notes_folder(storage_manager)
    if folder is None:
        return None
    try:
        return RunNote.create(folder, path, owner)
    except OSError as error:
        _log.warning("%s: could not write its run note in %s: %s", path, folder, error)
        return None


def read_notes(folder: Path | None) -> list[NoteContent]:
    """The readable notes in ``folder`` (none when it is missing)."""
    if folder is None:
        return []
    try:
        files = sorted(folder.glob(f"*{_SUFFIX}"))
    except OSError:
        return []
    notes = []
    for file in files:
        try:
            document = json.loads(file.read_bytes().rstrip(b" \0"))
            if not isinstance(document, dict) or document.get("format") != _FORMAT:
                continue
            reason = document.get("reason")
            written = document.get("written")
            folder = document.get("folder")
            notes.append(
                NoteContent(
                    file,
                    str(document["path"]),
                    RunOwner(str(document["host"]), int(document["pid"]), str(document["user"])),
                    reason if isinstance(reason, str) else None,
                    written if isinstance(written, str) else None,
                    Path(folder) if isinstance(folder, str) and folder else None,
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written, or not a note: never acted upon
    return notes


__all__ = ["NOTE_SIZE", "NoteContent", "RunNote", "create_note", "notes_folder", "read_notes"]
