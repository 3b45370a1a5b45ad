"""The experiment server: an experiment manager served over ZeroMQ to notebooks.

``shotbook experiment-server my_lab:experiment`` runs :func:`serve_experiment`. Notebooks
reach it with :class:`~._remote.RemoteExperimentManager`. Calls are request/reply
(:mod:`shotbook.rpc`); events go out on a second port (PUB), announced by the server.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shotbook.rpc import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Deferred,
    EventPublisher,
    RPCServer,
    StopSignals,
    call_context,
)
from shotbook.session import RunOwner

from ._errors import ManagerBusyError, ManagerClosedError, SequenceFailedError
from ._events import ManagerEvent
from ._manager import LocalExperimentManager

if TYPE_CHECKING:
    from shotbook.device.remote import RPCConfiguration

    from ._manager import ExperimentManager

_log = logging.getLogger("shotbook.control.server")

MAX_WAIT_PER_CALL = 5.0
"""Longest wait (s) a client's ``wait`` call may ask for in one request."""

_WAIT_SLICE = 0.2  # a wait reply whose time is up goes at most this late


class _EndWaiters:
    """The pending replies of ``wait`` calls, completed by one thread (no request worker).

    The thread waits on the manager; when no sequence runs any more it resolves every reply
    with True, and a reply whose time is up with False.
    """

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        self._changed = threading.Condition()
        self._waiting: list[tuple[float, Deferred]] = []
        self._closed = False
        self._thread = threading.Thread(
            target=self._serve, name="shotbook-experiment-waits", daemon=True
        )
        self._thread.start()

    def add(self, seconds: float) -> Deferred:
        """A reply resolved with True once no sequence runs, or False after ``seconds``."""
        reply = Deferred()
        with self._changed:
            if self._closed:
                reply.resolve(not self._manager.is_running())
                return reply
            self._waiting.append((time.monotonic() + seconds, reply))
            self._changed.notify()
        return reply

    def __len__(self) -> int:
        with self._changed:
            return len(self._waiting)

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._waiting and not self._closed:
                    self._changed.wait()
                if self._closed:
                    break
                nearest = min(deadline for deadline, _ in self._waiting)
            slice_ = min(_WAIT_SLICE, max(0.0, nearest - time.monotonic()))
            idle = bool(self._manager.wait(slice_))
            now = time.monotonic()
            with self._changed:
                if idle:
                    done, self._waiting = self._waiting, []
                else:
                    done = [item for item in self._waiting if item[0] <= now]
                    self._waiting = [item for item in self._waiting if item[0] > now]
            for _, reply in done:
                reply.resolve(idle)
        with self._changed:
            done, self._waiting = self._waiting, []
        idle = not self._manager.is_running()
        for _, reply in done:
            reply.resolve(idle)

    def close(self) -> None:
        """Answer every pending reply now (True if no sequence runs) and stop the thread."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join(5.0)


def _safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned or "experiment-server"


def rotating_log_handler(log_dir: str | os.PathLike[str], name: str) -> logging.Handler:
    """A rotating file handler writing ``log_dir/<name>.log`` (5 files of 5 MiB)."""
    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        folder / f"{_safe_file_name(name)}.log",
        maxBytes=5 * 1024 * 1024,
        backupCount=5,
        encoding="utf-8",
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def _bind_options(rpc_config: RPCConfiguration) -> tuple[str, int, dict[str, Any]]:
    host = getattr(rpc_config, "host", "127.0.0.1")
    port = getattr(rpc_config, "port", 0)
    security: dict[str, Any] = {}
    server_keys = getattr(rpc_config, "server_keys", None)
    client_keys = getattr(rpc_config, "client_keys", None)
    if callable(server_keys) and callable(client_keys):
        security = {
            "curve_secret_key": server_keys().secret,
            "authorized_client_keys": client_keys(),
        }
    return host, port, security


class ExperimentServer:
    """Serve an experiment manager (usually a LocalExperimentManager) over shotbook.rpc.

    Args:
        manager: the manager that runs the sequences.
        rpc_config: where to listen: ``InsecureRPCConfiguration(host, port)`` or
            ``SecureRPCConfiguration(...)`` (CurveZMQ; the events port is secured alike).
        name: the server's name, used for its log file ``log_dir/<name>.log``.
        events_port: the events (PUB) port; 0 picks a free one (clients ask the server).
        log_dir: folder of the rotating log file; ``None`` logs nowhere but the handlers
            already set.
        workers: how many requests may run at once; ``wait`` calls hold none of them while
            they wait (one thread answers them all when the run ends), so ``interrupt`` and
            state queries are answered whatever the number of waiting clients.
        max_message_size: largest request accepted, in bytes (the same default as device
            servers: :data:`shotbook.rpc.DEFAULT_MAX_MESSAGE_SIZE`, 256 MiB).

    Requests that find every worker busy wait in a bounded queue
    (:data:`shotbook.rpc.DEFAULT_MAX_QUEUED` requests, ``DEFAULT_MAX_QUEUED_BYTES`` bytes);
    beyond it a client gets :class:`shotbook.rpc.ServerBusyError` at once. Interrupts are
    logged with the client's host and pid. An insecure server bound beyond 127.0.0.1 prints
    a warning when it starts.

    Example::

        server = ExperimentServer(manager, InsecureRPCConfiguration("0.0.0.0", 5570))
        server.serve_forever()        # or server.start() ... server.close()
    """

    def __init__(
        self,
        manager: ExperimentManager,
        rpc_config: RPCConfiguration,
        *,
        name: str = "experiment-server",
        events_port: int = 0,
        log_dir: str | os.PathLike[str] | None = "logs",
        workers: int = 8,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self.manager = manager
        self.name = name
        self._handler: logging.Handler | None = None
        if log_dir is not None:
            self._handler = rotating_log_handler(log_dir, name)
            root = logging.getLogger("shotbook")
            root.addHandler(self._handler)
            if root.getEffectiveLevel() > logging.INFO:
                root.setLevel(logging.INFO)
        host, port, security = _bind_options(rpc_config)
        self._rpc = RPCServer(
            host, port, workers=workers, max_message_size=max_message_size, **security
        )
        try:
            self._events = EventPublisher(host, events_port, **security)
        except BaseException:
            self._rpc.close()
            raise
        self._waiters = _EndWaiters(manager)
        self._subscription = manager.subscribe(self._publish)
        for method, function in (
            ("start_sequence", self._start_sequence),
            ("interrupt", self._interrupt),
            ("is_running", self._is_running),
            ("current", self._current),
            ("wait", self._wait),
            ("last_run", self._last_run),
            ("events_port", self._events_port),
            ("probe_events", self._probe_events),
        ):
            self._rpc.register(f"manager.{method}", function)
        self._closed = False
        _log.info(
            "experiment server %r listening on %s (events on port %d)",
            name, self._rpc.address, self._events.port,
        )  # fmt: skip

    @property
    def port(self) -> int:
        """The RPC port."""
        return self._rpc.port

    @property
    def address(self) -> str:
        """The RPC address clients connect to."""
        return self._rpc.address

    @property
    def max_message_size(self) -> int:
        """The largest request accepted, in bytes."""
        return self._rpc.max_message_size

    @property
    def events_address(self) -> str:
        """The events (PUB) address."""
        return self._events.address

    # ------------------------------------------------------------------ handlers

    def _publish(self, event: ManagerEvent) -> None:
        try:
            self._events.publish(event.topic, event.to_dict())
        except Exception as error:  # closing, or an unencodable value
            _log.warning("could not publish %s: %s", event.topic, error)

    def _start_sequence(self, path: str) -> dict[str, Any]:
        try:
            self.manager.start_sequence(path)
        except SequenceFailedError as error:
            _log.warning("%s", error)
            return {"failed": error.to_dict()}
        except ManagerBusyError as error:
            return {"busy": error.to_dict()}
        except ManagerClosedError as error:
            return {"closed": str(error)}
        _log.info("started %s", path)
        return {"ok": True}

    def _interrupt(self) -> bool:
        client = call_context().client
        caller = client.describe()
        progress = self.manager.current()
        interrupted: bool
        if isinstance(self.manager, LocalExperimentManager):  # it records the client in the store
            by = RunOwner(host=client.host or "unknown host", pid=client.pid or 0, user="")
            interrupted = self.manager.interrupt(by, f"through the experiment server, {caller}")
        else:
            interrupted = self.manager.interrupt()
        if interrupted:
            what = "the run" if progress is None else f"{progress.path}"
            _log.info("interrupt of %s requested by %s", what, caller)
        else:
            _log.info("interrupt requested by %s while nothing runs", caller)
        return interrupted

    def _is_running(self) -> bool:
        return bool(self.manager.is_running())

    def _current(self) -> dict[str, Any] | None:
        progress = self.manager.current()
        return None if progress is None else progress.to_dict()

    def _wait(self, timeout: float) -> bool | Deferred:
        seconds = max(0.0, min(float(timeout), MAX_WAIT_PER_CALL))
        if seconds == 0.0 or not self.manager.is_running():
            return bool(self.manager.wait(0.0))
        return self._waiters.add(seconds)  # answered later; holds no worker meanwhile

    def _last_run(self) -> dict[str, Any] | None:
        summary = self.manager.last_run()
        return None if summary is None else summary.to_dict()

    def _events_port(self) -> int:
        return self._events.port

    def _probe_events(self, token: str) -> None:
        self._events.publish("probe", {"kind": "probe", "token": str(token)})

    # ------------------------------------------------------------------ life

    def start(self) -> ExperimentServer:
        """Serve in a background thread."""
        self._rpc.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` is called from another thread."""
        self._rpc.serve_forever()

    def close(self) -> None:
        """Stop serving (the manager is not closed: see :func:`serve_experiment`)."""
        if self._closed:
            return
        self._closed = True
        self._subscription.close()
        self._waiters.close()
        self._rpc.close()
        self._events.close()
        _log.info("experiment server %r stopped", self.name)
        if self._handler is not None:
            logging.getLogger("shotbook").removeHandler(self._handler)
            self._handler.close()

    def __enter__(self) -> ExperimentServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve_experiment(
    manager: ExperimentManager,
    config: RPCConfiguration,
    name: str = "experiment-server",
    *,
    events_port: int = 0,
    log_dir: str | os.PathLike[str] | None = "logs",
    ready: Callable[[ExperimentServer], object] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve ``manager`` until SIGINT / SIGTERM (or ``stop`` is set); blocking.

    On the way out the manager is closed (a running sequence is interrupted at its next
    shot boundary and ends INTERRUPTED, its devices are closed; new runs are refused), then
    the server stops answering. ``ready(server)`` is called once the server listens (e.g.
    to print its port). Signal handlers are installed only when called from the main thread;
    a signal repeated more than 2 s after the first raises ``KeyboardInterrupt`` (forced).

    Example (what ``shotbook experiment-server my_lab:experiment`` does)::

        serve_experiment(manager, InsecureRPCConfiguration("0.0.0.0", 5570), "lab-pc-1")
    """
    server = ExperimentServer(manager, config, name=name, events_port=events_port, log_dir=log_dir)
    with StopSignals() as signals:  # closing inside: a second Ctrl-C soon after is absorbed
        try:
            server.start()
            if ready is not None:
                ready(server)
            received = signals.wait(stop)
            _log.info("%s received: stopping", received)
        finally:
            try:
                manager.close()
            finally:
                server.close()
