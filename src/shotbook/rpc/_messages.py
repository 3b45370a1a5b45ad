"""Shapes of the request and reply headers, and their validation on receive.

Request header (client → server), a msgpack map::

    {"v": 1, "op": "call", "id": 7, "m": "move", "a": [...], "k": {...}, "c": CLIENT}
    {"v": 1, "op": "ping", "id": 8, "c": [...]}      # answered at once by the I/O thread
    {"v": 1, "op": "hb", "c": [...]}                 # heartbeat, no reply

where CLIENT is ``[client id (bytes), host, pid, name or None]``; all the connections of
one RPCClient share its client id.

Reply header (server → client)::

    {"v": 1, "id": 7, "ok": result}
    {"v": 1, "id": 7, "err": {"type": "ValueError", "mro": [...], "msg": "...", "tb": "..."}}
    {"v": 1, "id": 7 or None, "perr": "what was wrong with the request"}
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._errors import ProtocolError
from ._wire import PROTOCOL_VERSION

OPS = frozenset({"call", "ping", "hb"})


class Request(NamedTuple):
    """A validated request header."""

    op: str
    id: int | None
    method: str
    args: list[Any]
    kwargs: dict[str, Any]
    client: tuple[bytes, str, int, str | None] | None


class Reply(NamedTuple):
    """A validated reply header; ``kind`` says what ``value`` holds."""

    id: int | None
    kind: str  # "ok" | "err" | "perr"
    value: Any


def request_id_of(obj: Any) -> int | None:
    """The request id of a header that may be malformed, if one can be read."""
    if isinstance(obj, dict):
        value = obj.get("id")
        if type(value) is int:
            return value
    return None


def _check_version(obj: Any, what: str) -> dict[Any, Any]:
    if type(obj) is dict and obj.get("v") == PROTOCOL_VERSION:
        return obj
    if not isinstance(obj, dict):
        raise ProtocolError(f"the {what} header is a {type(obj).__name__}, expected a map")
    version = obj.get("v")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            f"the {what} uses protocol version {version!r}, this side speaks "
            f"{PROTOCOL_VERSION}: upgrade shotbook on both sides to the same version"
        )
    return obj


def parse_request(obj: Any) -> Request:
    """Validate a decoded request header."""
    header = _check_version(obj, "request")
    get = header.get
    op = get("op")
    request_id = get("id")
    client = get("c")
    info: tuple[bytes, str, int, str | None] | None = None
    if client is not None:
        if not (
            type(client) is list
            and len(client) == 4
            and type(client[0]) is bytes
            and 0 < len(client[0]) <= 64
            and type(client[1]) is str
            and type(client[2]) is int
            and (client[3] is None or type(client[3]) is str)
        ):
            raise ProtocolError("request client info is not [client id, host, pid, name]")
        info = (client[0], client[1], client[2], client[3])
    if op == "call":
        method, args, kwargs = get("m"), get("a", []), get("k", {})
        if type(request_id) is not int:
            raise ProtocolError(f"request id {request_id!r} is not an int")
        if type(method) is not str:
            raise ProtocolError(f"request method {method!r} is not a str")
        if type(args) is not list:
            raise ProtocolError("request args are not a list")
        if type(kwargs) is not dict or not all(type(key) is str for key in kwargs):
            raise ProtocolError("request kwargs are not a map with str keys")
        return Request(op, request_id, method, args, kwargs, info)
    if op not in OPS:
        raise ProtocolError(f"request op {op!r} is not one of {sorted(OPS)}")
    if op != "hb" and type(request_id) is not int:
        raise ProtocolError(f"request id {request_id!r} is not an int")
    return Request(op, request_id, "", [], {}, info)


def parse_reply(obj: Any) -> Reply:
    """Validate a decoded reply header."""
    header = _check_version(obj, "reply")
    reply_id = header.get("id")
    if reply_id is not None and type(reply_id) is not int:
        raise ProtocolError(f"reply id {reply_id!r} is not an int")
    if "ok" in header:
        return Reply(reply_id, "ok", header["ok"])
    if "perr" in header:
        return Reply(reply_id, "perr", str(header["perr"]))
    error = header.get("err")
    if (
        isinstance(error, dict)
        and isinstance(error.get("type"), str)
        and isinstance(error.get("msg"), str)
        and isinstance(error.get("tb"), str)
        and isinstance(error.get("mro"), list)
        and all(isinstance(name, str) for name in error["mro"])
    ):
        return Reply(reply_id, "err", error)
    raise ProtocolError("the reply header has none of 'ok', a valid 'err', or 'perr'")
