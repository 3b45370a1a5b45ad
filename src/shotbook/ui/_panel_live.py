"""The panel's live views: the newest image and the scalar plot of the watched sequence.

:class:`LiveViews` knows the shots of one sequence (the one selected). It reads them from
the store when asked (:meth:`LiveViews.catch_up` for every shot not seen yet,
:meth:`LiveViews.read_pending` for those announced by events); :class:`PlotChoices` says
which image is shown and what is plotted against what.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from shotbook.session import SequenceStats, StorageManager

from ._image_view import LiveImage
from ._panel_choices import PlotChoices
from ._panel_worker import Task
from ._scalar_plot import ScalarPlot

if TYPE_CHECKING:
    import polars as pl

RateCallback = Callable[[float, int], None]
"""Called with the shot rate (per second) and the number of shots seen."""


SHOT_INDEX = "shot index"
"""The x option that plots each shot at its index (when no parameter varies)."""


def image_sum(label: str) -> str:
    """The name of the per-shot sum of the picture ``label`` offered on the plot's y."""
    return f"sum({label})"


def is_scalar(value: object) -> bool:
    """Whether ``value`` is a number to plot (booleans are not)."""
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, int | float | np.integer | np.floating)


@dataclass
class _Watched:
    """What the live view knows about the sequence it shows."""

    path: str = ""
    values: dict[int, dict[str, float]] = field(default_factory=dict)
    parameters: list[str] = field(default_factory=list)
    scalars: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    newest: int = -1
    pending: set[int] = field(default_factory=set)
    arrivals: collections.deque[tuple[float, int]] = field(
        default_factory=lambda: collections.deque(maxlen=64)
    )


class LiveViews:
    """The image, the plot and their choices, for the shots of the watched sequence.

    Args:
        storage_manager: where the shots are read.
        submit: runs a task on the panel's worker (reads asked for by events or choices).
        on_rate: told the shot rate whenever a shot arrives.
        image, scalar, parameter: the data label, scalar and x parameter wanted (``None``:
            chosen from the data).
        max_image_rate: frames per second sent to the browser at most.
    """

    def __init__(
        self,
        storage_manager: StorageManager,
        *,
        submit: Callable[[Task], None],
        on_rate: RateCallback,
        image: str | None = None,
        scalar: str | None = None,
        parameter: str | None = None,
        max_image_rate: float = 30.0,
    ) -> None:
        self._storage_manager = storage_manager
        self._submit = submit
        self._on_rate = on_rate
        self._watched = _Watched()
        self._read_queued = False
        self.image = LiveImage(max_rate=max_image_rate)
        self.plot = ScalarPlot()
        self.choices = PlotChoices(
            lambda: submit(self._refresh_after_choice),
            image=image,
            scalar=scalar,
            parameter=parameter,
        )

    @property
    def path(self) -> str:
        """The watched sequence (``""``: none)."""
        return self._watched.path

    @property
    def seen(self) -> int:
        """How many of its shots have been read."""
        return len(self._watched.values)

    @property
    def known(self) -> int:
        """How many of its shots have been read or announced."""
        return len(self._watched.values) + len(self._watched.pending)

    def watch(self, path: str) -> None:
        """Forget the shots seen and follow ``path`` (read nothing yet)."""
        self._watched = _Watched(path=path)

    def clear_plot(self) -> None:
        """Show no points."""
        self.plot.set_points([], [])

    def clear(self) -> None:
        """Show no points and no image: the watched sequence has no shots (not yet, or
        they were deleted), and a picture of another sequence's shots must not stay up."""
        self.clear_plot()
        if self.image.last_image is not None:
            path = self._watched.path
            self.image.clear(f"no shot of {path} yet" if path else "no sequence selected")

    def catch_up(self, stats: SequenceStats) -> None:
        """Read the scalars of every shot not seen yet (one scan) and the newest shot."""
        watched = self._watched
        path = str(stats.path)
        with self._storage_manager.session() as session:
            with session.transaction():
                shots = session.sequences.get_shots(path)
                if not shots:
                    return
                newest = shots[-1]
                parameters, data = newest.parameters, newest.data
                frame = session.sequences.scan(path)
            self._learn_names(parameters, data)
            missing = [s.index for s in shots if s.index not in watched.values]
            if missing:
                self._read_scalars(frame, missing)
        self._show_shot(newest.index, parameters, data)
        self._refresh_plot()

    def shot_announced(self, index: int) -> None:
        """An event said shot ``index`` of the watched sequence is stored: read it soon."""
        self._watched.pending.add(index)
        if not self._read_queued:
            # behind the events already queued: one read serves them all, so the worker
            # never falls behind when reading a shot takes longer than a shot
            self._read_queued = True
            self._submit(self._read_queued_shots)

    def read_pending(self) -> None:
        """Read the shots announced by events: the newest fully, the others' scalars only."""
        watched = self._watched
        pending = sorted(i for i in watched.pending if i not in watched.values)
        watched.pending.clear()
        if not pending:
            return
        path = watched.path
        newest_index = pending[-1]
        with self._storage_manager.session() as session:
            with session.transaction():
                newest = session.sequences.get_shot(path, newest_index)
                parameters, data = newest.parameters, newest.data
                frame = session.sequences.scan(path) if len(pending) > 1 else None
            self._learn_names(parameters, data)
            if frame is not None:
                self._read_scalars(frame, pending[:-1])
        self._show_shot(newest_index, parameters, data)
        watched.arrivals.append((time.monotonic(), len(watched.values)))
        self._update_rate()
        self._refresh_plot()

    def _read_queued_shots(self) -> None:
        self._read_queued = False
        self.read_pending()

    def _read_scalars(self, frame: pl.LazyFrame, indices: list[int]) -> None:
        import polars as pl

        names = [*self._watched.parameters, *self._watched.scalars]
        schema = frame.collect_schema()
        columns = [n for n in names if n in schema]
        table = (
            frame.filter(pl.col("shot_index").is_in(indices))
            .select(["shot_index", *columns])
            .collect()
        )
        for row in table.iter_rows(named=True):
            index = int(row.pop("shot_index"))
            self._watched.values[index] = {
                k: float(v) for k, v in row.items() if v is not None and is_scalar(v)
            }

    def _learn_names(self, parameters: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        watched = self._watched
        parameter_names = sorted(k for k, v in parameters.items() if is_scalar(v))
        parameter_names.append(SHOT_INDEX)
        images = sorted(k for k, v in data.items() if getattr(v, "ndim", 0) == 2)
        scalar_names = [k for k, v in data.items() if is_scalar(v) and k != "shot.attempts"]
        # analyses first, then device data, then the pictures' sums
        scalar_names.sort(key=lambda k: (not k.startswith("analysis."), k))
        scalar_names.extend(image_sum(label) for label in images)
        if (parameter_names, scalar_names, images) == (
            watched.parameters,
            watched.scalars,
            watched.images,
        ):
            return
        watched.parameters, watched.scalars, watched.images = parameter_names, scalar_names, images
        self.choices.offer(images, scalar_names, parameter_names)

    def _show_shot(
        self, index: int, parameters: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        watched = self._watched
        values = {k: float(v) for k, v in parameters.items() if is_scalar(v)}
        values.update({k: float(v) for k, v in data.items() if is_scalar(v)})
        values.update(
            {image_sum(k): float(np.sum(v)) for k, v in data.items() if getattr(v, "ndim", 0) == 2}
        )
        watched.values[index] = values
        if index < watched.newest:
            return
        watched.newest = index
        label = self.choices.image
        image = data.get(label) if label is not None else None
        if image is not None and getattr(image, "ndim", 0) == 2:
            self.image.show(image, label=f"{label} · shot {index} · {watched.path}")

    def _refresh_plot(self) -> None:
        choices = self.choices
        choices.pick_x(self._watched.parameters, self._watched.values)
        x_name, y_name = choices.x, choices.y
        self.plot.x_label = x_name or ""
        self.plot.y_label = y_name or ""
        if x_name is None or y_name is None:
            self.plot.set_points([], [])
            return
        if y_name.startswith("sum("):
            self._fill_image_sums(y_name)
        indices = sorted(self._watched.values)
        if x_name == SHOT_INDEX:
            xs = [float(i) for i in indices]
        else:
            xs = [self._watched.values[i].get(x_name, np.nan) for i in indices]
        ys = [self._watched.values[i].get(y_name, np.nan) for i in indices]
        self.plot.set_points(xs, ys)

    def _fill_image_sums(self, name: str) -> None:
        """Sum the picture of every shot read without it (read once, on the worker)."""
        watched = self._watched
        label = name[len("sum(") : -1]
        missing = [i for i, v in sorted(watched.values.items()) if name not in v]
        if not missing:
            return
        with self._storage_manager.session() as session:
            for index in missing:
                picture: Any = session.sequences.get_shot(watched.path, index).data.get(label)
                total = float(np.sum(picture)) if getattr(picture, "ndim", 0) == 2 else np.nan
                watched.values[index][name] = total

    def _update_rate(self) -> None:
        arrivals = self._watched.arrivals
        if len(arrivals) < 2:
            return
        (t0, n0), (t1, n1) = arrivals[0], arrivals[-1]
        if t1 <= t0 or n1 <= n0:
            return
        self._on_rate((n1 - n0) / (t1 - t0), n1)

    def _refresh_after_choice(self) -> None:
        self._refresh_plot()
        watched = self._watched
        if watched.newest >= 0 and self.choices.image_wanted:
            with self._storage_manager.session() as session:
                shot = session.sequences.get_shot(watched.path, watched.newest)
                data = shot.data
            self._show_shot(watched.newest, shot.parameters, data)

    def close(self) -> None:
        """Close the image and the plot."""
        self.image.close()
        self.plot.close()


__all__ = ["SHOT_INDEX", "LiveViews", "RateCallback", "image_sum", "is_scalar"]
