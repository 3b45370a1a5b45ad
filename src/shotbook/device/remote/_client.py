"""The client side of a device server: a leased connection and RemoteDevice proxies."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from shotbook.registry import TypeRegistry
from shotbook.rpc import (
    RemoteError,
    RPCClient,
    RPCConnectionError,
    RPCTimeoutError,
    build_remote_error,
)

from .._codec import WireCodec
from .._protocols import (
    CameraTimeoutError,
    DeviceError,
    DeviceTimeoutError,
    SequencerTimeoutError,
)
from ._config import ClientRPCConfiguration, InsecureRPCConfiguration, SecureRPCClientConfiguration
from ._server import DeviceServerBusyError, DeviceServerError

_log = logging.getLogger("shotbook.device.remote")

_EXCEPTION_TYPES: dict[str, type[BaseException]] = {
    cls.__name__: cls
    for cls in (
        CameraTimeoutError,
        SequencerTimeoutError,
        DeviceError,
        DeviceTimeoutError,
        DeviceServerBusyError,
        DeviceServerError,
    )
}


class DeviceServerConnection:
    """A connection to one device server, holding its lease while open.

    Used as a context manager: entering connects and takes the lease (raising
    :class:`DeviceServerBusyError` if another experiment manager holds it); leaving
    releases it, which closes the devices still open there. Devices are created with
    :meth:`device`. Thread-safe: devices of one server may be driven from several threads.

    Args:
        config: how to reach the server.
        registry: the types that may travel in arguments and results.
        server_name: the server's name, used in messages.
        timeout: default seconds to wait for a reply.
        heartbeat_interval: seconds between heartbeats, keeping the lease alive.

    Example::

        with DeviceServerConnection(InsecureRPCConfiguration(port=5560), registry) as server:
            with server.device("camera", "sim_camera", {"seed": 1}) as camera:
                camera.update_parameters(exposures=[1e-3], picture_names=["a"], timeout=1)
    """

    def __init__(
        self,
        config: ClientRPCConfiguration,
        registry: TypeRegistry,
        *,
        server_name: str = "device_server",
        timeout: float = 10.0,
        heartbeat_interval: float = 1.0,
        client_name: str = "experiment manager",
    ) -> None:
        if not isinstance(config, InsecureRPCConfiguration | SecureRPCClientConfiguration):
            raise TypeError(
                f"device server {server_name!r}: the client configuration must be an "
                "InsecureRPCConfiguration or a SecureRPCClientConfiguration, got "
                f"{type(config).__name__}"
            )
        self.config = config
        self.server_name = server_name
        self.timeout = timeout
        self.codec = WireCodec(registry)
        self._heartbeat_interval = heartbeat_interval
        self._client_name = client_name
        self._client: RPCClient | None = None
        self._broken: str | None = None

    @property
    def address(self) -> str:
        """The server's address."""
        return self.config.address

    def open(self) -> DeviceServerConnection:
        """Connect and take the lease (what ``__enter__`` does)."""
        security: dict[str, Any] = {}
        if isinstance(self.config, SecureRPCClientConfiguration):
            keys = self.config.client_keys()
            security = {
                "curve_server_key": self.config.server_key(),
                "curve_public_key": keys.public,
                "curve_secret_key": keys.secret,
            }
        self._broken = None
        self._client = RPCClient(
            self.config.address,
            timeout=self.timeout,
            heartbeat_interval=self._heartbeat_interval,
            exception_types=_EXCEPTION_TYPES,
            name=self._client_name,
            **security,
        )
        try:
            self.call("lease.acquire", what="take the lease")
        except BaseException:
            self._client.close()
            self._client = None
            raise
        return self

    def close(self) -> None:
        """Release the lease (closing the server-side devices) and disconnect."""
        client, self._client = self._client, None
        if client is None:
            return
        if self._broken is not None:
            client.close()
            return
        try:
            # not critical: an unreleased lease expires when the heartbeats stop
            client.call("lease.release", timeout=min(self.timeout, 2.0))
        except Exception as exc:  # the server may be gone: nothing more to release
            _log.warning("could not release the lease of %r: %s", self.server_name, exc)
        finally:
            client.close()

    def __enter__(self) -> DeviceServerConnection:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def status(self) -> dict[str, Any]:
        """The server's name, lease holder and open devices."""
        result: dict[str, Any] = self.call("server.status", what="read its status")
        return result

    def device(
        self,
        name: str,
        device_type: str,
        init_parameters: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> RemoteDevice:
        """A proxy of a device to build on the server (built when entered)."""
        return RemoteDevice(self, name, device_type, init_parameters or {}, timeout=timeout)

    def call(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,
        device: str = "",
        what: str = "",
    ) -> Any:
        """Call a server method; connection problems become :class:`DeviceError`."""
        client = self._client
        where = f"device server {self.server_name!r} ({self.address})"
        subject = f"device {device!r} on {where}" if device else where
        action = what or method
        if client is None:
            raise DeviceError(
                f"cannot {action}: the connection to {where} is not open", device=device
            )
        if self._broken is not None:
            raise DeviceError(
                f"cannot {action}: the connection to {where} was lost ({self._broken})",
                device=device,
                step=action,
            )
        wait = self.timeout if timeout is None else timeout
        try:
            return client.invoke(method, args, timeout=wait)
        except RPCTimeoutError as exc:
            alive = self._answers_ping(client, min(wait, 1.0))
            if not alive:
                self._broken = f"no answer to {action} within {wait:g} s, nor to a ping"
            hint = "" if alive else " It does not answer pings either: is it running and reachable?"
            raise DeviceTimeoutError(
                f"{subject} did not answer in time to {action} ({wait:g} s).{hint} ({exc})",
                device=device,
                step=action,
            ) from None
        except RPCConnectionError as exc:
            if "handshake" in str(exc) or "authentication" in str(exc):
                self._broken = "the secure handshake failed"
                raise DeviceError(
                    f"{where} refused this client while trying to {action}: {exc}",
                    device=device,
                    step=action,
                ) from None
            if not self._answers_ping(client, min(wait, 1.0)):
                self._broken = f"connection lost during {action}"
            raise DeviceError(
                f"lost the connection to {subject} while trying to {action}: did the server "
                f"stop? ({exc})",
                device=device,
                step=action,
            ) from None

    def run_shot(
        self,
        names: Mapping[str, str],
        device_parameters: Mapping[str, Mapping[str, Any]],
        start_order: list[str],
        cameras: list[str],
        timeout: float,
    ) -> dict[str, Any]:
        """Run one shot of devices all on this server, in one request.

        The server programs the devices, arms the cameras, starts the sequencers in
        ``start_order``, collects the pictures and waits for the sequencers, as
        :class:`~shotbook.device.ShotRunner` does in-process, within ``timeout`` seconds.

        Args:
            names: the server-side name of each device, by the caller's name.
            device_parameters: the compiled shot parameters, by the caller's name.
            start_order: the sequencers to start, in order (caller's names).
            cameras: the cameras of the shot (caller's names). The server finds them
                itself; a lost connection or a late reply is reported against the first
                (a shot mostly waits for its pictures), else the master.
            timeout: seconds for the whole shot.

        Returns:
            The shot data by ``"device.label"`` (caller's device names).

        Raises:
            DeviceError: naming the device and the step (``DeviceTimeoutError`` for a step
                out of time); the device's own exception, with its remote traceback, is the
                cause.
        """
        # the call waiting longest is a camera's (pictures), else the master's (last started)
        waiting = (cameras or start_order[-1:] or list(names))[0]
        return self._shot_call(
            "shot.run",
            names,
            waiting,
            f"run a shot of devices {sorted(names)}",
            timeout,
            self._encode_parameters(names, device_parameters),
            [names[n] for n in start_order],
        )

    # A shot of devices split between servers (see ShotRunner): one request per server and
    # step. The server keeps the armed cameras between the requests.

    def prepare_shot(
        self,
        names: Mapping[str, str],
        device_parameters: Mapping[str, Mapping[str, Any]],
        start_order: list[str],
        timeout: float,
    ) -> None:
        """Program the devices and arm the cameras of a shot (server-side names in
        ``names``, by the caller's); ``start_order`` lists the sequencers to start."""
        self._shot_call(
            "shot.prepare",
            names,
            next(iter(names)),
            f"program devices {sorted(names)}",
            timeout,
            self._encode_parameters(names, device_parameters),
            [names[n] for n in start_order],
        )

    def start_shot(self, names: Mapping[str, str], start: list[str], timeout: float) -> None:
        """Start these prepared sequencers, in this order."""
        self._shot_call(
            "shot.start", names, start[0], f"start {start}", timeout, [names[n] for n in start]
        )

    def collect_shot(self, names: Mapping[str, str], timeout: float) -> dict[str, Any]:
        """Collect the prepared shot's pictures and wait for its started sequencers."""
        return self._shot_call(
            "shot.collect", names, next(iter(names)), "collect the shot", timeout
        )

    def abort_shot(self) -> None:
        """Drop a prepared shot (its cameras are disarmed); errors are only logged."""
        try:
            self.call("shot.abort", timeout=min(self.timeout, 2.0), what="drop the shot")
        except Exception as exc:
            _log.warning("could not drop the shot on %r: %s", self.server_name, exc)

    def _encode_parameters(
        self, names: Mapping[str, str], device_parameters: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Any]:
        codec = self.codec
        return {
            names[name]: codec.encode(dict(values))["$dict"]
            for name, values in device_parameters.items()
        }

    def _shot_call(
        self,
        method: str,
        names: Mapping[str, str],
        waiting: str,
        what: str,
        timeout: float,
        *args: Any,
    ) -> dict[str, Any]:
        """A shot request; the server enforces ``timeout``, this side waits a bit more."""
        reply = self.call(
            method, *args, timeout, timeout=timeout + self.timeout, device=waiting, what=what
        )
        local = {remote: name for name, remote in names.items()}
        if not isinstance(reply, dict):
            raise DeviceError(
                f"device server {self.server_name!r} sent a malformed reply to {method}",
                device=waiting,
                step=what,
            )
        failure = reply.get("failed")
        if failure is not None:
            raise self._shot_failure(failure, local)
        codec = self.codec
        data: dict[str, Any] = {}
        for key, value in (reply.get("data") or {}).items():
            device, _, label = str(key).partition(".")
            data[f"{local.get(device, device)}.{label}"] = codec.decode(value)
        return data

    def _shot_failure(self, failure: Any, local: Mapping[str, str]) -> DeviceError:
        if not isinstance(failure, dict):
            return DeviceError(f"device server {self.server_name!r} sent a malformed failure")
        remote_name = str(failure.get("device", ""))
        device = local.get(remote_name, remote_name)
        step = str(failure.get("step", ""))
        cause: RemoteError | None = None
        detail = failure.get("cause")
        if isinstance(detail, dict):
            cause = build_remote_error(
                [str(n) for n in detail.get("mro") or ["RemoteError"]],
                str(detail.get("msg", "")),
                str(detail.get("tb", "")),
                method="shot.run",
                server=self.address,
                exception_types=_EXCEPTION_TYPES,
            )
        kind = DeviceTimeoutError if failure.get("timeout") else DeviceError
        message = str(failure.get("message", ""))
        if remote_name != device:
            message = message.replace(repr(remote_name), repr(device))
        error = kind(
            f"{message} (on device server {self.server_name!r}, {self.address})",
            device=device,
            step=step,
        )
        error.__cause__ = cause
        return error

    @property
    def broken(self) -> bool:
        """Whether the connection was lost (calls then fail at once)."""
        return self._broken is not None

    @staticmethod
    def _answers_ping(client: RPCClient, timeout: float) -> bool:
        try:
            client.ping(timeout=timeout)
        except Exception:
            return False
        return True

    def __repr__(self) -> str:
        state = "open" if self._client is not None else "closed"
        return f"DeviceServerConnection({self.server_name!r}, {self.address!r}, {state})"


class RemoteDevice:
    """A device living on a device server, used like the device itself.

    Entering builds the device there (``__enter__`` runs on the server), leaving closes
    it. Its remote methods are called with a timeout: ``timeout`` (default: the
    connection's), plus the value of a ``timeout`` argument when the method takes one, plus
    the last ``timeout`` given to ``update_parameters`` for methods returning pictures.
    Numpy arrays come back as raw frames; an iterator (a camera's ``acquire``) comes back
    as an iterator fetching each item when asked.

    Example::

        with connection.device("pulser", "sim_sequencer", {"channels": ["a"], ...}) as seq:
            seq.update_parameters(sequence=instruction, time_step=50_000)
            seq.start()
    """

    def __init__(
        self,
        connection: DeviceServerConnection,
        name: str,
        device_type: str,
        init_parameters: Mapping[str, Any],
        *,
        timeout: float | None = None,
    ) -> None:
        self.name = name
        self.device_type = device_type
        self.connection = connection
        self.timeout = connection.timeout if timeout is None else timeout
        self._init_parameters = dict(init_parameters)
        self._methods: frozenset[str] = frozenset()
        self._properties: frozenset[str] = frozenset()
        self._device_timeout = 0.0
        self._open = False

    @property
    def shot_server(self) -> DeviceServerConnection:
        """The connection to the server holding this device (it runs whole shots)."""
        return self.connection

    @property
    def remote_methods(self) -> frozenset[str]:
        """The remote methods and properties of the device (known once entered)."""
        return self._methods | self._properties

    def __enter__(self) -> RemoteDevice:
        codec = self.connection.codec
        info = self.connection.call(
            "device.create",
            self.name,
            self.device_type,
            codec.encode(self._init_parameters),
            timeout=self.timeout,
            device=self.name,
            what=f"create it (type {self.device_type!r})",
        )
        self._methods = frozenset(info["methods"])
        self._properties = frozenset(info["properties"])
        self._open = True
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if not self._open:
            return
        self._open = False
        if self.connection.broken:
            _log.warning(
                "device %r: not closed, the connection to its server was lost (the server "
                "closes it when the lease expires)",
                self.name,
            )
            return
        try:
            self.connection.call(
                "device.close", self.name, timeout=self.timeout, device=self.name, what="close it"
            )
        except DeviceError as exc:  # the server is unreachable: its lease will expire
            _log.warning("device %r: %s", self.name, exc)
        except Exception:
            if exc_type is None:
                raise
            _log.warning("could not close device %r after an error", self.name, exc_info=True)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        if attribute in self._properties:
            return self._call(attribute, (), {})
        if attribute in self._methods:

            def method(*args: Any, **kwargs: Any) -> Any:
                return self._call(attribute, args, kwargs)

            method.__name__ = attribute
            return method
        if not self._open:
            raise AttributeError(
                f"{attribute!r}: the remote device {self.name!r} is not open (use it in a "
                "with block)"
            )
        raise AttributeError(
            f"device {self.name!r} has no remote method {attribute!r} "
            f"(remote: {', '.join(sorted(self.remote_methods))})"
        )

    @property
    def call_timeout(self) -> float:
        """Seconds a call without its own ``timeout`` waits: the connection's time-out plus
        the one last given to ``update_parameters`` (a slow device's own wait)."""
        return self.timeout + self._device_timeout

    def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        codec = self.connection.codec
        extra = kwargs.get("timeout")
        given = 0.0
        if isinstance(extra, int | float) and not isinstance(extra, bool) and extra > 0:
            given = float(extra)
        if method == "update_parameters":
            if given:
                self._device_timeout = given
            wait = self.timeout
        elif given:
            wait = self.timeout + given
        else:
            wait = self.call_timeout
        result = self.connection.call(
            "device.call",
            self.name,
            method,
            codec.encode(list(args)),
            codec.encode(kwargs)["$dict"],
            timeout=wait,
            device=self.name,
            what=f"call {method}",
        )
        if isinstance(result, dict) and "$iterator" in result:
            return _RemoteIterator(self, method, result["$iterator"])
        return codec.decode(result)

    def __repr__(self) -> str:
        return f"RemoteDevice({self.name!r}, {self.device_type!r} on {self.connection!r})"


class _RemoteIterator(Iterator[Any]):
    """Items of an iterator living on the server, fetched one call at a time."""

    def __init__(self, device: RemoteDevice, method: str, iterator_id: int) -> None:
        self._device = device
        self._method = method
        self._id = iterator_id
        self._done = False

    def _server_call(self, what: str) -> Callable[..., Any]:
        connection = self._device.connection

        def call(method: str, *args: Any) -> Any:
            return connection.call(
                method,
                *args,
                timeout=self._device.call_timeout,
                device=self._device.name,
                what=what,
            )

        return call

    def __next__(self) -> Any:
        if self._done:
            raise StopIteration
        call = self._server_call(f"get the next item of {self._method}")
        try:
            reply = call("iterator.next", self._id)
        except BaseException:
            self._done = True
            raise
        if isinstance(reply, dict) and reply.get("$stop"):
            self._done = True
            raise StopIteration
        return self._device.connection.codec.decode(reply["$item"])

    def close(self) -> None:
        """Drop the server-side iterator early."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self._server_call(f"close {self._method}")("iterator.close", self._id)
