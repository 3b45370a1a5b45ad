"""Who is calling: the client identity and its host/pid, visible to handlers."""

from __future__ import annotations

import contextvars
from typing import NamedTuple


class ClientInfo(NamedTuple):
    """A client as the server knows it.

    Attributes:
        client_id: the client's identity: ``RPCClient.client_id`` (stable for the life of
            the client, shared by its connections), or the ZeroMQ routing identity of a
            client that sent none.
        host: host name the client reported, or None.
        pid: process id the client reported, or None.
        name: free-form name the client reported (``RPCClient(name=...)``), or None.
        last_seen: ``time.monotonic()`` of the server when the client was last heard.
    """

    client_id: bytes
    host: str | None
    pid: int | None
    name: str | None
    last_seen: float

    def describe(self) -> str:
        """Short text such as ``"host lab-pc pid 4242 (manager)"`` for messages."""
        if self.host is None:
            return f"client {self.client_id!r}"
        text = f"host {self.host} pid {self.pid}"
        return f"{text} ({self.name})" if self.name else text


class CallContext(NamedTuple):
    """The call being served, available to handlers through :func:`call_context`.

    Example::

        def acquire(self) -> None:
            caller = call_context().client
            if self.owner not in (None, caller.client_id):
                raise RuntimeError(f"in use by {self.owner_text}")
    """

    client: ClientInfo
    method: str
    request_id: int
    server_address: str


_CURRENT: contextvars.ContextVar[CallContext] = contextvars.ContextVar("shotbook_rpc_call")


def call_context() -> CallContext:
    """The :class:`CallContext` of the RPC call being served by this thread.

    Raises:
        LookupError: not called from inside a function served by an RPCServer.
    """
    try:
        return _CURRENT.get()
    except LookupError:
        raise LookupError(
            "call_context() is only available inside a function called through an RPCServer"
        ) from None
