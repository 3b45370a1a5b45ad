"""PulseStreamerSequencer: plays compiled shots on a Swabian Pulse Streamer 8/2."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from .._protocols import DeviceError, SequencerTimeoutError, remote
from ._configuration import ANALOG_PORTS, DIGITAL_PORTS

INSTALL_HINT = "install shotbook[pulsestreamer] to use PulseStreamerSequencer"

POLL_INTERVAL = 0.001
"""Seconds between two ``hasFinished()`` questions while waiting for the end of a shot."""


def import_pulsestreamer() -> ModuleType:
    """The ``pulsestreamer`` client module, or an ``ImportError`` naming the extra."""
    try:
        import pulsestreamer
    except ImportError as error:
        raise ImportError(f"{INSTALL_HINT} (pulsestreamer cannot be imported: {error})") from None
    return pulsestreamer


def build_sequence(client: ModuleType, parameters: Mapping[str, Any]) -> Any:
    """The client's ``Sequence`` of a shot's compiled run tables (see
    :class:`PulseStreamerCompiler`): ``setDigital``/``setAnalog`` per port, durations in ns,
    analog levels in volts."""
    sequence = client.Sequence()
    for key, setter in (("digital", sequence.setDigital), ("analog", sequence.setAnalog)):
        for port, (durations, levels) in parameters[key].items():
            values = np.asarray(levels).tolist()
            if key == "digital":
                values = [int(v) for v in values]
            setter(int(port), list(zip(np.asarray(durations).tolist(), values, strict=True)))
    return sequence


class PulseStreamerSequencer:
    """A Swabian Pulse Streamer 8/2 through its ``pulsestreamer`` client.

    Construction does no I/O; ``__enter__`` imports the client (``ImportError`` "install
    shotbook[pulsestreamer] to use PulseStreamerSequencer" without it), connects to
    ``address`` and sets the trigger: software (``start()`` plays at once) or the external
    trigger input's rising edge (``start()`` uploads and arms). Each shot,
    :meth:`update_parameters` builds the client's ``Sequence``; :meth:`start` streams it once
    (final state: all outputs low / 0 V); :meth:`wait_finished` polls ``hasFinished()``.
    ``__exit__`` sets every output low and drops the connection.

    Not run on a physical box here: the tests drive a recording stand-in of the client's
    ``PulseStreamer`` class.
    """

    shot_calls_inline: ClassVar[bool] = False
    """Network calls: the shot runner calls it from worker threads."""

    client_class: ClassVar[Any] = None
    """The client class to connect with (``None``: ``pulsestreamer.PulseStreamer``)."""

    def __init__(
        self,
        name: str,
        *,
        address: str,
        software_trigger: bool = True,
        digital_ports: Mapping[str, int] | None = None,
        analog_ports: Mapping[str, int] | None = None,
    ) -> None:
        if not isinstance(address, str) or not address:
            raise ValueError(f"{name}: address is a host name, IP or serial, got {address!r}")
        self._name = name
        self.address = address
        self.software_trigger = bool(software_trigger)
        self.digital_ports = dict(digital_ports or {})
        self.analog_ports = dict(analog_ports or {})
        bad = {n: p for n, p in self.digital_ports.items() if not 0 <= p < DIGITAL_PORTS}
        bad.update({n: p for n, p in self.analog_ports.items() if not 0 <= p < ANALOG_PORTS})
        if bad:
            raise ValueError(f"{name}: ports out of range: {bad}")
        self._module: ModuleType | None = None
        self._box: Any = None
        self._sequence: Any = None
        self._started = False
        self._shots = 0

    @property
    def name(self) -> str:
        """The device name."""
        return self._name

    def _where(self, step: str) -> str:
        return f"Pulse Streamer {self._name!r} at {self.address} ({step})"

    def __enter__(self) -> PulseStreamerSequencer:
        if self._box is not None:
            raise RuntimeError(f"Pulse Streamer {self._name!r} is already open")
        module = import_pulsestreamer()
        connect = self.client_class or module.PulseStreamer
        try:
            box = connect(self.address)
        except (Exception, AssertionError) as error:
            raise DeviceError(
                f"{self._where('open')}: cannot connect: {type(error).__name__}: {error}",
                device=self._name,
                step="open",
            ) from error
        start = module.TriggerStart.SOFTWARE if self.software_trigger else (
            module.TriggerStart.HARDWARE_RISING
        )  # fmt: skip
        try:
            box.setTrigger(start, module.TriggerRearm.AUTO)
        except Exception as error:
            raise DeviceError(
                f"{self._where('open')}: setTrigger failed: {error}", device=self._name, step="open"
            ) from error
        self._module, self._box = module, box
        return self

    def __exit__(self, *exc_info: object) -> None:
        box, self._box = self._box, None
        if box is not None and self._module is not None:
            box.constant(self._module.OutputState.ZERO())

    def _open_box(self) -> Any:
        if self._box is None:
            raise RuntimeError(
                f"Pulse Streamer {self._name!r} is not open (use it in a with block)"
            )
        return self._box

    @remote
    def update_parameters(
        self,
        *,
        digital: Mapping[str, Any],
        analog: Mapping[str, Any],
        duration_ns: int,
        pulses: int,
    ) -> None:
        """Build the client's ``Sequence`` of the next shot from its run tables."""
        self._open_box()
        assert self._module is not None
        sequence = build_sequence(self._module, {"digital": digital, "analog": analog})
        if sequence.getDuration() != duration_ns:
            raise ValueError(
                f"{self._where('update_parameters')}: the sequence lasts "
                f"{sequence.getDuration()} ns, expected {duration_ns} ns"
            )
        self._sequence = sequence
        self._started = False

    @property
    def sequence(self) -> Any:
        """The client ``Sequence`` of the next (or last) shot."""
        return self._sequence

    @property
    @remote
    def shots_run(self) -> int:
        """How many sequences were started since the device was created."""
        return self._shots

    @remote
    def is_software_triggered(self) -> bool:
        """True if :meth:`start` plays the shot, False if it arms the external trigger."""
        return self.software_trigger

    @remote
    def start(self) -> None:
        """Stream the shot once (ending low / 0 V) and, with a software trigger, start it."""
        box = self._open_box()
        if self._sequence is None:
            raise RuntimeError(f"{self._where('start')}: not programmed before start()")
        assert self._module is not None
        try:
            box.stream(self._sequence, 1, self._module.OutputState.ZERO())
            if self.software_trigger:
                box.startNow()
        except (Exception, AssertionError) as error:
            raise DeviceError(
                f"{self._where('start')}: {type(error).__name__}: {error}",
                device=self._name,
                step="start",
            ) from error
        self._started = True
        self._shots += 1

    @remote
    def is_finished(self) -> bool:
        """Whether the box has finished the last streamed sequence."""
        return self._started and self._finished(self._open_box())

    @remote
    def wait_finished(self, timeout: float) -> None:
        """Poll until the shot has played; :class:`SequencerTimeoutError` after ``timeout``."""
        box = self._open_box()
        if not self._started:
            raise RuntimeError(f"{self._where('wait_finished')}: not started")
        deadline = time.monotonic() + timeout
        while not self._finished(box):
            if time.monotonic() > deadline:
                raise SequencerTimeoutError(
                    f"{self._where('wait_finished')}: the sequence did not finish within "
                    f"{timeout:g} s"
                    + ("" if self.software_trigger else " (did its external trigger come?)")
                )
            time.sleep(POLL_INTERVAL)

    def _finished(self, box: Any) -> bool:
        try:
            return bool(box.hasFinished())
        except Exception as error:
            raise DeviceError(
                f"{self._where('wait_finished')}: {type(error).__name__}: {error}",
                device=self._name,
                step="wait_finished",
            ) from error

    def __repr__(self) -> str:
        return f"PulseStreamerSequencer({self._name!r}, address={self.address!r})"
