"""The README's device-extension sketch, run as written against a stand-in driver module
(``acme_synth`` does not exist: the test puts a recording stand-in in its place), so that the
guide cannot rot: static check, shots through the shot runner, units of the read-outs, the
install message without the driver, and the extension."""

from __future__ import annotations

import importlib
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from shotbook.compile import SequenceCheckError, SequenceCompiler, check_sequence
from shotbook.device import DeviceError, ShotRunner, data_units_of, open_devices
from shotbook.registry import default_registry
from shotbook.types import (
    ExecuteShot,
    ParameterNamespace,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
    parse_unit,
)

README = Path(__file__).parents[2] / "README.md"
MARKER = "<!-- device-guide-sketch"
LANES = TimeLanes(["wait"], ["1 ms"], {})


def sketch() -> str:
    """The Python block that follows the marker in the README."""
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "the README lost its device-guide sketch"
    found = re.search(r"```python\n(.*?)```", text[text.index(MARKER) :], re.DOTALL)
    assert found is not None
    return found.group(1)


class RecordingSynth:
    """Recording stand-in of the imaginary vendor driver's ``acme_synth.Synth`` class."""

    instances: ClassVar[list[RecordingSynth]] = []

    def __init__(self, address: str) -> None:
        if address.startswith("ABSENT"):
            raise ConnectionError(f"no synthesiser at {address}")
        self.address = address
        self.frequencies: list[float] = []
        self.closed = False
        RecordingSynth.instances.append(self)

    def set_frequency(self, hertz: float) -> None:
        self.frequencies.append(hertz)

    def read_power(self) -> float:
        return -3.0

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The README's sketch imported as the module ``my_lab_acme_synth``, with the stand-in
    driver module ``acme_synth``."""
    (tmp_path / "my_lab_acme_synth.py").write_text(sketch(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    driver = types.ModuleType("acme_synth")
    driver.Synth = RecordingSynth  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_synth", driver)
    monkeypatch.setattr(RecordingSynth, "instances", [])
    module = importlib.import_module("my_lab_acme_synth")
    yield module
    sys.modules.pop("my_lab_acme_synth", None)


def test_the_guides_device_runs_shots_and_declares_its_units(guide: Any) -> None:
    registry = default_registry()
    guide.register_acme_types(registry)
    compilers = {guide.AcmeSynthConfiguration: guide.AcmeSynthCompiler}
    configuration = guide.AcmeSynthConfiguration(address="USB0::1::INSTR")
    compiler = SequenceCompiler(LANES, {"synth": configuration}, compilers=compilers)
    shots = [
        compiler.compile_shot(
            ShotParameters({"aom.frequency": mhz * 1e6}, {"aom.frequency": parse_unit("MHz")})
        )
        for mhz in (80.0, 81.5)
    ]
    with (
        open_devices({"synth": configuration}, registry, compilers=compilers) as devices,
        ShotRunner(devices) as runner,
    ):
        data = [runner.run_shot(shot, timeout=5.0) for shot in shots]
        units = data_units_of(devices)
    assert data == [{"synth.power": -3.0}] * 2
    assert units == {"synth.power": "dBm"}
    (synth,) = RecordingSynth.instances
    assert synth.address == "USB0::1::INSTR"
    assert synth.frequencies == [82e6, 83.5e6]  # aom.frequency + 2 MHz, in Hz
    assert synth.closed
    extension = guide.acme_synth_extension
    assert extension.device_type is guide.AcmeSynth
    assert extension.compiler_type is guide.AcmeSynthCompiler
    assert "acme.synth" in registry


def test_the_guides_checks_name_the_expression_the_address_and_the_step(guide: Any) -> None:
    compilers = {guide.AcmeSynthConfiguration: guide.AcmeSynthCompiler}
    globals_ = ParameterNamespace.from_mapping({"aom": {"frequency": "80 MHz"}})
    volts = guide.AcmeSynthConfiguration(frequency="aom.frequency * 1 V / 1 Hz")
    with pytest.raises(SequenceCheckError, match=r"'aom.frequency \* 1 V / 1 Hz' is not a freq"):
        check_sequence(
            LANES, StepsConfiguration([ExecuteShot()]), globals_, {"synth": volts},
            compilers=compilers,
        )  # fmt: skip
    registry = default_registry()
    guide.register_acme_types(registry)
    absent = guide.AcmeSynthConfiguration(address="ABSENT::9")
    with pytest.raises(DeviceError) as caught:
        open_devices({"synth": absent}, registry, compilers=compilers).__enter__()
    assert "device 'synth' (Acme at ABSENT::9) failed to open" in str(caught.value)
    assert caught.value.step == "open"


def test_without_the_driver_the_guides_device_says_what_to_install(
    guide: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "acme_synth", None)  # the import is blocked
    with pytest.raises(ImportError, match=r"^install acme-synth to use AcmeSynth$"):
        guide.AcmeSynth("synth", address="USB0::1::INSTR").__enter__()
