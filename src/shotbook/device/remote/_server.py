"""DeviceServer: builds registered devices on request and serves their remote methods."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import logging.handlers
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from shotbook.registry import RegistryError, TypeRegistry
from shotbook.rpc import (
    DEFAULT_MAX_MESSAGE_SIZE,
    ClientInfo,
    RPCServer,
    StopSignals,
    call_context,
    mro_names,
)

from .._codec import WireCodec
from .._controller import ShotRunner
from .._protocols import DeviceError, DeviceTimeoutError, is_remote_property, remote_methods_of
from ._config import InsecureRPCConfiguration, RPCConfiguration, SecureRPCConfiguration
from ._lease import Lease, PreparedShot, close_iterator

LEASE_CLOSING_WAIT = 30.0
"""Longest a ``lease.acquire`` waits (s) for the previous holder's devices to close."""


class DeviceServerBusyError(RuntimeError):
    """The device server serves another experiment manager (the message says which)."""


class DeviceServerError(RuntimeError):
    """A request the device server refuses (no lease, unknown device, not remote, ...)."""


class DeviceServer:
    """A device server: it builds devices by registered type tag and serves their methods.

    It serves one experiment manager at a time: a client first takes the *lease*
    (``lease.acquire``); another client gets :class:`DeviceServerBusyError` ("device server
    'x' is in use by host H pid P since ..."). The lease ends when its holder releases it or
    stops heartbeating for ``lease_timeout`` seconds; the holder's devices are then closed.

    Only classes registered with :func:`register_device_class` in ``registry`` can be built,
    and only their remote methods (see :func:`~shotbook.device.remote_methods_of`) called.
    Arguments are data (msgpack, raw numpy buffers, registered types by tag); nothing is
    unpickled or evaluated. A whole shot of devices open here is one request
    (``shot.run``, see :meth:`DeviceServerConnection.run_shot
    <shotbook.device.remote.DeviceServerConnection.run_shot>`): the server runs the steps
    of :class:`~shotbook.device.ShotRunner` next to the devices.

    It logs to ``log_dir/<name>.log`` (rotating; default ``./logs``).

    Example::

        server = DeviceServer(InsecureRPCConfiguration(port=5560), registry, "lab-pc-2")
        server.serve_forever()       # or server.start() ... server.close()
    """

    def __init__(
        self,
        config: RPCConfiguration,
        registry: TypeRegistry,
        name: str = "device_server",
        *,
        log_dir: str | os.PathLike[str] | None = "logs",
        lease_timeout: float = 10.0,
        workers: int = 8,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        if not name or any(c in name for c in "/\\:"):
            raise ValueError(f"a device server name is a plain non-empty name, got {name!r}")
        self.name = name
        self._registry = registry
        self._codec = WireCodec(registry)
        self._log = logging.getLogger(f"shotbook.device.server.{name}")
        self._handler: logging.Handler | None = None
        if log_dir is not None:
            self._handler = _file_handler(Path(log_dir), name)
            self._log.addHandler(self._handler)
            logging.getLogger("shotbook.rpc").addHandler(self._handler)
            if self._log.getEffectiveLevel() > logging.INFO:
                self._log.setLevel(logging.INFO)
        security: dict[str, Any] = {}
        if isinstance(config, SecureRPCConfiguration):
            security = {
                "curve_secret_key": config.server_keys().secret,
                "authorized_client_keys": config.client_keys(),
            }
        elif not isinstance(config, InsecureRPCConfiguration):
            raise TypeError(
                "config must be an InsecureRPCConfiguration or a SecureRPCConfiguration, got "
                f"{type(config).__name__}"
            )
        self._lock = threading.RLock()
        self._lease_freed = threading.Condition(self._lock)
        self._lease: Lease | None = None
        self._iterator_ids = itertools.count(1)
        try:
            self._rpc = RPCServer(
                config.host,
                config.port,
                workers=workers,
                heartbeat_timeout=lease_timeout,
                on_client_gone=self._client_gone,
                max_message_size=max_message_size,
                **security,
            )
        except BaseException:
            self._remove_handler()
            raise
        methods: dict[str, Callable[..., Any]] = {
            "server.status": self._status,
            "lease.acquire": self._acquire_lease,
            "lease.release": self._release_lease,
            "device.create": self._create_device,
            "device.call": self._call_device,
            "device.close": self._close_device,
            "iterator.next": self._iterator_next,
            "iterator.close": self._iterator_close,
            "shot.run": self._run_shot,
            "shot.prepare": self._prepare_shot,
            "shot.start": self._start_shot,
            "shot.collect": self._collect_shot,
            "shot.abort": self._abort_shot,
        }
        for method, function in methods.items():
            # the lab's device code runs in these: its traceback goes to the client
            lab_code = method.startswith(("device.", "shot.")) or method == "iterator.next"
            self._rpc.register(method, function, tracebacks=lab_code)
        self._log.info("device server %r listening on %s", name, self._rpc.address)

    # ------------------------------------------------------------------ lifetime

    @property
    def max_message_size(self) -> int:
        """The largest request accepted, in bytes (:data:`DEFAULT_MAX_MESSAGE_SIZE` unless
        given)."""
        return self._rpc.max_message_size

    @property
    def address(self) -> str:
        """The address clients connect to, e.g. ``tcp://127.0.0.1:5560``."""
        return self._rpc.address

    @property
    def port(self) -> int:
        """The TCP port served."""
        return self._rpc.port

    def start(self) -> DeviceServer:
        """Serve in a background thread; returns the server."""
        self._rpc.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` is called (from another thread)."""
        try:
            self._rpc.serve_forever()
        finally:
            self._close_everything("the server stopped")

    def close(self) -> None:
        """Stop serving; close every device still open."""
        self._rpc.close()
        self._close_everything("the server stopped")
        self._remove_handler()

    def __enter__(self) -> DeviceServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ lease

    def _status(self) -> dict[str, Any]:
        with self._lock:
            lease = self._lease
            return {
                "name": self.name,
                "holder": None if lease is None else lease.holder,
                "since": None if lease is None else lease.since.isoformat(),
                "devices": [] if lease is None else sorted(lease.devices),
            }

    def _acquire_lease(self) -> dict[str, Any]:
        client = call_context().client
        with self._lock:
            # a lease given up is free once its devices are closed (the hardware too)
            self._lease_freed.wait_for(
                lambda: self._lease is None or not self._lease.closing, LEASE_CLOSING_WAIT
            )
            lease = self._lease
            if lease is not None and lease.closing:
                raise DeviceServerBusyError(
                    f"device server {self.name!r} is still closing the devices of "
                    f"{lease.holder} after {LEASE_CLOSING_WAIT:g} s; try again later"
                )
            if lease is not None and lease.client_id != client.client_id:
                raise DeviceServerBusyError(
                    f"device server {self.name!r} is in use by {lease.holder} since "
                    f"{lease.since:%Y-%m-%d %H:%M:%S}; stop that experiment manager first, or "
                    "wait for its lease to expire"
                )
            if lease is None:
                self._lease = Lease(client.client_id, client.describe(), dt.datetime.now())
                self._log.info("lease taken by %s", client.describe())
        return self._status()

    def _give_up_lease(self, client_id: bytes | None) -> Lease | None:
        """Mark the lease (``client_id``'s, or any if None) closing; return it if it was."""
        with self._lock:
            lease = self._lease
            if lease is None or lease.closing:
                return None
            if client_id is not None and lease.client_id != client_id:
                return None
            lease.closing = True
            return lease

    def _end_lease(self, lease: Lease, why: str) -> None:
        """Close the lease's devices, then free it for the next client."""
        try:
            lease.close(self._log, why)
        finally:
            with self._lock:
                if self._lease is lease:
                    self._lease = None
                self._lease_freed.notify_all()

    def _release_lease(self) -> None:
        lease = self._give_up_lease(call_context().client.client_id)
        if lease is not None:
            self._log.info("lease released by %s", lease.holder)
            self._end_lease(lease, "the lease was released")

    def _client_gone(self, info: ClientInfo) -> None:
        lease = self._give_up_lease(info.client_id)
        if lease is not None:
            self._log.warning(
                "lease holder %s stopped heartbeating: closing its devices", lease.holder
            )
            self._end_lease(lease, "its holder is gone")

    def _close_everything(self, why: str) -> None:
        lease = self._give_up_lease(None)
        if lease is not None:
            self._end_lease(lease, why)

    def _holder_lease(self) -> Lease:
        client = call_context().client
        lease = self._lease
        if lease is None or lease.client_id != client.client_id or lease.closing:
            if lease is None or lease.closing:
                raise DeviceServerError(
                    f"device server {self.name!r}: take the lease first (lease.acquire)"
                )
            raise DeviceServerBusyError(
                f"device server {self.name!r} is in use by {lease.holder} since "
                f"{lease.since:%Y-%m-%d %H:%M:%S}"
            )
        return lease

    # ------------------------------------------------------------------ devices

    def _create_device(self, name: Any, device_type: Any, init_parameters: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a device name is a non-empty str, got {name!r}")
        if not isinstance(device_type, str):
            raise TypeError(f"a device type is a registered tag (str), got {device_type!r}")
        try:
            entry = self._registry.entry_for_tag(device_type)
        except RegistryError as exc:
            raise DeviceServerError(
                f"device server {self.name!r} cannot build {name!r}: {exc}"
            ) from None
        cls = entry.cls
        methods = remote_methods_of(cls)
        if not methods or not hasattr(cls, "__enter__") or not hasattr(cls, "__exit__"):
            raise DeviceServerError(
                f"device server {self.name!r}: type {device_type!r} ({cls.__qualname__}) is not "
                "a device (a context manager with remote methods)"
            )
        kwargs = self._codec.decode(init_parameters)
        if not isinstance(kwargs, dict):
            raise TypeError(f"the init parameters of {name!r} must be a mapping")
        with self._lock:
            lease = self._holder_lease()
            if name in lease.devices:
                raise DeviceServerError(
                    f"device {name!r} is already open on device server {self.name!r}"
                )
            lease.devices[name] = None  # reserved while it is being built
        try:
            device = cls(name=name, **kwargs)
            entered = device.__enter__()
        except BaseException:
            with self._lock:
                lease.devices.pop(name, None)
            self._log.exception("creating device %r (%s) failed", name, device_type)
            raise
        with self._lock:
            lease.devices[name] = entered
        self._log.info("opened device %r of type %r", name, device_type)
        properties = sorted(m for m in methods if is_remote_property(cls, m))
        return {
            "methods": sorted(m for m in methods if m not in properties),
            "properties": properties,
        }

    def _device(self, name: Any) -> tuple[Lease, Any]:
        with self._lock:
            lease = self._holder_lease()
            device = lease.devices.get(name) if isinstance(name, str) else None
            if device is None:
                raise DeviceServerError(
                    f"device {name!r} is not open on device server {self.name!r} "
                    f"(open: {', '.join(sorted(lease.devices)) or 'none'})"
                )
            return lease, device

    def _call_device(self, name: Any, method: Any, args: Any, kwargs: Any) -> Any:
        lease, device = self._device(name)
        if not isinstance(method, str) or method not in remote_methods_of(type(device)):
            raise DeviceServerError(
                f"{method!r} is not a remote method of device {name!r} "
                f"(remote: {', '.join(sorted(remote_methods_of(type(device))))})"
            )
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError("device.call takes (name, method, args list, kwargs map)")
        args = self._codec.decode(args)
        kwargs = self._codec.decode({"$dict": kwargs})
        if is_remote_property(type(device), method):
            if args or kwargs:
                raise TypeError(f"{name}.{method} is a property: it takes no arguments")
            result = getattr(device, method)
        else:
            result = getattr(device, method)(*args, **kwargs)
        if isinstance(result, Iterator) and not isinstance(result, np.ndarray | str | bytes):
            with self._lock:
                iterator_id = next(self._iterator_ids)
                lease.iterators[iterator_id] = (name, result)
            return {"$iterator": iterator_id}
        return self._codec.encode(result)

    def _iterator_next(self, iterator_id: Any) -> Any:
        with self._lock:
            lease = self._holder_lease()
            entry = lease.iterators.get(iterator_id) if type(iterator_id) is int else None
        if entry is None:
            raise DeviceServerError(f"no open iterator {iterator_id!r} on {self.name!r}")
        try:
            value = next(entry[1])
        except StopIteration:
            with self._lock:
                lease.iterators.pop(iterator_id, None)
            return {"$stop": True}
        except BaseException:
            with self._lock:
                lease.iterators.pop(iterator_id, None)
            raise
        return {"$item": self._codec.encode(value)}

    def _iterator_close(self, iterator_id: Any) -> None:
        with self._lock:
            lease = self._holder_lease()
            entry = lease.iterators.pop(iterator_id, None) if type(iterator_id) is int else None
        if entry is not None:
            close_iterator(entry[1])

    def _close_device(self, name: Any) -> None:
        lease, device = self._device(name)
        with self._lock:
            lease.devices.pop(name, None)
            lease.drop_shot_runners(name)
            for key, (owner, iterator) in list(lease.iterators.items()):
                if owner == name:
                    del lease.iterators[key]
                    close_iterator(iterator)
        device.__exit__(None, None, None)
        self._log.info("closed device %r", name)

    def _run_shot(self, parameters: Any, start_order: Any, timeout: Any) -> dict[str, Any]:
        """One shot of devices open here: what :class:`ShotRunner` does, next to them.

        Returns ``{"data": {"device.label": value}}``, or ``{"failed": {...}}`` naming the
        device and the step that failed, with the device's exception as the cause.
        """
        _, runner, decoded = self._shot_request(parameters, start_order, timeout)
        try:
            data = runner.run_shot(decoded, float(timeout))
        except DeviceError as exc:
            return {"failed": _failure(exc)}
        return self._shot_data(data)

    def _prepare_shot(self, parameters: Any, start_order: Any, timeout: Any) -> dict[str, Any]:
        """Program the shot's devices and arm its cameras (then shot.start, shot.collect)."""
        lease, runner, decoded = self._shot_request(parameters, start_order, timeout)
        with self._lock:
            lease.drop_prepared()
        deadline = time.monotonic() + float(timeout)
        try:
            iterators = runner.prepare_devices(decoded, deadline, float(timeout))
        except DeviceError as exc:
            return {"failed": _failure(exc)}
        with self._lock:
            lease.prepared = PreparedShot(runner, iterators)
        return {}

    def _start_shot(self, names: Any, timeout: Any) -> dict[str, Any]:
        """Start these sequencers of the prepared shot, in order."""
        shot = self._prepared()
        _check_timeout(timeout)
        if not isinstance(names, list) or not all(
            isinstance(n, str) and n in shot.runner.start_order for n in names
        ):
            raise TypeError(
                f"shot.start takes sequencers of the prepared shot "
                f"({shot.runner.start_order}), got {names!r}"
            )
        try:
            shot.runner.start_sequencers(names, time.monotonic() + timeout, float(timeout))
        except DeviceError as exc:
            return {"failed": _failure(exc)}
        finally:
            shot.started.extend(names)  # a failed start may have started: wait for it too
        return {}

    def _collect_shot(self, timeout: Any) -> dict[str, Any]:
        """The prepared shot's pictures, once its started sequencers have finished."""
        shot = self._prepared()
        _check_timeout(timeout)
        with self._lock:
            lease = self._holder_lease()
            if lease.prepared is shot:
                lease.prepared = None
        try:
            data = shot.runner.finish_shot(
                shot.iterators, shot.started, time.monotonic() + timeout, float(timeout)
            )
        except DeviceError as exc:
            return {"failed": _failure(exc)}
        finally:
            for _, iterator in shot.iterators.values():
                close_iterator(iterator)
        return self._shot_data(data)

    def _abort_shot(self) -> None:
        with self._lock:
            self._holder_lease().drop_prepared()

    def _prepared(self) -> PreparedShot:
        with self._lock:
            shot = self._holder_lease().prepared
        if shot is None:
            raise DeviceServerError(
                f"device server {self.name!r} has no prepared shot (shot.prepare first)"
            )
        return shot

    def _shot_request(
        self, parameters: Any, start_order: Any, timeout: Any
    ) -> tuple[Lease, ShotRunner, dict[str, dict[str, Any]]]:
        """Check a shot request; the lease, a runner of its devices, the decoded parameters."""
        if not isinstance(parameters, dict) or not all(
            isinstance(v, dict) for v in parameters.values()
        ):
            raise TypeError("a shot request takes a map of device name to parameter map")
        if not isinstance(start_order, list) or not all(isinstance(n, str) for n in start_order):
            raise TypeError("a shot request takes the start order as a list of device names")
        _check_timeout(timeout)
        names = tuple(sorted(parameters))
        key = (names, tuple(start_order))
        with self._lock:
            lease = self._holder_lease()
            runner = lease.shot_runners.get(key)
            if runner is None:
                missing = [n for n in names if lease.devices.get(n) is None]
                if missing:
                    raise DeviceServerError(
                        f"device(s) {missing} are not open on device server {self.name!r} "
                        f"(open: {', '.join(sorted(lease.devices)) or 'none'})"
                    )
                devices = {n: lease.devices[n] for n in names}
                runner = ShotRunner(devices, start_order=start_order)
                lease.shot_runners[key] = runner
        decoded = {
            name: self._codec.decode({"$dict": values}) for name, values in parameters.items()
        }
        return lease, runner, decoded

    def _shot_data(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"data": {label: self._codec.encode(value) for label, value in data.items()}}

    def _remove_handler(self) -> None:
        if self._handler is not None:
            self._log.removeHandler(self._handler)
            logging.getLogger("shotbook.rpc").removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    def __repr__(self) -> str:
        return f"DeviceServer({self.name!r}, {self.address!r})"


def _check_timeout(timeout: Any) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise TypeError(f"a shot request takes a timeout > 0 s, got {timeout!r}")


def _failure(error: DeviceError) -> dict[str, Any]:
    cause = error.__cause__ if error.__cause__ is not None else error
    return {
        "device": error.device,
        "step": error.step,
        "timeout": isinstance(error, DeviceTimeoutError),
        "message": str(error),
        "cause": {
            "mro": mro_names(type(cause)),
            "msg": str(cause),
            "tb": "".join(traceback.format_exception(cause)),
        },
    }


def _file_handler(log_dir: Path, name: str) -> logging.Handler:
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_dir / f"{name}.log", maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def run_device_server(
    config: RPCConfiguration,
    registry: TypeRegistry,
    name: str = "device_server",
    *,
    log_dir: str | os.PathLike[str] | None = "logs",
    lease_timeout: float = 10.0,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
) -> None:
    """Run a device server in this process until interrupted (Ctrl-C); blocking.

    Prints ``device server 'NAME' listening on tcp://HOST:PORT`` once it serves. This is
    what ``Experiment.launch_device_server`` and ``shotbook device-server`` call.
    """
    server = DeviceServer(
        config,
        registry,
        name,
        log_dir=log_dir,
        lease_timeout=lease_timeout,
        max_message_size=max_message_size,
    )
    # serve from background threads; the main thread only waits for Ctrl-C / SIGTERM,
    # caught from before the announcement so a signal right after it stops cleanly
    with StopSignals() as signals:
        try:
            server.start()
            print(f"device server {name!r} listening on {server.address}", flush=True)
            received = signals.wait()
            server._log.info("device server %r interrupted: stopping (%s)", name, received)
            print(f"device server {name!r} stopping ({received})", flush=True)
        finally:
            server.close()
