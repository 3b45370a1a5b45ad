"""Events: EventPublisher (PUB) and EventSubscriber (SUB) with msgpack payloads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import zmq

from ._curve import ServerSecurity, apply_client_curve
from ._errors import ProtocolError, RPCError
from ._wire import (
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_MESSAGE_SIZE,
    bind_tcp,
    decode,
    encode,
    recv_frames,
)

_SLICE = 0.05  # seconds a blocking receive waits between checks of close()


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its topic and its payload (a dict)."""

    topic: str
    payload: dict[str, Any]


class EventPublisher:
    """Publish small events (state changes, "shot stored") to any number of subscribers.

    Frames are ``[topic, msgpack payload, *array buffers]``. Subscribers that connect late
    miss earlier events (ZeroMQ PUB/SUB): events are notifications, the store is the truth.
    Thread-safe.

    Example::

        publisher = EventPublisher(port=0)
        publisher.publish("shot.stored", {"sequence": "a/b", "shot": 12})
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        curve_secret_key: str | None = None,
        authorized_client_keys: Iterable[str] | None = None,
    ) -> None:
        self._security: ServerSecurity | None = None
        if curve_secret_key is not None:
            if authorized_client_keys is None:
                raise ValueError("a secure publisher needs authorized_client_keys")
            self._security = ServerSecurity(curve_secret_key, authorized_client_keys)
            context = self._security.context
        elif authorized_client_keys is not None:
            raise ValueError("authorized_client_keys needs curve_secret_key")
        else:
            context = zmq.Context.instance()
        self._socket = context.socket(zmq.PUB)
        self._socket.linger = 0
        if self._security is not None:
            self._security.apply(self._socket)
        try:
            self._port = bind_tcp(self._socket, host, port)
        except BaseException:
            self.close()
            raise
        self._host = host
        self._lock = threading.Lock()
        self._closed = False

    @property
    def port(self) -> int:
        """The TCP port subscribers connect to."""
        return self._port

    @property
    def address(self) -> str:
        """The address subscribers connect to."""
        host = "127.0.0.1" if self._host in ("*", "0.0.0.0") else self._host
        return f"tcp://{host}:{self._port}"

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` (a dict of sendable values) under ``topic``.

        Subscribers filter by topic prefix. Never blocks: a subscriber too slow to keep up
        loses events (ZeroMQ high-water mark).
        """
        if not isinstance(topic, str):
            raise TypeError(f"topic must be a str, got {type(topic).__qualname__}")
        if not isinstance(payload, dict):
            raise TypeError(f"payload must be a dict, got {type(payload).__qualname__}")
        frames = encode(payload, what=f"the payload of event {topic!r}", root="payload")
        with self._lock:
            if self._closed:
                raise RPCError(f"the EventPublisher at {self.address} is closed")
            self._socket.send_multipart([topic.encode(), *frames], copy=False)

    def close(self) -> None:
        """Stop publishing and release the port."""
        lock = getattr(self, "_lock", None)
        if lock is not None:
            with lock:
                if self._closed:
                    return
                self._closed = True
        self._socket.close()
        if self._security is not None:
            self._security.close()

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class EventSubscriber:
    """Receive events from an :class:`EventPublisher`.

    ``topics`` are prefixes (``"shot."`` matches ``"shot.stored"``); the default ``("",)``
    receives everything. Use from one thread; :meth:`close` may be called from another
    one and ends an iteration.

    Example::

        with EventSubscriber(publisher.address, topics=["shot."]) as events:
            event = events.recv(timeout=1.0)      # None if nothing came
            for event in events:                   # until closed
                print(event.topic, event.payload)
    """

    def __init__(
        self,
        address: str,
        topics: Iterable[str] = ("",),
        *,
        curve_server_key: str | None = None,
        curve_public_key: str | None = None,
        curve_secret_key: str | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_frames: int = DEFAULT_MAX_FRAMES,
    ) -> None:
        if isinstance(topics, str):
            raise TypeError("topics is a list of str prefixes, not one str")
        self._address = address
        self._max_size = max_message_size
        self._max_frames = max_frames
        context: zmq.Context[Any] = zmq.Context.instance()
        self._socket = context.socket(zmq.SUB)
        self._socket.linger = 0
        self._socket.maxmsgsize = max_message_size
        try:
            apply_client_curve(self._socket, curve_server_key, curve_public_key, curve_secret_key)
            for topic in topics:
                self._socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
            self._socket.connect(address)
        except zmq.ZMQError as exc:
            self._socket.close()
            raise ValueError(f"cannot connect to {address!r}: {exc}") from None
        except BaseException:
            self._socket.close()
            raise
        self._lock = threading.Lock()
        self._closed = False

    @property
    def address(self) -> str:
        """The publisher address."""
        return self._address

    def recv(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting at most ``timeout`` seconds (None: until one comes).

        Returns None on timeout or once closed. Malformed events are skipped.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._closed:
                    return None
                wait = _SLICE if deadline is None else min(_SLICE, deadline - time.monotonic())
                if self._socket.poll(max(0, int(wait * 1000))):
                    head, buffers, error = recv_frames(
                        self._socket, 2, self._max_frames, self._max_size
                    )
                    event = self._decode(head, buffers, error)
                    if event is not None:
                        return event
            if deadline is not None and time.monotonic() >= deadline:
                return None

    @staticmethod
    def _decode(head: list[bytes], buffers: list[Any], error: str | None) -> Event | None:
        if error is not None or len(head) < 2:
            return None
        try:
            topic = head[0].decode()
            payload = decode(head[1], buffers)
        except (ProtocolError, UnicodeDecodeError):
            return None
        if not isinstance(payload, dict):
            return None
        return Event(topic, payload)

    def __iter__(self) -> Iterator[Event]:
        while True:
            event = self.recv()
            if event is None:
                return
            yield event

    def close(self) -> None:
        """Stop receiving; an iteration in another thread ends."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._socket.close()

    def __enter__(self) -> EventSubscriber:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
