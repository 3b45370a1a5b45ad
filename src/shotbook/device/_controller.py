"""ShotRunner: runs one shot across devices, in order, each step under a timeout."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

from ._protocols import DeviceError, DeviceTimeoutError


def _program(device: Any, parameters: dict[str, Any]) -> None:
    device.update_parameters(**parameters)


def _wait_finished(device: Any, deadline: float) -> None:
    device.wait_finished(max(deadline - time.monotonic(), 0.001))


def _is_sequencer(device: Any) -> bool:
    return hasattr(device, "start") and hasattr(device, "wait_finished")


def _is_camera(device: Any) -> bool:
    return hasattr(device, "acquire")


class ShotRunner:
    """Run shots on a set of open devices.

    A shot goes in four steps, each with a deadline and errors naming the device:

    1. **program**: every device receives its compiled shot parameters
       (``device.update_parameters(**parameters)``), all devices at once;
    2. **arm**: each camera's ``acquire(picture_names)`` arms it;
    3. **start**: sequencers start in trigger order: the externally triggered ones first
       (they only arm), then the software-triggered ones (the master starts the shot);
    4. **collect**: pictures are read as they arrive while the sequencers finish.

    The result maps ``"device.label"`` to values, e.g. ``{"camera.cloud": array}``.
    Call :meth:`run_shot` from one thread at a time (the runner's); the devices must stay
    open (see :func:`~shotbook.device.open_devices`) while it is used.

    Args:
        devices: the open devices by name.
        start_order: names of the sequencers in the order to start them; by default the
            sequencers whose ``is_software_triggered()`` is False first, then the others, in
            the mapping's order.
        workers: threads used to talk to devices in parallel.

    Example::

        with open_devices(configurations, registry, servers) as devices:
            runner = ShotRunner(devices)
            data = runner.run_shot(compiled_shot, timeout=5.0)
            picture = data["camera.cloud"]
            runner.close()
    """

    def __init__(
        self,
        devices: Mapping[str, Any],
        *,
        start_order: Sequence[str] | None = None,
        workers: int | None = None,
    ) -> None:
        self.devices = dict(devices)
        self.sequencers = [name for name, dev in self.devices.items() if _is_sequencer(dev)]
        self.cameras = [name for name, dev in self.devices.items() if _is_camera(dev)]
        if start_order is None:
            start_order = self._default_order()
        unknown = [name for name in start_order if name not in self.sequencers]
        if unknown:
            raise ValueError(f"start_order names devices that are not sequencers: {unknown}")
        missing = [name for name in self.sequencers if name not in start_order]
        if missing:
            raise ValueError(f"start_order misses the sequencers {missing}")
        self.start_order = list(start_order)
        size = workers or max(2, len(self.devices))
        self._pool = ThreadPoolExecutor(size, thread_name_prefix="shotbook-shot")
        self._lock = threading.Lock()

    def _default_order(self) -> list[str]:
        external: list[str] = []
        software: list[str] = []
        for name in self.sequencers:
            device = self.devices[name]
            try:
                is_software = bool(device.is_software_triggered())
            except AttributeError:
                is_software = True
            except Exception as exc:
                raise DeviceError(
                    f"device {name!r}: cannot tell how it is triggered: {exc}", device=name
                ) from exc
            (software if is_software else external).append(name)
        return external + software

    def close(self) -> None:
        """Stop the worker threads (the devices stay open)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> ShotRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ one shot

    def run_shot(
        self, device_parameters: Mapping[str, Mapping[str, Any]], timeout: float = 10.0
    ) -> dict[str, Any]:
        """Run one shot and return its data by ``"device.label"``.

        Args:
            device_parameters: the compiled shot parameters of each device (by name), as
                given by the sequence compiler; a device without an entry is left alone.
            timeout: seconds for the whole shot (program, start, collect); when it runs out
                the step in progress fails with :class:`DeviceTimeoutError`.

        Raises:
            DeviceError: a device failed; ``.device`` and ``.step`` say which and where, the
                cause is chained. The devices are left as they are (close them to make them
                safe, or run the next shot, which reprograms them).
            DeviceTimeoutError: a step did not finish in time.
        """
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("run_shot is already running in another thread")
        try:
            return self._run(device_parameters, timeout)
        finally:
            self._lock.release()

    def _run(
        self, device_parameters: Mapping[str, Mapping[str, Any]], timeout: float
    ) -> dict[str, Any]:
        unknown = [name for name in device_parameters if name not in self.devices]
        if unknown:
            raise DeviceError(
                f"the shot has parameters for device(s) {unknown} that are not open "
                f"(open: {sorted(self.devices)})"
            )
        deadline = time.monotonic() + timeout
        # 1. program every device at once
        self._parallel(
            "update_parameters",
            {
                name: functools.partial(_program, self.devices[name], dict(params))
                for name, params in device_parameters.items()
            },
            deadline,
            timeout,
        )
        # 2. arm the cameras
        cameras = [name for name in self.cameras if name in device_parameters]
        iterators: dict[str, tuple[list[str], Iterator[Any]]] = {}
        try:
            for name in cameras:
                names = [str(n) for n in device_parameters[name].get("picture_names", [])]
                armed = self._parallel(
                    "arm (acquire)",
                    {name: functools.partial(self.devices[name].acquire, names)},
                    deadline,
                    timeout,
                )
                iterators[name] = (names, armed[name])
            # 3. start the sequencers, externally triggered first, master last
            started = [name for name in self.start_order if name in device_parameters]
            for name in started:
                self._parallel("start", {name: self.devices[name].start}, deadline, timeout)
            # 4. collect pictures while the sequencers finish
            jobs: dict[str, Callable[[], Any]] = {}
            for name, (names, iterator) in iterators.items():
                jobs[name] = functools.partial(self._collect, name, names, iterator)
            results = self._parallel("acquire", jobs, deadline, timeout)
            finishing: dict[str, Callable[[], Any]] = {
                name: functools.partial(_wait_finished, self.devices[name], deadline)
                for name in started
            }
            self._parallel("wait_finished", finishing, deadline, timeout)
        finally:
            for _, iterator in iterators.values():
                close = getattr(iterator, "close", None)
                if callable(close):
                    with contextlib.suppress(Exception):  # a finished or failed acquisition
                        close()
        data: dict[str, Any] = {}
        for name in cameras:
            data.update(results.get(name, {}))
        return data

    @staticmethod
    def _collect(camera: str, names: list[str], iterator: Iterator[Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for picture in names:
            try:
                data[f"{camera}.{picture}"] = next(iterator)
            except StopIteration:
                raise DeviceError(
                    f"camera {camera!r} stopped before picture {picture!r}",
                    device=camera,
                    step="acquire",
                ) from None
        return data

    @staticmethod
    def _check_deadline(name: str, step: str, deadline: float, timeout: float) -> None:
        if time.monotonic() > deadline:
            raise DeviceTimeoutError(
                f"the shot ran out of time ({timeout:g} s) before device {name!r} could {step}",
                device=name,
                step=step,
            )

    @staticmethod
    def _call(name: str, step: str, function: Callable[[], Any]) -> Any:
        try:
            return function()
        except DeviceError as exc:
            if exc.device == name:
                raise
            raise DeviceError(
                f"device {name!r} failed to {step}: {exc}", device=name, step=step
            ) from exc
        except Exception as exc:
            error_type = DeviceTimeoutError if isinstance(exc, TimeoutError) else DeviceError
            raise error_type(
                f"device {name!r} failed to {step}: {type(exc).__name__}: {exc}",
                device=name,
                step=step,
            ) from exc

    def _parallel(
        self,
        step: str,
        jobs: Mapping[str, Callable[[], Any]],
        deadline: float,
        timeout: float,
    ) -> dict[str, Any]:
        if not jobs:
            return {}
        for name in jobs:
            self._check_deadline(name, step, deadline, timeout)
        futures: dict[Future[Any], str] = {
            self._pool.submit(self._call, name, step, job): name for name, job in jobs.items()
        }
        done, pending = wait(
            futures, timeout=max(deadline - time.monotonic(), 0.0), return_when=FIRST_EXCEPTION
        )
        for future in done:
            if future.exception() is not None:
                for other in pending:
                    other.cancel()
                raise future.exception()  # type: ignore[misc]
        if pending:
            late = sorted(futures[f] for f in pending)
            for other in pending:
                other.cancel()
            raise DeviceTimeoutError(
                f"device(s) {late} did not finish {step} within the shot's {timeout:g} s",
                device=late[0],
                step=step,
            )
        return {futures[f]: f.result() for f in done}
