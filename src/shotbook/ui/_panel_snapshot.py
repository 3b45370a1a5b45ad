"""The panel as a saved notebook shows it: static HTML, and the mime bundle of a display.

In a live front end the bundle holds the widget view and the HTML; in a notebook run
headless (nbconvert, papermill) it holds the HTML only, so that the saved file shows the
sequences table and the last image.
"""

from __future__ import annotations

import os
from typing import Any

import ipywidgets

from ._browser import SequenceBrowser
from ._image_view import LiveImage
from ._run_control import RunControl, progress_text
from ._static import image_html, panel_html


def widget_front_end_expected() -> bool:
    """Whether a live widget front end shows this kernel's outputs.

    True in JupyterLab / Notebook 7 (the kernel was started for a notebook session, or the
    widget manager has connected), in Voila and in VS Code; False when a notebook is run
    headless (``nbconvert --execute``, papermill), where the panel then leaves its static
    HTML only, so that ``nbconvert --to html`` shows the table and the image. The environment
    variable ``SHOTBOOK_PANEL_STATIC`` (``1`` / ``0``) forces the answer.
    """
    forced = os.environ.get("SHOTBOOK_PANEL_STATIC")
    if forced is not None:
        return forced.strip() in ("0", "", "false", "no")
    if getattr(ipywidgets.Widget, "_control_comm", None) is not None:
        return True
    if "JPY_SESSION_NAME" in os.environ or "VSCODE_PID" in os.environ:
        return True
    return "voila" in os.environ.get("SERVER_SOFTWARE", "").lower()


def snapshot_html(
    title: str, browser: SequenceBrowser, run_control: RunControl, image: LiveImage
) -> str:
    """The sequences table, the run line and the last image, as plain HTML."""
    line = ""
    if run_control.path:
        expected = None if run_control.expected < 0 else run_control.expected
        line = (
            f"{run_control.path}: {run_control.state}, {progress_text(run_control.shots, expected)}"
        )
    picture = image_html(
        image.last_image,
        label=image.last_label,
        colormap=image.colormap,
        levels=None if image.auto_levels else image.levels,
        roi=image.roi,
    )
    return panel_html(browser.current_rows(), title=title, run_line=line, image=picture)


def display_bundle(
    widget: ipywidgets.Widget, html: str, text: str, **kwargs: Any
) -> dict[str, Any]:
    """The mime bundle of a view: the widget (when a front end shows it), HTML and text.

    ``_repr_mimebundle_`` is IPython's public display protocol (its name only looks private).
    """
    bundle: dict[str, Any] = {}
    if widget_front_end_expected():
        bundle.update(widget._repr_mimebundle_(**kwargs) or {})
    bundle["text/html"] = html
    bundle["text/plain"] = text
    return bundle


__all__ = ["display_bundle", "snapshot_html", "widget_front_end_expected"]
