"""Gates on a simulated light: channels that must pass it besides its own switch.

A light's wiring names the channel that switches it (its AOM's TTL: the world's cooling
light and repumper, a camera's imaging light or probe). A gate is one more ``(device,
channel)`` that must be high for the light to pass: a mechanical shutter's TTL, a second AOM.
A shutter driven by its own lane through ``DeviceTrigger("shutter")`` on a sequencer channel
is a gate on that channel. A blade is late: it lets light through from ``opening_delay`` after
the channel rises until ``closing_delay`` after it falls (the world's own response, like the
volts → MHz of an AOM; the blade's jitter and partial transit are not simulated). The light
reaches the atoms only while its channel and every gate pass it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._signals import Signal, intersect

__all__ = ["LightGate", "as_gate", "as_gates", "gated"]


@dataclass(frozen=True)
class LightGate:
    """A channel that must be high for a light to pass (a shutter's or an AOM's TTL).

    The light passes from ``opening_delay`` seconds after the channel rises until
    ``closing_delay`` seconds after it falls (a mechanical shutter: 1–5 ms; an AOM: ~1 µs,
    0 here).

    Example:
        >>> LightGate("digital", "shutter ttl", opening_delay=2e-3).opening_delay
        0.002
    """

    device: str
    channel: str
    opening_delay: float = 0.0
    closing_delay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("device", "channel"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"LightGate.{name} is a non-empty str, got {value!r}")
        for name in ("opening_delay", "closing_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"LightGate.{name} is a number of seconds, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"LightGate.{name} must be finite and >= 0 s, got {value!r}")
            object.__setattr__(self, name, float(value))

    @property
    def ref(self) -> tuple[str, str]:
        """The gate's ``(device, channel)``."""
        return self.device, self.channel

    def passing(self, signal: Signal) -> list[tuple[float, float]]:
        """When the gate passes light, given its channel's signal."""
        out: list[tuple[float, float]] = []
        for start, stop in signal.on_intervals():
            a, b = start + self.opening_delay, stop + self.closing_delay
            if b <= a:
                continue
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        return out


def as_gate(value: Any, where: str) -> LightGate:
    """A :class:`LightGate` from itself, a mapping of its fields or ``(device, channel)``."""
    try:
        if isinstance(value, LightGate):
            return value
        if isinstance(value, Mapping):
            return LightGate(**dict(value))
        if isinstance(value, str) or not 2 <= len(value) <= 4:
            raise ValueError("give (device, channel[, opening_delay[, closing_delay]])")
        return LightGate(*value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{where}: a gate is a LightGate(device, channel, opening_delay, closing_delay), "
            f"got {value!r} ({exc})"
        ) from None


def gated(light: Signal, gates: Sequence[tuple[LightGate, Signal]]) -> list[tuple[float, float]]:
    """When a light switched by ``light`` passes all its ``gates`` (each with its signal)."""
    passing = light.on_intervals()
    for gate, signal in gates:
        passing = intersect(passing, gate.passing(signal))
    return passing


def as_gates(values: Any, where: str) -> tuple[LightGate, ...]:
    """A tuple of :class:`LightGate` from any sequence of what :func:`as_gate` takes."""
    if values is None:
        return ()
    if isinstance(values, LightGate | str | Mapping):
        raise ValueError(f"{where}: the gates are a sequence of LightGate, got {values!r}")
    return tuple(as_gate(value, where) for value in values)
