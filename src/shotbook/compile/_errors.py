"""Errors of shot compilation, located by lane, step, channel, device and expression."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["SequenceCheckError", "ShotCompilationError", "describe_location"]


def describe_location(
    *,
    device: str | None = None,
    channel: str | None = None,
    lane: str | None = None,
    step: str | None = None,
) -> str:
    """``device 'seq', channel 'aom', lane 'mot.power', step 'load'`` (only the given parts)."""
    parts = [
        f"{kind} {value!r}"
        for kind, value in (
            ("device", device),
            ("channel", channel),
            ("lane", lane),
            ("step", step),
        )
        if value is not None
    ]
    return ", ".join(parts)


def _format_parameters(parameters: Mapping[str, Any]) -> str:
    text = str(parameters)
    return text if len(text) <= 2000 else text[:1997] + "..."


class ShotCompilationError(ValueError):
    """A shot (or a sequence) that cannot be compiled.

    The message starts with where the fault is (device, channel, lane, step); value-dependent
    errors end with the shot's parameters. The same facts are attributes, for programs:

    Attributes:
        device: the device at fault (``None`` when it does not apply).
        channel: the channel at fault (``None`` when it does not apply).
        lane: the lane at fault (``None`` when it does not apply).
        step: the step at fault (``None`` when it does not apply).
        expression: the text of the expression at fault, if any.
        parameters: the shot's parameters (a ``ShotParameters``), or ``None`` for static errors.
        reason: the message without location and parameters.
    """

    def __init__(
        self,
        reason: str,
        *,
        device: str | None = None,
        channel: str | None = None,
        lane: str | None = None,
        step: str | None = None,
        expression: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.reason = reason
        self.device = device
        self.channel = channel
        self.lane = lane
        self.step = step
        self.expression = expression
        self.parameters = parameters
        where = describe_location(device=device, channel=channel, lane=lane, step=step)
        message = f"{where}: {reason}" if where else reason
        if parameters is not None:
            message += f"\n  shot parameters: {_format_parameters(parameters) or '(none)'}"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def with_location(self, **location: Any) -> ShotCompilationError:
        """A copy where the given fields are filled in (fields already set are kept)."""
        fields: dict[str, Any] = {
            "device": self.device,
            "channel": self.channel,
            "lane": self.lane,
            "step": self.step,
            "expression": self.expression,
            "parameters": self.parameters,
        }
        for key, value in location.items():
            if fields.get(key) is None:
                fields[key] = value
        copy = ShotCompilationError(self.reason, **fields)
        copy.__cause__ = self.__cause__
        return copy


class SequenceCheckError(ValueError):
    """Every problem :func:`check_sequence` found, one per line.

    Attributes:
        errors: the individual :class:`ShotCompilationError` (or expression errors).
    """

    def __init__(self, errors: Iterable[Exception]) -> None:
        self.errors: Sequence[Exception] = tuple(errors)
        count = len(self.errors)
        lines = [f"the sequence cannot run: {count} problem{'s' if count != 1 else ''} found"]
        for index, error in enumerate(self.errors, start=1):
            text = str(error).replace("\n", "\n     ")
            lines.append(f"  {index}. {text}")
        super().__init__("\n".join(lines))
