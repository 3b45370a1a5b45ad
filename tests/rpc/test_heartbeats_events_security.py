"""Heartbeats and leases, events and CurveZMQ, with real processes on 127.0.0.1."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shotbook.rpc import (
    Event,
    EventPublisher,
    EventSubscriber,
    RPCClient,
    RPCConnectionError,
    RPCServer,
    RPCTimeoutError,
    generate_keypair,
)

from .conftest import ServerProcess


def wait_until(condition, what: str, limit: float = 20.0) -> None:
    """Poll ``condition`` until true; fail (naming ``what``) after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_silent_clients_are_gone_and_free_the_lease_heartbeating_ones_stay(
    start_server,
) -> None:
    server = start_server("basic", "HEARTBEAT=0.3")
    with (
        RPCClient(server.rpc, timeout=10, heartbeat_interval=0.05, name="manager") as manager,
        RPCClient(server.rpc, timeout=10, name="silent") as silent,
        RPCClient(server.rpc, timeout=10, name="other") as other,
    ):
        assert silent.call("acquire") == "acquired"
        with pytest.raises(RuntimeError, match=r"in use by host .* pid \d+ \(silent\)"):
            other.call("acquire")
        # "silent" sends nothing more: the server finds it gone and frees the lease
        wait_until(lambda: silent.client_id in manager.call("gone"), "the silent client")
        assert manager.client_id not in manager.call("gone")
        assert other.call("acquire") == "acquired"
        assert manager.client_id not in manager.call("gone")


def test_server_side_client_tracking_in_process() -> None:
    gone: list[bytes] = []
    with RPCServer(
        heartbeat_timeout=0.2, on_client_gone=lambda info: gone.append(info.client_id)
    ) as server:
        server.register("noop", lambda: None)
        server.start()
        with RPCClient(server.address, timeout=5, name="probe") as client:
            client.call("noop")
            (info,) = server.clients()
            assert (info.client_id, info.name) == (client.client_id, "probe")
            seen = server.seconds_since_seen(client.client_id)
            assert seen is not None
            assert seen >= 0
            wait_until(lambda: gone == [client.client_id], "the client to be gone")
            assert server.seconds_since_seen(client.client_id) is None
            client.call("noop")  # it comes back
            assert [c.client_id for c in server.clients()] == [client.client_id]


def test_events_across_processes(server: ServerProcess) -> None:
    with (
        RPCClient(server.rpc, timeout=10) as client,
        EventSubscriber(server.events, topics=["shot.", "state"]) as events,
    ):
        # subscriptions take a moment to reach the publisher: publish until one arrives
        def first_event_arrives() -> bool:
            client.call("publish", "state", {"ready": True})
            return events.recv(timeout=0.05) is not None

        wait_until(first_event_arrives, "the subscription")
        while events.recv(timeout=0.2) is not None:  # drain the extra "state" events
            pass
        image = np.arange(12, dtype=np.uint16).reshape(3, 4)
        client.call("publish", "other.topic", {"ignored": 1})
        client.call("publish", "shot.stored", {"shot": 1, "image": image})
        client.call("publish", "state", {"state": "RUNNING"})
        first = events.recv(timeout=10)
        second = events.recv(timeout=10)
        assert isinstance(first, Event)
        assert first.topic == "shot.stored"
        assert first.payload["shot"] == 1
        assert np.array_equal(first.payload["image"], image)
        assert second == Event("state", {"state": "RUNNING"})
        assert events.recv(timeout=0.1) is None


def test_subscriber_iteration_ends_on_close_and_publish_checks_types() -> None:
    with EventPublisher() as publisher:
        subscriber = EventSubscriber(publisher.address)
        with pytest.raises(TypeError, match="payload must be a dict"):
            publisher.publish("x", [1])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"payload\['a'\] is a builtins.object"):
            publisher.publish("x", {"a": object()})
        wait_until(
            lambda: publisher.publish("t", {"n": 0}) or subscriber.recv(0.05) is not None,
            "the subscription",
        )
        received = []
        import threading

        def consume() -> None:
            for event in subscriber:
                received.append(event)
                if len(received) == 1:
                    subscriber.close()

        consumer = threading.Thread(target=consume)
        consumer.start()
        publisher.publish("t", {"n": 1})
        consumer.join(20)
        assert not consumer.is_alive()
        assert received
        assert received[0].topic == "t"


def test_secure_server_serves_authorized_clients_only(start_server) -> None:
    server_keys, good, bad = generate_keypair(), generate_keypair(), generate_keypair()
    server = start_server("secure", f"SECRET={server_keys.secret}", f"AUTHORIZED={good.public}")
    with RPCClient(
        server.rpc,
        timeout=10,
        curve_server_key=server_keys.public,
        curve_public_key=good.public,
        curve_secret_key=good.secret,
    ) as client:
        assert client.call("add", 1, 2) == 3
        assert np.array_equal(client.call("echo", np.arange(5))[0][0], np.arange(5))
    with RPCClient(
        server.rpc, timeout=2, curve_server_key=server_keys.public, curve_secret_key=bad.secret
    ) as intruder:
        with pytest.raises((RPCConnectionError, RPCTimeoutError)) as info:
            intruder.call("add", 1, 2)
        assert "authorized" in str(info.value)
    plain = RPCClient(server.rpc, timeout=2)  # no CURVE at all
    with plain, pytest.raises((RPCConnectionError, RPCTimeoutError), match="secure"):
        plain.call("add", 1, 2)


def test_secure_events_in_process() -> None:
    server_keys, good = generate_keypair(), generate_keypair()
    with (
        EventPublisher(
            curve_secret_key=server_keys.secret, authorized_client_keys=[good.public]
        ) as publisher,
        EventSubscriber(
            publisher.address,
            curve_server_key=server_keys.public,
            curve_secret_key=good.secret,
        ) as subscriber,
    ):
        wait_until(
            lambda: publisher.publish("t", {"secret": 42}) or subscriber.recv(0.05) is not None,
            "the secure subscription",
        )
