"""One owner per run: find the running sequences whose owner is gone, and mark them CRASHED.

A running sequence records its manager's host and pid, and a heartbeat. At start-up a
manager marks CRASHED only the sequences whose owner is gone: on this host, when the
process is dead or silent for longer than ``stale_after``; on another host, when the
heartbeat is older than ``stale_after``. Sequences run by a manager of this very process
are left alone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from shotbook.session import ExperimentSession, RunOwner, ShotFolders, StorageManager

from ._run_notes import NoteContent, notes_folder, read_notes

_log = logging.getLogger("shotbook.control")

_ACTIVE_LOCK = threading.Lock()
_ACTIVE_IN_PROCESS: set[str] = set()


def claim_in_process(path: str) -> None:
    """Record that a manager of this process runs ``path``."""
    with _ACTIVE_LOCK:
        _ACTIVE_IN_PROCESS.add(path)


def release_in_process(path: str) -> None:
    """Forget :func:`claim_in_process`."""
    with _ACTIVE_LOCK:
        _ACTIVE_IN_PROCESS.discard(path)


def running_in_process() -> set[str]:
    """The paths run by managers of this process."""
    with _ACTIVE_LOCK:
        return set(_ACTIVE_IN_PROCESS)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this computer (Windows and POSIX)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only (never used on Windows)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    process_query_limited_information = 0x1000
    still_active = 259
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return False
        return bool(code.value == still_active)
    finally:
        kernel32.CloseHandle(handle)


def owner_gone_reason(
    owner: RunOwner | None,
    last_heartbeat: datetime | None,
    stale_after: float,
    now: datetime | None = None,
) -> str | None:
    """Why the owner of a running sequence is gone, or ``None`` if it may still be running."""
    now = now or datetime.now(UTC)
    age = None if last_heartbeat is None else (now - last_heartbeat).total_seconds()
    if owner is None:
        return "it has no recorded owner"
    same_host = owner.host == socket.gethostname()
    if same_host and not pid_alive(int(owner.pid)):
        return f"its owner {owner} is no longer running"
    if same_host and int(owner.pid) == os.getpid():
        return None  # checked by the caller against this process's own runs
    if age is not None and age > stale_after:
        return f"its owner {owner} sent no heartbeat for {age:.0f} s (limit {stale_after:g} s)"
    return None


def mark_abandoned_sequences(
    storage_manager: StorageManager, stale_after: float, keep: Iterable[str] = ()
) -> list[str]:
    """Mark CRASHED the running sequences whose owner is gone; return their paths.

    Sequences in ``keep`` and those run by managers of this process are left alone. The
    reason a run ended, kept in a run note when the store could not take it then (a full
    disk), is stored with the state. The temporary files of the runs marked here are removed
    when their owner was a process of this computer (no writer of theirs is alive).
    """
    marked: list[str] = []
    keep_set = set(keep) | running_in_process()
    notes = read_notes(notes_folder(storage_manager))
    with storage_manager.session() as session:
        running = session.sequences.running_sequences()
        for path, owner, heartbeat in running:
            text = str(path)
            if text in keep_set:
                continue
            if owner is not None and owner.host == socket.gethostname():
                if int(owner.pid) == os.getpid():
                    reason: str | None = "the manager of this process that ran it is gone"
                else:
                    reason = owner_gone_reason(owner, heartbeat, stale_after)
            else:
                reason = owner_gone_reason(owner, heartbeat, stale_after)
            if reason is None:
                continue
            note = _note_of(notes, text, owner)
            message = (
                f"{text} was marked CRASHED by the experiment manager pid {os.getpid()} on "
                f"{socket.gethostname()} at {datetime.now(UTC).isoformat()}: {reason}; "
                "the shots stored before are kept"
            )
            if note is not None:
                message = (
                    f"{note.reason}\n\n{message}. The run ended with the error above at "
                    f"{note.written}; the store could not take it then (kept in {note.file})"
                )
            try:
                session.sequences.crash(path, message)
            except Exception as error:  # another manager changed it meanwhile
                _log.warning("could not mark %s CRASHED: %s", text, error)
                continue
            _log.warning("%s", message)
            marked.append(text)
            if note is not None:
                _discard(note)
            if owner is not None and owner.host == socket.gethostname():
                _sweep_shot_folder(session, text)
        running_paths = {str(path) for path, _, _ in session.sequences.running_sequences()}
    for note in notes:  # runs no longer running whose process is gone (killed after its end)
        if note.path not in running_paths and _gone(note.owner):
            if note.folder is not None:
                _sweep_folder(note.folder, note.path)  # its final compaction was cut off
            _discard(note)
    return marked


def _note_of(notes: list[NoteContent], path: str, owner: RunOwner | None) -> NoteContent | None:
    """The note with the reason of this run's end, if its owner left one."""
    for note in notes:
        if note.path != path or note.reason is None:
            continue
        if owner is None or (note.owner.host, note.owner.pid) == (owner.host, int(owner.pid)):
            return note
    return None


def _gone(owner: RunOwner) -> bool:
    """Whether the process is known to be gone (on this computer, and not alive)."""
    if owner.host != socket.gethostname():
        return False
    return owner.pid != os.getpid() and not pid_alive(owner.pid)


def _discard(note: NoteContent) -> None:
    try:
        note.file.unlink(missing_ok=True)
    except OSError as error:
        _log.warning("could not delete the run note %s: %s", note.file, error)


def _sweep_shot_folder(session: ExperimentSession, path: str) -> None:
    """Remove what the dead writer of ``path`` left: temporary files (half-written parts)."""
    if not isinstance(session, ShotFolders):
        return
    try:
        folder = session.shot_folder(path)
    except Exception as error:
        _log.warning("could not find the shot folder of %s: %s", path, error)
        return
    _sweep_folder(folder, path)


def _sweep_folder(folder: Path, path: str) -> None:
    """Sweep a shot folder whose writer is gone (refused while one of this process has it)."""
    from shotbook.session import ParquetShotStore

    try:
        if folder.is_dir():
            ParquetShotStore(folder).sweep()
    except Exception as error:
        _log.warning("could not remove the temporary files of %s in %s: %s", path, folder, error)


__all__ = [
    "claim_in_process",
    "mark_abandoned_sequences",
    "owner_gone_reason",
    "pid_alive",
    "release_in_process",
    "running_in_process",
]
