"""The editors of one sequence, built from an experiment and linked together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shotbook.types import PureSequencePath

from ._devices_editor import DeviceConfigurationsEditor
from ._document import EditHistory
from ._globals_editor import GlobalsEditor
from ._lanes_editor import TimeLanesEditor
from ._preview import TimelinePreview
from ._scan_editor import ScanEditor


@dataclass
class SequenceEditors:
    """The scan, lanes, globals and devices editors and the preview of one sequence.

    An edit in any of them refreshes the others' checks and the preview.

    >>> editors = SequenceEditors.from_experiment(experiment, "/scans/tof")   # doctest: +SKIP
    >>> editors.lanes.problems                                                # doctest: +SKIP
    []
    """

    scan: ScanEditor
    lanes: TimeLanesEditor
    globals: GlobalsEditor
    devices: DeviceConfigurationsEditor
    preview: TimelinePreview
    _listener: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)
    _watchers: list[Callable[[SequenceEditors], None]] = field(
        default_factory=list, repr=False, compare=False
    )

    @classmethod
    def from_experiment(
        cls,
        experiment: Any,
        path: str | PureSequencePath,
        *,
        globals_editor: GlobalsEditor | None = None,
        devices_editor: DeviceConfigurationsEditor | None = None,
    ) -> SequenceEditors:
        """Every editor of ``path``, with the experiment's store and extensions, linked.

        ``globals_editor`` / ``devices_editor`` share editors the caller already shows (the
        panel's Globals and Devices tabs): their edits then refresh this sequence's checks.
        """
        editors = cls(
            scan=ScanEditor.from_experiment(experiment, path),
            lanes=TimeLanesEditor.from_experiment(experiment, path),
            globals=(
                GlobalsEditor.from_experiment(experiment)
                if globals_editor is None
                else globals_editor
            ),
            devices=(
                DeviceConfigurationsEditor.from_experiment(experiment)
                if devices_editor is None
                else devices_editor
            ),
            preview=TimelinePreview.from_experiment(experiment, path),
        )
        editors.link()
        return editors

    @property
    def path(self) -> str:
        """The sequence edited."""
        return self.lanes.path

    def link(self) -> None:
        """Refresh the lanes' checks, the scan's shot count and the preview after any edit."""
        if self._listener is not None:
            return

        def changed(source: Any) -> None:
            for editor in (self.scan, self.lanes):
                if editor is not source:
                    editor.resync()
            self.preview.refresh()
            for watcher in list(self._watchers):
                watcher(self)

        self._listener = changed
        for editor in (self.scan, self.lanes, self.globals, self.devices):
            editor.on_change(changed)
        history = EditHistory()  # one undo history for the sequence: scan and lanes
        self.scan.share_history(history)
        self.lanes.share_history(history)

    def unlink(self) -> None:
        """Stop listening to the editors (shared globals and devices editors outlive these)."""
        if self._listener is not None:
            for editor in (self.scan, self.lanes, self.globals, self.devices):
                editor.off_change(self._listener)
            self._listener = None
        self._watchers.clear()

    def on_change(self, watcher: Callable[[SequenceEditors], None]) -> None:
        """Call ``watcher(editors)`` after any edit in any of them (checks refreshed)."""
        self._watchers.append(watcher)

    @property
    def problems(self) -> list[dict[str, Any]]:
        """Everything that stops the sequence from running (empty: it can be launched)."""
        return [
            *self.scan.problems,
            *self.lanes.problems,
            *self.globals.problems,
            *self.devices.problems,
        ]

    def start_blockers(self) -> list[str]:
        """Why the sequence must not be launched now, one line per reason (empty: it can).

        The problems the editors report, text typed in a cell or field of the sequence that
        was refused (not saved: launching would run something else than what is shown), and
        the error of the preview's shot (a value-dependent error the static checks miss).
        """
        lines = [
            f"not saved: {where}: {text!r}: {message}" for where, text, message in self._unsaved()
        ]
        for name, editor in (
            ("scan", self.scan),
            ("time lanes", self.lanes),
            ("globals", self.globals),
            ("devices", self.devices),
        ):
            lines.extend(
                f"{name}: {problem.get('message', problem)}" for problem in editor.problems
            )
        error = self.preview.error
        # with other problems, the preview's error is most often one of them in other words
        if error and not lines and not error.startswith(_PREVIEW_NOT_BLOCKING):
            lines.append(f"preview of shot {self.preview.shot}: {error}")
        return lines

    def _unsaved(self) -> list[tuple[str, str, str]]:
        found = []
        for editor in (self.scan, self.lanes, self.globals, self.devices):
            for key, entry in editor.invalid.items():
                where = _where(editor, key)
                if where is not None:
                    found.append((where, str(entry.get("text", "")), str(entry.get("message", ""))))
        return found


_PREVIEW_NOT_BLOCKING = ("the scan has no shot", "the scan cannot run")
"""Preview errors that are not blockers of their own: a shot number past the end, and the
scan's own problems (already listed)."""


def link_histories(*editors: Any) -> EditHistory:
    """One undo history for ``editors`` (e.g. the globals and the devices editors): Undo in
    any of them undoes the newest edit of any, and the others show it at once."""
    history = EditHistory()
    for editor in editors:
        editor.share_history(history)

    def changed(source: Any) -> None:
        for editor in editors:
            if editor is not source:
                editor.resync()

    for editor in editors:
        editor.on_change(changed)
    return history


def _where(editor: Any, key: str) -> str | None:
    """Where an ``invalid`` key is, as a person reads it; ``None`` for the editors' tools
    (a new lane's name, the range bar...) which are not part of the sequence."""
    if isinstance(editor, TimeLanesEditor):
        kind, _, rest = key.partition("/")
        if kind == "cell":
            lane, _, start = rest.rpartition("/")
            return f"lane {lane!r}, step {int(start) + 1}" if start.isdigit() else None
        if kind == "duration" and rest.isdigit():
            return f"duration of step {int(rest) + 1}"
        return None
    if isinstance(editor, ScanEditor):
        step, _, name = key.partition("/")
        return f"scan step {step}, {name}"
    if isinstance(editor, GlobalsEditor):
        action, _, name = key.partition("/")
        return f"global {name}" if action == "set_expression" else None
    if key in ("add_device", "rename_device"):
        return None
    return f"device {key.replace('/', ', ')}"


__all__ = ["SequenceEditors", "link_histories"]
