"""RemoteExperimentManager: the client of an experiment server, same calls as a local one."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

from shotbook.rpc import EventSubscriber, RPCClient
from shotbook.types import PureSequencePath, as_path

from ._config import RemoteExperimentManagerConfiguration
from ._errors import ManagerBusyError, ManagerClosedError, SequenceFailedError
from ._event_bus import EventBus, EventCallback, EventStream, Subscription
from ._events import event_from_dict
from ._manager import wait_with_progress
from ._server import MAX_WAIT_PER_CALL
from ._status import RunProgress, RunSummary

_log = logging.getLogger("shotbook.control")


def _public_key(value: str) -> str:
    from shotbook.rpc import load_public_key

    if len(value) == 40 and not Path(value).exists():
        return value
    return load_public_key(Path(value).expanduser())


class RemoteExperimentManager:
    """Runs sequences on an experiment server; the calls of :class:`ExperimentManager`.

    Closing the client (or losing the connection) never stops the server's run: interrupt
    it explicitly. Events come from the server's events port, subscribed to on first use.

    Example::

        manager = RemoteExperimentManager(RemoteExperimentManagerConfiguration("lab-pc", 5570))
        manager.run_sequence("/scans/wait time")     # progress bar; Ctrl-C interrupts it
    """

    def __init__(self, config: RemoteExperimentManagerConfiguration) -> None:
        self.config = config
        self._security: dict[str, Any] = {}
        if config.server_public_key is not None and config.client_secret_key_file is not None:
            from shotbook.rpc import CurveKeys

            keys = CurveKeys.load(Path(config.client_secret_key_file).expanduser())
            self._security = {
                "curve_server_key": _public_key(config.server_public_key),
                "curve_public_key": keys.public,
                "curve_secret_key": keys.secret,
            }
        self._client = RPCClient(
            config.address, timeout=config.timeout, name="remote experiment manager",
            **self._security,
        )  # fmt: skip
        self._bus: EventBus | None = None
        self._subscriber: EventSubscriber | None = None
        self._listener: threading.Thread | None = None
        self._probes: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        if self._closed:
            raise ManagerClosedError("this remote experiment manager is closed")
        return self._client.call(f"manager.{method}", *args, timeout=timeout)

    # ------------------------------------------------------------------ runs

    def ping(self) -> float:
        """Round trip to the server, in seconds (raises if it does not answer)."""
        return self._client.ping()

    def start_sequence(self, path: PureSequencePath | str) -> None:
        """Ask the server to check and start ``path``; return once it is PREPARING there.

        Raises :class:`SequenceFailedError` (checks failed, the sequence stays DRAFT) or
        :class:`ManagerBusyError` (the server runs another sequence).
        """
        text = str(as_path(path))
        reply = self._call("start_sequence", text)
        if "failed" in reply:
            raise SequenceFailedError.from_dict(reply["failed"])
        if "busy" in reply:
            raise ManagerBusyError.from_dict(reply["busy"])
        if "closed" in reply:
            raise ManagerClosedError(f"the experiment server's manager: {reply['closed']}")

    def run_sequence(
        self,
        path: PureSequencePath | str,
        wait: bool = True,
        *,
        progress: bool = True,
        stream: IO[str] | None = None,
    ) -> RunSummary | None:
        """Run ``path`` on the server; the same behaviour as the local manager's.

        With ``wait``, blocks until the run ends, showing progress, and raises its
        :class:`SequenceFailedError` if it fails; Ctrl-C interrupts the run on the server,
        waits for it to stop and prints one line.
        """
        text = str(as_path(path))
        self.start_sequence(text)
        if not wait:
            return None
        return wait_with_progress(self, text, progress=progress, stream=stream)

    def interrupt(self) -> bool:
        """Ask the server's run to stop at the next shot boundary; False if none runs."""
        return bool(self._call("interrupt"))

    def is_running(self) -> bool:
        """Whether the server runs a sequence."""
        return bool(self._call("is_running"))

    def current(self) -> RunProgress | None:
        """The sequence the server runs and its progress, or ``None``."""
        data = self._call("current")
        return None if data is None else RunProgress.from_dict(data)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the server runs no sequence (at most ``timeout`` s); True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = MAX_WAIT_PER_CALL if deadline is None else deadline - time.monotonic()
            chunk = max(0.0, min(remaining, MAX_WAIT_PER_CALL))
            if self._call("wait", chunk, timeout=chunk + self.config.timeout):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def last_run(self) -> RunSummary | None:
        """How the server's last run ended, or ``None``."""
        data = self._call("last_run")
        return None if data is None else RunSummary.from_dict(data)

    # ------------------------------------------------------------------ events

    def _ensure_listener(self) -> EventBus:
        with self._lock:
            if self._closed:
                raise ManagerClosedError("this remote experiment manager is closed")
            if self._bus is not None:
                return self._bus
            port = int(self._call("events_port"))
            address = f"tcp://{self.config.host}:{port}"
            self._subscriber = EventSubscriber(address, **self._security)
            bus = EventBus("shotbook-remote-events")
            self._bus = bus
            self._listener = threading.Thread(
                target=self._listen, args=(self._subscriber, bus), daemon=True,
                name="shotbook-remote-listener",
            )  # fmt: skip
            self._listener.start()
        self._sync_subscription()
        return bus

    def _sync_subscription(self, timeout: float = 5.0) -> None:
        """Wait until events reach this client (ZeroMQ drops those sent before it joined)."""
        token = uuid.uuid4().hex
        received = threading.Event()
        self._probes[token] = received
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._call("probe_events", token)
                if received.wait(0.05):
                    return
            _log.warning("no event came from the experiment server within %g s", timeout)
        finally:
            self._probes.pop(token, None)

    def _listen(self, subscriber: EventSubscriber, bus: EventBus) -> None:
        try:
            for event in subscriber:
                payload = event.payload
                if payload.get("kind") == "probe":
                    probe = self._probes.get(str(payload.get("token")))
                    if probe is not None:
                        probe.set()
                    continue
                try:
                    bus.publish(event_from_dict(payload))
                except (ValueError, KeyError, TypeError) as error:
                    _log.warning("ignored an event the client cannot read: %s", error)
        except Exception as error:  # the subscriber closed under us
            if not self._closed:
                _log.warning("the event listener stopped: %s", error)

    def subscribe(self, callback: EventCallback) -> Subscription:
        """Call ``callback(event)`` (from the events thread) for each event from now on."""
        return self._ensure_listener().subscribe(callback)

    def events(self) -> EventStream:
        """An iterator over the server's events from now on (use it in a ``with`` block)."""
        bus = self._ensure_listener()
        return EventStream(bus.subscribe)

    # ------------------------------------------------------------------ end

    def close(self) -> None:
        """Disconnect; the server and its run go on."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subscriber, bus = self._subscriber, self._bus
        if subscriber is not None:
            subscriber.close()
        if self._listener is not None:
            self._listener.join(2.0)
        if bus is not None:
            bus.close()
        self._client.close()

    def __enter__(self) -> RemoteExperimentManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteExperimentManager {self.config.address}>"


__all__ = ["RemoteExperimentManager"]
