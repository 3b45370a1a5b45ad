"""The sequences browser: the folder tree with each sequence's state, progress and run."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import anywidget
import traitlets

from shotbook.session import SequenceStats

from ._commands import command_of_message, dispatch_command
from ._front_end import front_end_module

_HERE = pathlib.Path(__file__).parent

ACTIONS = (
    "select",
    "new_folder",
    "new_sequence",
    "rename",
    "duplicate",
    "delete",
    "reset",
    "set_notes",
    "confirm",
    "cancel",
    "refresh",
)
"""What the browser's front end may ask, in ``command["action"]``."""

MAX_ROW_UPDATES = 200
"""Changed rows sent alone at most; beyond, the whole list is sent again."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def sequence_row(stats: SequenceStats) -> dict[str, Any]:
    """The browser's row for one sequence (plain JSON data)."""
    duration = None
    if stats.start_time is not None and stats.stop_time is not None:
        duration = round((stats.stop_time - stats.start_time).total_seconds(), 3)
    return {
        "path": str(stats.path),
        "kind": "sequence",
        "state": stats.state.value,
        "shots": stats.number_of_shots,
        "expected": stats.expected_number_of_shots,
        "duration": duration,
        "started": _iso(stats.start_time),
        "ran_by": stats.ran_by or (stats.owner.user if stats.owner is not None else None),
        "host": stats.host,
        "created": _iso(stats.created),
    }


def folder_row(path: str) -> dict[str, Any]:
    """The browser's row for one folder."""
    return {
        "path": path,
        "kind": "folder",
        "state": None,
        "shots": None,
        "expected": None,
        "duration": None,
        "started": None,
        "ran_by": None,
        "host": None,
        "created": None,
    }


def build_rows(stats: Iterable[SequenceStats], folders: Iterable[str]) -> list[dict[str, Any]]:
    """Rows for the browser, folders and sequences together, sorted by path."""
    rows = [sequence_row(s) for s in stats]
    rows.extend(folder_row(path) for path in folders)
    rows.sort(key=lambda row: row["path"])
    return rows


class SequenceBrowser(anywidget.AnyWidget):
    """The folder tree of the store with each sequence's state, shots, duration and runner.

    The front end writes ``command`` (``{"id": n, "action": ..., "path": ...}``, see
    :data:`ACTIONS`); the owner of the browser (the panel) performs it and answers in
    ``status`` (``{"id": n, "ok": bool, "message": str}``). Deleting and resetting to draft
    first put the question in ``confirm``; a ``"confirm"`` command carries it out.

    >>> browser = SequenceBrowser()
    >>> asked = []
    >>> browser.on_command(asked.append)
    >>> browser.command = {"id": 1, "action": "new_folder", "path": "/calibrations"}
    >>> asked[0]["action"]
    'new_folder'
    """

    _esm = front_end_module(_HERE / "_browser.js")
    _css = _HERE / "_panel.css"

    rows: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)  # not validated
    row_updates = traitlets.Dict().tag(sync=True)
    """The rows changed since ``rows`` was sent, by path (``None``: removed); see
    :meth:`show_rows`."""
    selected = traitlets.Unicode("").tag(sync=True)
    notes = traitlets.Unicode("").tag(sync=True)
    history = traitlets.Unicode("").tag(sync=True)  # the selected sequence's audit log, read-only
    command = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    confirm = traitlets.Dict().tag(sync=True)
    running = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Callable[[dict[str, Any]], None]] = []
        self.on_msg(self._custom_message)

    def on_command(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """Call ``handler(command)`` for each command written by the front end."""
        self._handlers.append(handler)

    @traitlets.observe("command")
    def _command_changed(self, change: dict[str, Any]) -> None:
        dispatch_command(self, dict(change["new"] or {}), ACTIONS, self._handlers)

    def _custom_message(self, _: Any, content: Any, buffers: Any) -> None:
        command = command_of_message(content)
        if command is not None:
            dispatch_command(self, command, ACTIONS, self._handlers)

    def show_rows(self, rows: Mapping[str, dict[str, Any]], changed: Iterable[str]) -> None:
        """Show ``rows`` (by path), of which only the paths ``changed`` differ from those shown.

        Few changes travel alone, in ``row_updates`` (a running sequence's shot count must
        not resend ten thousand rows); many, or a growing pile of them, resend ``rows``.
        """
        updates = dict(self.row_updates)
        for path in changed:
            row = rows.get(path)
            updates[path] = None if row is None else dict(row)
        if not updates:
            return
        if len(updates) > MAX_ROW_UPDATES or not self.rows:
            with self.hold_sync():
                self.rows = [rows[path] for path in sorted(rows)]
                self.row_updates = {}
        else:
            self.row_updates = updates

    def current_rows(self) -> list[dict[str, Any]]:
        """The rows shown, sorted by path: ``rows`` with ``row_updates`` applied."""
        updates = self.row_updates
        rows = [row for row in self.rows if row["path"] not in updates]
        rows.extend(row for row in updates.values() if row is not None)
        rows.sort(key=lambda row: row["path"])
        return rows

    def row(self, path: str) -> dict[str, Any] | None:
        """The row shown for ``path``, or ``None``."""
        if path in self.row_updates:
            updated = self.row_updates[path]
            return None if updated is None else dict(updated)
        for row in self.rows:
            if row["path"] == path:
                return dict(row)
        return None


__all__ = [
    "ACTIONS",
    "MAX_ROW_UPDATES",
    "SequenceBrowser",
    "build_rows",
    "folder_row",
    "sequence_row",
]
