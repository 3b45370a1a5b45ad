"""Editors of the Experiment panel: scan, time lanes, globals, device configurations, preview.

Each editor is a standalone anywidget that takes what it needs by injection (a
``StorageManager``, a sequence path, the registered extensions) and saves to the store
itself, conflict-checked: an edit made on a stale view is refused and the view reloads.

>>> from shotbook.ui.editors import SequenceEditors                       # doctest: +SKIP
>>> editors = SequenceEditors.from_experiment(experiment, "/scans/tof")   # doctest: +SKIP
>>> editors.lanes.handle({"action": "toggle", "lane": "mot light", "step": 0})  # doctest: +SKIP
{'id': None, 'action': 'toggle', 'ok': True, 'message': 'saved'}
"""

from ._base import EditorWidget, EditRejected
from ._devices_editor import DeviceConfigurationsEditor
from ._document import DraftConflictError, DraftDocument, EditHistory, version_of
from ._globals_editor import GlobalsEditor
from ._graph_text import GraphSyntaxError, format_node, parse_node
from ._lanes_editor import TimeLanesEditor
from ._linked import SequenceEditors, link_histories
from ._preview import TimelinePreview
from ._scan_editor import ScanEditor

__all__ = [
    "DeviceConfigurationsEditor",
    "DraftConflictError",
    "DraftDocument",
    "EditHistory",
    "EditRejected",
    "EditorWidget",
    "GlobalsEditor",
    "GraphSyntaxError",
    "ScanEditor",
    "SequenceEditors",
    "TimeLanesEditor",
    "TimelinePreview",
    "format_node",
    "link_histories",
    "parse_node",
    "version_of",
]
