"""The panel's tree of the store: the sequence list, and the browser's commands on it.

:class:`StoreListing` reads the store's list (on any thread) and applies it to the
browser (on the panel's worker), remembering what it saw to tell which runs started or
ended since. :class:`TreeCommands` performs the browser's commands: create, rename,
duplicate, notes, and delete / reset to draft once confirmed.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shotbook.session import (
    ChangeCounting,
    RunOwner,
    SequenceStats,
    State,
    StorageError,
    StorageManager,
)
from shotbook.types import ExecuteShot, StepsConfiguration, TimeLanes
from shotbook.types._paths import PureSequencePath

from ._browser import SequenceBrowser, folder_row, sequence_row
from ._commands import answer_command

FULL_READ_EVERY = 60.0
"""Seconds between two full reads of the store's list when its change count says nothing
changed (a safety net for writers that keep no change log, e.g. an older shotbook)."""


@dataclass(frozen=True)
class Listing:
    """What one read of the store found."""

    stats: list[SequenceStats]
    """The sequences read: all of them, or (``paths`` is ``None``) only the active ones."""
    paths: set[PureSequencePath] | None
    """All the store's paths (folders and sequences); ``None`` when only ``stats`` was read."""
    count: int | None
    """The store's change count when read (``None``: it keeps none)."""


def _default_sequence() -> tuple[StepsConfiguration, TimeLanes]:
    return StepsConfiguration([ExecuteShot()]), TimeLanes(["step 1"], ["10 ms"])


class StoreListing:
    """The sequences of the store as last read, shown as the browser's rows.

    A read costs one query when nothing changed: the store's change count, then the stats
    of the sequences running (their shot counts). Only when the count moved is the whole
    list read; only the rows that differ are sent to the browser.

    Every listing has a generation: a listing read on the poller thread is applied only if
    no newer one was read since (:meth:`generation`, :meth:`begin_read`).
    """

    def __init__(self, storage_manager: StorageManager, browser: SequenceBrowser) -> None:
        self._storage_manager = storage_manager
        self._browser = browser
        self._stats: dict[str, SequenceStats] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self._folders: list[str] = []
        self._active: set[str] = set()
        # each sequence's state at the previous listing (None before the first)
        self._previous_states: dict[str, State] | None = None
        self._generation = 0
        self._count: int | None = None
        self._next_full = 0.0

    @property
    def generation(self) -> int:
        """Bumped by :meth:`begin_read` on the worker."""
        return self._generation

    @property
    def stats(self) -> Mapping[str, SequenceStats]:
        """Each sequence's stats by path, as last read."""
        return self._stats

    @property
    def active(self) -> frozenset[str]:
        """The sequences preparing or running (as last read or told by events)."""
        return frozenset(self._active)

    def mark_active(self, path: str, active: bool) -> None:
        """An event said ``path`` started (``active``) or ended."""
        if active:
            self._active.add(path)
        else:
            self._active.discard(path)

    def begin_read(self) -> None:
        """A read on the worker supersedes the listings being read by the poller."""
        self._generation += 1

    def read(self, *, full: bool = False) -> Listing:
        """What changed in the store since the last listing applied (on any thread).

        One query (the change count) and the active sequences' stats when the count did not
        move; else (or with ``full``) every sequence and path, in one transaction.
        """
        active = sorted(self._active)
        known = self._count
        recent = known is not None and time.monotonic() < self._next_full
        with self._storage_manager.session() as session:
            counter = session if isinstance(session, ChangeCounting) else None
            if not full and counter is not None and recent:
                count = counter.change_count()
                if count == known:
                    try:
                        stats = [session.sequences.get_stats(path) for path in active]
                    except StorageError:  # gone since: the count will say so, read it all
                        pass
                    else:
                        return Listing(stats, None, count)
            with session.transaction():
                count = counter.change_count() if counter is not None else None
                return Listing(session.sequences.list(), session.paths.all_paths(), count)

    def apply(self, listing: Listing, watched: str) -> str | None:
        """Show ``listing``; return a sequence to watch instead of ``watched``, if any.

        That is a sequence that became active (when ``watched`` is not active), or else one
        that ran to its end since the previous listing.
        """
        old_stats, old_rows = self._stats, self._rows
        if listing.paths is None:  # the active sequences only
            by_path = dict(old_stats)
            rows = dict(old_rows)
            read = {str(s.path): s for s in listing.stats}
            by_path.update(read)
        else:
            by_path = {str(s.path): s for s in listing.stats}
            read = by_path
            self._folders = sorted(str(p) for p in listing.paths if str(p) not in by_path)
            rows = {path: folder_row(path) for path in self._folders}
            self._next_full = time.monotonic() + FULL_READ_EVERY
        for path, stats in read.items():
            same = old_stats.get(path) == stats and path in old_rows
            rows[path] = old_rows[path] if same else sequence_row(stats)
        changed = [p for p, row in rows.items() if old_rows.get(p) is not row]
        changed.extend(p for p in old_rows if p not in rows)
        self._stats, self._rows, self._count = by_path, rows, listing.count
        self._browser.show_rows(rows, [p for p in changed if old_rows.get(p) != rows.get(p)])
        if listing.paths is None:
            active = {p for p in self._active if p in by_path and by_path[p].state.is_active()}
            active.update(p for p, s in read.items() if s.state.is_active())
        else:
            active = {path for path, s in by_path.items() if s.state.is_active()}
        newly_active = sorted(active - self._active)
        self._active = active
        switch: str | None = None
        if newly_active and watched not in active:
            switch = newly_active[0]
        elif watched not in active:
            switch = self._ran_between_listings(read)
        if self._previous_states is None or listing.paths is not None:
            self._previous_states = {path: s.state for path, s in by_path.items()}
        else:
            self._previous_states.update((path, s.state) for path, s in read.items())
        return switch

    def _ran_between_listings(self, read: dict[str, SequenceStats]) -> str | None:
        """The latest sequence read that was a draft at the previous listing and has run to
        its end since (a short run started elsewhere can start and end between two polls)."""
        previous = self._previous_states
        if previous is None:
            return None
        ran = [
            s
            for path, s in read.items()
            if s.start_time is not None
            and not s.state.is_active()
            and s.state is not State.DRAFT
            and previous.get(path, State.DRAFT) is State.DRAFT
        ]
        if not ran:
            return None
        return str(max(ran, key=lambda s: s.start_time or s.created).path)

    def own_run_active(self) -> bool:
        """Whether a sequence of the listing is run by this process."""
        me = RunOwner.current()
        active = (self._stats[p] for p in self._active if p in self._stats)
        return any(
            s.state.is_active()
            and s.owner is not None
            and (s.owner.host, s.owner.pid) == (me.host, me.pid)
            for s in active
        )

    def latest_sequence(self) -> str | None:
        """The sequence started last, or ``None`` if none was."""
        started = [s for s in self._stats.values() if s.start_time is not None]
        if started:
            return str(max(started, key=lambda s: s.start_time or s.created).path)
        return None

    def show_notes(self, path: str) -> None:
        """Show the notes of sequence ``path`` and its audit log (who deleted, reset, renamed
        or interrupted it) in the browser (none for a folder or ``""``)."""
        notes = history = ""
        if path and path in self._stats:
            with self._storage_manager.session() as session:
                notes = session.sequences.get_notes(path)
                history = "\n".join(str(entry) for entry in session.audit_log(path))
        self._browser.notes = notes
        self._browser.history = history


@dataclass(frozen=True)
class TreeCallbacks:
    """What the browser's commands need from the rest of the panel."""

    refresh: Callable[[], None]
    """Read the store's list now and show it."""
    select: Callable[[str], None]
    """Watch this sequence (``""``: none), from scratch."""
    watched: Callable[[], str]
    """The sequence watched now."""
    forget_failure: Callable[[str], None]
    """Drop the failure remembered for a sequence (it was deleted or reset)."""


class TreeCommands:
    """Performs the browser's commands and answers them in its ``status``."""

    def __init__(
        self,
        storage_manager: StorageManager,
        browser: SequenceBrowser,
        listing: StoreListing,
        callbacks: TreeCallbacks,
    ) -> None:
        self._storage_manager = storage_manager
        self._browser = browser
        self._listing = listing
        self._host = callbacks
        self._confirm_tokens = itertools.count(1)
        self._pending_confirm: dict[str, Any] = {}

    def command(self, command: Mapping[str, Any]) -> None:
        """Perform ``command``; answer failures (and results worth a message)."""
        try:
            message = self._perform(command)
        except Exception as error:
            answer_command(self._browser, command, False, str(error))
            self._host.refresh()
            return
        if message is not None:
            answer_command(self._browser, command, True, message)

    def _perform(self, command: Mapping[str, Any]) -> str | None:
        action = command["action"]
        path = str(command.get("path") or "").strip()
        if action == "select":
            self._host.select(str(PureSequencePath(path)) if path else "")
            return None
        if action == "refresh":
            self._host.refresh()
            return "store read again"
        if action == "cancel":
            self._pending_confirm = {}
            self._browser.confirm = {}
            return "cancelled"
        if action == "confirm":
            return self._confirmed(command)
        if not path:
            raise ValueError(f"{action}: give a path (e.g. /folder/name) in the path box")
        target = PureSequencePath(path.rstrip("/") or "/")
        if action in ("delete", "reset"):
            return self._ask(action, target)
        watched = self._host.watched()  # before the refresh, which drops a path gone
        done = self._edit(action, target, command)
        self._host.refresh()
        if action == "rename":
            followed = _moved(watched, str(target), str(command.get("destination")))
            if followed:  # the watched sequence (or its folder) moved: follow it
                self._host.select(followed)
        return done

    def _edit(self, action: str, target: PureSequencePath, command: Mapping[str, Any]) -> str:
        with self._storage_manager.session() as session:
            if action == "new_folder":
                session.paths.create(target)
                return f"created folder {target}"
            if action == "new_sequence":
                iteration, lanes = _default_sequence()
                session.sequences.create(target, iteration, lanes)
                return f"created draft sequence {target}"
            if action in ("rename", "duplicate"):
                destination = str(command.get("destination") or "").strip().rstrip("/")
                if not destination:
                    raise ValueError(f"{action}: give the new path in the path box")
                new = PureSequencePath(destination)
                if action == "rename":
                    session.paths.move(target, new)
                    return f"moved {target} to {new}"
                session.sequences.duplicate(target, new)
                return f"duplicated {target} as {new}"
            if action == "set_notes":
                session.sequences.set_notes(target, str(command.get("notes") or ""))
                return f"notes of {target} saved"
        raise ValueError(f"unknown action {action!r}")  # pragma: no cover - checked by ACTIONS

    def _ask(self, action: str, target: PureSequencePath) -> str:
        stats = self._listing.stats.get(str(target))
        if action == "delete":
            if stats is not None:
                what = f"sequence {target} and its {stats.number_of_shots} shots"
            else:
                inside = [p for p in self._listing.stats if p.startswith(f"{target}/")]
                what = f"folder {target}" + (
                    f" with its {len(inside)} sequence{'s' if len(inside) != 1 else ''}"
                    if inside
                    else ""
                )
            message = f"Delete {what}? This cannot be undone."
        else:
            if stats is None:
                raise ValueError(f"{target} is not a sequence: only sequences can be reset")
            message = f"Reset {target} to draft? Its {stats.number_of_shots} shots will be deleted."
        token = next(self._confirm_tokens)
        self._pending_confirm = {"token": token, "action": action, "path": str(target)}
        self._browser.confirm = {**self._pending_confirm, "message": message}
        return "waiting for confirmation"

    def _confirmed(self, command: Mapping[str, Any]) -> str:
        pending = self._pending_confirm
        if not pending:
            raise ValueError("nothing to confirm")
        token = command.get("token")
        if token is not None and token != pending["token"]:
            raise ValueError("this confirmation is out of date; ask again")
        self._pending_confirm = {}
        self._browser.confirm = {}
        path = pending["path"]
        with self._storage_manager.session() as session:
            if pending["action"] == "delete":
                session.paths.delete(path, delete_sequences=True)
                done = f"deleted {path}"
            else:
                session.sequences.reset_to_draft(path)
                done = f"{path} reset to draft"
        self._host.forget_failure(path)
        self._host.refresh()
        watched = self._host.watched()
        if watched == path or watched.startswith(f"{path}/"):
            self._host.select(path if pending["action"] == "reset" else "")
        return done


def _moved(watched: str, source: str, destination: str) -> str | None:
    """Where ``watched`` is after ``source`` moved to ``destination`` (``None``: not moved).

    >>> _moved("/scans/tof", "/scans", "/old")
    '/old/tof'
    """
    if not watched or not (watched == source or watched.startswith(source.rstrip("/") + "/")):
        return None
    new = str(PureSequencePath(destination.strip().rstrip("/")))
    return new + watched[len(source.rstrip("/")) :]


__all__ = ["Listing", "StoreListing", "TreeCallbacks", "TreeCommands"]
