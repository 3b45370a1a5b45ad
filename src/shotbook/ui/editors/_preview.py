"""The timeline preview: each channel's compiled output for one shot of the scan."""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import anywidget
import numpy as np
import traitlets

from shotbook.compile import AnalogChannelConfiguration, ChannelPreview, compile_preview
from shotbook.registry import DeviceExtension
from shotbook.types import (
    ExpressionError,
    IterationError,
    ParameterNamespace,
    PureSequencePath,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
)

from ._base import esm_source
from ._sequence_context import as_mapping, compilers_of

_HERE = pathlib.Path(__file__).parent


def shot_parameters_at(
    iteration: StepsConfiguration, global_parameters: ParameterNamespace, index: int
) -> tuple[ShotParameters | None, int | None]:
    """The parameters of shot ``index`` (walking the scan) and the number of shots if known.

    Returns ``(None, count)`` when the scan has fewer shots.
    """
    count = iteration.expected_number_shots(global_parameters)
    shots = iteration.walk(global_parameters)
    shot = next(itertools.islice(shots, index, index + 1), None)
    return shot, count


def pack_channels(
    previews: Mapping[str, Mapping[str, ChannelPreview]], units: Mapping[tuple[str, str], str]
) -> tuple[list[dict[str, Any]], bytes]:
    """Channels' metadata and one float64 buffer holding each channel's times then values.

    ``times`` has one more edge than ``values``; a channel's ``offset`` (in float64 items)
    and ``length`` (its number of values) locate it in the buffer.
    """
    channels: list[dict[str, Any]] = []
    parts: list[np.ndarray] = []
    offset = 0
    for device, by_channel in previews.items():
        for name, preview in by_channel.items():
            values = np.asarray(preview.values)
            digital = values.dtype == np.bool_
            times = np.asarray(preview.times, dtype=np.float64)
            floats = values.astype(np.float64)
            channels.append(
                {
                    "device": device,
                    "channel": name,
                    "kind": "digital" if digital else "analog",
                    "offset": offset,
                    "length": int(floats.size),
                    "exact": bool(preview.exact),
                    "unit": units.get((device, name), ""),
                    "low": float(floats.min()) if floats.size else 0.0,
                    "high": float(floats.max()) if floats.size else 0.0,
                }
            )
            parts.extend([times, floats])
            offset += times.size + floats.size
    data = np.concatenate(parts).astype("<f8").tobytes() if parts else b""
    return channels, data


class TimelinePreview(anywidget.AnyWidget):
    """Each sequencer channel's output for shot ``shot`` of the scan, drawn against time.

    The front end draws on a canvas (no library, no CDN): wheel to zoom, drag to pan,
    double-click to see the whole shot. Call :meth:`refresh` after an edit (the panel links
    it to the editors' :meth:`~EditorWidget.on_change`); setting ``shot`` refreshes.

    ``channels`` describes each channel (device, channel, kind, unit, where its numbers are
    in ``data``: little-endian float64 times (s) then values); ``error`` says why nothing can
    be drawn (a problem of the sequence, or a shot index past the end of the scan).
    """

    _esm = esm_source("_preview.js")
    _css = _HERE / "_editors.css"

    path = traitlets.Unicode("").tag(sync=True)
    shot = traitlets.Int(0).tag(sync=True)
    shot_count = traitlets.Int(-1).tag(sync=True)
    shot_label = traitlets.Unicode("").tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)
    channels: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    data = traitlets.Bytes(b"").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    refresh_request = traitlets.Int(0).tag(sync=True)

    def __init__(
        self,
        storage: Any,
        path: str | PureSequencePath,
        *,
        device_extensions: Mapping[str, DeviceExtension] | Iterable[DeviceExtension] = (),
        max_points: int = 1000,
        shot: int = 0,
    ) -> None:
        super().__init__()
        self._storage = storage
        self._path = PureSequencePath(path)
        self.path = str(self._path)
        self._compilers = compilers_of(as_mapping(device_extensions))
        self._max_points = max_points
        self._refreshing = True
        self.shot = shot
        self._refreshing = False
        self.refresh()

    @classmethod
    def from_experiment(cls, experiment: Any, path: str | PureSequencePath) -> TimelinePreview:
        """The preview of ``path`` with the experiment's store and device extensions."""
        return cls(
            experiment.get_storage_manager(), path, device_extensions=experiment.device_extensions
        )

    def refresh(self, *_: Any) -> None:
        """Read the sequence from the store and compile shot ``shot`` again."""
        with self._storage.session() as session, session.transaction():
            lanes: TimeLanes = session.sequences.get_time_lanes(self._path)
            iteration = session.sequences.get_iteration(self._path)
            global_parameters = session.get_global_parameters()
            configurations = dict(session.default_device_configurations)
        self._draw(lanes, iteration, global_parameters, configurations)

    def _draw(
        self,
        lanes: TimeLanes,
        iteration: StepsConfiguration,
        global_parameters: ParameterNamespace,
        configurations: Mapping[str, Any],
    ) -> None:
        index = max(0, self.shot)
        try:
            shot, count = shot_parameters_at(iteration, global_parameters, index)
        except (ExpressionError, IterationError, ValueError) as error:
            self._show_error(f"the scan cannot run: {error}")
            return
        self.shot_count = -1 if count is None else count
        if shot is None:
            self._show_error(f"the scan has no shot {index} (shots are numbered from 0)")
            return
        units = {
            (device, channel.name): channel.output_unit or ""
            for device, configuration in configurations.items()
            for channel in getattr(configuration, "channels", ())
            if isinstance(channel, AnalogChannelConfiguration)
        }
        try:
            previews = compile_preview(
                lanes, configurations, shot, self._max_points, compilers=self._compilers
            )
        except (ExpressionError, ValueError) as error:
            self.shot_label = str(shot)
            self._show_error(str(error).split("\n  shot parameters:")[0])
            return
        channels, data = pack_channels(previews, units)
        self.shot_label = str(shot)
        self.duration = max((c_end(data, c) for c in channels), default=0.0)
        self.error = ""
        self.channels = channels
        self.data = data

    def _show_error(self, message: str) -> None:
        self.error = message
        self.channels = []
        self.data = b""

    @traitlets.observe("shot", "refresh_request")
    def _shot_changed(self, change: dict[str, Any]) -> None:
        if self._refreshing:
            return
        self._refreshing = True
        try:
            if self.shot < 0:
                self.shot = 0
            self.refresh()
        finally:
            self._refreshing = False


def c_end(data: bytes, channel: Mapping[str, Any]) -> float:
    """The last time edge of a packed channel (the end of the shot), in seconds."""
    index = channel["offset"] + channel["length"]
    return float(np.frombuffer(data, dtype="<f8", count=1, offset=8 * index)[0])


__all__ = ["TimelinePreview", "pack_channels", "shot_parameters_at"]
