"""Device protocols, remote method marking, and the wire codec of device arguments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shotbook.compile import (
    ExternalTriggerStart,
    SoftwareTrigger,
    concatenate,
    constant,
    linear_ramp,
    pattern,
    repeat,
    stack_channels,
)
from shotbook.device import (
    Camera,
    CameraTimeoutError,
    Device,
    Sequencer,
    WireCodec,
    remote,
    remote_methods_of,
)
from shotbook.device.sim import SimulatedCamera, SimulatedSequencer
from shotbook.registry import RegistryError, TypeRegistry
from shotbook.rpc._wire import decode, encode

from .lab_devices import EchoDevice


def test_sim_devices_follow_the_protocols() -> None:
    sequencer = SimulatedSequencer("seq", channels=["a"], time_step=1000)
    camera = SimulatedCamera("cam", sensor_size=(8, 8))
    assert isinstance(sequencer, Device)
    assert isinstance(sequencer, Sequencer)
    assert not isinstance(sequencer, Camera)
    assert isinstance(camera, Device)
    assert isinstance(camera, Camera)
    assert not isinstance(camera, Sequencer)


def test_remote_methods_of_the_sim_devices() -> None:
    assert remote_methods_of(SimulatedSequencer) == {
        "update_parameters",
        "start",
        "is_finished",
        "wait_finished",
        "is_software_triggered",
        "shots_run",
    }
    assert remote_methods_of(SimulatedCamera) == {
        "update_parameters",
        "acquire",
        "roi",
        "pictures_taken",
    }
    assert "not_remote" not in remote_methods_of(EchoDevice)
    assert "greeting" in remote_methods_of(EchoDevice)


def test_remote_marks_are_inherited_and_class_lists_count() -> None:
    class Base:
        @remote
        def on(self) -> None: ...

    class Child(Base):
        remote_methods = frozenset({"off"})

        def on(self) -> None: ...  # overriding keeps the base's mark

        def off(self) -> None: ...

        def hidden(self) -> None: ...

    assert remote_methods_of(Child) == {"on", "off"}


def test_bad_remote_declarations_are_refused() -> None:
    class Private:
        remote_methods = frozenset({"_poke"})

        def _poke(self) -> None: ...

    class Missing:
        remote_methods = frozenset({"fly"})

    with pytest.raises(TypeError, match="private"):
        remote_methods_of(Private)
    with pytest.raises(TypeError, match=r"'fly'.*does not define|does not define"):
        remote_methods_of(Missing)


def test_camera_timeout_error_names_camera_and_picture() -> None:
    error = CameraTimeoutError("andor", "cloud", 0.25)
    assert isinstance(error, TimeoutError)
    assert "andor" in str(error)
    assert "cloud" in str(error)
    assert "0.25 s" in str(error)
    assert (error.camera, error.picture, error.timeout) == ("andor", "cloud", 0.25)


# --------------------------------------------------------------------------- codec


def _through_the_wire(codec: WireCodec, value: object) -> object:
    frames = encode({"ok": codec.encode(value)}, what="a test value")
    return codec.decode(decode(frames[0], frames[1:])["ok"])


@pytest.mark.parametrize(
    "instruction",
    [
        constant(True, 10**9),
        repeat(concatenate(constant(True, 3), constant(False, 2)), 1000),
        linear_ramp(0.0, 5.0, 100),
        linear_ramp(0.0, 5.0, 100)[17:63],
        pattern(np.arange(40, dtype=np.float64) ** 2),
        stack_channels(
            {
                "a": concatenate(constant(True, 7), constant(False, 93)),
                "b": pattern(np.arange(100) % 3 == 0),
            }
        ),
        stack_channels({"x": linear_ramp(1.0, 2.0, 50), "y": constant(3.0, 50)}),
    ],
)
def test_instructions_cross_the_wire_unchanged(registry: TypeRegistry, instruction) -> None:
    codec = WireCodec(registry)
    back = _through_the_wire(codec, {"sequence": instruction, "time_step": 50_000})
    assert back["sequence"] == instruction
    assert back["sequence"].dtype == instruction.dtype
    assert back["sequence"].node_count() == instruction.node_count()


def test_codec_keeps_tuples_dicts_registered_types_and_special_floats(
    registry: TypeRegistry,
) -> None:
    codec = WireCodec(registry)
    value = {
        "roi": (1, 2, 3, 4),
        "trigger": ExternalTriggerStart(),
        "nested": [SoftwareTrigger(), {"inf": math.inf}],
        "image": np.arange(12, dtype=np.uint16).reshape(3, 4),
        "records": np.zeros(3, dtype=[("a", "?"), ("b", "<f8")]),
    }
    back = _through_the_wire(codec, value)
    assert back["roi"] == (1, 2, 3, 4)
    assert back["trigger"] == ExternalTriggerStart()
    assert back["nested"] == [SoftwareTrigger(), {"inf": math.inf}]
    np.testing.assert_array_equal(back["image"], value["image"])
    assert back["records"].dtype == value["records"].dtype


def test_records_cross_the_wire_packed_padded_or_large(registry: TypeRegistry) -> None:
    # the packed dtypes are cached (#16); padded records are packed, large ones copied
    codec = WireCodec(registry)
    padded = np.dtype({"names": ["a", "b"], "formats": ["?", "<f8"], "offsets": [0, 8]})
    values = {
        "packed": np.array([(1, 2.5, 3), (4, 5.5, 6)], dtype="<i2,<f4,u1"),
        "padded": np.array([(True, 1.5), (False, -2.0)], dtype=padded),
        "large": np.zeros(1000, dtype=[("x", "<f8"), ("y", "?")]),
    }
    values["large"]["x"] = np.arange(1000)
    for _ in range(2):  # the second time from the caches
        wire = codec.encode(values)
        values["large"]["x"][0] = -1.0  # changed after encoding: not what was sent
        back = codec.decode(wire)
        values["large"]["x"][0] = 0.0
        for name, array in values.items():
            assert back[name].dtype.names == array.dtype.names
            for field in array.dtype.names:
                np.testing.assert_array_equal(back[name][field], array[field])
    for fields in ([["a", "<f8"], ["a", "<f8"]], [["a", "O"]], [["a", 8]]):
        for _ in range(2):
            with pytest.raises(TypeError):
                codec.decode({"$records": [fields, [1], b"\0" * 16]})


def test_codec_refuses_unregistered_types_and_unknown_tags(registry: TypeRegistry) -> None:
    codec = WireCodec(registry)

    class Secret:
        pass

    with pytest.raises(TypeError, match="register its type"):
        codec.encode({"x": Secret()})
    with pytest.raises(RegistryError, match=r"unknown type tag 'os.system'"):
        codec.decode({"$type": "os.system", "$data": "rm -rf /"})
    with pytest.raises(TypeError, match="malformed instruction"):
        codec.decode({"$instruction": ["exec", "print(1)"]})
    with pytest.raises(TypeError, match="must be tagged"):
        codec.decode({"plain": "map"})


def test_devices_are_not_data(registry: TypeRegistry) -> None:
    codec = WireCodec(registry)
    with pytest.raises(TypeError, match="not data"):
        codec.encode(EchoDevice("echo"))
    with pytest.raises(TypeError, match="device class"):
        codec.decode({"$type": "echo_device", "$data": {}})
