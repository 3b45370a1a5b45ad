"""Exceptions of the RPC layer, and the rebuilding of remote exceptions on the client."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

SECURE_HINT = "if the server is secure, check that this client's public key is authorized"


class RPCError(Exception):
    """Base class of every error raised by :mod:`shotbook.rpc`."""


class RPCTimeoutError(RPCError, TimeoutError):
    """No reply came in time. Also a :class:`TimeoutError`.

    The message names the method, the server and the time waited.
    """


class RPCConnectionError(RPCError, ConnectionError):
    """The connection to the server was lost or refused while waiting for a reply."""


class ProtocolError(RPCError):
    """A message broke the wire protocol (garbage, wrong shape, too large, bad array)."""


class RemoteError(RPCError):
    """An exception raised by the remote function, re-raised on the client.

    The instance is also an instance of the remote builtin exception type (``except
    ValueError`` works) or of a type mapped with ``RPCClient(exception_types=...)``.

    Attributes:
        remote_type: qualified name of the remote exception type, e.g. ``"ValueError"``.
        remote_message: ``str()`` of the remote exception.
        remote_traceback: the remote traceback text.
        method: the method called.
        server: the address of the server.
    """

    remote_type: str
    remote_message: str
    remote_traceback: str
    method: str
    server: str

    def __init__(
        self,
        message: str = "",
        *,
        remote_type: str = "",
        remote_traceback: str = "",
        method: str = "",
        server: str = "",
    ) -> None:
        super().__init__(message)
        _fill(self, remote_type or type(self).__name__, message, remote_traceback, method, server)

    def __str__(self) -> str:
        head = f"{self.remote_type}: {self.remote_message}"
        where = f"(in {self.method!r} on {self.server})" if self.method else ""
        text = f"{head} {where}".rstrip()
        if self.remote_traceback:
            text += "\n--- remote traceback ---\n" + self.remote_traceback.rstrip()
        return text


class UnknownMethodError(RemoteError, LookupError):
    """The server has no method of that name; the message lists the methods it has."""


class ServerBusyError(RemoteError):
    """The server's request queue is full: the request was refused without running.

    Nothing ran; try again later. The message says how full the queue is.
    """


def _fill(
    exc: RemoteError, remote_type: str, message: str, traceback: str, method: str, server: str
) -> None:
    exc.remote_type = remote_type
    exc.remote_message = message
    exc.remote_traceback = traceback
    exc.method = method
    exc.server = server


UNKNOWN_METHOD_TYPE = "shotbook.rpc.UnknownMethodError"
SERVER_BUSY_TYPE = "shotbook.rpc.ServerBusyError"

_DEFAULT_TYPES: dict[str, type[BaseException]] = {
    UNKNOWN_METHOD_TYPE: UnknownMethodError,
    SERVER_BUSY_TYPE: ServerBusyError,
}
_REMOTE_CLASSES: dict[type[BaseException], type[RemoteError]] = {}


def type_name(cls: type[BaseException]) -> str:
    """Name sent over the wire: bare for builtins, ``module.qualname`` otherwise."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def mro_names(cls: type[BaseException]) -> list[str]:
    """Names of ``cls`` and its exception bases, most derived first."""
    return [type_name(c) for c in cls.__mro__ if issubclass(c, BaseException)]


def _builtin_exception(name: str) -> type[Exception] | None:
    if "." in name:
        return None
    candidate = getattr(builtins, name, None)
    if isinstance(candidate, type) and issubclass(candidate, Exception):
        return candidate
    return None


def _remote_class(base: type[BaseException]) -> type[RemoteError]:
    if issubclass(base, RemoteError):
        return base
    cls = _REMOTE_CLASSES.get(base)
    if cls is None:
        try:
            cls = type(f"Remote{base.__name__}", (RemoteError, base), {"__module__": __name__})
        except TypeError:  # incompatible layout: fall back to the plain class
            cls = RemoteError
        _REMOTE_CLASSES[base] = cls
    return cls


def build_remote_error(
    names: Sequence[str],
    message: str,
    traceback: str,
    *,
    method: str,
    server: str,
    exception_types: Mapping[str, type[BaseException]],
) -> RemoteError:
    """Rebuild a remote exception from its names (most derived first); never unpickles."""
    base: type[BaseException] | None = None
    for name in names:
        found = exception_types.get(name) or _DEFAULT_TYPES.get(name)
        if found is None:
            found = exception_types.get(name.rsplit(".", 1)[-1]) if "." in name else None
        if found is None:
            found = _builtin_exception(name)
        if found is not None:
            base = found
            break
    cls = RemoteError if base is None else _remote_class(base)
    # Bypass the class's own __init__ (it may need other arguments); BaseException.__new__
    # sets ``args`` and our fields carry the rest.
    exc = cls.__new__(cls, message)
    exc.args = (message,)
    _fill(exc, names[0] if names else "RemoteError", message, traceback, method, server)
    return exc
