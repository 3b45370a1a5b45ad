"""Units of loaded shots: remembered per frame, looked up in the store, converted, exported."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from shotbook.analysis import UnitMismatchError, read_shots, scan_shots, to_arrow_with_units, units
from shotbook.analysis._units import _REMEMBERED, convert_expression
from shotbook.session import StorageManager

from .helpers import SequenceSpec, fill, new_manager, tof_a, tof_b


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageManager]:
    """/tof/a (detuning in MHz), /tof/b (kHz) and two sequences with clashing units."""
    manager = new_manager(tmp_path_factory.mktemp("units") / "store")
    fill(manager, tof_a())
    fill(manager, tof_b())
    fill(manager, SequenceSpec("/clash/time", 2, lambda i: {"x": 1e-3 * i}, {"x": "ms"}))
    fill(manager, SequenceSpec("/clash/freq", 2, lambda i: {"x": 1e3 * i}, {"x": "kHz"}))
    fill(manager, SequenceSpec("/clash/plain", 2, lambda i: {"x": 2.0 * i}, {"x": None}))
    fill(manager, SequenceSpec("/power/dbm", 2, lambda i: {"p": 1e-3 * 10**i}, {"p": "dBm"}))
    fill(manager, SequenceSpec("/power/mw", 2, lambda i: {"p": 1e-3 * (i + 1)}, {"p": "mW"}))
    for path, unit in (("/meter/v", "V"), ("/meter/old", None), ("/meter/mv", "mV")):
        volts = {"V": 1.0, None: 1.0, "mV": 1e3}[unit]
        fill(manager, SequenceSpec(path, 2, lambda i: {}, {},
                                   lambda i, k=volts: {"dmm.voltage": (i + 1) * k},
                                   data_units={"dmm.voltage": unit}))  # fmt: skip
    yield manager
    manager.close()


def test_scanned_and_read_frames_know_their_units(store: StorageManager) -> None:
    lazy = scan_shots(store, "/tof/*")
    found = units(lazy)
    assert list(found) == lazy.collect_schema().names()
    assert found["mot.detuning"] == "MHz"
    assert found["probe.power"] == "mW"
    assert found["analysis.atom_number"] is None
    frame = read_shots(store, "/tof/b", ["probe.power", "shot_index"])
    assert units(frame) == {"probe.power": "mW", "shot_index": None}


def test_derived_frames_need_the_store_to_look_units_up(store: StorageManager) -> None:
    frame = read_shots(store, ["/tof/b", "/tof/a"])
    derived = frame.filter(pl.col("repeat") == 1).with_columns(
        (pl.col("wait_time") * 2).alias("twice")
    )
    with pytest.raises(ValueError, match=r"units\(frame, storage_manager\)"):
        units(derived)
    looked_up = units(derived, store)
    assert looked_up["wait_time"] == "ms"
    assert looked_up["twice"] is None  # computed in the notebook
    # the frame's sequences decide: /tof/b comes first here, in kHz, as read_shots reported
    assert looked_up["mot.detuning"] == units(frame)["mot.detuning"] == "kHz"
    only_a = units(frame.filter(pl.col("sequence") == "/tof/a").lazy(), store)
    assert only_a["mot.detuning"] == "MHz"
    without_sequence = units(frame.select("probe.power"), store)
    assert without_sequence == {"probe.power": "mW"}


def test_remembered_units_are_forgotten_with_their_frame(store: StorageManager) -> None:
    # by key, not by count: frames of earlier tests may be collected meanwhile
    frame = read_shots(store, "/tof/a", ["wait_time"])
    key = id(frame)
    assert _REMEMBERED[key][0]() is frame
    del frame
    gc.collect()
    assert key not in _REMEMBERED
    with pytest.raises(TypeError, match="DataFrame or LazyFrame"):
        units({"a": [1]})  # type: ignore[arg-type]


def test_units_of_other_dimensions_cannot_share_a_column(store: StorageManager) -> None:
    with pytest.raises(UnitMismatchError, match=r"'x' is in 'ms' in /clash/time but in 'kHz'"):
        scan_shots(store, ["/clash/time", "/clash/freq"])
    with pytest.raises(UnitMismatchError, match=r"'x' is in ms in /clash/time but in no unit"):
        scan_shots(store, ["/clash/time", "/clash/plain"])
    # leaving the column out reads the rest
    frame = read_shots(store, "/clash/*", ["sequence", "shot_index"])
    assert frame.height == 6


def test_read_outs_convert_and_those_stored_without_a_unit_make_it_unknown(
    store: StorageManager,
) -> None:
    frame = read_shots(store, ["/meter/v", "/meter/mv"], ["sequence", "dmm.voltage"])
    assert units(frame)["dmm.voltage"] == "V"
    assert frame.get_column("dmm.voltage").to_list() == pytest.approx([1.0, 2.0, 1.0, 2.0])
    # a store written before read-outs kept their units: its sequences still read, with the
    # others, and the column's unit is then unknown (never a guess)
    mixed = read_shots(store, ["/meter/v", "/meter/old", "/meter/mv"], ["dmm.voltage"])
    assert units(mixed)["dmm.voltage"] is None
    assert mixed.get_column("dmm.voltage").to_list() == pytest.approx([1, 2, 1, 2, 1, 2])
    assert units(read_shots(store, "/meter/old"))["dmm.voltage"] is None
    derived = mixed.with_columns(pl.col("dmm.voltage") * 2)  # units looked up in the store
    assert units(derived, store)["dmm.voltage"] is None


def test_logarithmic_units_convert_exactly(store: StorageManager) -> None:
    frame = read_shots(store, ["/power/mw", "/power/dbm"], ["sequence", "p"])
    assert units(frame)["p"] == "mW"
    assert frame.get_column("p").to_list() == pytest.approx([1.0, 2.0, 1.0, 10.0])
    back = read_shots(store, ["/power/dbm", "/power/mw"], ["p"])
    assert units(back)["p"] == "dBm"
    assert back.get_column("p").to_list() == pytest.approx([0.0, 10.0, 0.0, 3.0103], abs=1e-4)


@pytest.mark.parametrize(
    ("source", "target", "value", "expected"),
    [
        ("kHz", "MHz", 1234.5, 1.2345),
        ("MHz", "kHz", 1.2345, 1234.5),
        ("ms", "s", 3.0, 0.003),
        ("us", "ms", 7.0, 0.007),
        ("mW", "W", 250.0, 0.25),
        ("dBm", "dBm", 3.0, 3.0),
        ("dB", "dB", -3.0, -3.0),
    ],
)
def test_linear_conversions_are_correctly_rounded(
    source: str, target: str, value: float, expected: float
) -> None:
    expression = convert_expression("v", source, target, sequence="/b", first="/a")
    frame = pl.DataFrame({"v": [value]})
    got = frame.select(expression).item() if expression is not None else value
    assert got == expected  # exact: dividing by 1000 rounds correctly, multiplying by 1e-3 not


def test_arrow_export_carries_units_in_field_metadata(store: StorageManager) -> None:
    frame = read_shots(store, "/tof/a", ["shot_index", "mot.detuning", "wait_time"])
    table = to_arrow_with_units(frame)
    assert table.schema.field("mot.detuning").metadata == {b"unit": b"MHz"}
    assert table.schema.field("wait_time").metadata == {b"unit": b"ms"}
    assert table.schema.field("shot_index").metadata is None
    assert table.column("wait_time").to_pylist() == frame.get_column("wait_time").to_list()


def test_a_new_store_path_is_fine_for_units_of_a_plain_frame(tmp_path: Path) -> None:
    manager = new_manager(tmp_path / "empty")
    assert units(pl.DataFrame({"a": [1.0]}), manager) == {"a": None}
    manager.close()
