"""The recording stand-in of the ``pulsestreamer`` client's ``PulseStreamer`` class (there
is no physical box here), shared by the in-process tests and the device-server script."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import pulsestreamer

__all__ = ["RecordingPulseStreamer", "as_data", "read_records"]


def as_data(name: str, args: tuple[Any, ...]) -> dict[str, Any]:
    """A call of the client as JSON-ready data: a ``Sequence`` or ``OutputState`` as its
    ``getData()`` runs (``(duration_ns, digital mask, a0, a1)``), enums by name."""

    def plain(value: Any) -> Any:
        if isinstance(value, pulsestreamer.Sequence):
            return {"sequence": [list(run) for run in value.getData()]}
        if isinstance(value, pulsestreamer.OutputState):
            return {"state": list(value.getData())}
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        return str(value)  # TriggerStart / TriggerRearm members

    return {"call": name, "args": [plain(value) for value in args]}


def read_records(path: Path) -> list[dict[str, Any]]:
    """The calls a stand-in wrote to ``path``, in order."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


class RecordingPulseStreamer:
    """Recording stand-in of ``pulsestreamer.PulseStreamer``: same method names, records
    every call; a streamed sequence 'plays' for ``play_time`` seconds once started (by
    ``startNow()`` or, for a hardware trigger, by :meth:`fire_trigger`). With
    ``record_file`` set, every call is also appended to that file (a device server's
    stand-in reports its calls that way)."""

    instances: ClassVar[list[RecordingPulseStreamer]] = []
    refuse: ClassVar[bool] = False
    play_time: ClassVar[float] = 0.0
    record_file: ClassVar[Path | None] = None
    """Where every call is also written as a JSON line (:func:`as_data`), if set."""

    def __init__(self, ip_or_serial: str) -> None:
        if self.refuse:
            raise AssertionError(f"No Pulse Streamer found at IP/Host-address: {ip_or_serial}")
        self.address = ip_or_serial
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._record("connect", (ip_or_serial,))
        self.trigger: Any = None
        self._finish_at: float | None = None
        self._armed = False
        RecordingPulseStreamer.instances.append(self)

    def setTrigger(self, start: Any, rearm: Any) -> None:  # noqa: N802 - the client's names
        self._record("setTrigger", (start, rearm))
        self.trigger = start

    def stream(self, seq: Any, n_runs: int, final: Any) -> None:
        self._record("stream", (seq, n_runs, final))
        self._finish_at = None
        self._armed = True
        if self.trigger == pulsestreamer.TriggerStart.IMMEDIATE:
            self.startNow()

    def startNow(self) -> None:  # noqa: N802
        self._record("startNow", ())
        if self.trigger == pulsestreamer.TriggerStart.SOFTWARE and self._armed:
            self._start()

    def fire_trigger(self) -> None:
        """The external trigger's rising edge (for a box armed with a hardware trigger)."""
        if self.trigger == pulsestreamer.TriggerStart.HARDWARE_RISING and self._armed:
            self._start()

    def _start(self) -> None:
        self._armed = False
        self._finish_at = time.monotonic() + self.play_time

    def hasFinished(self) -> bool:  # noqa: N802
        return self._finish_at is not None and time.monotonic() >= self._finish_at

    def constant(self, state: Any) -> None:
        self._record("constant", (state,))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _record(self, name: str, args: tuple[Any, ...]) -> None:
        if name != "connect":
            self.calls.append((name, args))
        if self.record_file is not None:  # one JSON line per call, for another process
            with self.record_file.open("a", encoding="utf-8") as file:
                file.write(json.dumps(as_data(name, args)) + "\n")
