"""A simulated pulse sequencer: it checks what it is programmed with and 'plays' it."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from shotbook.compile import Instruction, SoftwareTrigger

from .._protocols import SequencerTimeoutError, remote
from ._world import World, join_world, leave_world

PICOSECOND = 1e-12


class SimulatedSequencer:
    """A sequencer of named channels at a fixed time step, simulated in software.

    It validates each programmed sequence as hardware would (an instruction with one field
    per channel, in order, on the configured time step, at least one tick long) and keeps
    it (:attr:`sequence`). A shot lasts the sequence's real duration times ``speed``
    (0, the default: it ends at once; 1: real time).

    The keyword arguments are the initialization parameters of the sequencer compiler
    (``time_step``, ``trigger``, ``channels``, ``channel_units``) plus ``speed``.

    Args:
        name: the device name.
        channels: channel names, in order.
        time_step: tick length in picoseconds.
        trigger: the configuration's trigger; :class:`~shotbook.compile.SoftwareTrigger`
            (the default) makes :meth:`start` run the sequence (a master); any other waits
            for an external trigger (simulated: the trigger comes at once).
        channel_units: output unit per channel, ``None`` for a digital channel (bool values);
            analog channels take numbers. Default: any bool or number values.
        speed: fraction of the real duration a shot takes.
        world: the simulated world (of this process) its outputs reach.
        device_triggers: ``{channel: device}`` for its channels that trigger a device (their
            output is ``DeviceTrigger(device)``), so the world knows the wiring.

    Example:
        >>> from shotbook.compile import constant, stack_channels
        >>> seq = stack_channels({"a": constant(True, 10), "b": constant(False, 10)})
        >>> with SimulatedSequencer("pulser", channels=["a", "b"], time_step=50_000) as pulser:
        ...     pulser.update_parameters(sequence=seq, time_step=50_000)
        ...     pulser.start()
        ...     pulser.wait_finished(timeout=1.0)
        ...     pulser.shots_run
        1
    """

    shot_calls_inline: ClassVar[bool] = True
    """Its shot methods return at once or sleep for the simulated time (see ShotRunner)."""

    def __init__(
        self,
        name: str,
        *,
        channels: Sequence[str],
        time_step: int,
        trigger: Any = None,
        channel_units: Mapping[str, str | None] | None = None,
        speed: float = 0.0,
        world: str = "lab",
        device_triggers: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(channels, str) or not all(isinstance(c, str) for c in channels):
            raise TypeError(f"{name}: channels is a list of channel names, got {channels!r}")
        if not channels:
            raise ValueError(f"{name}: a sequencer needs at least one channel")
        if isinstance(time_step, bool) or not isinstance(time_step, int) or time_step < 1:
            raise ValueError(f"{name}: time_step is an int of picoseconds >= 1, got {time_step!r}")
        if not isinstance(speed, int | float) or speed < 0:
            raise ValueError(f"{name}: speed is a number >= 0, got {speed!r}")
        self._name = name
        self.channels = tuple(channels)
        self.time_step = time_step
        self.trigger = SoftwareTrigger() if trigger is None else trigger
        self.software_trigger = isinstance(self.trigger, SoftwareTrigger)
        units = dict(channel_units) if channel_units is not None else None
        if units is not None and set(units) != set(self.channels):
            raise ValueError(f"{name}: channel_units must name every channel, got {list(units)}")
        self.channel_units = units
        self.speed = float(speed)
        self.world_name = str(world)
        self.device_triggers = dict(device_triggers or {})
        unknown = [c for c in self.device_triggers if c not in self.channels]
        if unknown:
            raise ValueError(f"{name}: device_triggers names unknown channels {unknown}")
        self._world: World | None = None
        self._sequence: Instruction | None = None
        self._finish_at: float | None = None
        self._shots = 0
        self._open = False
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The device name."""
        return self._name

    def __enter__(self) -> SimulatedSequencer:
        if self._open:
            raise RuntimeError(f"sequencer {self._name!r} is already open")
        self._world = join_world(self.world_name, self._name, "sequencer")
        self._open = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._open = False
        self._finish_at = None
        if self._world is not None:
            leave_world(self.world_name, self._name)
            self._world = None

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError(f"sequencer {self._name!r} is not open (use it in a with block)")

    @remote
    def update_parameters(self, *, sequence: Instruction, time_step: int) -> None:
        """Program the next shot: ``sequence`` (one field per channel) at ``time_step`` ps."""
        self._check_open()
        where = f"sequencer {self._name!r}"
        if not isinstance(sequence, Instruction):
            raise TypeError(f"{where}: sequence is an Instruction, got {type(sequence).__name__}")
        if time_step != self.time_step:
            raise ValueError(
                f"{where} runs at a time step of {self.time_step} ps but was programmed with "
                f"{time_step!r} ps"
            )
        fields = sequence.fields
        if fields != self.channels:
            missing = [c for c in self.channels if c not in fields]
            extra = [f for f in fields if f not in self.channels]
            detail = []
            if missing:
                detail.append(f"missing {missing}")
            if extra:
                detail.append(f"unknown {extra}")
            if not detail:
                detail.append(f"order {list(fields)}")
            raise ValueError(
                f"{where} has channels {list(self.channels)}; the sequence has {', '.join(detail)}"
            )
        for channel in fields:
            kind = sequence.dtype[channel].kind
            if self.channel_units is None:
                expected, allowed = "bool or numbers", "bfiu"
            elif self.channel_units[channel] is None:
                expected, allowed = "bool (a digital channel)", "b"
            else:
                expected = f"numbers in {self.channel_units[channel]} (an analog channel)"
                allowed = "fiu"
            if kind not in allowed:
                raise TypeError(
                    f"{where}: channel {channel!r} has values of dtype {sequence.dtype[channel]}; "
                    f"expected {expected}"
                )
        if len(sequence) < 1:
            raise ValueError(f"{where}: the sequence is empty (0 ticks)")
        with self._lock:
            if self._finish_at is not None and time.monotonic() < self._finish_at:
                raise RuntimeError(f"{where} is still running: wait for it before programming")
            self._sequence = sequence
        if self._world is not None:
            self._world.program(
                self._name, sequence, time_step, self.software_trigger, self.device_triggers
            )

    @property
    def sequence(self) -> Instruction | None:
        """The last programmed sequence."""
        return self._sequence

    @property
    @remote
    def shots_run(self) -> int:
        """How many sequences were started since the device was created."""
        return self._shots

    def duration(self) -> float:
        """The programmed sequence's real duration in seconds."""
        if self._sequence is None:
            return 0.0
        return len(self._sequence) * self.time_step * PICOSECOND

    @remote
    def is_software_triggered(self) -> bool:
        """Whether :meth:`start` runs the sequence (True) or arms it (False)."""
        return self.software_trigger

    @remote
    def start(self) -> None:
        """Run (or arm) the programmed sequence."""
        self._check_open()
        with self._lock:
            if self._sequence is None:
                raise RuntimeError(f"sequencer {self._name!r} was not programmed before start()")
            if self._finish_at is not None and time.monotonic() < self._finish_at:
                raise RuntimeError(f"sequencer {self._name!r} is already running")
            self._finish_at = time.monotonic() + self.duration() * self.speed
            self._shots += 1
        if self._world is not None:
            self._world.start(self._name)

    @remote
    def is_finished(self) -> bool:
        """Whether the last sequence started has finished."""
        finish = self._finish_at
        return finish is not None and time.monotonic() >= finish

    @remote
    def wait_finished(self, timeout: float) -> None:
        """Wait for the sequence to end; :class:`SequencerTimeoutError` after ``timeout`` s."""
        finish = self._finish_at
        if finish is None:
            raise RuntimeError(f"sequencer {self._name!r} was not started")
        remaining = finish - time.monotonic()
        if remaining > timeout:
            time.sleep(max(timeout, 0.0))
            raise SequencerTimeoutError(
                f"sequencer {self._name!r} did not finish within {timeout:g} s "
                f"(its sequence lasts {self.duration() * self.speed:g} s at speed {self.speed:g})"
            )
        if remaining > 0:
            time.sleep(remaining)

    def __repr__(self) -> str:
        return f"SimulatedSequencer({self._name!r}, channels={list(self.channels)})"
