"""The panel as a saved notebook shows it: static HTML, and the mime bundle of a display.

In a live front end the bundle holds the widget view and the HTML; in a notebook run
headless (nbconvert, papermill) it holds the HTML only, so that the saved file shows the
sequences table, the last image and the plot.

:class:`SnapshotDisplay` keeps that HTML current: displayed with a display id, it is
replaced at the end of each run, after each cell, and (at most every few seconds) when
anything else changed, so the file saved or exported later shows the last run, even when
the run was made in a later cell.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

import ipywidgets

from ._browser import SequenceBrowser
from ._image_view import LiveImage
from ._panel_worker import Task
from ._run_control import RunControl, progress_text
from ._scalar_plot import ScalarPlot
from ._static import image_html, panel_html, plot_html
from ._throttle import LatestOnly

_log = logging.getLogger("shotbook.ui")

ACTIVE_STATES = ("preparing", "running")


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
    title: str,
    browser: SequenceBrowser,
    run_control: RunControl,
    image: LiveImage,
    plot: ScalarPlot | None = None,
) -> str:
    """The sequences table, the run line, the last image and the plot, as plain HTML."""
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
    drawn = ""
    if plot is not None:
        x, y = plot.points()
        drawn = plot_html(x, y, plot.groups(), x_label=plot.x_label, y_label=plot.y_label)
    return panel_html(browser.current_rows(), title=title, run_line=line, image=picture, plot=drawn)


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


class SnapshotDisplay:
    """The panel's display in a notebook, whose static HTML follows the panel.

    Args:
        widget: the widget shown by a live front end.
        render: the static HTML now.
        text: the plain-text form.
        run_state: the shown sequence's state (``"running"``, ``"finished"``, ...).
        settle: waits (at most the given seconds) until the panel showed what it was told.
        interval: seconds between two updates for changes other than a run's end.

    :meth:`show` displays the panel: in a live front end the widget, and the HTML in a
    second output that the panel's stylesheet hides while the widget is shown; headless,
    the HTML only. Both carry the display id that :meth:`changed` and the end of each cell
    update.
    """

    def __init__(
        self,
        widget: ipywidgets.Widget,
        render: Callable[[], str],
        text: Callable[[], str],
        run_state: Callable[[], str],
        settle: Callable[[float], bool],
        *,
        interval: float = 5.0,
    ) -> None:
        self._widget = widget
        self._render = render
        self._text = text
        self._run_state = run_state
        self._settle = settle
        self.display_id = f"shotbook-panel-{uuid.uuid4().hex}"
        self._lock = threading.Lock()
        self._last_html: str | None = None
        self._last_state = ""
        self._shown = False
        self._closed = False
        self._hook: Callable[..., None] | None = None
        self._throttle: LatestOnly[bool] = LatestOnly(self._update_later, 1.0 / interval)
        self.updates = 0

    @property
    def shown(self) -> bool:
        """Whether :meth:`show` displayed it."""
        return self._shown

    def bundle(self) -> dict[str, Any]:
        """The HTML snapshot's mime bundle (hidden by the panel's stylesheet when live)."""
        html = self._render()
        self._last_html = html
        return {
            "text/html": f'<div class="shotbook-snapshot">{html}</div>',
            "text/plain": self._text(),
        }

    def show(self, widget: ipywidgets.Widget | None = None) -> None:
        """Display ``widget`` (default: the panel's) when a front end shows it, and the
        snapshot."""
        from IPython import get_ipython
        from IPython.display import display

        if widget_front_end_expected():
            display(widget if widget is not None else self._widget)
        display(self.bundle(), raw=True, display_id=self.display_id)
        self._shown = True
        self._last_state = self._run_state()
        shell = get_ipython()
        if shell is not None and self._hook is None:
            self._hook = self._after_cell
            shell.events.register("post_run_cell", self._hook)

    def changed(self) -> None:
        """Something shown changed: update now at a run's end, else within ``interval``."""
        if not self._shown or self._closed:
            return
        state = self._run_state()
        ended = self._last_state in ACTIVE_STATES and state not in ACTIVE_STATES
        self._last_state = state
        if ended:
            self.update()
        else:
            self._throttle.submit(True)

    def following(self, task: Task) -> Task:
        """``task``, then :meth:`changed` (for the panel's worker)."""

        def run() -> None:
            task()
            self.changed()

        return run

    def update(self) -> bool:
        """Replace the displayed snapshot if it changed; True if it was replaced."""
        if not self._shown or self._closed:
            return False
        from IPython.display import update_display

        with self._lock:
            html = self._render()
            if html == self._last_html:
                return False
            self._last_html = html
            update_display(
                {"text/html": f'<div class="shotbook-snapshot">{html}</div>',
                 "text/plain": self._text()},
                raw=True,
                display_id=self.display_id,
            )  # fmt: skip
            self.updates += 1
        return True

    def _update_later(self, _: bool) -> None:
        try:
            self.update()
        except Exception:
            _log.exception("the panel's saved snapshot could not be updated")

    def _after_cell(self, *_: Any) -> None:
        """After each cell: let the panel catch up (briefly), then update the snapshot."""
        try:
            self._settle(5.0)
            self.update()
        except Exception:
            _log.exception("the panel's saved snapshot could not be updated")

    def close(self) -> None:
        """Stop updating (the last snapshot stays in the notebook)."""
        self._closed = True
        self._throttle.cancel()
        if self._hook is not None:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None:
                with contextlib.suppress(ValueError):  # already unregistered
                    shell.events.unregister("post_run_cell", self._hook)
            self._hook = None


__all__ = ["SnapshotDisplay", "display_bundle", "snapshot_html", "widget_front_end_expected"]
