"""The Experiment panel: browse, launch and watch sequences in JupyterLab.

:class:`ExperimentPanel` puts together the views below and keeps them up to date from the
store (polled) and the experiment manager's events, on its own thread:

* :class:`SequenceBrowser` — the folder tree with state, shots, duration, who ran it;
  create, rename, move, duplicate, delete and reset (both asked first), notes.
* :class:`RunControl` — Start / Interrupt, state, progress, rate and ETA, the last error
  and its traceback.
* :class:`LiveImage` — the newest camera image (bytes + dtype/shape, colour map, levels, ROI).
* :class:`ScalarPlot` — a per-shot scalar against a parameter, mean ± error per value.

:func:`launch_panel_server` serves a notebook showing the panel on 127.0.0.1.

Example::

    from shotbook.ui import ExperimentPanel
    panel = ExperimentPanel(experiment.get_storage_manager(), manager)
    panel
"""

from ._browser import ACTIONS, SequenceBrowser
from ._colormaps import COLORMAPS, colormap_table
from ._experiment_view import ExperimentView
from ._image_view import LiveImage, image_payload
from ._panel import ExperimentPanel
from ._png import encode_png
from ._run_control import RUN_ACTIONS, RunControl, progress_text
from ._scalar_plot import ScalarPlot
from ._server import PanelServer, launch_panel_server

__all__ = [
    "ACTIONS",
    "COLORMAPS",
    "RUN_ACTIONS",
    "ExperimentPanel",
    "ExperimentView",
    "LiveImage",
    "PanelServer",
    "RunControl",
    "ScalarPlot",
    "SequenceBrowser",
    "colormap_table",
    "encode_png",
    "image_payload",
    "launch_panel_server",
    "progress_text",
]
