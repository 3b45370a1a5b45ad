"""Plain SCPI instruments through PyVISA, against pyvisa-sim with the tests' lab_synth.yaml."""

from __future__ import annotations

import builtins
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyvisa_sim")

import pyvisa

from shotbook.compile import (
    ConfigurationError,
    SequenceCheckError,
    SequenceCompiler,
    check_sequence,
)
from shotbook.device import DeviceError, DeviceTimeoutError, ShotRunner
from shotbook.device.visa import (
    SCPICommand,
    SCPIQuery,
    VISACompiler,
    VISAInstrument,
    VISAInstrumentConfiguration,
    format_command,
    parse_command_template,
    register_visa_types,
)
from shotbook.registry import Serializer, default_registry
from shotbook.types import (
    ExecuteShot,
    ParameterNamespace,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
    parse_unit,
)

SIM = f"{Path(__file__).with_name('lab_synth.yaml')}@sim"
ADDRESS = "GPIB0::8::INSTR"
LANES = TimeLanes(["wait"], ["1 ms"], {})
COMPILERS = {VISAInstrumentConfiguration: VISACompiler}


def synth(**kwargs: Any) -> VISAInstrumentConfiguration:
    kwargs.setdefault(
        "commands",
        (
            SCPICommand("FREQ {value:.6f}", "aom.frequency + 2 MHz", unit="Hz", bounds=(0, 1e9)),
            SCPICommand("AMPL {value:.4f}", "amplitude"),
        ),
    )
    kwargs.setdefault(
        "queries",
        (SCPIQuery("TEMP?", "temperature", unit="K"), SCPIQuery("FREQ?", "frequency", unit="Hz")),
    )
    kwargs.setdefault("address", ADDRESS)
    kwargs.setdefault("backend", SIM)
    return VISAInstrumentConfiguration(timeout=0.3, **kwargs)


def init(configuration: VISAInstrumentConfiguration) -> dict[str, Any]:
    return dict(VISACompiler("synth", configuration).compile_initialization_parameters())


def shot(frequency_mhz: float, amplitude: float = 0.5) -> ShotParameters:
    return ShotParameters(
        {"aom.frequency": frequency_mhz * 1e6, "amplitude": amplitude},
        {"aom.frequency": parse_unit("MHz"), "amplitude": None},
    )


@pytest.fixture
def writes(monkeypatch) -> list[str]:
    """Every command (not query) written through PyVISA's resources from now on."""
    written: list[str] = []
    original = pyvisa.resources.MessageBasedResource.write

    def write(self: Any, message: str, *args: Any, **kwargs: Any) -> Any:
        if not message.endswith("?"):
            written.append(message)
        return original(self, message, *args, **kwargs)

    monkeypatch.setattr(pyvisa.resources.MessageBasedResource, "write", write)
    return written


# --------------------------------------------------------------------------- templates


def test_command_templates_accept_only_value_with_a_format_spec() -> None:
    assert parse_command_template("FREQ {value:.6f}") == (("FREQ ", ".6f"),)
    pieces = parse_command_template("SOUR{{1}}:VOLT {value} ; OFFS {value:+.2e}")
    assert format_command(pieces, 0.25) == "SOUR{1}:VOLT 0.25 ; OFFS +2.50e-01"
    assert format_command(parse_command_template("CH {value:d}"), 3.0) == "CH 3"
    with pytest.raises(ValueError, match="not an integer"):
        format_command(parse_command_template("CH {value:d}"), 2.5)
    assert format_command(parse_command_template("OUTP {value:d}"), True) == "OUTP 1"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("FREQ {value.real}", "only '{value}' fields"),
        ("FREQ {value.__class__}", "only '{value}' fields"),
        ("FREQ {value[0]}", "only '{value}' fields"),
        ("FREQ {}", "only '{value}' fields"),
        ("FREQ {0}", "only '{value}' fields"),
        ("FREQ {frequency}", "only '{value}' fields"),
        ("FREQ {value!r}", "conversions"),
        ("FREQ {value:{width}}", "cannot hold a field"),
        ("FREQ {value:q}", "bad format spec"),
        ("FREQ {value", "command 'FREQ {value'"),
        ("*RST", "needs a '{value}' field"),
        ("", "non-empty"),
    ],
)
def test_command_templates_refuse_everything_else(template: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        SCPICommand(template, "1 MHz", unit="MHz")
    assert message in str(info.value)


def test_the_configuration_is_stored_and_read_back_and_checks_its_fields() -> None:
    registry = default_registry()
    register_visa_types(registry)
    serializer = Serializer(registry)
    configuration = synth(device_server="lab-pc")
    assert serializer.loads(serializer.dumps(configuration)) == configuration
    with pytest.raises(ConfigurationError, match="label"):
        SCPIQuery("TEMP?", "a.b")
    with pytest.raises(ConfigurationError, match="kind"):
        SCPIQuery("TEMP?", "t", kind="str")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="used twice"):
        synth(queries=(SCPIQuery("TEMP?", "t"), SCPIQuery("FREQ?", "t")))
    with pytest.raises(ConfigurationError, match="the part after '@' is one of ivi, py, sim"):
        synth(backend="x.yaml@evil")  # PyVISA would import pyvisa_evil
    with pytest.raises(DeviceError, match="got 'evil'"):  # and again when the device opens
        VISAInstrument("synth", address=ADDRESS, backend="@evil").__enter__()
    with pytest.raises(ConfigurationError, match="timeout"):
        synth(address=ADDRESS + "x").__class__(address=ADDRESS, timeout=0)


def test_units_and_bounds_are_checked_statically_naming_the_expression() -> None:
    bad = synth(
        commands=(
            SCPICommand("FREQ {value:.6f}", "2 GHz", unit="Hz", bounds=(0, 1e9)),
            SCPICommand("AMPL {value:.4f}", "aom.frequency", unit="V"),
        )
    )
    globals_ = ParameterNamespace.from_mapping({"aom": {"frequency": "80 MHz"}, "amplitude": "0.5"})
    with pytest.raises(SequenceCheckError) as caught:
        check_sequence(
            LANES, StepsConfiguration([ExecuteShot()]), globals_, {"synth": bad},
            compilers=COMPILERS,
        )  # fmt: skip
    text = str(caught.value)
    assert "'2 GHz' = 2000000000 Hz is outside the bounds [0, 1000000000] Hz" in text
    assert "'aom.frequency' is [frequency], but its unit V is [voltage]" in text


# --------------------------------------------------------------------------- the device


def test_commands_are_sent_per_shot_only_when_changed_and_replies_are_stored(writes) -> None:
    compiler = SequenceCompiler(LANES, {"synth": synth()}, COMPILERS)
    with (
        VISAInstrument("synth", **init(synth())) as device,
        ShotRunner({"synth": device}) as runner,
    ):
        assert device.identity == "shotbook,lab synth,42,1.0"
        data = runner.run_shot(compiler.compile_shot(shot(78.0, 0.25)))
        assert data == {"synth.temperature": 294.65, "synth.frequency": 80e6}
        assert writes[-2:] == ["FREQ 80000000.000000", "AMPL 0.2500"]
        count = len(writes)
        data = runner.run_shot(compiler.compile_shot(shot(98.0, 0.25)))  # frequency only
        assert data["synth.frequency"] == 100e6
        assert writes[count:] == ["FREQ 100000000.000000"]
        assert device.data_units() == {"temperature": "K", "frequency": "Hz"}


def test_an_absent_instrument_a_time_out_and_a_bad_reply_name_address_and_step() -> None:
    with pytest.raises(DeviceError) as absent:
        VISAInstrument("synth", **init(synth(address="GPIB0::9::INSTR"))).__enter__()
    assert "device 'synth' (VISA GPIB0::9::INSTR) failed to open" in str(absent.value)
    assert "no answer to '*IDN?'" in str(absent.value)
    assert absent.value.step == "open"
    slow = synth(queries=(SCPIQuery("SLOW?", "slow"),))
    with (
        VISAInstrument("synth", **init(slow)) as device,
        ShotRunner({"synth": device}) as runner,
        pytest.raises(DeviceTimeoutError) as timeout,
    ):
        runner.run_shot({"synth": {"values": [1e6, 0.5]}}, timeout=10)
    assert (timeout.value.device, timeout.value.step) == ("synth", "read_data")
    assert "(VISA GPIB0::8::INSTR) failed to read_data: query 'SLOW?'" in str(timeout.value)
    words = synth(queries=(SCPIQuery("*IDN?", "identity"),))
    with (
        VISAInstrument("synth", **init(words)) as device,
        pytest.raises(DeviceError, match=r"reply 'shotbook,lab synth,42,1.0' is not a float"),
    ):
        device.read_data()
    with pytest.raises(DeviceError, match="no VISA backend"):
        VISAInstrument("synth", address=ADDRESS, backend="/nowhere/sim.yaml@sim").__enter__()


def test_without_pyvisa_the_device_says_which_extra_to_install(monkeypatch) -> None:
    real_import = builtins.__import__

    def blocked(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pyvisa" or name.startswith("pyvisa."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    monkeypatch.setitem(sys.modules, "pyvisa", None)
    with pytest.raises(ImportError, match=r"install shotbook\[visa\] to use VISAInstrument"):
        VISAInstrument("synth", **init(synth())).__enter__()


def test_importing_shotbook_and_its_instrument_packages_imports_no_driver() -> None:
    code = (
        "import sys, shotbook, shotbook.device, shotbook.device.qcodes, shotbook.device.visa\n"
        "from shotbook.registry import default_registry\n"
        "r = default_registry()\n"
        "shotbook.device.qcodes.register_qcodes_types(r)\n"
        "shotbook.device.visa.register_visa_types(r)\n"
        "print(sorted(m for m in ('qcodes', 'pyvisa', 'pyvisa_sim') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"
