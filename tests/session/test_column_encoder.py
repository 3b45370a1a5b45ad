"""The writers' column encoder: the same columns and errors as the full checks, shot after
shot, whatever changes between shots."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shotbook.session import ColumnInfo, ShotSchemaError
from shotbook.session._columns._encoder import ShotColumnEncoder, encode_shot_columns, one_value
from shotbook.types import parse_unit

MHZ = parse_unit("MHz")
KHZ = parse_unit("kHz")


def both(
    encoder: ShotColumnEncoder,
    known: dict[str, ColumnInfo],
    index: int,
    parameters: dict[str, Any],
    data: dict[str, Any],
    units: dict[str, Any] | None = None,
) -> list[tuple[ColumnInfo, pa.Array]]:
    """Encode with the encoder and with the full checks; they must agree (or both raise)."""
    units = units or {}
    failure: Exception | None = None
    try:
        expected = encode_shot_columns(parameters, data, units, known, index)
    except Exception as error:
        failure = error
    if failure is not None:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - compared just below
            encoder.encode(parameters, data, units, known, index)
        assert (type(caught.value), str(caught.value)) == (type(failure), str(failure))
        raise failure
    got = encoder.encode(parameters, data, units, known, index)
    assert [info for info, _ in got] == [info for info, _ in expected]
    for (_, a), (_, b) in zip(got, expected, strict=True):
        assert a.type == b.type
        assert a.equals(b)
    for info, _ in got:
        known.setdefault(info.name, info)  # what a writer does with new columns
    return got


def test_repeated_shots_encode_as_the_full_checks() -> None:
    encoder, known = ShotColumnEncoder(), {}
    for index in range(5):
        columns = both(
            encoder,
            known,
            index,
            {"detuning": -2e6 + index, "repeat": index, "on": index % 2 == 0, "n": np.int64(3)},
            {
                "cam.pic": np.full((4, 3), index, dtype=np.uint16),
                "fit.x": 0.5 * index,
                "fit.ok": np.bool_(index > 2),
                "fit.count": np.int32(index),
                "fit.zero_d": np.array(1.5 * index),
                "fit.none": None,
                "fit.strided": np.arange(12.0).reshape(3, 4)[:, ::2] * index,
            },
            {"detuning": MHZ},
        )
    assert [info.name for info, _ in columns][:4] == ["detuning", "repeat", "on", "n"]
    picture = dict((info.name, array) for info, array in columns)["cam.pic"]
    assert np.frombuffer(picture.buffers()[1], np.uint16).tolist() == [4] * 12


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"p": 1}, {"p": 1.5}),  # an int column given a float
        ({"p": 1.5}, {"p": 2}),  # a float column given an int: stored as a float
        ({"p": True}, {"p": 1}),
        ({"d.a": np.zeros(3)}, {"d.a": np.zeros(4)}),
        ({"d.a": np.zeros(3)}, {"d.a": np.zeros(3, np.float32)}),
        ({"d.a": np.zeros(3, ">f8")}, {"d.a": np.zeros(3, "<f8")}),
        ({"d.z": np.array(1)}, {"d.z": np.array(1.5)}),  # 0-d arrays go by their dtype
        ({"d.z": np.array(1.5)}, {"d.z": np.array(2)}),
        ({"d.s": np.float64(1.0)}, {"d.s": np.int64(1)}),
        ({"p": 2**62}, {"p": 2**64}),
    ],
)
def test_a_change_between_shots_gets_the_full_checks(
    first: dict[str, Any], then: dict[str, Any]
) -> None:
    encoder, known = ShotColumnEncoder(), {}

    def split(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        return (
            {k: v for k, v in values.items() if "." not in k},
            {k: v for k, v in values.items() if "." in k},
        )

    both(encoder, known, 0, *split(first))
    with contextlib.suppress(ShotSchemaError, ValueError):  # both raised the same error
        both(encoder, known, 1, *split(then))


def test_a_new_display_unit_is_checked() -> None:
    encoder, known = ShotColumnEncoder(), {}
    both(encoder, known, 0, {"f": 1e6}, {}, {"f": MHZ})
    with pytest.raises(ShotSchemaError, match="kHz"):
        both(encoder, known, 1, {"f": 1e6}, {}, {"f": KHZ})


def test_one_value_is_what_pa_array_gives() -> None:
    for value, kind in [
        (1.25, pa.float64()),
        (-7, pa.int64()),
        (True, pa.bool_()),
        (False, pa.bool_()),
        (1_700_000_000_000_000, pa.timestamp("us", tz="UTC")),
    ]:
        assert one_value(value, kind).equals(pa.array([value], kind))
