"""RPCClient: a thread-safe DEALER client with per-call timeouts."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket as _socket
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from ._curve import apply_client_curve
from ._errors import (
    SECURE_HINT,
    ProtocolError,
    RPCConnectionError,
    RPCError,
    RPCTimeoutError,
    build_remote_error,
)
from ._messages import Reply, parse_reply
from ._wire import (
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_MESSAGE_SIZE,
    PROTOCOL_VERSION,
    decode,
    encode,
    recv_frames,
    send_frames,
)

_log = logging.getLogger("shotbook.rpc")
_MONITOR_EVENTS = (
    zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
_BIG_REQUEST = 1024 * 1024
_NOBLOCK = int(zmq.NOBLOCK)
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)
_POLLOUT = int(zmq.POLLOUT)
_SLICE_MS = 250  # a lost connection is noticed within this while waiting for a reply


def _size(frames: list[Any]) -> int:
    return sum(memoryview(frame).nbytes for frame in frames)


def _readable(sock: zmq.Socket[Any]) -> bool:
    return bool(sock.getsockopt(_EVENTS) & _POLLIN)  # type: ignore[operator]


def _writable(sock: zmq.Socket[Any]) -> bool:
    return bool(sock.getsockopt(_EVENTS) & _POLLOUT)  # type: ignore[operator]


class _Channel:
    """One DEALER connection, used by one thread at a time (sockets are not thread-safe)."""

    __slots__ = ("monitor", "rcvtimeo", "send_poller", "sock", "used")

    def __init__(self, sock: zmq.Socket[Any], monitor: zmq.Socket[Any]) -> None:
        self.sock = sock
        self.monitor = monitor
        self.rcvtimeo = -1
        self.used = -1e9  # time.monotonic() at the start of the last exchange
        self.send_poller = zmq.Poller()
        self.send_poller.register(sock, zmq.POLLOUT)
        self.send_poller.register(monitor, zmq.POLLIN)

    def events(self) -> list[dict[str, Any]]:
        """Socket events that happened since the last look."""
        found: list[dict[str, Any]] = []
        while _readable(self.monitor):
            found.append(dict(recv_monitor_message(self.monitor)))
        return found

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close()
        self.sock.close()


class RPCClient:
    """Call functions of an :class:`RPCServer`.

    Thread-safe: several threads may call at once. Each thread in a call uses its own
    connection from a small pool (ZeroMQ sockets are not thread-safe), so a slow call never
    delays another thread's call, and a lone thread calls with no locking hop. The server
    knows all the connections as one client (:attr:`client_id`).

    Args:
        address: the server address, e.g. ``"tcp://127.0.0.1:50123"``.
        timeout: default seconds to wait for a reply (per call, see :meth:`call`).
        heartbeat_interval: if set, a background thread sends a heartbeat this often, so the
            server (``heartbeat_timeout``) knows the client is alive between calls.
        exception_types: extra remote exception names (``"module.Class"`` or ``"Class"``)
            mapped to local classes; builtin exception types are mapped already.
        name: free-form name reported to the server with host and pid (see
            :func:`call_context`).
        curve_server_key: z85 public key of a secure server. With ``curve_public_key`` and
            ``curve_secret_key``: this client's key pair (its public key must be in the
            server's ``authorized_client_keys``).
        max_message_size: largest request sent (a larger one raises ProtocolError before
            anything is sent) and largest reply accepted, in bytes.
        max_frames: most frames in a reply accepted.

    Example::

        with RPCClient("tcp://127.0.0.1:50123", timeout=5) as client:
            image = client.call("acquire", exposure=0.01)
    """

    def __init__(
        self,
        address: str,
        *,
        timeout: float = 10.0,
        heartbeat_interval: float | None = None,
        exception_types: Mapping[str, type[BaseException]] | None = None,
        name: str | None = None,
        curve_server_key: str | None = None,
        curve_public_key: str | None = None,
        curve_secret_key: str | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_frames: int = DEFAULT_MAX_FRAMES,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be > 0 seconds, got {heartbeat_interval}")
        self._address = address
        self.timeout = timeout
        self._exception_types = dict(exception_types or {})
        self._max_size = max_message_size
        self._max_frames = max_frames
        self._curve = (curve_server_key, curve_public_key, curve_secret_key)
        self._secure = curve_server_key is not None
        self._id = uuid.uuid4().bytes
        self._info = [self._id, _socket.gethostname(), os.getpid(), name]
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._free: list[_Channel] = []
        self._channels: set[_Channel] = set()
        self._closed = False
        self._free.append(self._new_channel())  # fails early on a bad address or key
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        if heartbeat_interval is not None:
            self._heartbeat = threading.Thread(
                target=self._beat, args=(heartbeat_interval,), daemon=True,
                name="shotbook-rpc-heartbeat",
            )  # fmt: skip
            self._heartbeat.start()

    # ------------------------------------------------------------------ public API

    @property
    def address(self) -> str:
        """The server address."""
        return self._address

    @property
    def client_id(self) -> bytes:
        """This client's identity as the server sees it (``call_context().client.client_id``)."""
        return self._id

    def call(self, method: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``method(*args, **kwargs)`` on the server and return its result.

        ``timeout`` (seconds) overrides the client's default for this call. To pass an
        argument named ``timeout`` to the remote function, use :meth:`invoke`.

        Raises:
            RPCTimeoutError: no reply in time (says which method, server and how long).
            RPCConnectionError: the connection was lost or refused while waiting.
            RemoteError: the remote function raised; also an instance of the remote builtin
                type (``except ValueError`` works) or of a type in ``exception_types``.
            ProtocolError: the server refused the request, or sent a malformed reply.
            TypeError: an argument cannot be sent (the message gives its path).
        """
        return self.invoke(method, args, kwargs, timeout=timeout)

    def invoke(
        self,
        method: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Like :meth:`call`, with the arguments given as a sequence and a mapping."""
        request_id = next(self._ids)
        header = {
            "v": PROTOCOL_VERSION,
            "op": "call",
            "id": request_id,
            "m": method,
            "a": list(args),
            "k": dict(kwargs) if kwargs else {},
            "c": self._info,
        }
        frames = encode(header, what=f"the arguments of {method!r}")
        size = _size(frames)
        if size > self._max_size:
            raise ProtocolError(
                f"the request for {method!r} is {size} bytes, over the message size limit of "
                f"{self._max_size} bytes (max_message_size): nothing was sent; send less at "
                "once (servers refuse larger messages)"
            )
        return self._result(self._exchange(request_id, method, frames, timeout), method)

    def ping(self, timeout: float | None = None) -> float:
        """Round trip to the server's listening thread; returns the seconds it took."""
        request_id = next(self._ids)
        header = {"v": PROTOCOL_VERSION, "op": "ping", "id": request_id, "c": self._info}
        frames = encode(header, what="a ping")
        start = time.perf_counter()
        self._result(self._exchange(request_id, "ping", frames, timeout), "ping")
        return time.perf_counter() - start

    def close(self) -> None:
        """Close the connections. Calls in progress in other threads finish or time out."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            free, self._free = self._free, []
        self._heartbeat_stop.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join()
        for channel in free:
            self._discard(channel)

    def __enter__(self) -> RPCClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RPCClient({self._address!r}{', closed' if self._closed else ''})"

    # ------------------------------------------------------------------ channels

    def _new_channel(self) -> _Channel:
        sock: zmq.Socket[Any] = zmq.Context.instance().socket(zmq.DEALER)
        sock.linger = 0
        sock.immediate = True  # queue nothing while disconnected: no stale call runs later
        sock.maxmsgsize = self._max_size
        try:
            apply_client_curve(sock, *self._curve)
            monitor = sock.get_monitor_socket(_MONITOR_EVENTS)
        except BaseException:
            sock.close()
            raise
        channel = _Channel(sock, monitor)
        try:
            sock.connect(self._address)
        except zmq.ZMQError as exc:
            channel.close()
            raise ValueError(
                f"cannot connect to {self._address!r}: {exc} (expected e.g. 'tcp://127.0.0.1:5555')"
            ) from None
        with self._lock:
            self._channels.add(channel)
        return channel

    def _checkout(self) -> _Channel:
        with self._lock:
            if self._closed:
                raise RPCError(f"the RPCClient for {self._address} is closed")
            if self._free:
                return self._free.pop()
        return self._new_channel()

    def _checkin(self, channel: _Channel) -> None:
        with self._lock:
            if not self._closed:
                self._free.append(channel)
                return
        self._discard(channel)

    def _discard(self, channel: _Channel) -> None:
        with self._lock:
            self._channels.discard(channel)
        channel.close()

    # ------------------------------------------------------------------ exchange

    def _exchange(
        self, request_id: int, method: str, frames: list[Any], timeout: float | None
    ) -> Reply:
        if timeout is None:
            timeout = self.timeout
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        now = time.monotonic()
        deadline = now + timeout
        channel = self._checkout()
        try:
            if now - channel.used > _SLICE_MS / 1000:
                for event in channel.events():  # stale events of an idle connection
                    self._check_handshake(event, method)
            self._send(channel, method, frames, deadline, timeout)
            reply = self._receive(channel, request_id, method, deadline, timeout, frames)
        except BaseException:
            # the socket may hold a late reply or a half-done exchange: never reuse it
            self._discard(channel)
            raise
        channel.used = now
        self._checkin(channel)
        return reply

    def _send(
        self, channel: _Channel, method: str, frames: list[Any], deadline: float, timeout: float
    ) -> None:
        """Send, waiting for the connection until ``deadline``."""
        while True:
            try:
                send_frames(channel.sock, frames, _NOBLOCK)
                return
            except zmq.Again:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RPCTimeoutError(
                    f"could not send {method!r} to {self._address}: not connected within "
                    f"{timeout:g} s (is the server running and reachable?"
                    + (f" {SECURE_HINT})" if self._secure else ")")
                )
            channel.send_poller.poll(max(1, int(remaining * 1000)))
            for event in channel.events():
                self._check_handshake(event, method)

    def _check_handshake(self, event: dict[str, Any], method: str) -> None:
        kind = event["event"]
        if kind not in (
            zmq.EVENT_HANDSHAKE_FAILED_AUTH,
            zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
        ):
            return
        what = f"the handshake with {self._address} failed before {method!r} could be sent"
        if kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            what += f" (authentication refused, ZAP status {event['value']})"
        if self._secure:
            raise RPCConnectionError(
                f"{what}: check that this client's public key is in the server's "
                "authorized_client_keys, and that curve_server_key is the server's public key"
            )
        raise RPCConnectionError(
            f"{what}: the server may be secure (then give curve_server_key and this client's "
            "keys), or not an RPC server"
        )

    def _receive(
        self,
        channel: _Channel,
        request_id: int,
        method: str,
        deadline: float,
        timeout: float,
        frames: list[Any],
    ) -> Reply:
        sock = channel.sock
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout_error(method, timeout, frames)
            # a blocking receive (the cheapest wait), in slices to watch the connection
            wait = min(_SLICE_MS, max(1, int(remaining * 1000 + 0.999)))
            if wait != channel.rcvtimeo:
                sock.rcvtimeo = channel.rcvtimeo = wait
            try:
                head, buffers, error = recv_frames(sock, 1, self._max_frames, self._max_size)
            except zmq.Again:
                head = None
            if head is not None:
                if error is not None:
                    raise ProtocolError(f"the reply to {method!r} from {self._address}: {error}")
                reply = parse_reply(decode(head[0], buffers))
                if reply.id == request_id:
                    return reply
                if reply.id is None and reply.kind == "perr":
                    raise ProtocolError(
                        f"the server {self._address} refused the request for {method!r}: "
                        f"{reply.value}"
                    )
                continue  # a reply to an earlier call: dropped
            for event in channel.events():
                # (with IMMEDIATE, a live connection makes the socket writable: then the
                # event is an old one, of a connection lost and made again while idle)
                if event["event"] == zmq.EVENT_DISCONNECTED and not _writable(sock):
                    size = _size(frames)
                    cause = "did the server stop or die?"
                    if size > _BIG_REQUEST:
                        cause += (
                            f" or, as the request was {size} bytes, is it over the server's "
                            "max_message_size? ZeroMQ drops such connections"
                        )
                    raise RPCConnectionError(
                        f"the connection to {self._address} was lost while waiting for the "
                        f"reply to {method!r} ({cause})"
                    )

    def _timeout_error(self, method: str, timeout: float, frames: list[Any]) -> RPCTimeoutError:
        hints = []
        if self._secure:
            hints.append(SECURE_HINT)
        size = _size(frames)
        if size > _BIG_REQUEST:
            hints.append(
                f"the request was {size} bytes: a server drops messages over its max_message_size"
            )
        text = f"; {'; '.join(hints)}" if hints else ""
        return RPCTimeoutError(
            f"no reply from {self._address} to {method!r} within {timeout:g} s "
            f"(the call may still be running there{text})"
        )

    def _result(self, reply: Reply, method: str) -> Any:
        if reply.kind == "ok":
            return reply.value
        if reply.kind == "perr":
            raise ProtocolError(
                f"the server {self._address} refused the request for {method!r}: {reply.value}"
            )
        error = reply.value
        raise build_remote_error(
            error["mro"] or [error["type"]],
            error["msg"],
            error["tb"],
            method=method,
            server=self._address,
            exception_types=self._exception_types,
        )

    def _beat(self, interval: float) -> None:
        header = {"v": PROTOCOL_VERSION, "op": "hb", "c": self._info}
        frames = encode(header, what="a heartbeat")
        channel: _Channel | None = None
        try:
            while not self._heartbeat_stop.wait(interval):
                if channel is None:
                    channel = self._new_channel()
                channel.events()  # nobody else reads them
                with contextlib.suppress(zmq.Again):  # not connected: next time
                    send_frames(channel.sock, frames, _NOBLOCK)
        except RPCError:
            return
        finally:
            if channel is not None:
                self._discard(channel)
