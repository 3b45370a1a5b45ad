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

from shotbook.session import RunOwner, StorageManager

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

    Sequences in ``keep`` and those run by managers of this process are left alone.
    """
    marked: list[str] = []
    keep_set = set(keep) | running_in_process()
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
            message = (
                f"{text} was marked CRASHED by the experiment manager pid {os.getpid()} on "
                f"{socket.gethostname()} at {datetime.now(UTC).isoformat()}: {reason}; "
                "the shots stored before are kept"
            )
            try:
                session.sequences.crash(path, message)
            except Exception as error:  # another manager changed it meanwhile
                _log.warning("could not mark %s CRASHED: %s", text, error)
                continue
            _log.warning("%s", message)
            marked.append(text)
    return marked


__all__ = [
    "claim_in_process",
    "mark_abandoned_sequences",
    "owner_gone_reason",
    "pid_alive",
    "release_in_process",
    "running_in_process",
]
