"""The whole in-notebook Condetrol: the run panel and the editors, as tabs."""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import ipywidgets

from ._panel import ExperimentPanel
from ._panel_snapshot import display_bundle

_log = logging.getLogger(__name__)

TAB_TITLES = ("Sequences", "Edit sequence", "Globals", "Devices")


class ExperimentView:
    """Tabs for one experiment: sequences (browse, run, watch), the selected sequence's
    editors (scan, time lanes, timeline preview), globals and device configurations.

    ``experiment`` is anything with the ``Experiment`` facade's methods
    (``get_storage_manager``, ``connect_to_experiment_manager``, extensions...). Selecting a
    sequence in the browser opens its editors in the second tab. While those editors report
    problems (or hold refused text), Start is disabled and the run control says why
    (``panel.run_control.start_blocked``).

    >>> view = ExperimentView(experiment)        # doctest: +SKIP
    >>> view                                     # doctest: +SKIP
    """

    def __init__(self, experiment: Any, **panel_options: Any) -> None:
        from .editors import DeviceConfigurationsEditor, GlobalsEditor, link_histories

        self.experiment = experiment
        self._blocked_lock = threading.Lock()  # the panel's worker and the kernel both update
        self.panel = ExperimentPanel(
            experiment.get_storage_manager(),
            experiment.connect_to_experiment_manager,
            **panel_options,
        )
        if _runs_remotely(experiment):
            # Runs through an experiment server belong to the server's process: subscribe now
            # so the panel follows them by their events, not only by reading the store.
            self.panel.connect_in_background()
        self.editors: Any = None
        self._editing = ipywidgets.VBox(
            [ipywidgets.HTML("<i>select a sequence in the Sequences tab to edit it</i>")]
        )
        self.globals_editor = GlobalsEditor.from_experiment(experiment)
        self.devices_editor = DeviceConfigurationsEditor.from_experiment(experiment)
        link_histories(self.globals_editor, self.devices_editor)
        self.widget = ipywidgets.Tab(
            children=[self.panel.widget, self._editing, self.globals_editor, self.devices_editor]
        )
        self.widget.titles = TAB_TITLES
        self.widget.add_class("shotbook-view")
        self.panel.browser.observe(self._selected, names="selected")
        self.panel.run_control.observe(self._update_start_blocked, names="path")
        self.panel.run_control.observe(self._state_changed, names="state")
        if self.panel.browser.selected:
            self.edit(self.panel.browser.selected)

    def edit(self, path: str) -> None:
        """Open the editors of the sequence at ``path`` (a folder leaves the tab as it is)."""
        from .editors import SequenceEditors

        with self.experiment.storage_session() as session:
            if not session.sequences.is_sequence(path):
                return
        editors = SequenceEditors.from_experiment(
            self.experiment,
            path,
            globals_editor=self.globals_editor,
            devices_editor=self.devices_editor,
        )
        previous, self.editors = self.editors, editors
        if previous is not None:
            previous.unlink()
        editors.on_change(self._update_start_blocked)
        editors.preview.observe(self._update_start_blocked, names="error")
        for editor in (editors.scan, editors.lanes):
            editor.on_request(functools.partial(self._sequence_request, editors.path))
        self._editing.children = [
            ipywidgets.HTML(f"<b>{path}</b>"),
            editors.scan,
            editors.lanes,
            editors.preview,
        ]
        self._update_start_blocked()

    def start_blockers(self) -> list[str]:
        """Why Start is disabled for the sequence shown in the run control (empty: it is not
        blocked by the editors; the panel may still refuse, e.g. while another one runs)."""
        editors = self.editors
        if editors is None or editors.path != self.panel.run_control.path:
            return []
        return editors.start_blockers()

    def _update_start_blocked(self, *_: Any) -> None:
        with self._blocked_lock:
            lines = self.start_blockers()
            shown = lines[:4]
            if len(lines) > len(shown):
                shown.append(f"… and {len(lines) - len(shown)} more (see the Edit sequence tab)")
            self.panel.run_control.start_blocked = "\n".join(shown)

    def _state_changed(self, change: dict[str, Any]) -> None:
        """The watched sequence changed state (it ran, ended, was reset): its editors show
        read-only (or editable again) at once, not at the first refused edit."""
        editors = self.editors
        if editors is None or editors.path != self.panel.run_control.path:
            return
        try:
            editors.scan.resync()
            editors.lanes.resync()
        except Exception:  # the panel must stay usable (e.g. the sequence was just deleted)
            _log.exception("cannot refresh the editors of %s", editors.path)

    def _sequence_request(self, path: str, command: dict[str, Any]) -> str:
        """The editors' read-only bar: reset the sequence at ``path`` to draft, or duplicate
        it as a new draft beside it and edit the copy. Returns the message the editor shows."""
        request = command.get("request")
        with self.experiment.storage_session() as session:
            if request == "reset":
                session.sequences.reset_to_draft(path)
                done = f"{path} reset to draft"
            elif request == "duplicate":
                copy = _free_copy_path(session, path)
                session.sequences.duplicate(path, copy)
                done = f"duplicated {path} as {copy}"
            else:
                raise ValueError(f"unknown request {request!r} (reset or duplicate)")
        self.panel.refresh()
        if request == "duplicate":
            self.panel.select(copy)
        return done

    def _selected(self, change: dict[str, Any]) -> None:
        path = change["new"]
        if not path:
            self._forget_vanished()
        if path:
            try:
                self.edit(path)
            except Exception as error:  # the panel must stay usable
                _log.exception("cannot open the editors of %s", path)
                self._editing.children = [ipywidgets.HTML(f"<b>cannot edit {path}</b>: {error}")]
                self._update_start_blocked()

    def _forget_vanished(self) -> None:
        """The selection was cleared: if the edited sequence is gone (moved or deleted
        elsewhere), say so instead of leaving editors whose edits cannot be saved."""
        editors = self.editors
        if editors is None:
            return
        with self.experiment.storage_session() as session:
            if session.paths.exists(editors.path):
                return
        editors.unlink()
        self.editors = None
        self._editing.children = [
            ipywidgets.HTML(
                f"<b>{editors.path}</b> was moved or deleted: select it again in the "
                "Sequences tab to edit it"
            )
        ]
        self._update_start_blocked()

    def close(self) -> None:
        """Stop the panel's threads; the editors stop listening to each other."""
        if self.editors is not None:
            self.editors.unlink()
        self.panel.close()

    def _ipython_display_(self) -> None:
        """The tabs, and the panel's snapshot that follows the runs (for saved notebooks)."""
        self.panel.show(self.widget)

    def _repr_mimebundle_(self, **kwargs: object) -> dict[str, object]:
        return display_bundle(self.widget, self.panel.static_html(), repr(self.panel), **kwargs)


def _free_copy_path(session: Any, path: str) -> str:
    """``path`` with `` copy`` (then `` copy 2``, ...) added: the first that does not exist."""
    for number in range(1, 1000):
        candidate = f"{path} copy" if number == 1 else f"{path} copy {number}"
        if not session.paths.exists(candidate):
            return candidate
    raise ValueError(f"no free name for a copy of {path}")


def _runs_remotely(experiment: Any) -> bool:
    """Whether ``experiment`` runs its sequences through an experiment server."""
    location = getattr(experiment, "experiment_manager_location", None)
    if location is None:
        return False
    from shotbook.control import RemoteExperimentManagerConfiguration

    return isinstance(location, RemoteExperimentManagerConfiguration)
