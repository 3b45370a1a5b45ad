"""RPCServer: a ROUTER socket serving registered functions from a small thread pool."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import zmq

from ._context import _CURRENT, CallContext, ClientInfo
from ._curve import ServerSecurity
from ._deferred import Deferred
from ._errors import SERVER_BUSY_TYPE, UNKNOWN_METHOD_TYPE, ProtocolError, mro_names, type_name
from ._messages import Request, parse_request, request_id_of
from ._wire import (
    DEFAULT_MAX_FRAMES,
    DEFAULT_MAX_MESSAGE_SIZE,
    PROTOCOL_VERSION,
    bind_tcp,
    decode,
    encode,
    recv_frames,
    send_frames,
)

_log = logging.getLogger("shotbook.rpc")
_BUSY_LIMIT = 10_000

DEFAULT_MAX_QUEUED = 64
"""Most requests waiting for a free worker by default; more get :class:`ServerBusyError`."""
DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024
"""Most bytes of requests waiting for a free worker by default (a request alone in the
queue is always accepted, whatever its size up to ``max_message_size``)."""

_Task = tuple[Callable[..., Any], tuple[Any, ...], int]  # function, arguments, bytes held
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)


_LOOPBACK_HOSTS = frozenset({"localhost", "::1", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an interface of this computer only (127.x.x.x, ::1, localhost)."""
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def warn_insecure(host: str, port: int, what: str) -> None:
    """Print (stderr) and log a warning when an insecure server listens beyond this computer."""
    if is_loopback(host):
        return
    text = (
        f"WARNING: the {what} on {host}:{port} is insecure (no CurveZMQ) and reachable from "
        "other computers: anyone who reaches this port can use it. Use a "
        "SecureRPCConfiguration (shotbook keygen) on any network you do not fully trust, or "
        "bind 127.0.0.1."
    )
    print(text, file=sys.stderr, flush=True)
    if _log.hasHandlers():
        _log.warning("%s", text)


def _message_of(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<str() of the {type(exc).__qualname__} failed>"


def _error_frames(request_id: int | None, exc: BaseException, with_traceback: bool) -> list[Any]:
    cls = type(exc)
    text = "".join(traceback.format_exception(exc)) if with_traceback else ""
    error = {"type": type_name(cls), "mro": mro_names(cls), "msg": _message_of(exc), "tb": text}
    return encode({"v": PROTOCOL_VERSION, "id": request_id, "err": error}, what="an error")


def _busy_frames(request_id: int | None, text: str) -> list[Any]:
    error = {"type": SERVER_BUSY_TYPE, "mro": [SERVER_BUSY_TYPE], "msg": text, "tb": ""}
    return encode({"v": PROTOCOL_VERSION, "id": request_id, "err": error}, what="an error")


def _protocol_error_frames(request_id: int | None, text: str) -> list[Any]:
    return encode({"v": PROTOCOL_VERSION, "id": request_id, "perr": text}, what="an error")


class _ClientState:
    __slots__ = ("host", "inflight", "last_seen", "name", "pid")

    def __init__(self, now: float) -> None:
        self.host: str | None = None
        self.pid: int | None = None
        self.name: str | None = None
        self.last_seen = now
        self.inflight = 0


class _Method:
    """A registered function and where it runs (see ``RPCServer.register``)."""

    __slots__ = ("demotions", "fixed", "function", "inline", "quick_runs", "tracebacks")

    QUICK = 0.001  # seconds
    RUNS_TO_PROMOTE = 16
    MAX_DEMOTIONS = 2

    def __init__(
        self, function: Callable[..., Any], inline: bool | None, tracebacks: bool = False
    ) -> None:
        self.function = function
        self.tracebacks = tracebacks
        self.fixed = inline is not None
        self.inline = bool(inline)
        self.quick_runs = 0
        self.demotions = 0

    def ran(self, seconds: float, inline: bool) -> None:
        """Learn from one run (races between threads only blur the statistics)."""
        if self.fixed:
            return
        if seconds >= self.QUICK:
            self.quick_runs = 0
            if inline:
                self.inline = False
                self.demotions += 1
        elif not inline and self.demotions < self.MAX_DEMOTIONS:
            self.quick_runs += 1
            if self.quick_runs >= self.RUNS_TO_PROMOTE:
                self.inline = True


class RPCServer:
    """Serve registered functions to :class:`RPCClient` callers over ZeroMQ (ROUTER).

    Calls run in a pool of ``workers`` threads, so concurrent clients are served at the same
    time and a slow call does not delay pings; the thread that receives a call runs it and
    sends the reply itself, after handing the listening over to an idle thread. Quick
    methods can skip that hand-over (``register(..., inline=True or None)``). A function
    can learn who calls it with :func:`call_context`. A function that would wait long
    returns a :class:`Deferred` instead and completes it later from any thread: the call
    then holds no worker while it waits.

    When every worker is busy, requests wait in a queue of at most ``max_queued`` requests
    and ``max_queued_bytes`` bytes; a request beyond that is answered at once with
    :class:`ServerBusyError` (nothing runs) and its payload is dropped.

    The exception of a served function reaches the client as its type, class names and
    message; its traceback stays in the server's log (logger ``shotbook.rpc``, warning)
    unless ``send_tracebacks`` (a debugging flag) or ``register(..., tracebacks=True)``
    (functions that run the lab's own code, whose traceback the user needs) says otherwise.

    Args:
        host: interface to bind (default 127.0.0.1; ``"0.0.0.0"`` for every interface).
        port: TCP port, 0 for a free one (see :attr:`port`).
        workers: how many calls may run at once (one more thread always listens, so pings
            and quick methods are answered while ``workers`` slow calls run).
        heartbeat_timeout: seconds without any message (call, ping or heartbeat) after which
            a client without a call in progress is "gone": it is forgotten and
            ``on_client_gone(info)`` runs in the pool.
        on_client_gone: see ``heartbeat_timeout``.
        curve_secret_key: z85 secret key: makes the server secure (CurveZMQ). Needs
            ``authorized_client_keys``, the z85 public keys of the clients allowed; every
            other client is refused.
        max_message_size: largest request accepted (bytes); a larger one gets a
            ProtocolError, or is dropped by ZeroMQ if one frame alone is larger (before
            any memory is allocated for it; the client then sees its connection lost).
        max_frames: most frames (header + arrays) in one request.
        max_queued, max_queued_bytes: bound of the queue of requests waiting for a worker
            (see above).
        send_tracebacks: send the server's traceback with every error reply (debugging).

    Example::

        server = RPCServer(port=0)
        server.register("add", lambda a, b: a + b)
        server.start()
        with RPCClient(server.address) as client:
            assert client.call("add", 1, 2) == 3
        server.close()
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        workers: int = 4,
        heartbeat_timeout: float | None = None,
        on_client_gone: Callable[[ClientInfo], Any] | None = None,
        curve_secret_key: str | None = None,
        authorized_client_keys: Iterable[str] | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_frames: int = DEFAULT_MAX_FRAMES,
        max_queued: int = DEFAULT_MAX_QUEUED,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
        send_tracebacks: bool = False,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if max_queued < 0 or max_queued_bytes < 0:
            raise ValueError(
                f"max_queued and max_queued_bytes must be >= 0, got {max_queued} and "
                f"{max_queued_bytes}"
            )
        self._max_queued = max_queued
        self._max_queued_bytes = max_queued_bytes
        self._queued_bytes = 0
        self._refused = 0  # requests refused since the last log line about it
        self._refused_logged = -1e9
        self._send_tracebacks = send_tracebacks
        if heartbeat_timeout is not None and heartbeat_timeout <= 0:
            raise ValueError(f"heartbeat_timeout must be > 0 seconds, got {heartbeat_timeout}")
        if curve_secret_key is None and authorized_client_keys is not None:
            raise ValueError("authorized_client_keys needs curve_secret_key (a secure server)")
        self._security: ServerSecurity | None = None
        if curve_secret_key is not None:
            if authorized_client_keys is None:
                raise ValueError("a secure server needs authorized_client_keys (public keys)")
            self._security = ServerSecurity(curve_secret_key, authorized_client_keys)
            context = self._security.context
        else:
            context = zmq.Context.instance()
        self._max_size = max_message_size
        self._max_frames = max_frames
        self._heartbeat_timeout = heartbeat_timeout
        self._on_client_gone = on_client_gone
        self._router = context.socket(zmq.ROUTER)
        self._router.linger = 0
        self._router.maxmsgsize = max_message_size
        if self._security is not None:
            self._security.apply(self._router)
        try:
            self._port = bind_tcp(self._router, host, port)
        except BaseException:
            self._router.close()
            if self._security is not None:
                self._security.close()
            raise
        self._host = host
        if self._security is None:
            warn_insecure(host, self._port, "RPC server")
        # wakes the listener; a plain socket pair (portable) is cheaper to poll than ZeroMQ's
        self._wake_rx, self._wake_tx = socket.socketpair()
        self._wake_rx.setblocking(False)
        self._wake_tx.setblocking(False)
        host_text = "127.0.0.1" if host in ("*", "0.0.0.0") else host
        self._address = f"tcp://{host_text}:{self._port}"
        self._wake_lock = threading.Lock()
        self._router_lock = threading.Lock()  # every use of the ROUTER socket
        self._leader_lock = threading.Lock()  # held by the one thread listening
        self._state_lock = threading.Lock()  # _idle and _pending
        self._idle = 0  # threads waiting to become the listener
        self._pending: deque[_Task] = deque()
        self._poller = zmq.Poller()
        self._poller.register(self._router.getsockopt(zmq.FD), zmq.POLLIN)
        self._poller.register(self._wake_rx.fileno(), zmq.POLLIN)
        self._stopping = False
        self._methods: dict[str, _Method] = {}
        self._clients: dict[bytes, _ClientState] = {}
        self._clients_lock = threading.Lock()
        self._workers = workers
        self._thread: threading.Thread | None = None
        self._running = False
        self._cleaned = False
        self._next_check = 0.0

    # ------------------------------------------------------------------ public API

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return self._port

    @property
    def address(self) -> str:
        """The address clients connect to, e.g. ``"tcp://127.0.0.1:50123"``."""
        return self._address

    @property
    def max_message_size(self) -> int:
        """The largest request accepted, in bytes."""
        return self._max_size

    @property
    def queued(self) -> int:
        """How many requests wait for a free worker now."""
        return len(self._pending)

    @property
    def methods(self) -> list[str]:
        """Names of the registered methods, sorted."""
        return sorted(self._methods)

    @property
    def secure(self) -> bool:
        """Whether the server uses CurveZMQ."""
        return self._security is not None

    def register(
        self,
        name: str,
        function: Callable[..., Any],
        *,
        inline: bool | None = False,
        tracebacks: bool = False,
    ) -> None:
        """Serve ``function`` under ``name``.

        ``inline=False`` (default): runs in the pool; never delays other calls or pings.
        ``inline=True``: runs on the listening thread, saving a thread hand-over (~20 µs);
        only for functions that return at once and never block, since nothing else is
        received meanwhile. ``inline=None``: in the pool until proven quick (16 runs in a
        row under 1 ms), then on the listening thread; a run over 1 ms sends it back to the
        pool (for good the second time). Only for functions that cannot block for long:
        the one slow run still holds the listening thread.

        ``tracebacks=True`` sends the traceback of the function's exceptions to the client
        (for functions running the lab's own code); otherwise it stays in the server's log.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"method name must be a non-empty str, got {name!r}")
        if not callable(function):
            raise TypeError(f"the function registered as {name!r} is not callable: {function!r}")
        self._methods[name] = _Method(function, inline, tracebacks)

    def register_handler(self, handler: object, *, prefix: str = "") -> list[str]:
        """Serve every public method (no leading ``_``) of ``handler`` as ``prefix + name``.

        Returns the names registered.
        """
        names = []
        for attribute in dir(handler):
            if attribute.startswith("_"):
                continue
            value = getattr(handler, attribute)
            if callable(value):
                self.register(prefix + attribute, value)
                names.append(prefix + attribute)
        return names

    def clients(self) -> list[ClientInfo]:
        """The clients heard from (and not yet found gone)."""
        with self._clients_lock:
            return [self._info(key, state) for key, state in self._clients.items()]

    def seconds_since_seen(self, client_id: bytes) -> float | None:
        """Seconds since the client last sent anything, or None if it is unknown or gone."""
        with self._clients_lock:
            state = self._clients.get(client_id)
            return None if state is None else time.monotonic() - state.last_seen

    def start(self) -> RPCServer:
        """Serve in background (daemon) threads; returns the server."""
        if self._running or self._cleaned:
            raise RuntimeError("the server is already running or closed")
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"shotbook-rpc-{self._port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread (and ``workers`` more) until :meth:`close` is called."""
        with self._state_lock:
            if self._running or self._cleaned:
                raise RuntimeError("the server is already running or closed")
            self._running = True
        for index in range(self._workers):
            threading.Thread(
                target=self._work, name=f"shotbook-rpc-{self._port}-{index}", daemon=True
            ).start()
        self._work()

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port. Calls still running finish unseen."""
        with self._wake_lock:
            if self._stopping:
                return
            self._stopping = True
            with contextlib.suppress(OSError):
                self._wake_tx.send(b"\0")
        # once no thread listens (they all see _stopping), the sockets can go
        acquired = self._leader_lock.acquire(timeout=timeout)
        try:
            self._cleanup()
        finally:
            if acquired:
                self._leader_lock.release()

    def __enter__(self) -> RPCServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ serving threads
    #
    # Leader/followers: one thread listens on the socket; when it receives a call and
    # another thread is idle, it hands the listening over and runs the call itself, then
    # sends the reply directly (under the socket lock). So a call costs no thread hop on
    # its way, and a thread always listens (pings are answered while calls run): when
    # every other thread is busy, the listener queues calls for the next free thread.

    def _pop_task(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """The next queued task (with the state lock held and a task queued)."""
        function, args, size = self._pending.popleft()
        self._queued_bytes -= size
        return function, args

    def _work(self) -> None:
        while True:
            with self._state_lock:
                task = self._pop_task() if self._pending else None
                if task is None:
                    self._idle += 1
            if task is None:
                with self._leader_lock:
                    with self._state_lock:
                        self._idle -= 1
                    if self._stopping:
                        return
                    task = self._listen()
                if task is None:
                    return
            function, args = task
            function(*args)

    def _listen(self) -> tuple[Callable[..., Any], tuple[Any, ...]] | None:
        """Receive and answer until a task must run in this thread (None: stopping)."""
        router, poller = self._router, self._poller
        wake_fd = self._wake_rx.fileno()
        tick = None
        if self._heartbeat_timeout is not None:
            tick = max(10, min(1000, int(self._heartbeat_timeout * 250)))
        busy = 0  # messages handled since the socket was last found empty
        while not self._stopping:
            if self._pending:  # a queued task and an idle thread: hand over
                with self._state_lock:
                    if self._pending and self._idle:
                        return self._pop_task()
            with self._router_lock:
                if self._stopping:
                    return None
                message = None
                if router.getsockopt(_EVENTS) & _POLLIN:
                    message = recv_frames(router, 2, self._max_frames, self._max_size)
            if message is not None:
                queued = self._handle(*message)
                if queued is not None:
                    task = self._queue_or_take(queued)
                    if task is not None:
                        return task
            else:
                for ready, _ in poller.poll(tick):
                    if ready == wake_fd:
                        with contextlib.suppress(OSError):
                            self._wake_rx.recv(4096)
            if tick is not None:
                # look for silent clients only once the socket is drained: heartbeats queued
                # while this thread was busy count (or after very many messages in a row)
                busy = 0 if message is None else busy + 1
                now = time.monotonic()
                if now >= self._next_check and (message is None or busy >= _BUSY_LIMIT):
                    self._next_check = now + tick / 1000
                    busy = 0
                    self._check_heartbeats()
        return None

    def _queue_or_take(self, queued: _Task) -> tuple[Callable[..., Any], tuple[Any, ...]] | None:
        """Run the task in this thread if another can listen, else queue it or refuse it."""
        function, args, size = queued
        with self._state_lock:
            if self._idle:
                return function, args
            count, held = len(self._pending), self._queued_bytes
            full = count >= self._max_queued or (count > 0 and held + size > self._max_queued_bytes)
            if not full:
                self._pending.append(queued)
                self._queued_bytes += size
                return None
        identity, state, _method, request, context = args
        with self._clients_lock:
            state.inflight -= 1
        text = (
            f"the server {self._address} is busy: {count} request(s) of {held} bytes wait for "
            f"one of its {self._workers} workers (at most {self._max_queued} requests and "
            f"{self._max_queued_bytes} bytes may wait); {request.method!r} did not run, "
            "try again later"
        )
        self._send(identity, _busy_frames(request.id, text))
        with self._state_lock:  # one log line a second at most, however many are refused
            self._refused += 1
            now = time.monotonic()
            if now < self._refused_logged + 1.0:
                return None
            refused, self._refused, self._refused_logged = self._refused, 0, now
        _log.warning(
            "refused %d request(s) in the last second, queue full (the last: %r from %s)",
            refused, request.method, context.client.describe(),
        )  # fmt: skip
        return None

    def _cleanup(self) -> None:
        with self._router_lock, self._wake_lock:
            if self._cleaned:
                return
            self._cleaned = True
            self._stopping = True
            self._wake_tx.close()
            self._wake_rx.close()
            self._router.close()
        with self._state_lock:
            self._pending.clear()
            self._queued_bytes = 0
        if self._security is not None:
            self._security.close()

    def _send(self, identity: bytes, frames: list[Any]) -> None:
        """Send a reply from any thread."""
        with self._router_lock:
            if self._stopping:
                return
            send_frames(self._router, [identity, *frames])
            # sending may consume the socket's wake-up signal: tell the listener to look
            readable = self._router.getsockopt(_EVENTS) & _POLLIN
        if readable:
            self._wake()

    def _wake(self) -> None:
        """Make the listening thread look at the socket (any thread)."""
        with self._wake_lock:
            if not self._stopping:
                with contextlib.suppress(OSError):  # full: a wake-up is pending anyway
                    self._wake_tx.send(b"\0")

    def _touch(self, identity: bytes, request: Request | None) -> tuple[bytes, _ClientState]:
        """Note that a client was heard; returns its id and state."""
        now = time.monotonic()
        client = None if request is None else request.client
        key = identity if client is None else client[0]
        with self._clients_lock:
            state = self._clients.get(key)
            if state is None:
                state = self._clients[key] = _ClientState(now)
            state.last_seen = now
            if client is not None:
                state.host, state.pid, state.name = client[1], client[2], client[3]
        return key, state

    @staticmethod
    def _info(key: bytes, state: _ClientState) -> ClientInfo:
        return ClientInfo(key, state.host, state.pid, state.name, state.last_seen)

    def _handle(self, head: list[bytes], buffers: list[Any], error: str | None) -> _Task | None:
        """Answer a message at once, or return the task that will answer it."""
        if not head:
            return None
        identity = head[0]
        if error is not None or len(head) < 2:
            self._touch(identity, None)
            _log.warning("refused a request from %r: %s", identity, error)
            self._send(identity, _protocol_error_frames(None, error or "no header frame"))
            return None
        header: Any = None
        try:
            header = decode(head[1], buffers)
            request = parse_request(header)
        except ProtocolError as exc:
            self._touch(identity, None)
            _log.warning("refused a request from %r: %s", identity, exc)
            self._send(identity, _protocol_error_frames(request_id_of(header), str(exc)))
            return None
        key, state = self._touch(identity, request)
        if request.op == "hb":
            return None
        if request.op == "ping":
            pong = {"v": PROTOCOL_VERSION, "id": request.id, "ok": time.time()}
            self._send(identity, encode(pong, what="a pong"))
            return None
        method = self._methods.get(request.method)
        assert request.id is not None
        if method is None:
            self._send(identity, self._unknown_method(request))
            return None
        context = CallContext(self._info(key, state), request.method, request.id, self._address)
        with self._clients_lock:
            state.inflight += 1
        if method.inline:
            start = time.perf_counter()
            outcome = self._run(method, request, context)
            method.ran(time.perf_counter() - start, inline=True)
            self._answer(identity, state, method, request, context, outcome)
            return None
        size = sum(map(len, head)) + sum(len(frame) for frame in buffers)
        return self._run_in_pool, (identity, state, method, request, context), size

    def _unknown_method(self, request: Request) -> list[Any]:
        names = ", ".join(self.methods) or "none"
        error = {
            "type": UNKNOWN_METHOD_TYPE,
            "mro": [UNKNOWN_METHOD_TYPE, "LookupError"],
            "msg": f"no method {request.method!r} on this server; methods: {names}",
            "tb": "",
        }
        return encode({"v": PROTOCOL_VERSION, "id": request.id, "err": error}, what="an error")

    def _run(self, method: _Method, request: Request, context: CallContext) -> list[Any] | Deferred:
        token = _CURRENT.set(context)
        try:
            result = method.function(*request.args, **request.kwargs)
            if isinstance(result, Deferred):
                return result
            return self._result_frames(request, result, context, method.tracebacks)
        except BaseException as exc:
            return self._exception_frames(request, exc, context, method.tracebacks)
        finally:
            _CURRENT.reset(token)

    def _result_frames(
        self, request: Request, result: Any, context: CallContext, tracebacks: bool
    ) -> list[Any]:
        reply = {"v": PROTOCOL_VERSION, "id": request.id, "ok": result}
        try:
            return encode(reply, what=f"the result of {request.method!r}")
        except TypeError as exc:
            return self._exception_frames(request, exc, context, tracebacks)

    def _exception_frames(
        self, request: Request, exc: BaseException, context: CallContext, tracebacks: bool
    ) -> list[Any]:
        sent = tracebacks or self._send_tracebacks
        _log.log(
            logging.DEBUG if sent else logging.WARNING,
            "%r from %s raised %s: %s",
            request.method, context.client.describe(), type_name(type(exc)), _message_of(exc),
            exc_info=exc,
        )  # fmt: skip
        return _error_frames(request.id, exc, sent)

    def _answer(
        self,
        identity: bytes,
        state: _ClientState,
        method: _Method,
        request: Request,
        context: CallContext,
        outcome: list[Any] | Deferred,
    ) -> None:
        """Send a reply now, or once its Deferred is completed."""
        if not isinstance(outcome, Deferred):
            with self._clients_lock:
                state.inflight -= 1
            self._send(identity, outcome)
            return

        def sink(result: tuple[bool, Any]) -> None:
            ok, value = result
            if ok:
                frames = self._result_frames(request, value, context, method.tracebacks)
            else:
                frames = self._exception_frames(request, value, context, method.tracebacks)
            with self._clients_lock:
                state.inflight -= 1
            self._send(identity, frames)

        outcome.bind(sink)

    def _run_in_pool(
        self,
        identity: bytes,
        state: _ClientState,
        method: _Method,
        request: Request,
        context: CallContext,
    ) -> None:
        start = time.perf_counter()
        outcome = self._run(method, request, context)
        method.ran(time.perf_counter() - start, inline=False)
        self._answer(identity, state, method, request, context, outcome)

    def _check_heartbeats(self) -> None:
        assert self._heartbeat_timeout is not None
        limit = time.monotonic() - self._heartbeat_timeout
        gone: list[ClientInfo] = []
        with self._clients_lock:
            for identity, state in list(self._clients.items()):
                if state.inflight == 0 and state.last_seen < limit:
                    del self._clients[identity]
                    gone.append(self._info(identity, state))
        callback = self._on_client_gone
        for info in gone:
            _log.info(
                "client %s is gone (silent for over %s s)", info.describe(), self._heartbeat_timeout
            )
            if callback is not None:
                with self._state_lock:
                    self._pending.append((self._client_gone, (callback, info), 0))

    @staticmethod
    def _client_gone(callback: Callable[[ClientInfo], Any], info: ClientInfo) -> None:
        try:
            callback(info)
        except Exception:
            _log.exception("on_client_gone(%s) failed", info.describe())

    def __repr__(self) -> str:
        state = "closed" if self._cleaned else "running" if self._running else "not started"
        return f"RPCServer({self.address!r}, {state}, methods={self.methods})"
