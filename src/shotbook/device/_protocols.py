"""What a device is: small ``typing.Protocol`` classes, and the marking of remote methods.

A device is any object with a ``name`` that is a context manager: construction does no I/O,
``__enter__`` acquires the hardware (opens the connection, allocates buffers), ``__exit__``
releases it, even after an error. Sequencers and cameras add the few methods the shot
controller calls. Nothing here needs to be inherited: the protocols are structural.

Methods that a device server may call are marked with :func:`remote` (or listed in a
``remote_methods`` class attribute); a device server exposes only those.

A device class may set ``shot_calls_inline = True`` when its shot methods return quickly
without blocking on I/O (a simulation, a driver that only queues commands): the
:class:`~shotbook.device.ShotRunner` then calls them on its own thread, saving a thread hop
per step. Other devices are called from worker threads, so that one that hangs times out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

_REMOTE_MARK = "__shotbook_remote__"


def remote(method: F) -> F:
    """Mark a device method as callable through a device server.

    Example::

        class Shutter:
            @remote
            def open(self) -> None: ...

            def _poke_register(self) -> None: ...   # never reachable remotely
    """
    setattr(method, _REMOTE_MARK, True)
    return method


def remote_methods_of(cls: type) -> frozenset[str]:
    """The names of the methods of ``cls`` callable remotely.

    They are the methods marked with :func:`remote` (in ``cls`` or its bases) plus the names
    listed in a ``remote_methods`` class attribute. Names starting with ``_`` are never
    remote (``__enter__``/``__exit__`` are handled by the server itself).

    Example:
        >>> class Lamp:
        ...     remote_methods = frozenset({"on"})
        ...     def on(self) -> None: ...
        ...     @remote
        ...     def off(self) -> None: ...
        ...     def _reset(self) -> None: ...
        >>> sorted(remote_methods_of(Lamp))
        ['off', 'on']
    """
    names: set[str] = set(getattr(cls, "remote_methods", ()) or ())
    for klass in reversed(cls.__mro__):
        for attribute, value in vars(klass).items():
            if getattr(value, _REMOTE_MARK, False) or getattr(
                getattr(value, "fget", None), _REMOTE_MARK, False
            ):
                names.add(attribute)
    bad = sorted(n for n in names if n.startswith("_") or not isinstance(n, str))
    if bad:
        raise TypeError(f"{cls.__qualname__}: private names cannot be remote methods: {bad}")
    missing = sorted(
        n for n in names if not (callable(getattr(cls, n, None)) or _is_property(cls, n))
    )
    if missing:
        raise TypeError(
            f"{cls.__qualname__} declares remote method(s) {missing} that it does not define"
        )
    return frozenset(names)


def _is_property(cls: type, name: str) -> bool:
    return any(isinstance(vars(k).get(name), property) for k in cls.__mro__)


def is_remote_property(cls: type, name: str) -> bool:
    """Whether the remote name ``name`` of ``cls`` is a property (read without a call)."""
    return _is_property(cls, name)


class DeviceError(RuntimeError):
    """A device failed during a shot; the message names the device and what it was doing.

    Attributes:
        device: the device name.
        step: what was being done, e.g. ``"update_parameters"``, ``"start"``, ``"acquire"``.
    """

    def __init__(self, message: str, *, device: str = "", step: str = "") -> None:
        super().__init__(message)
        self.device = device
        self.step = step


class DeviceTimeoutError(DeviceError, TimeoutError):
    """A device did not finish a step of the shot in time."""


class CameraTimeoutError(TimeoutError):
    """A camera got no picture in time; the message names the camera and the picture.

    Example:
        >>> str(CameraTimeoutError("camera", "cloud", 0.5))
        "camera 'camera' got no picture 'cloud' within 0.5 s (was it triggered?)"
    """

    def __init__(self, camera: str, picture: str, timeout: float) -> None:
        super().__init__(
            f"camera {camera!r} got no picture {picture!r} within {timeout:g} s (was it triggered?)"
        )
        self.camera = camera
        self.picture = picture
        self.timeout = timeout


class SequencerTimeoutError(TimeoutError):
    """A sequencer did not finish its sequence in time; the message names it."""


@runtime_checkable
class Device(Protocol):
    """A piece of hardware (or its simulation) used in shots.

    Construction does no I/O; ``__enter__`` acquires the device and returns it;
    ``__exit__`` releases it, also after an error. ``update_parameters`` receives the
    compiled shot parameters of the device (see :mod:`shotbook.compile`).

    Example::

        with SimulatedSequencer("pulser", channels=["a", "b"], time_step=50_000) as seq:
            seq.update_parameters(sequence=instruction, time_step=50_000)
            seq.start()
            seq.wait_finished(timeout=1.0)
    """

    @property
    def name(self) -> str:
        """The device name, unique in the experiment."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    @remote
    def update_parameters(self, **shot_parameters: Any) -> None:
        """Program the device for the next shot."""
        ...


@runtime_checkable
class Sequencer(Device, Protocol):
    """A device that outputs a timed sequence of values on its channels.

    Shot parameters: ``{"sequence": <instruction with one field per channel>,
    "time_step": <int picoseconds>}``.

    ``start()`` runs the sequence now (software-triggered sequencer) or arms it so that it
    runs when its external trigger comes. ``is_software_triggered()`` says which, so that a
    controller arms the externally triggered ones before starting the master.

    Example::

        sequencer.update_parameters(sequence=instruction, time_step=50_000)
        sequencer.start()
        sequencer.wait_finished(timeout=2.0)   # SequencerTimeoutError if not done
    """

    @remote
    def start(self) -> None:
        """Run the programmed sequence (software trigger) or arm it (external trigger)."""
        ...

    @remote
    def is_finished(self) -> bool:
        """Whether the last started sequence has finished."""
        ...

    @remote
    def wait_finished(self, timeout: float) -> None:
        """Block until the sequence has finished; ``SequencerTimeoutError`` after ``timeout``."""
        ...

    @remote
    def is_software_triggered(self) -> bool:
        """True if :meth:`start` runs at once, False if it waits for an external trigger."""
        ...


@runtime_checkable
class Camera(Device, Protocol):
    """A camera taking the pictures of a shot on external triggers.

    Shot parameters: ``{"exposures": [seconds, ...], "picture_names": [...],
    "timeout": seconds, "roi": (x, y, width, height) or None}`` (a camera may accept more).

    :meth:`acquire` arms the camera *before it returns* (so a controller can then start the
    sequencers that trigger it) and gives an iterator yielding each picture as it arrives;
    a picture that does not come within ``timeout`` raises :class:`CameraTimeoutError`
    naming the camera and the picture.

    Example::

        camera.update_parameters(exposures=[1e-3], picture_names=["cloud"], timeout=1.0)
        pictures = camera.acquire(["cloud"])      # armed now
        sequencer.start()                          # the sequence triggers the camera
        cloud = next(pictures)                     # numpy array (rows, cols)
    """

    @property
    @remote
    def roi(self) -> tuple[int, int, int, int]:
        """The region of interest ``(x, y, width, height)`` in sensor pixels."""
        ...

    @remote
    def acquire(self, picture_names: Sequence[str]) -> Iterator[np.ndarray]:
        """Arm the camera, then yield one picture per name as each arrives."""
        ...


@runtime_checkable
class DataSource(Device, Protocol):
    """A device that reports values once per shot: a power meter, a scope, a counter...

    :meth:`read_data` is called after the shot's sequencers have finished (and after the
    cameras' pictures); each value is stored with the shot as the column ``device.label``
    (numbers, bools and numpy arrays, like pictures). A camera or a sequencer may also be a
    data source. Errors and timeouts name the device and the step ``read_data``.

    A data source may also declare each label's unit with a ``data_units()`` method (a
    mapping of label to unit symbol, asked once when the devices are open): the store keeps
    it with the column (see :func:`~shotbook.device.data_units_of`).

    Example::

        class PowerMeter:
            shot_calls_inline = False  # reads over USB: run on a worker thread

            @remote  # also when the meter is on a device server
            def read_data(self) -> dict[str, float]:
                return {"power": self._read_watts()}   # stored as "meter.power"

            @remote
            def data_units(self) -> dict[str, str | None]:
                return {"power": "W"}                   # kept with the column
    """

    @remote
    def read_data(self) -> Mapping[str, Any]:
        """The values of the shot that just ended, by label."""
        ...


ShotData = Mapping[str, Any]
"""What a shot produces: values by ``"device.label"`` (e.g. ``"camera.cloud"``)."""


class ShotServer(Protocol):
    """A device server that runs a shot of its own devices in few requests.

    The :class:`~shotbook.device.ShotRunner` talks to it instead of calling each device
    (a :class:`~shotbook.device.remote.DeviceServerConnection` is one). ``names`` map the
    runner's device names to the server's.
    """

    server_name: str

    def run_shot(
        self,
        names: Mapping[str, str],
        device_parameters: Mapping[str, Mapping[str, Any]],
        start_order: list[str],
        cameras: list[str],
        timeout: float,
    ) -> dict[str, Any]:
        """Program, arm, start, collect and wait, all on the server: the shot's data."""
        ...

    def prepare_shot(
        self,
        names: Mapping[str, str],
        device_parameters: Mapping[str, Mapping[str, Any]],
        start_order: list[str],
        timeout: float,
    ) -> None:
        """Program the devices and arm the cameras of a shot split between servers."""
        ...

    def start_shot(self, names: Mapping[str, str], start: list[str], timeout: float) -> None:
        """Start these prepared sequencers, in this order."""
        ...

    def collect_shot(self, names: Mapping[str, str], timeout: float) -> dict[str, Any]:
        """The prepared shot's data, once its sequencers have finished."""
        ...

    def abort_shot(self) -> None:
        """Drop a prepared shot."""
        ...


@runtime_checkable
class ServedDevice(Protocol):
    """A device that lives on a :class:`ShotServer` (a ``RemoteDevice``).

    >>> class Local:
    ...     name = "lamp"
    >>> isinstance(Local(), ServedDevice)
    False
    """

    @property
    def shot_server(self) -> ShotServer:
        """The server that holds the device and can run whole shots of it."""
        ...
