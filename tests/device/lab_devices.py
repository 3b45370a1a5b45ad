"""Test devices (mocks) served by the device server script and used in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from shotbook.device import remote


class EchoDevice:
    """A device whose remote methods echo, add, sleep, fail and count."""

    opened: int = 0

    def __init__(self, name: str, *, greeting: str = "hello", close_delay: float = 0.0) -> None:
        if not isinstance(greeting, str):
            raise TypeError(f"greeting must be a str, got {type(greeting).__name__}")
        self.name = name
        self._greeting = greeting
        self._close_delay = float(close_delay)
        self.is_open = False

    def __enter__(self) -> EchoDevice:
        self.is_open = True
        EchoDevice.opened += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        time.sleep(self._close_delay)  # hardware that takes its time to let go
        self.is_open = False

    @property
    @remote
    def greeting(self) -> str:
        return f"{self._greeting} from {self.name}"

    @remote
    def echo(self, value: Any) -> Any:
        return value

    @remote
    def add(self, a: int, b: int) -> int:
        if not isinstance(a, int) or not isinstance(b, int):
            raise TypeError(f"add takes two ints, got {type(a).__name__} and {type(b).__name__}")
        return a + b

    @remote
    def sleep(self, seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    @remote
    def fail(self, message: str) -> None:
        raise ValueError(message)

    @remote
    def count(self, n: int) -> Iterator[int]:
        return iter(range(n))

    def not_remote(self) -> str:
        return "secret"


class BrokenOpenDevice:
    """A device whose __enter__ fails (the hardware is 'unplugged')."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> BrokenOpenDevice:
        raise OSError(f"{self.name}: the device is unplugged")

    def __exit__(self, *exc_info: object) -> None:
        pass

    @remote
    def ping(self) -> str:
        return "pong"


class RecordingDevice:
    """Records each call in a shared log (for the order of a shot's steps)."""

    def __init__(
        self,
        name: str,
        log: list[str],
        *,
        kind: str = "sequencer",
        software: bool = True,
        block: threading.Event | None = None,
        fail_at: str | None = None,
    ) -> None:
        self.name = name
        self.log = log
        self.kind = kind
        self.software = software
        self.block = block
        self.fail_at = fail_at
        self.parameters: dict[str, Any] = {}
        if kind == "sequencer":
            self.start = self._start
            self.wait_finished = self._wait_finished
            self.is_software_triggered = lambda: self.software
        else:
            self.acquire = self._acquire

    def __enter__(self) -> RecordingDevice:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def _step(self, step: str) -> None:
        self.log.append(f"{self.name}.{step}")
        if self.fail_at == step:
            raise RuntimeError(f"{self.name} broke during {step}")
        if self.block is not None and step == "block":
            self.block.wait()

    def update_parameters(self, **parameters: Any) -> None:
        self.parameters = parameters
        self._step("update")
        if parameters.get("hang"):
            self._step("block")

    def _start(self) -> None:
        self._step("start")

    def _wait_finished(self, timeout: float) -> None:
        self._step("finished")

    def _acquire(self, names: list[str]) -> Iterator[Any]:
        self._step("arm")

        def pictures() -> Iterator[Any]:
            for name in names:
                self._step(f"picture {name}")
                yield f"{self.name}:{name}"

        return pictures()


class InlineRecordingDevice(RecordingDevice):
    """A RecordingDevice that declares its shot calls fast: they run on the caller's thread.

    It also records the thread of each step, and can take ``delay`` seconds to update.
    """

    shot_calls_inline = True

    def __init__(self, *args: Any, delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delay = delay
        self.threads: set[int] = set()

    def _step(self, step: str) -> None:
        self.threads.add(threading.get_ident())
        if step == "update" and self.delay:
            time.sleep(self.delay)
        super()._step(step)


class MeterDevice:
    """A data source (a power meter): reports ``gain * shot`` once per shot, and a trace."""

    def __init__(self, name: str, *, bad: str = "") -> None:
        self._name = name
        self._bad = bad
        self.gain = 1.0
        self.shots = 0

    @property
    def name(self) -> str:
        return self._name

    def __enter__(self) -> MeterDevice:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    @remote
    def update_parameters(self, **parameters: Any) -> None:
        self.gain = float(parameters.get("gain", 1.0))

    @remote
    def read_data(self) -> Any:
        self.shots += 1
        if self._bad == "not a mapping":
            return [self.gain]
        if self._bad == "raises":
            raise OSError("the meter's USB cable is loose")
        return {"power": self.gain * self.shots, "trace": np.arange(4.0) * self.gain}

    @remote
    def data_units(self) -> Any:
        if self._bad == "bad units":
            return {"power": 3}
        if self._bad == "raises":
            raise OSError("the meter does not say")
        return {"power": "W", "trace": None}
