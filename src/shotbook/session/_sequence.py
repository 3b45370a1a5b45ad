"""Convenience objects: a :class:`Sequence` handle and the :class:`Shot` it holds.

A ``Sequence`` is only a path and a storage manager: each property reads the
store through a short session, so it always shows the current state and never
holds the store.

>>> sequence = session.get_sequence("/mot/detuning scan")      # doctest: +SKIP
>>> sequence.state, len(sequence)                               # doctest: +SKIP
(<State.FINISHED: 'finished'>, 200)
>>> sequence.read()["analysis.atom_number"].mean()              # doctest: +SKIP
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from shotbook.types._paths import PureSequencePath, as_path

from ._errors import StorageError
from ._interfaces import RunOwner, SequenceCollection, SequenceStats, StorageManager
from ._states import State

if TYPE_CHECKING:
    import polars

    from shotbook.types import ParameterNamespace, StepsConfiguration, TimeLanes

T = TypeVar("T")


class ShotContent(Protocol):
    """What a backend reads for one shot (the Parquet store's ``ShotRecord`` fits)."""

    @property
    def index(self) -> int: ...
    @property
    def parameters(self) -> Mapping[str, float | int | bool]: ...
    @property
    def units(self) -> Mapping[str, str | None]: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def start_time(self) -> datetime: ...
    @property
    def end_time(self) -> datetime: ...


class Shot:
    """One shot of a sequence: its parameters, its data and when it ran.

    The content is read from the store on first use, then kept. ``shot[label]``
    looks ``label`` up in the data (``"camera.picture"``), then in the parameters
    (``"mot.detuning"``, in its display unit).

    >>> shot = sequence.shots[0]                                    # doctest: +SKIP
    >>> shot["camera.picture"].shape, shot.parameters["wait_time"]  # doctest: +SKIP
    ((512, 512), 5.0)
    """

    __slots__ = ("_content", "_index", "_loader", "_sequence_path")

    def __init__(
        self,
        sequence_path: PureSequencePath,
        index: int,
        loader: Callable[[int], ShotContent],
    ) -> None:
        self._sequence_path = sequence_path
        self._index = index
        self._loader = loader
        self._content: ShotContent | None = None

    @property
    def sequence_path(self) -> PureSequencePath:
        """The path of the sequence the shot belongs to."""
        return self._sequence_path

    @property
    def index(self) -> int:
        """The index of the shot in its sequence (0 for the first)."""
        return self._index

    def _get(self) -> ShotContent:
        if self._content is None:
            self._content = self._loader(self._index)
        return self._content

    @property
    def parameters(self) -> dict[str, float | int | bool]:
        """The parameters of the shot, each in its display unit (see :attr:`units`)."""
        return dict(self._get().parameters)

    @property
    def units(self) -> dict[str, str | None]:
        """The display unit of each parameter (``None`` when it has none)."""
        return dict(self._get().units)

    @property
    def data(self) -> dict[str, Any]:
        """The data of the shot by ``device.label``: numpy arrays and scalars."""
        return dict(self._get().data)

    @property
    def data_units(self) -> dict[str, str]:
        """The unit of each data column stored with one (``{"dmm.voltage": "V"}``); columns
        without a declared unit are left out."""
        return dict(getattr(self._get(), "data_units", None) or {})

    @property
    def start_time(self) -> datetime:
        """When the shot started (UTC)."""
        return self._get().start_time

    @property
    def end_time(self) -> datetime:
        """When the shot ended (UTC)."""
        return self._get().end_time

    def __getitem__(self, label: str) -> Any:
        content = self._get()
        if label in content.data:
            return content.data[label]
        if label in content.parameters:
            return content.parameters[label]
        known = ", ".join(sorted([*content.data, *content.parameters])) or "none"
        raise KeyError(
            f"shot {self._index} of {self._sequence_path} has no data or parameter {label!r} "
            f"(it has: {known})"
        )

    def __repr__(self) -> str:
        return f"Shot({str(self._sequence_path)!r}, index={self._index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Shot):
            return (self._sequence_path, self._index) == (other._sequence_path, other._index)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._sequence_path, self._index))


class Sequence:
    """A handle on the sequence at ``path``; every property reads the store.

    >>> sequence = Sequence("/mot/scan", storage_manager)   # doctest: +SKIP
    >>> sequence.notes = "MOT loading vs detuning"          # doctest: +SKIP
    >>> sequence.scan().select("wait_time", "analysis.atom_number").collect()  # doctest: +SKIP
    """

    __slots__ = ("_manager", "_path")

    def __init__(self, path: PureSequencePath | str, storage_manager: StorageManager) -> None:
        self._path = as_path(path)
        self._manager = storage_manager

    def _call(self, action: Callable[[SequenceCollection], T]) -> T:
        with self._manager.session() as session:
            return action(session.sequences)

    @property
    def path(self) -> PureSequencePath:
        """Where the sequence is in the store."""
        return self._path

    @property
    def storage_manager(self) -> StorageManager:
        """The store the sequence lives in."""
        return self._manager

    @property
    def state(self) -> State:
        """The current state."""
        return self._call(lambda s: s.get_state(self._path))

    @property
    def stats(self) -> SequenceStats:
        """State, shot counts, times and run information."""
        return self._call(lambda s: s.get_stats(self._path))

    @property
    def iteration(self) -> StepsConfiguration:
        """The scan."""
        return self._call(lambda s: s.get_iteration(self._path))

    @iteration.setter
    def iteration(self, iteration: StepsConfiguration) -> None:
        self._call(lambda s: s.set_iteration(self._path, iteration))

    @property
    def time_lanes(self) -> TimeLanes:
        """The time lanes."""
        return self._call(lambda s: s.get_time_lanes(self._path))

    @time_lanes.setter
    def time_lanes(self, time_lanes: TimeLanes) -> None:
        self._call(lambda s: s.set_time_lanes(self._path, time_lanes))

    @property
    def global_parameters(self) -> ParameterNamespace | None:
        """The globals as they were when the sequence was prepared (``None`` for a DRAFT)."""
        return self._call(lambda s: s.get_global_parameters(self._path))

    @property
    def device_configurations(self) -> dict[str, Any] | None:
        """The device configurations used by the run (``None`` for a DRAFT)."""
        return self._call(lambda s: s.get_device_configurations(self._path))

    @property
    def notes(self) -> str:
        """Free-text notes, editable in any state."""
        return self._call(lambda s: s.get_notes(self._path))

    @notes.setter
    def notes(self, notes: str) -> None:
        self._call(lambda s: s.set_notes(self._path, notes))

    @property
    def owner(self) -> RunOwner | None:
        """The process that ran (or runs) the sequence."""
        return self.stats.owner

    @property
    def ran_by(self) -> str | None:
        """The user who ran the sequence."""
        return self.stats.ran_by

    @property
    def host(self) -> str | None:
        """The computer the sequence ran on."""
        return self.stats.host

    @property
    def shotbook_version(self) -> str | None:
        """The shotbook version that ran the sequence."""
        return self.stats.shotbook_version

    @property
    def traceback(self) -> str | None:
        """The traceback of the crash, if the sequence crashed."""
        return self._call(lambda s: s.get_traceback(self._path))

    @property
    def shots(self) -> builtins.list[Shot]:
        """The shots, by index (their content is read on first use)."""
        return self._call(lambda s: s.get_shots(self._path))

    def get_shot(self, index: int) -> Shot:
        """The shot with this index."""
        return self._call(lambda s: s.get_shot(self._path, index))

    def scan(self) -> polars.LazyFrame:
        """A lazy frame over the shots, one row per shot."""
        return self._call(lambda s: s.scan(self._path))

    def read(self) -> polars.DataFrame:
        """All the shots in a data frame, one row per shot."""
        return self._call(lambda s: s.read(self._path))

    def duplicate(self, destination: PureSequencePath | str) -> Sequence:
        """A new DRAFT at ``destination`` with this scan, time lanes and notes."""
        return self._call(lambda s: s.duplicate(self._path, destination))

    def __len__(self) -> int:
        return self.stats.number_of_shots

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._path == other._path and self._manager is other._manager
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Sequence", self._path))

    def __repr__(self) -> str:
        try:
            stats = self.stats
        except StorageError:
            return f"Sequence({str(self._path)!r})"
        return f"Sequence({str(self._path)!r}, state={stats.state}, shots={stats.number_of_shots})"


__all__ = ["Sequence", "Shot", "ShotContent"]
