"""The editors of one sequence, built from an experiment and linked together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shotbook.types import PureSequencePath

from ._devices_editor import DeviceConfigurationsEditor
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

    @classmethod
    def from_experiment(cls, experiment: Any, path: str | PureSequencePath) -> SequenceEditors:
        """Every editor of ``path``, with the experiment's store and extensions, linked."""
        editors = cls(
            scan=ScanEditor.from_experiment(experiment, path),
            lanes=TimeLanesEditor.from_experiment(experiment, path),
            globals=GlobalsEditor.from_experiment(experiment),
            devices=DeviceConfigurationsEditor.from_experiment(experiment),
            preview=TimelinePreview.from_experiment(experiment, path),
        )
        editors.link()
        return editors

    def link(self) -> None:
        """Refresh the lanes' checks, the scan's shot count and the preview after any edit."""

        def changed(source: Any) -> None:
            for editor in (self.scan, self.lanes):
                if editor is not source:
                    editor._sync()
            self.preview.refresh()

        for editor in (self.scan, self.lanes, self.globals, self.devices):
            editor.on_change(changed)

    @property
    def problems(self) -> list[dict[str, Any]]:
        """Everything that stops the sequence from running (empty: it can be launched)."""
        return [*self.scan.problems, *self.lanes.problems, *self.globals.problems]


__all__ = ["SequenceEditors"]
