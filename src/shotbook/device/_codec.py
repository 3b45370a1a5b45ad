"""Device arguments and results as wire data: registered types tagged, arrays left raw.

The RPC layer sends msgpack plus raw numpy buffers. Device arguments may also hold objects
of registered types (instructions, regions of interest, ...): :class:`WireCodec` turns them
into ``{"$type": tag, "$data": ...}`` with the :class:`~shotbook.registry.TypeRegistry`
coders, keeping numpy arrays raw, so that a picture or a sample array travels as one frame.
Decoding only builds registered types; nothing is imported or evaluated.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np

from shotbook.compile import Concatenated, Instruction, LinearRamp, Pattern, Repeated
from shotbook.registry import TypeRegistry

_PLAIN = (str, bytes, bool, int, type(None))
_MAX_FIELDS = 4096
_MAX_NDIM = 32
SMALL_ARRAY = 4096
"""Arrays up to this many bytes travel inside the header (one frame less each)."""
_SCALAR_DTYPE = re.compile(r"[<>|=]?[biufc]\d{1,2}")


def _field_dtype(text: Any) -> np.dtype[Any]:
    if not isinstance(text, str) or _SCALAR_DTYPE.fullmatch(text) is None:
        raise TypeError(f"a record field dtype must be a bool/numeric dtype string, got {text!r}")
    return np.dtype(text)


@functools.lru_cache(maxsize=256)
def _packed(dtype: np.dtype[Any]) -> tuple[np.dtype[Any], list[list[str]]]:
    """A structured dtype without padding, and its fields as ``[[name, dtype str], ...]``
    (cached: building a structured dtype costs more than packing a small array)."""
    names = dtype.names or ()
    packed = np.dtype([(name, dtype[name]) for name in names])
    return packed, [[name, packed[name].str] for name in names]


def _encode_array(array: np.ndarray) -> Any:
    """Large plain arrays travel raw (one frame); small ones and structured ones (one field
    per channel) as bytes with their dtype and shape."""
    names = array.dtype.names
    if names is None:
        if array.nbytes > SMALL_ARRAY or array.dtype.kind not in "biufc":
            return array  # the RPC layer refuses unsupported kinds with a clear message
        return {
            "$array": [array.dtype.str, list(array.shape), np.ascontiguousarray(array).tobytes()]
        }
    dtype, fields = _packed(array.dtype)
    if array.dtype == dtype:  # already packed: one copy (or none, below SMALL_ARRAY)
        packed = np.ascontiguousarray(array)
        if packed is array and array.nbytes > SMALL_ARRAY:
            packed = array.copy()
    else:
        packed = np.empty(array.shape, dtype=dtype)
        for name in names:
            packed[name] = array[name]
    fields = [list(field) for field in fields]
    raw = packed.reshape(-1).view(np.uint8)
    data: Any = raw.tobytes() if raw.nbytes <= SMALL_ARRAY else raw
    return {"$records": [fields, list(array.shape), data]}


def _shape(value: Any) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or len(value) > _MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in value)
    ):
        raise TypeError(f"an array shape is a list of sizes >= 0, got {value!r}")
    return tuple(value)


def _from_bytes(data: Any, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8 or data.ndim != 1:
            raise TypeError("array data must be bytes or a 1-D uint8 array")
        buffer: Any = data
    elif isinstance(data, bytes):
        buffer = data
    else:
        raise TypeError("array data must be bytes or a 1-D uint8 array")
    size = dtype.itemsize * math.prod(shape)
    if len(memoryview(buffer).cast("B")) != size:
        raise TypeError(f"array data holds the wrong number of bytes for {shape} of {dtype}")
    if size == 0:
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape).copy()


def _decode_small(data: Any) -> np.ndarray:
    if not (isinstance(data, list) and len(data) == 3):
        raise TypeError("$array holds [dtype, shape, bytes]")
    return _from_bytes(data[2], _field_dtype(data[0]), _shape(data[1]))


def _decode_records(data: Any) -> np.ndarray:
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], list)):
        raise TypeError("$records holds [fields, shape, data]")
    fields, shape, raw = data
    if not 0 < len(fields) <= _MAX_FIELDS:
        raise TypeError(f"$records has {len(fields)} fields (1 to {_MAX_FIELDS} allowed)")
    spec = []
    for item in fields:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], str)
        ):
            raise TypeError("each $records field is [name, dtype]")
        spec.append((item[0], item[1]))
    return _from_bytes(raw, _record_dtype(tuple(spec)), _shape(shape))


@functools.lru_cache(maxsize=256)
def _record_dtype(spec: tuple[tuple[str, str], ...]) -> np.dtype[Any]:
    """The structured dtype of checked ``(name, dtype str)`` fields (cached: a sequencer's
    instructions bring the same few every shot)."""
    try:
        return np.dtype([(name, _field_dtype(text)) for name, text in spec])
    except ValueError as exc:
        raise TypeError(f"bad record fields: {exc}") from None


class WireCodec:
    """Encode values for :mod:`shotbook.rpc` and decode them back.

    Example:
        >>> from shotbook.registry import default_registry
        >>> from shotbook.types import Expression
        >>> codec = WireCodec(default_registry())
        >>> data = codec.encode({"x": [Expression("1 ms"), 2.0]})
        >>> codec.decode(data)
        {'x': [Expression('1 ms'), 2.0]}
    """

    def __init__(self, registry: TypeRegistry) -> None:
        self.registry = registry

    def encode(self, value: Any) -> Any:
        """Wire data for ``value`` (raises ``TypeError`` naming an unsendable type)."""
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, np.ndarray):
            return _encode_array(value)
        if isinstance(value, np.generic):
            return value if value.dtype.names is None else _encode_array(np.asarray(value))
        if isinstance(value, Instruction):
            return {"$instruction": self._encode_instruction(value)}
        if type(value) is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        cls = type(value)
        if self.registry.is_registered(cls):
            entry = self.registry.entry_for_class(cls)
            return {"$type": entry.tag, "$data": entry.encode(value, self.encode)}
        if isinstance(value, list):
            return [self.encode(item) for item in value]
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(item) for item in value]}
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"mapping keys must be str to be sent, got {key!r}")
                out[key] = self.encode(item)
            return {"$dict": out}
        if isinstance(value, float):
            return float(value)
        if isinstance(value, complex):
            return value
        raise TypeError(
            f"cannot send a {cls.__module__}.{cls.__qualname__} to or from a device server: "
            "register its type in the TypeRegistry given to both sides"
        )

    def _encode_instruction(self, node: Instruction) -> Any:
        if isinstance(node, Pattern):
            return ["pattern", _encode_array(node.values)]
        if isinstance(node, Concatenated):
            return ["concatenate", [self._encode_instruction(part) for part in node.parts]]
        if isinstance(node, Repeated):
            return ["repeat", node.repetitions, self._encode_instruction(node.instruction)]
        if isinstance(node, LinearRamp):
            return [
                "ramp",
                _encode_array(node.start.reshape(1)),
                _encode_array(node.stop.reshape(1)),
                node.span,
                node.first,
                node.length,
            ]
        raise TypeError(f"cannot send an instruction of type {type(node).__qualname__}")

    def decode(self, data: Any) -> Any:
        """Rebuild a value from wire data (only registered types are built)."""
        if isinstance(data, list):
            return [self.decode(item) for item in data]
        if isinstance(data, dict):
            if "$type" in data:
                tag = data["$type"]
                if not isinstance(tag, str):
                    raise TypeError(f"a type tag must be a str, got {tag!r}")
                entry = self.registry.entry_for_tag(tag)
                return entry.decode(data.get("$data"), self.decode)
            if "$dict" in data and len(data) == 1 and isinstance(data["$dict"], dict):
                return {str(k): self.decode(v) for k, v in data["$dict"].items()}
            if "$tuple" in data and len(data) == 1 and isinstance(data["$tuple"], list):
                return tuple(self.decode(item) for item in data["$tuple"])
            if "$instruction" in data and len(data) == 1:
                return _decode_instruction(data["$instruction"], self.decode)
            if "$records" in data and len(data) == 1:
                return _decode_records(data["$records"])
            if "$array" in data and len(data) == 1:
                return _decode_small(data["$array"])
            if "$float" in data and len(data) == 1:
                text = data["$float"]
                if text not in ("inf", "-inf", "nan"):
                    raise TypeError(f"bad special float {text!r}")
                return float(text)
            raise TypeError(
                f"a map on the wire must be tagged ($type/$dict), got keys {list(data)}"
            )
        return data


def _decode_instruction(data: Any, decode: Any) -> Instruction:
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise TypeError("an instruction on the wire is [kind, ...]")
    kind, args = data[0], data[1:]
    if kind == "pattern" and len(args) == 1:
        return Pattern(_as_array(decode(args[0])))
    if kind == "concatenate" and len(args) == 1 and isinstance(args[0], list):
        return Concatenated([_decode_instruction(part, decode) for part in args[0]])
    if kind == "repeat" and len(args) == 2 and type(args[0]) is int:
        return Repeated(args[0], _decode_instruction(args[1], decode))
    if kind == "ramp" and len(args) == 5 and all(type(v) is int for v in args[2:]):
        start, stop = _as_array(decode(args[0])), _as_array(decode(args[1]))
        if start.shape != (1,) or stop.shape != (1,):
            raise TypeError("a ramp's start and stop are single values")
        return LinearRamp(start[0], stop[0], args[2], args[3], args[4], dtype=start.dtype)
    raise TypeError(f"malformed instruction node {kind!r} on the wire")


def _as_array(value: Any) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufcV":
        raise TypeError(f"expected an array in an instruction, got {type(value).__name__}")
    return value
