"""Wire format: a msgpack header frame followed by raw array buffers.

A message is a list of ZeroMQ frames ``[header, buffer_1, buffer_2, ...]``. The header is
msgpack; numpy arrays inside it are replaced by an extension value holding ``(frame index,
dtype str, shape)``, and their bytes travel as the following frames, sent without a copy.
Numpy scalars and complex numbers travel inline as ``(dtype str, bytes)``. Timezone-aware
datetimes and bytes are msgpack natives. Nothing is ever pickled or evaluated.
"""

from __future__ import annotations

import datetime as _dt
import operator
import re
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np
import zmq

from ._errors import ProtocolError

PROTOCOL_VERSION = 1
DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024
"""Largest message (all frames) accepted by default, in bytes: the one limit of device
servers, experiment servers and their clients (each can be given another)."""
DEFAULT_MAX_FRAMES = 1024
"""Most frames (header + array buffers) accepted in one message by default."""

_EXT_ARRAY = 1
_EXT_SCALAR = 2
_ALLOWED_KINDS = frozenset("biufcmM")
_DTYPE_PATTERN = re.compile(r"[<>|=]?[biufcmM]\d{1,2}(\[[0-9]{0,3}[A-Za-z]{1,2}\])?")
_MAX_NDIM = 32
_INT_MIN = -(2**63)
_INT_END = 2**64

_SUPPORTED = (
    "None, bool, int, float, complex, str, bytes, timezone-aware datetime, list, tuple, dict "
    "and numpy arrays or scalars of bool/numeric dtype"
)


# ----------------------------------------------------------------------------- encoding


_ROOT_NAMES = {"a": "args", "k": "kwargs", "ok": "result"}


def encode(header: dict[str, Any], *, what: str, root: str | None = None) -> list[Any]:
    """Encode ``header`` into frames ``[header_bytes, *array_buffers]``.

    ``what`` names the content in error messages (e.g. ``"the arguments of 'move'"``);
    ``root`` names the header itself in paths (default: the parts of an RPC header).

    Raises:
        TypeError: a value cannot be sent; the message gives its path and type.
    """
    buffers: list[Any] = []

    def default(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            array = np.asarray(value)  # drops subclasses (masked, matrix)
            if not array.flags.c_contiguous:
                array = array.copy(order="C")
            if array.dtype.kind not in _ALLOWED_KINDS or array.dtype.fields is not None:
                raise TypeError(f"numpy array of dtype {array.dtype}")
            buffers.append(array.reshape(-1).view(np.uint8).data)
            spec = msgpack.packb([len(buffers), array.dtype.str, list(array.shape)])
            return msgpack.ExtType(_EXT_ARRAY, spec)
        if isinstance(value, np.generic):
            if value.dtype.kind not in _ALLOWED_KINDS:
                raise TypeError(f"numpy scalar of dtype {value.dtype}")
            return msgpack.ExtType(_EXT_SCALAR, msgpack.packb([value.dtype.str, value.tobytes()]))
        kind = type(value)
        if kind is tuple:
            return list(value)
        if kind is complex:
            scalar = np.complex128(value)
            return msgpack.ExtType(_EXT_SCALAR, msgpack.packb([scalar.dtype.str, scalar.tobytes()]))
        # Subclasses of native types (IntEnum, OrderedDict, ...) travel as their base type.
        if isinstance(value, int):
            return operator.index(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, str):
            return "".__add__(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        if isinstance(value, list | tuple):
            return list(value)
        if isinstance(value, dict):
            return dict(value)
        if isinstance(value, _dt.datetime):
            return _dt.datetime.fromtimestamp(value.timestamp(), value.tzinfo)
        raise TypeError(type(value).__qualname__)

    try:
        packed = msgpack.packb(
            header, default=default, use_bin_type=True, datetime=True, strict_types=True
        )
    except (TypeError, ValueError, OverflowError) as exc:
        if root is None:
            located = None
            for key, name in _ROOT_NAMES.items():
                if key in header:
                    located = located or _locate(header[key], name)
        else:
            located = _locate(header, root)
        if located is None:
            raise TypeError(f"cannot send {what}: {exc}") from None
        path, description = located
        raise TypeError(
            f"cannot send {what}: {path or 'the value'} is {description}; "
            f"only {_SUPPORTED} can be sent"
        ) from None
    return [packed, *buffers]


def _locate(value: Any, path: str) -> tuple[str, str] | None:
    """Find the first value that cannot be sent: ``(path, description)`` or None."""
    if value is None or isinstance(value, bool | float | str | bytes | bytearray | complex):
        return None
    if isinstance(value, memoryview):
        return None
    if isinstance(value, np.ndarray | np.generic):
        if value.dtype.kind in _ALLOWED_KINDS and value.dtype.fields is None:
            return None
        return path, f"a numpy {type(value).__name__} of dtype {value.dtype}"
    if isinstance(value, int):
        if _INT_MIN <= value < _INT_END:
            return None
        return path, "an int outside the 64-bit range"
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            return None
        return path, "a naive datetime (give it a tzinfo, e.g. datetime.now(timezone.utc))"
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _locate(item, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _locate(key, f"{path} key {key!r}")
            if found is None:
                found = _locate(item, f"{path}[{key!r}]")
            if found is not None:
                return found
        return None
    return path, f"a {type(value).__module__}.{type(value).__qualname__}"


# ----------------------------------------------------------------------------- decoding


def _buffer(frame: Any) -> memoryview:
    if isinstance(frame, zmq.Frame):
        return frame.buffer
    return memoryview(frame)


def _dtype(text: Any) -> np.dtype[Any]:
    if not isinstance(text, str) or _DTYPE_PATTERN.fullmatch(text) is None:
        raise ProtocolError(f"array dtype {text!r} is not a bool/numeric dtype string")
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise ProtocolError(f"array dtype {text!r} is not understood: {exc}") from None
    if dtype.kind not in _ALLOWED_KINDS or dtype.fields is not None:
        raise ProtocolError(f"array dtype {text!r} is refused (object/void/str dtypes are)")
    return dtype


def decode(header: bytes, buffers: Sequence[Any]) -> Any:
    """Decode a header and its buffer frames back into Python objects.

    Arrays are views on the received frames (no copy); they are writable.

    Raises:
        ProtocolError: the header is not msgpack, an extension is unknown, or an array
            description does not match its buffer.
    """

    def ext_hook(code: int, data: bytes) -> Any:
        if code == _EXT_ARRAY:
            return _decode_array(data, buffers)
        if code == _EXT_SCALAR:
            return _decode_scalar(data)
        raise ProtocolError(f"unknown msgpack extension type {code} in the header")

    try:
        return msgpack.unpackb(
            header, ext_hook=ext_hook, raw=False, timestamp=3, strict_map_key=False
        )
    except ProtocolError:
        raise
    except Exception as exc:
        reason = str(exc) or type(exc).__name__
        raise ProtocolError(f"the header frame is not valid msgpack ({reason})") from None


def _decode_array(data: bytes, buffers: Sequence[Any]) -> np.ndarray[Any, Any]:
    try:
        spec = msgpack.unpackb(data, raw=False)
    except Exception:
        raise ProtocolError("an array description in the header is not valid msgpack") from None
    if not (isinstance(spec, list) and len(spec) == 3):
        raise ProtocolError("an array description is not [frame index, dtype, shape]")
    index, dtype_text, shape = spec
    if type(index) is not int or not 1 <= index <= len(buffers):
        raise ProtocolError(
            f"array frame index {index!r} does not exist (the message has "
            f"{len(buffers)} buffer frame(s), numbered from 1)"
        )
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise ProtocolError(f"array shape {shape!r} is not a list of at most 32 sizes >= 0")
    dtype = _dtype(dtype_text)
    buffer = _buffer(buffers[index - 1])
    expected = dtype.itemsize
    for n in shape:
        expected *= n
    if expected != buffer.nbytes:
        raise ProtocolError(
            f"array frame {index}: shape {tuple(shape)} of {dtype.str} needs {expected} bytes "
            f"but the frame holds {buffer.nbytes}"
        )
    if expected == 0:
        return np.empty(tuple(shape), dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype).reshape(tuple(shape))


def _decode_scalar(data: bytes) -> Any:
    try:
        spec = msgpack.unpackb(data, raw=False)
    except Exception:
        raise ProtocolError("a scalar in the header is not valid msgpack") from None
    if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[1], bytes)):
        raise ProtocolError("a scalar in the header is not [dtype, bytes]")
    dtype = _dtype(spec[0])
    if len(spec[1]) != dtype.itemsize:
        raise ProtocolError(f"a {dtype.str} scalar needs {dtype.itemsize} bytes")
    return np.frombuffer(spec[1], dtype=dtype)[0]


# ----------------------------------------------------------------------------- sockets


_COPY_BELOW = 64 * 1024  # smaller frames are copied: cheaper than zero-copy bookkeeping
_SNDMORE = int(zmq.SNDMORE)
_RCVMORE = int(zmq.RCVMORE)


def send_frames(socket: zmq.Socket[Any], frames: Sequence[Any], flags: int = 0) -> None:
    """Send one multipart message; buffers of 64 KiB or more go without a copy.

    ``flags`` (e.g. ``zmq.NOBLOCK``) apply to the first frame; ZeroMQ then takes the
    other frames of the message without blocking.
    """
    last = len(frames) - 1
    send = socket.send
    first = 0
    while first < last and type(frames[first]) is bytes:  # the heads: identity, header
        send(frames[first], flags | _SNDMORE)
        flags = 0
        first += 1
    for index in range(first, last + 1):
        frame = frames[index]
        more = _SNDMORE if index < last else 0
        if type(frame) is bytes:
            copy = True
        elif isinstance(frame, zmq.Frame):
            copy = False
        else:
            copy = memoryview(frame).nbytes < _COPY_BELOW
        send(frame, flags | more, copy=copy)
        flags = 0


def recv_frames(
    socket: zmq.Socket[Any], n_head: int, max_frames: int, max_size: int
) -> tuple[list[bytes], list[Any], str | None]:
    """Receive one multipart message (the socket must be readable).

    Returns ``(head, buffers, error)``: the first ``n_head`` frames as bytes, the other
    frames as :class:`zmq.Frame` (no copy), and an error text when the message breaks the
    limits (the rest of the message is then drained and dropped).
    """
    recv, getsockopt = socket.recv, socket.getsockopt
    head: list[bytes] = []
    total = 0
    count = 0
    more: Any = True
    while count < n_head and more:  # fast path: the heads, copied as bytes
        part = recv()
        head.append(part)
        total += len(part)
        count += 1
        more = getsockopt(_RCVMORE)
    buffers: list[Any] = []
    error: str | None = None
    if total > max_size:
        error = f"message is larger than the limit of {max_size} bytes"
    while more:
        frame = recv(copy=False)
        if error is None:
            buffers.append(frame)
        count += 1
        total += len(frame)
        more = getsockopt(_RCVMORE)
        if error is None and count > max_frames + n_head - 1:
            error = f"message has more than {max_frames} frames"
            buffers.clear()
        if error is None and total > max_size:
            error = f"message is larger than the limit of {max_size} bytes"
            buffers.clear()
    if len(head) < n_head and error is None:
        error = f"message has {len(head)} frame(s), expected at least {n_head}"
    return head, buffers, error


def bind_tcp(socket: zmq.Socket[Any], host: str, port: int) -> int:
    """Bind to ``tcp://host:port`` (port 0: a free one); returns the port bound."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be in 0..65535 (0 picks a free port), got {port}")
    endpoint = f"tcp://{host}:{port if port else '*'}"
    try:
        socket.bind(endpoint)
    except zmq.ZMQError as exc:
        raise OSError(
            f"cannot bind to {endpoint}: {exc}; is another server using that port? "
            "(port=0 picks a free one)"
        ) from None
    last = socket.get_string(zmq.LAST_ENDPOINT)
    return int(last.rsplit(":", 1)[1])
