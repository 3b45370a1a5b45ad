"""Wire format: encoding, decoding and the refusal of malformed messages (in-process)."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from collections import OrderedDict
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbook.rpc import ProtocolError
from shotbook.rpc._messages import parse_reply, parse_request
from shotbook.rpc._wire import decode, encode


def round_trip(value: Any) -> Any:
    frames = encode({"x": value}, what="a test value", root="payload")
    return decode(frames[0], frames[1:])["x"]


ARRAYS = [
    np.arange(512 * 512, dtype=np.uint16).reshape(512, 512),
    np.linspace(-1, 1, 1000).reshape(10, 100),
    np.array([True, False, True]),
    np.arange(-128, 128, dtype=np.int8),
    np.array(3.25),  # 0-d
    np.zeros((0, 7), dtype=np.float64),  # empty
    np.array([1 + 2j, 3 - 4j], dtype=np.complex64),
    np.array(["2026-11-25T10:00"], dtype="datetime64[ms]"),
    np.arange(6, dtype=">i4"),  # big-endian stays big-endian
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_arrays_round_trip_exactly(array: np.ndarray) -> None:
    result = round_trip(array)
    assert result.dtype == array.dtype
    assert result.shape == array.shape
    assert np.array_equal(result, array)


def test_arrays_travel_as_separate_frames_without_copy() -> None:
    image = np.arange(100, dtype=np.uint16).reshape(10, 10)
    frames = encode({"image": image}, what="x")
    assert len(frames) == 2
    assert np.shares_memory(np.frombuffer(frames[1], dtype=np.uint8), image)


def test_non_contiguous_input_is_made_contiguous() -> None:
    base = np.arange(64, dtype=np.float64).reshape(8, 8)
    view = base[::2, 1::3]
    assert not view.flags.c_contiguous
    result = round_trip(view)
    assert np.array_equal(result, view)
    assert result.flags.c_contiguous


def test_received_arrays_are_writable_views() -> None:
    frames = encode({"a": np.zeros(4)}, what="x")
    received = decode(frames[0], [bytearray(frames[1])])["a"]
    received[0] = 1.0
    assert received[0] == 1.0


def test_scalars_and_natives_round_trip() -> None:
    moment = dt.datetime(2026, 11, 25, 10, 30, 1, 250000, tzinfo=dt.UTC)
    value = {
        "none": None,
        "flag": True,
        "big": 2**63 + 5,
        "negative": -(2**63),
        "real": 0.1,
        "text": "µs",
        "raw": b"\x00\xff",
        "when": moment,
        "nested": [[1, 2], {"k": (3, 4)}],
        "int_keys": {1: "one", 2: "two"},
        "f32": np.float32(1.5),
        "u16": np.uint16(65535),
        "bool_": np.bool_(True),
        "f64": np.float64(2.5),
        "complex": 1 - 2j,
    }
    result = round_trip(value)
    assert result["when"] == moment
    assert result["nested"] == [[1, 2], {"k": [3, 4]}]  # tuples arrive as lists
    for key in ("none", "flag", "big", "negative", "real", "text", "raw", "int_keys"):
        assert result[key] == value[key]
    assert result["f32"] == np.float32(1.5)
    assert result["f32"].dtype == np.float32
    assert result["u16"].dtype == np.uint16
    assert result["bool_"].dtype == np.bool_
    assert result["f64"].dtype == np.float64
    assert result["complex"] == 1 - 2j


def test_subclasses_of_natives_travel_as_their_base_type() -> None:
    class Mode(enum.IntEnum):
        FAST = 2

    class Name(str, enum.Enum):  # noqa: UP042 (str() differs from the value)
        CAMERA = "camera"

    result = round_trip([Mode.FAST, Name.CAMERA, OrderedDict(a=1), bytearray(b"ab")])
    assert result == [2, "camera", {"a": 1}, b"ab"]
    assert type(result[0]) is int
    assert type(result[1]) is str


@pytest.mark.parametrize(
    ("value", "path", "described"),
    [
        ({"a": [1, object()]}, "payload['a'][1]", "builtins.object"),
        ({"a": dt.datetime(2026, 1, 1)}, "payload['a']", "naive datetime"),
        ({"a": np.array([object()])}, "payload['a']", "dtype object"),
        ({"a": np.array(["text"])}, "payload['a']", "dtype <U4"),
        ({"a": 2**64}, "payload['a']", "64-bit"),
        ({"a": {"b": {1, 2}}}, "payload['a']['b']", "builtins.set"),
    ],
)
def test_unsendable_values_raise_type_error_naming_path_and_type(
    value: Any, path: str, described: str
) -> None:
    with pytest.raises(TypeError) as info:
        encode(value, what="the payload", root="payload")
    message = str(info.value)
    assert "cannot send the payload" in message
    assert path in message
    assert described in message


def test_rpc_header_paths_name_args_and_kwargs() -> None:
    header = {"v": 1, "op": "call", "id": 1, "m": "f", "a": [1, 2], "k": {"x": object()}}
    with pytest.raises(TypeError, match=r"kwargs\['x'\] is a builtins.object"):
        encode(header, what="the arguments of 'f'")


def _array_ext(index: int, dtype: str, shape: list[int]) -> msgpack.ExtType:
    return msgpack.ExtType(1, msgpack.packb([index, dtype, shape]))


@pytest.mark.parametrize(
    ("header", "buffers", "match"),
    [
        (b"\xc1\xc1garbage", [], "not valid msgpack"),
        (b"\x93\x01", [], "not valid msgpack"),
        (msgpack.packb({"a": _array_ext(1, "|O", [1])}), [b"\0" * 8], "dtype"),
        (msgpack.packb({"a": _array_ext(1, "|V8", [1])}), [b"\0" * 8], "dtype"),
        (msgpack.packb({"a": _array_ext(1, "[('a','O')]", [1])}), [b"\0" * 8], "dtype"),
        (msgpack.packb({"a": _array_ext(1, "<u2", [3, 3])}), [b"\0" * 10], "needs 18 bytes"),
        (msgpack.packb({"a": _array_ext(2, "<u2", [1])}), [b"\0" * 2], "frame index 2"),
        (msgpack.packb({"a": _array_ext(1, "<u2", [-1])}), [b"\0" * 2], "shape"),
        (msgpack.packb({"a": msgpack.ExtType(9, b"x")}), [], "extension type 9"),
        (msgpack.packb({"a": msgpack.ExtType(2, msgpack.packb(["<f8", b"x"]))}), [], "8 bytes"),
    ],
)
def test_decode_refuses_malformed_headers(header: bytes, buffers: list[Any], match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        decode(header, buffers)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ([1, 2, 3], "expected a map"),
        ({"v": 99, "op": "call", "id": 1}, "protocol version 99"),
        ({"v": 1, "op": "exec", "id": 1}, "op 'exec'"),
        ({"v": 1, "op": "call", "id": "1", "m": "f"}, "id '1'"),
        ({"v": 1, "op": "call", "id": 1, "m": 3}, "method 3"),
        ({"v": 1, "op": "call", "id": 1, "m": "f", "a": {}}, "args"),
        ({"v": 1, "op": "call", "id": 1, "m": "f", "k": {1: 2}}, "kwargs"),
        ({"v": 1, "op": "call", "id": 1, "m": "f", "c": ["h", 1]}, "client info"),
    ],
)
def test_requests_of_the_wrong_shape_are_refused(header: Any, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse_request(header)


def test_replies_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ProtocolError, match="none of"):
        parse_reply({"v": 1, "id": 1, "err": {"type": 1}})
    assert parse_reply({"v": 1, "id": 3, "ok": [1]}) == (3, "ok", [1])


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_like)
def test_any_nesting_of_natives_round_trips(value: Any) -> None:
    assert round_trip(value) == value


@given(st.binary(max_size=64))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(data, [])
