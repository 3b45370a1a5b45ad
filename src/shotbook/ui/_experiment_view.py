"""The whole in-notebook Condetrol: the run panel and the editors, as tabs."""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets

from ._panel import ExperimentPanel, widget_front_end_expected

_log = logging.getLogger(__name__)

TAB_TITLES = ("Sequences", "Edit sequence", "Globals", "Devices")


class ExperimentView:
    """Tabs for one experiment: sequences (browse, run, watch), the selected sequence's
    editors (scan, time lanes, timeline preview), globals and device configurations.

    ``experiment`` is anything with the ``Experiment`` facade's methods
    (``get_storage_manager``, ``connect_to_experiment_manager``, extensions...). Selecting a
    sequence in the browser opens its editors in the second tab.

    >>> view = ExperimentView(experiment)        # doctest: +SKIP
    >>> view                                     # doctest: +SKIP
    """

    def __init__(self, experiment: Any, **panel_options: Any) -> None:
        from .editors import DeviceConfigurationsEditor, GlobalsEditor

        self.experiment = experiment
        self.panel = ExperimentPanel(
            experiment.get_storage_manager(),
            experiment.connect_to_experiment_manager,
            **panel_options,
        )
        self.editors: Any = None
        self._editing = ipywidgets.VBox(
            [ipywidgets.HTML("<i>select a sequence in the Sequences tab to edit it</i>")]
        )
        self.globals_editor = GlobalsEditor.from_experiment(experiment)
        self.devices_editor = DeviceConfigurationsEditor.from_experiment(experiment)
        self.widget = ipywidgets.Tab(
            children=[self.panel.widget, self._editing, self.globals_editor, self.devices_editor]
        )
        self.widget.titles = TAB_TITLES
        self.widget.add_class("shotbook-view")
        self.panel.browser.observe(self._selected, names="selected")
        if self.panel.browser.selected:
            self.edit(self.panel.browser.selected)

    def edit(self, path: str) -> None:
        """Open the editors of the sequence at ``path`` (a folder leaves the tab as it is)."""
        from .editors import SequenceEditors

        with self.experiment.storage_session() as session:
            if not session.sequences.is_sequence(path):
                return
        editors = SequenceEditors.from_experiment(self.experiment, path)
        self.editors = editors
        self._editing.children = [
            ipywidgets.HTML(f"<b>{path}</b>"),
            editors.scan,
            editors.lanes,
            editors.preview,
        ]

    def _selected(self, change: dict[str, Any]) -> None:
        path = change["new"]
        if path:
            try:
                self.edit(path)
            except Exception as error:  # the panel must stay usable
                _log.exception("cannot open the editors of %s", path)
                self._editing.children = [ipywidgets.HTML(f"<b>cannot edit {path}</b>: {error}")]

    def close(self) -> None:
        """Stop the panel's threads."""
        self.panel.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        if widget_front_end_expected():
            bundle.update(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.panel.static_html()
        bundle["text/plain"] = repr(self.panel)
        return bundle
