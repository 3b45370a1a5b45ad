"""Progress of a blocking ``run_sequence``: shots done / expected, rate and time left.

In a Jupyter kernel it is a ``tqdm.auto`` widget; in a terminal, a ``tqdm`` text bar; when
the output is neither (a pipe, a log file, a headless run), one plain line every few seconds.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any, Protocol


class ProgressDisplay(Protocol):
    """What the waiting caller updates."""

    def update(self, done: int, total: int | None, state: str) -> None: ...

    def close(self) -> None: ...


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()
    except Exception:
        return False
    return ipython is not None and hasattr(ipython, "kernel")


def _is_tty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class _TqdmProgress:
    """A tqdm bar. In a notebook the widget is shown under a display id, so that on close
    the display's plain-text form (what a saved or headless-executed notebook keeps) is
    replaced by the bar's final state: ``24/24``, never the ``0%| 0/24`` of its start."""

    def __init__(self, path: str, total: int | None, notebook: bool, stream: IO[str]) -> None:
        self._handle: Any = None
        options: dict[str, Any] = {"total": total, "desc": path, "unit": "shot", "leave": True}
        if notebook:
            from tqdm.auto import tqdm
            from tqdm.notebook import tqdm as notebook_tqdm

            if issubclass(tqdm, notebook_tqdm):  # else ipywidgets is missing: a text bar
                self._bar: Any = tqdm(**options, display=False)
                from IPython import display as ipython_display

                show: Any = ipython_display.display  # untyped
                self._handle = show(self._bar.container, display_id=True)
            else:
                self._bar = tqdm(**options, file=stream)
        else:
            from tqdm import tqdm

            self._bar = tqdm(**options, file=stream)
        self._done = 0

    def update(self, done: int, total: int | None, state: str) -> None:
        if total is not None and self._bar.total != total:
            self._bar.total = total
        if done > self._done:
            self._bar.update(done - self._done)
            self._done = done
        self._bar.set_postfix_str(state, refresh=False)

    def close(self) -> None:
        self._bar.close()
        if self._handle is not None:
            self._show_final_text()

    def _show_final_text(self) -> None:
        """Keep the widget, and make its text form the bar's last state."""
        try:
            bundle = dict(self._bar.container._repr_mimebundle_() or {})
        except Exception:  # no widget view to keep: the text alone
            bundle = {}
        bundle["text/plain"] = str(self._bar)
        self._handle.update(bundle, raw=True)


class TextProgress:
    """Plain lines such as ``/scans/a: 40 / 200 shots, 25.1 shots/s, 6 s left``."""

    def __init__(self, path: str, stream: IO[str], every: float = 5.0) -> None:
        self._path = path
        self._stream = stream
        self._every = every
        self._start = time.monotonic()
        self._last_print = self._start
        self._last: tuple[int, int | None, str] | None = None
        self._printed: tuple[int, int | None, str] | None = None

    def _line(self, done: int, total: int | None, state: str) -> str:
        elapsed = time.monotonic() - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{self._path}: {done} / {'?' if total is None else total} shots ({state})"
        if rate > 0:
            text += f", {rate:.1f} shots/s"
            if total is not None and total > done:
                text += f", {(total - done) / rate:.0f} s left"
        return text

    def update(self, done: int, total: int | None, state: str) -> None:
        now = time.monotonic()
        changed_state = self._last is not None and self._last[2] != state
        self._last = (done, total, state)
        if now - self._last_print >= self._every or changed_state:
            print(self._line(done, total, state), file=self._stream, flush=True)
            self._last_print = now
            self._printed = self._last

    def close(self) -> None:
        if self._last is not None and self._last != self._printed:
            print(self._line(*self._last), file=self._stream, flush=True)
            self._printed = self._last


def make_progress(path: str, total: int | None, stream: IO[str] | None = None) -> ProgressDisplay:
    """The progress display suited to where the output goes."""
    out = stream if stream is not None else sys.stderr
    if _in_kernel():
        return _TqdmProgress(path, total, notebook=True, stream=out)
    if _is_tty(out):
        return _TqdmProgress(path, total, notebook=False, stream=out)
    return TextProgress(path, out)


__all__ = ["ProgressDisplay", "TextProgress", "make_progress"]
