"""The live views' choices: which image is shown, which scalar is plotted against what."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets

NONE = "—"
"""The dropdown entry shown while there is nothing to choose."""

NOTHING_TO_PLOT = (
    "No per-shot value to plot yet. The plot offers every number stored with a shot: "
    "shot analyses (<code>experiment.add_shot_analysis(name, function)</code>, applied "
    "from the next run), device data and the sums of pictures."
)
"""The hint shown under the plot while the y list is empty."""


class PlotChoices:
    """The image, y and x dropdowns, and what the person picked in them.

    A value given at construction (or picked in a dropdown) is kept when the options
    change; otherwise the first option is shown, and x is the parameter that varies most.
    ``on_change`` is called after the person picks a value.

    >>> choices = PlotChoices(lambda: None, scalar="analysis.atoms")
    >>> choices.offer([], ["analysis.atoms", "camera.mean"], ["detuning", "power"])
    >>> choices.y, choices.image
    ('analysis.atoms', None)
    >>> choices.pick_x(["detuning", "power"], {0: {"power": 1.0}, 1: {"power": 2.0}})
    >>> choices.x
    'power'
    """

    def __init__(
        self,
        on_change: Callable[[], None],
        *,
        image: str | None = None,
        scalar: str | None = None,
        parameter: str | None = None,
    ) -> None:
        self._on_change = on_change
        self._wanted_image = image
        self._wanted_scalar = scalar
        self._wanted_parameter = parameter
        self._setting_options = False
        self.image_choice = ipywidgets.Dropdown(description="image", options=[NONE])
        self.y_choice = ipywidgets.Dropdown(description="y", options=[NONE])
        self.x_choice = ipywidgets.Dropdown(description="x", options=[NONE])
        self.hint = ipywidgets.HTML(NOTHING_TO_PLOT)
        self.hint.add_class("shotbook-plot-hint")
        for dropdown in (self.image_choice, self.y_choice, self.x_choice):
            dropdown.observe(self._choice_changed, names="value")

    @property
    def image(self) -> str | None:
        """The data label of the image shown (``None``: no image)."""
        return _chosen(self.image_choice)

    @property
    def image_wanted(self) -> bool:
        """Whether an image was asked for (at construction or in the dropdown)."""
        return bool(self._wanted_image)

    @property
    def y(self) -> str | None:
        """The scalar on the y axis (``None``: none)."""
        return _chosen(self.y_choice)

    @property
    def x(self) -> str | None:
        """The parameter on the x axis (``None``: none)."""
        return _chosen(self.x_choice)

    def offer(self, images: list[str], scalars: list[str], parameters: list[str]) -> None:
        """Show these names as the options of the three dropdowns."""
        self._set_options(self.image_choice, images, self._wanted_image)
        self._set_options(self.y_choice, scalars, self._wanted_scalar)
        self.hint.value = "" if scalars else NOTHING_TO_PLOT
        self._set_options(self.x_choice, parameters, self._wanted_parameter)

    def pick_x(self, parameters: list[str], values: Mapping[int, Mapping[str, float]]) -> None:
        """Put on x the parameter that varies most in ``values``, until the person picks one."""
        if self._wanted_parameter is not None:
            return
        best, best_count = None, 1
        for name in parameters:
            count = len({v.get(name) for v in values.values()})
            if count > best_count:
                best, best_count = name, count
        if best is None and values and parameters:
            best = parameters[-1]  # no parameter varies: the last option (the shot index)
        if best is not None and best != self.x_choice.value:
            self._setting_options = True
            try:
                self.x_choice.value = best
            finally:
                self._setting_options = False

    def _set_options(
        self, dropdown: ipywidgets.Dropdown, names: list[str], wanted: str | None
    ) -> None:
        options = names or [NONE]
        current = dropdown.value
        self._setting_options = True
        try:
            dropdown.options = options
            if wanted in options:
                dropdown.value = wanted
            elif current in options and current != NONE:
                dropdown.value = current
            else:
                dropdown.value = options[0]
        finally:
            self._setting_options = False

    def _choice_changed(self, change: dict[str, Any]) -> None:
        if self._setting_options:
            return
        owner, new = change["owner"], change["new"]
        wanted = new if new != NONE else None
        if owner is self.x_choice:
            self._wanted_parameter = wanted
        elif owner is self.y_choice:
            self._wanted_scalar = wanted
        elif owner is self.image_choice:
            self._wanted_image = wanted
        self._on_change()


def _chosen(dropdown: ipywidgets.Dropdown) -> str | None:
    value = dropdown.value
    return None if value in (None, NONE) else str(value)


__all__ = ["NONE", "NOTHING_TO_PLOT", "PlotChoices"]
