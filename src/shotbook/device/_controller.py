"""ShotRunner: runs one shot across devices, in order, each step under a timeout."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any

from ._protocols import DeviceError, DeviceTimeoutError, ServedDevice, ShotServer


def _program(device: Any, parameters: Mapping[str, Any]) -> None:
    device.update_parameters(**parameters)


def _wait_finished(device: Any, deadline: float) -> None:
    device.wait_finished(max(deadline - time.monotonic(), 0.001))


def _close_all(iterators: Mapping[str, tuple[list[str], Iterator[Any]]]) -> None:
    for _, iterator in iterators.values():
        close = getattr(iterator, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):  # a finished or failed acquisition
                close()


def _is_sequencer(device: Any) -> bool:
    return hasattr(device, "start") and hasattr(device, "wait_finished")


def _is_camera(device: Any) -> bool:
    return hasattr(device, "acquire")


def _is_data_source(device: Any) -> bool:
    return callable(getattr(device, "read_data", None))


def _labelled(name: str, values: Any) -> dict[str, Any]:
    """``read_data()``'s values as ``device.label`` columns, checked."""
    if not isinstance(values, Mapping):
        raise DeviceError(
            f"device {name!r}: read_data() returned {type(values).__name__}; it returns a "
            "mapping of label to value (a number, a bool or a numpy array)",
            device=name,
            step="read_data",
        )
    data: dict[str, Any] = {}
    for label, value in values.items():
        if not isinstance(label, str) or not label.strip():
            raise DeviceError(
                f"device {name!r}: read_data() gave the label {label!r}; labels are non-empty "
                "strings (the column is 'device.label')",
                device=name,
                step="read_data",
            )
        data[f"{name}.{label}"] = value
    return data


INLINE_ATTRIBUTE = "shot_calls_inline"
"""A device class attribute: True when its shot methods return quickly without blocking on
I/O (e.g. a simulation), so that :class:`ShotRunner` calls them on its own thread."""


def _too_late(names: list[str], step: str, timeout: float) -> DeviceTimeoutError:
    """The error of devices that did not finish a step within the shot's timeout."""
    return DeviceTimeoutError(
        f"device(s) {names} did not finish {step} within the shot's {timeout:g} s",
        device=names[0],
        step=step,
    )


def _is_inline(device: Any) -> bool:
    return getattr(type(device), INLINE_ATTRIBUTE, False) is True


def _server_of(device: object) -> ShotServer | None:
    """The server of a device on a device server that runs whole shots, else None."""
    return device.shot_server if isinstance(device, ServedDevice) else None


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

    Where the calls run: a step's calls to in-process devices go to worker threads (so
    that a hanging device times out), except for devices whose class sets
    ``shot_calls_inline = True`` (fast, non-blocking devices such as the simulated ones),
    which are called on the caller's thread. When every device of a shot lives on one
    device server, the whole shot is one request to that server, which runs these same
    steps next to the devices; when they are split between servers (or this process),
    each server gets one request per step (program and arm, start, collect). Errors still
    name the device and the step, with the device's own exception as the cause.

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
        self.data_sources = [n for n, dev in self.devices.items() if _is_data_source(dev)]
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
        self._inline = frozenset(n for n, dev in self.devices.items() if _is_inline(dev))
        self._servers = {name: _server_of(dev) for name, dev in self.devices.items()}

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
        if device_parameters:
            server = self._servers.get(next(iter(device_parameters)))
            if server is not None and all(self._servers[n] is server for n in device_parameters):
                return self._run_on_server(server, device_parameters, timeout)
        deadline = time.monotonic() + timeout
        hosts: dict[int, tuple[Any, dict[str, Mapping[str, Any]]]] = {}
        for name, params in device_parameters.items():
            server = self._servers[name]
            if server is not None:
                hosts.setdefault(id(server), (server, {}))[1][name] = params
        if hosts:
            return self._run_split(device_parameters, list(hosts.values()), deadline, timeout)
        iterators = self.prepare_devices(device_parameters, deadline, timeout)
        try:
            started = [name for name in self.start_order if name in device_parameters]
            self.start_sequencers(started, deadline, timeout)
            return self.finish_shot(iterators, started, deadline, timeout)
        finally:
            _close_all(iterators)

    # The steps of a shot (run_shot does them all); a device server runs them one request
    # at a time next to its devices when a shot spans several servers.

    def prepare_devices(
        self, device_parameters: Mapping[str, Mapping[str, Any]], deadline: float, timeout: float
    ) -> dict[str, tuple[list[str], Iterator[Any]]]:
        """Step 1 of a shot: program every device at once, then arm the cameras.

        Returns each camera's picture names and the iterator of its pictures (for
        :meth:`finish_shot`); errors are ``DeviceError`` naming the device and the step.
        """
        self._parallel(
            "update_parameters",
            {
                name: functools.partial(_program, self.devices[name], params)
                for name, params in device_parameters.items()
            },
            deadline,
            timeout,
        )
        iterators: dict[str, tuple[list[str], Iterator[Any]]] = {}
        try:
            for name in self.cameras:
                if name in device_parameters:
                    iterators[name] = self._arm(name, device_parameters[name], deadline, timeout)
        except BaseException:
            _close_all(iterators)
            raise
        return iterators

    def _arm(
        self, name: str, parameters: Mapping[str, Any], deadline: float, timeout: float
    ) -> tuple[list[str], Iterator[Any]]:
        names = [str(n) for n in parameters.get("picture_names", [])]
        armed = self._parallel(
            "arm (acquire)",
            {name: functools.partial(self.devices[name].acquire, names)},
            deadline,
            timeout,
        )
        return names, armed[name]

    def start_sequencers(self, names: Sequence[str], deadline: float, timeout: float) -> None:
        """Step 2 of a shot: start the sequencers ``names``, in this order (externally
        triggered first, the master last)."""
        for name in names:
            self._parallel("start", {name: self.devices[name].start}, deadline, timeout)

    def finish_shot(
        self,
        iterators: Mapping[str, tuple[list[str], Iterator[Any]]],
        started: Sequence[str],
        deadline: float,
        timeout: float,
    ) -> dict[str, Any]:
        """Step 3 of a shot: collect the pictures while the ``started`` sequencers finish;
        returns the shot's data by ``device.label``."""
        jobs: dict[str, Callable[[], Any]] = {}
        for name, (names, iterator) in iterators.items():
            jobs[name] = functools.partial(self._collect, name, names, iterator)
        results = self._parallel("acquire", jobs, deadline, timeout)
        finishing: dict[str, Callable[[], Any]] = {
            name: functools.partial(_wait_finished, self.devices[name], deadline)
            for name in started
        }
        self._parallel("wait_finished", finishing, deadline, timeout)
        data: dict[str, Any] = {}
        for name in iterators:
            data.update(results.get(name, {}))
        data.update(self.read_data(self.data_sources, deadline, timeout))
        return data

    def read_data(self, names: Sequence[str], deadline: float, timeout: float) -> dict[str, Any]:
        """The values of the devices ``names`` that report data once their shot is over
        (``read_data()``, see :class:`~shotbook.device.DataSource`), as ``device.label``."""
        read = self._parallel(
            "read_data", {name: self.devices[name].read_data for name in names}, deadline, timeout
        )
        data: dict[str, Any] = {}
        for name in names:
            data.update(_labelled(name, read[name]))
        return data

    def _run_split(
        self,
        device_parameters: Mapping[str, Mapping[str, Any]],
        hosts: list[tuple[Any, dict[str, Mapping[str, Any]]]],
        deadline: float,
        timeout: float,
    ) -> dict[str, Any]:
        """A shot of devices on several device servers (or some in this process).

        Each server gets one request per step: program and arm its devices, start a run
        of consecutive sequencers of the start order, collect its pictures and wait for
        its sequencers. The devices of this process are driven as usual.
        """
        order = [name for name in self.start_order if name in device_parameters]
        local = {n: p for n, p in device_parameters.items() if self._servers[n] is None}
        prepared: list[Any] = []
        collected: list[Any] = []
        iterators: dict[str, tuple[list[str], Iterator[Any]]] = {}
        try:
            jobs: dict[str, Callable[[], Any]] = {
                name: functools.partial(_program, self.devices[name], params)
                for name, params in local.items()
            }
            for server, params in hosts:
                jobs[next(iter(params))] = functools.partial(
                    self._prepare_on, server, params, order, deadline, prepared
                )
            self._parallel("update_parameters", jobs, deadline, timeout)
            for name in self.cameras:
                if name in local:
                    iterators[name] = self._arm(name, local[name], deadline, timeout)
            index = 0
            while index < len(order):
                server = self._servers[order[index]]
                if server is None:
                    self.start_sequencers(order[index : index + 1], deadline, timeout)
                    index += 1
                    continue
                group = [order[index]]
                while index + len(group) < len(order) and (
                    self._servers[order[index + len(group)]] is server
                ):
                    group.append(order[index + len(group)])
                self._parallel(
                    "start",
                    {group[0]: functools.partial(self._start_on, server, group, deadline)},
                    deadline,
                    timeout,
                )
                index += len(group)
            jobs = {}
            for name, (names, iterator) in iterators.items():
                jobs[name] = functools.partial(self._collect, name, names, iterator)
            for server, params in hosts:
                jobs[next(iter(params))] = functools.partial(
                    self._collect_on, server, params, deadline, collected
                )
            results = self._parallel("acquire", jobs, deadline, timeout)
            finishing: dict[str, Callable[[], Any]] = {
                name: functools.partial(_wait_finished, self.devices[name], deadline)
                for name in order
                if name in local
            }
            self._parallel("wait_finished", finishing, deadline, timeout)
            local_sources = [name for name in self.data_sources if name in local]
            local_data = self.read_data(local_sources, deadline, timeout)
        finally:
            _close_all(iterators)
            for server in prepared:
                if server not in collected:
                    server.abort_shot()
        merged: dict[str, Any] = {}
        for values in results.values():
            merged.update(values)
        data: dict[str, Any] = {}
        for camera in self.cameras:  # in the cameras' order, as in-process
            prefix = f"{camera}."
            data.update((k, v) for k, v in merged.items() if k.startswith(prefix))
        data.update((k, v) for k, v in merged.items() if k not in data)  # servers' read_data
        data.update(local_data)
        return data

    def _names(self, names: Iterable[str]) -> dict[str, str]:
        return {name: self.devices[name].name for name in names}

    def _prepare_on(
        self,
        server: Any,
        parameters: Mapping[str, Mapping[str, Any]],
        order: Sequence[str],
        deadline: float,
        prepared: list[Any],
    ) -> None:
        started = [name for name in order if name in parameters]
        server.prepare_shot(
            self._names(parameters),
            parameters,
            started,
            max(deadline - time.monotonic(), 0.001),
        )
        prepared.append(server)

    def _start_on(self, server: Any, names: list[str], deadline: float) -> None:
        server.start_shot(self._names(names), names, max(deadline - time.monotonic(), 0.001))

    def _collect_on(
        self, server: Any, names: Iterable[str], deadline: float, collected: list[Any]
    ) -> dict[str, Any]:
        collected.append(server)  # the server drops the shot whatever happens now
        data: dict[str, Any] = server.collect_shot(
            self._names(names), max(deadline - time.monotonic(), 0.001)
        )
        return data

    def _run_on_server(
        self, server: Any, device_parameters: Mapping[str, Mapping[str, Any]], timeout: float
    ) -> dict[str, Any]:
        """The whole shot as one request to the device server holding all its devices."""
        order = [name for name in self.start_order if name in device_parameters]
        cameras = [name for name in self.cameras if name in device_parameters]
        try:
            result: dict[str, Any] = server.run_shot(
                self._names(device_parameters), device_parameters, order, cameras, timeout
            )
        except DeviceError:
            raise
        except Exception as exc:  # the server refused the request itself
            name = (cameras or order or list(device_parameters))[0]
            raise DeviceError(
                f"device server {server.server_name!r} could not run the shot of devices "
                f"{sorted(device_parameters)}: {type(exc).__name__}: {exc}",
                device=name,
                step="run_shot",
            ) from exc
        return result

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

    def _call(self, name: str, step: str, function: Callable[[], Any]) -> Any:
        try:
            return function()
        except DeviceError as exc:
            if exc.device == name or exc.device in self.devices:
                raise  # already names its device (e.g. from a device server)
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
        if self._inline.issuperset(jobs):
            return self._inline_calls(step, jobs, deadline, timeout)
        for name in jobs:
            self._check_deadline(name, step, deadline, timeout)
        # the other devices' calls go to worker threads; the fast ones run here meanwhile
        futures: dict[Future[Any], str] = {
            self._pool.submit(self._call, name, step, job): name
            for name, job in jobs.items()
            if name not in self._inline
        }
        try:
            results = self._inline_calls(
                step, {n: j for n, j in jobs.items() if n in self._inline}, deadline, timeout
            )
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        done, pending = wait(
            futures, timeout=max(deadline - time.monotonic(), 0.0), return_when=FIRST_EXCEPTION
        )
        for future in done:
            if future.exception() is not None:
                for other in pending:
                    other.cancel()
                raise future.exception()  # type: ignore[misc]
        if pending:
            for other in pending:
                other.cancel()
            raise _too_late(sorted(futures[f] for f in pending), step, timeout)
        results.update((futures[f], f.result()) for f in done)
        return results

    def _inline_calls(
        self,
        step: str,
        jobs: Mapping[str, Callable[[], Any]],
        deadline: float,
        timeout: float,
    ) -> dict[str, Any]:
        """The calls of a step, one after the other on this thread (fast devices only)."""
        results: dict[str, Any] = {}
        for name, job in jobs.items():
            self._check_deadline(name, step, deadline, timeout)
            results[name] = self._call(name, step, job)
            if time.monotonic() > deadline:
                raise _too_late([name], step, timeout)
        return results
