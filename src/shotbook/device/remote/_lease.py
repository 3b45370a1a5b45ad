"""A device server's lease: what one experiment manager holds there, and how it lets go."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .._controller import ShotRunner


@dataclass
class PreparedShot:
    """A shot programmed and armed here, waiting for its start and collect requests."""

    runner: ShotRunner
    iterators: dict[str, tuple[list[str], Iterator[Any]]]
    started: list[str] = field(default_factory=list)


@dataclass
class Lease:
    """One client's hold on a device server: the devices it opened, its iterators and shots."""

    client_id: bytes
    holder: str
    since: dt.datetime
    devices: dict[str, Any] = field(default_factory=dict)
    iterators: dict[int, tuple[str, Iterator[Any]]] = field(default_factory=dict)
    shot_runners: dict[tuple[tuple[str, ...], tuple[str, ...]], ShotRunner] = field(
        default_factory=dict
    )
    prepared: PreparedShot | None = None
    closing: bool = False
    """Released or lost: its devices are being closed; nobody holds it, nobody may take it."""

    def drop_shot_runners(self, device: str | None = None) -> None:
        """Forget the shot runners (of ``device``, or all) and a prepared shot."""
        self.drop_prepared()
        for key in list(self.shot_runners):
            if device is None or device in key[0]:
                self.shot_runners.pop(key).close()

    def drop_prepared(self) -> None:
        """Disarm the cameras of a prepared shot, if any."""
        shot, self.prepared = self.prepared, None
        if shot is not None:
            for _, iterator in shot.iterators.values():
                close_iterator(iterator)

    def close(self, log: logging.Logger, why: str) -> None:
        """Close everything it holds, devices last and in reverse order of opening; log each."""
        self.drop_shot_runners()
        for _, iterator in list(self.iterators.values()):
            close_iterator(iterator)
        self.iterators.clear()
        for name, device in reversed(list(self.devices.items())):
            if device is None:
                continue
            try:
                device.__exit__(None, None, None)
                log.info("closed device %r (%s)", name, why)
            except Exception:
                log.exception("closing device %r failed (%s)", name, why)
        self.devices.clear()


def close_iterator(iterator: Iterator[Any]) -> None:
    """Close a generator or iterator that has a ``close``; its errors are ignored."""
    close = getattr(iterator, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):
            close()


__all__ = ["Lease", "PreparedShot", "close_iterator"]
