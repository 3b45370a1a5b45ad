"""Standalone ZeroMQ messaging: request/reply calls, events, and CurveZMQ security.

Messages are msgpack headers plus raw numpy buffers, never pickles. This layer imports no
other part of shotbook; device servers and the experiment server build on it.

Example::

    from shotbook.rpc import RPCClient, RPCServer

    server = RPCServer(port=0)
    server.register("add", lambda a, b: a + b)
    server.start()
    with RPCClient(server.address, timeout=5) as client:
        assert client.call("add", 1, 2) == 3
    server.close()
"""

from ._client import RPCClient
from ._context import CallContext, ClientInfo, call_context
from ._curve import CurveKeys, generate_keypair, load_public_key
from ._deferred import Deferred
from ._errors import (
    ProtocolError,
    RemoteError,
    RPCConnectionError,
    RPCError,
    RPCTimeoutError,
    ServerBusyError,
    UnknownMethodError,
    build_remote_error,
    mro_names,
)
from ._events import Event, EventPublisher, EventSubscriber
from ._server import DEFAULT_MAX_QUEUED, DEFAULT_MAX_QUEUED_BYTES, RPCServer
from ._until_stopped import StopSignals
from ._wire import DEFAULT_MAX_FRAMES, DEFAULT_MAX_MESSAGE_SIZE, PROTOCOL_VERSION

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_QUEUED",
    "DEFAULT_MAX_QUEUED_BYTES",
    "PROTOCOL_VERSION",
    "CallContext",
    "ClientInfo",
    "CurveKeys",
    "Deferred",
    "Event",
    "EventPublisher",
    "EventSubscriber",
    "ProtocolError",
    "RPCClient",
    "RPCConnectionError",
    "RPCError",
    "RPCServer",
    "RPCTimeoutError",
    "RemoteError",
    "ServerBusyError",
    "StopSignals",
    "UnknownMethodError",
    "build_remote_error",
    "call_context",
    "generate_keypair",
    "load_public_key",
    "mro_names",
]
