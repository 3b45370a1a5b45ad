"""QCoDeS instruments per shot, against QCoDeS's own simulated instruments (pyvisa-sim)."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import pytest
from qcodes.instrument import Instrument

from shotbook.compile import (
    ConfigurationError,
    SequenceCheckError,
    SequenceCompiler,
    ShotCompilationError,
    check_sequence,
)
from shotbook.device import DeviceError, DeviceTimeoutError, ShotRunner
from shotbook.device.qcodes import (
    QCoDeSCompiler,
    QCoDeSInstrument,
    QCoDeSInstrumentConfiguration,
    QCoDeSReading,
    QCoDeSSetting,
    driver_refusal,
    register_qcodes_types,
)
from shotbook.device.remote import DeviceServer, DeviceServerConnection, InsecureRPCConfiguration
from shotbook.registry import Serializer, default_registry
from shotbook.types import (
    ExecuteShot,
    ParameterNamespace,
    ShotParameters,
    StepsConfiguration,
    TimeLanes,
    parse_unit,
)

from .conftest import (
    DMM,
    DMM_SIM,
    LAB_SYNTH,
    init_parameters,
    rf_configuration,
    synth_configuration,
)

LANES = TimeLanes(["wait"], ["1 ms"], {})
COMPILERS = {QCoDeSInstrumentConfiguration: QCoDeSCompiler}


def shot(frequency_mhz: float, power_dbm: float = -10.0) -> ShotParameters:
    return ShotParameters(
        {"aom.frequency": frequency_mhz * 1e6, "rf.power": 1e-3 * 10 ** (power_dbm / 10)},
        {"aom.frequency": parse_unit("MHz"), "rf.power": parse_unit("dBm")},
    )


def problems(configuration: Any) -> str:
    globals_ = ParameterNamespace.from_mapping(
        {"aom": {"frequency": "80 MHz"}, "rf": {"power": "-10 dBm"}}
    )
    with pytest.raises(SequenceCheckError) as caught:
        check_sequence(
            LANES, StepsConfiguration([ExecuteShot()]), globals_, {"rf": configuration},
            compilers=COMPILERS,
        )  # fmt: skip
    return str(caught.value)


def commands_of(name: str) -> list[str]:
    """Record the commands the named QCoDeS instrument writes from now on."""
    instrument: Any = Instrument.find_instrument(name)
    written: list[str] = []
    original = instrument.write_raw

    def write_raw(cmd: str) -> None:
        written.append(cmd)
        original(cmd)

    instrument.write_raw = write_raw
    return written


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"settings": (QCoDeSSetting("frequency", "1 MHz"), QCoDeSSetting("frequency", "2"))},
            "set twice",
        ),
        ({"driver_options": {"name": "x"}}, "not a keyword argument name"),
        ({"driver_options": {"timeout": [1]}}, "str, number, bool or None"),
        ({"station": "s.yaml", "instrument": "rf"}, "not both"),
    ],
)
def test_a_malformed_configuration_says_which_field(change: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"driver": "qcodes.instrument_drivers.x.Y", "address": "GPIB::1"}
    fields.update(change)
    with pytest.raises(ConfigurationError, match=message):
        QCoDeSInstrumentConfiguration(**fields)
    for bad, text in (
        ({"parameter": "_secret"}, "private"),
        ({"parameter": "ch1[0]"}, "dotted"),
        ({"unit": "furlongs per parsec"}, "unknown unit"),
        ({"bounds": (2, 1)}, "low <= high"),
        ({"value": "1 +"}, "value"),
    ):
        with pytest.raises(ConfigurationError, match=text):
            QCoDeSSetting(**{"parameter": "frequency", "value": "1 MHz", "unit": "MHz", **bad})


def test_the_configuration_is_stored_and_read_back() -> None:
    registry = default_registry()
    register_qcodes_types(registry)
    serializer = Serializer(registry)
    configuration = rf_configuration(device_server="lab-pc")
    assert serializer.loads(serializer.dumps(configuration)) == configuration
    assert "qcodes" not in configuration.where.lower() or "SGS100A" in configuration.where


# --------------------------------------------------------------------------- static checks


def test_a_driver_outside_qcodes_and_the_allow_list_is_refused_by_the_static_check() -> None:
    assert driver_refusal(LAB_SYNTH) is None  # allowed by the tests' conftest
    for driver in ("os.system", "qcodes.instrument_drivers._private.X", "subprocess.Popen"):
        configuration = QCoDeSInstrumentConfiguration(driver=driver, address="GPIB::1")
        text = problems(configuration)
        assert f"driver {driver!r}" in text
        assert "device 'rf'" in text
    with pytest.raises(DeviceError, match=r"'os.system' is neither"):  # and again when opening
        QCoDeSInstrument("rf", driver="os.system", address="x").__enter__()


def test_bounds_and_dimensions_are_checked_statically_naming_the_expression() -> None:
    out_of_bounds = rf_configuration(
        QCoDeSSetting("frequency", "7 GHz", unit="MHz", bounds=(1, 6000)),
        QCoDeSSetting("power", "aom.frequency", unit="dBm"),
    )
    text = problems(out_of_bounds)
    assert "'7 GHz' = 7000 MHz is outside the bounds [1, 6000] MHz" in text
    assert "'aom.frequency' is [frequency], but its unit dBm is [power]" in text
    assert "2 problems" in text


def test_a_value_outside_the_bounds_at_some_shot_fails_its_compilation() -> None:
    compiler = SequenceCompiler(LANES, {"rf": rf_configuration()}, COMPILERS)
    assert compiler.compile_shot(shot(78.0))["rf"] == {"values": [80.0, pytest.approx(-10.0)]}
    with pytest.raises(ShotCompilationError, match=r"'aom.frequency \+ 2 MHz' = 6002 MHz") as info:
        compiler.compile_shot(shot(6000.0))
    assert info.value.expression == "aom.frequency + 2 MHz"
    assert info.value.device == "rf"


# --------------------------------------------------------------------------- the device


def test_the_sgs100a_is_set_per_shot_in_its_own_units_and_only_when_changed() -> None:
    compiler = SequenceCompiler(LANES, {"rf": rf_configuration()}, COMPILERS)
    with QCoDeSInstrument("rf", **init_parameters(rf_configuration())) as rf:
        instrument: Any = Instrument.find_instrument("rf")
        written = commands_of("rf")
        rf.update_parameters(**compiler.compile_shot(shot(78.0, -10.0))["rf"])
        assert instrument.frequency() == 80e6  # MHz → Hz
        assert instrument.power() == pytest.approx(-10.0)
        assert rf.read_data() == {"frequency_readback": 80e6}
        assert rf.data_units() == {"frequency_readback": "Hz"}
        assert written == ["SOUR:FREQ 80000000.00", "SOUR:POW -10.00"]
        rf.update_parameters(**compiler.compile_shot(shot(78.0, -3.0))["rf"])  # power only
        assert written[2:] == ["SOUR:POW -3.00"]
        rf.update_parameters(**compiler.compile_shot(shot(78.0, -3.0))["rf"])  # nothing changed
        assert len(written) == 3
    always = rf_configuration(
        QCoDeSSetting("frequency", "90 MHz", unit="MHz", only_when_changed=False, settle_time=0.001)
    )
    with QCoDeSInstrument("rf", **init_parameters(always)) as rf:
        written = commands_of("rf")
        for _ in range(2):
            rf.update_parameters(values=[90.0])
        assert written == ["SOUR:FREQ 90000000.00"] * 2


def test_a_read_out_that_is_not_an_echo_and_runs_through_the_shot_runner() -> None:
    dmm = QCoDeSInstrumentConfiguration(
        driver=DMM,
        address="GPIB::1::INSTR",
        driver_options=DMM_SIM,
        readings=(QCoDeSReading("volt", unit="mV"), QCoDeSReading("NPLC", label="nplc")),
    )
    with (
        QCoDeSInstrument("dmm", **init_parameters(dmm)) as meter,
        QCoDeSInstrument("rf", **init_parameters(rf_configuration())) as rf,
        ShotRunner({"rf": rf, "dmm": meter}) as runner,
    ):
        data = runner.run_shot({"rf": {"values": [123.0, -20.0]}, "dmm": {"values": []}})
    assert data["rf.frequency_readback"] == 123e6
    assert data["dmm.volt"] == pytest.approx(10_000.0)  # the simulated meter reads 10 V
    assert isinstance(data["dmm.nplc"], float)
    assert meter.data_units() == {"volt": "mV", "nplc": "NPLC"}  # NPLC: kept as read


def test_the_instruments_validators_refuse_bounds_and_constants_when_the_device_opens() -> None:
    too_wide = rf_configuration(
        QCoDeSSetting("frequency", "aom.frequency", unit="GHz", bounds=(0.5, 30))
    )
    with pytest.raises(DeviceError) as info:
        QCoDeSInstrument("rf", **init_parameters(too_wide)).__enter__()
    text = str(info.value)
    assert "set 'frequency' = 'aom.frequency'" in text
    assert "the upper bound 30.0 GHz is refused by the instrument's validator" in text
    assert (info.value.device, info.value.step) == ("rf", "open")
    assert "RohdeSchwarzSGS100A at GPIB::1::INSTR" in text
    assert not Instrument.exist("rf")  # closed after the failed open
    constant = rf_configuration(QCoDeSSetting("power", "40 dBm", unit="dBm"))
    with pytest.raises(DeviceError, match=r"set 'power' = '40 dBm': the value 40.0 dBm is refused"):
        QCoDeSInstrument("rf", **init_parameters(constant)).__enter__()
    wrong_unit = rf_configuration(QCoDeSSetting("power", "1 mW", unit="mW"))
    with QCoDeSInstrument("rf", **init_parameters(wrong_unit)) as rf:  # mW → dBm, log scale
        rf.update_parameters(values=[1.0])
        assert Instrument.find_instrument("rf").power() == pytest.approx(0.0)  # type: ignore[attr-defined]
    switches = rf_configuration(QCoDeSSetting("status", "Enabled"), QCoDeSSetting("phase", "90"))
    with QCoDeSInstrument("rf", **init_parameters(switches)) as rf:  # bools; plain numbers
        rf.update_parameters(values=[True, 90.0])
        assert Instrument.find_instrument("rf").status() is True  # type: ignore[attr-defined]
        assert Instrument.find_instrument("rf").phase() == 90.0  # type: ignore[attr-defined]
    phase_in_hz = rf_configuration(QCoDeSSetting("phase", "1 Hz", unit="Hz"))
    with pytest.raises(DeviceError, match=r"set 'phase' = '1 Hz': the units do not match"):
        QCoDeSInstrument("rf", **init_parameters(phase_in_hz)).__enter__()
    unknown = rf_configuration(QCoDeSSetting("frequencyy", "1 Hz", unit="Hz"))
    with pytest.raises(DeviceError, match=r"no parameter 'frequencyy' \(it has: .*frequency"):
        QCoDeSInstrument("rf", **init_parameters(unknown)).__enter__()


def test_the_same_configuration_opens_twice_in_a_row_and_through_a_device_server() -> None:
    init = init_parameters(rf_configuration())
    for power in (-10.0, -5.0):
        with QCoDeSInstrument("rf", **init) as rf:
            rf.update_parameters(values=[100.0, power])
            assert Instrument.exist("rf")
        assert not Instrument.exist("rf")
    registry = default_registry()
    register_qcodes_types(registry)
    with DeviceServer(InsecureRPCConfiguration(), registry, "rf-server") as server:
        server.start()
        for manager in ("first manager", "second manager"):  # a server handing over
            with (
                DeviceServerConnection(
                    InsecureRPCConfiguration(port=server.port), registry,
                    server_name="rf-server", timeout=10.0, client_name=manager,
                ) as connection,
                connection.device("rf", "qcodes_instrument", init) as rf,
            ):  # fmt: skip
                rf.update_parameters(values=[150.0, -7.0])
                assert rf.read_data() == {"frequency_readback": 150e6}
            assert not Instrument.exist("rf")


def test_a_busy_name_an_absent_instrument_and_a_time_out_name_device_address_and_step() -> None:
    init = init_parameters(synth_configuration())
    with QCoDeSInstrument("synth", **init), pytest.raises(DeviceError) as busy:
        QCoDeSInstrument("synth", **init).__enter__()
    assert "already open in this process (busy" in str(busy.value)
    absent = init_parameters(synth_configuration(address="GPIB0::9::INSTR"))
    with pytest.raises(DeviceError) as info:
        QCoDeSInstrument("synth", **absent).__enter__()
    assert "device 'synth' (LabSynth at GPIB0::9::INSTR) failed to open" in str(info.value)
    assert "does not answer" in str(info.value)
    slow = init_parameters(synth_configuration(readings=(QCoDeSReading("slow"),)))
    with (
        QCoDeSInstrument("synth", **slow) as synth,
        ShotRunner({"synth": synth}) as runner,
        pytest.raises(DeviceTimeoutError) as timeout,
    ):
        runner.run_shot({"synth": {"values": [10.0]}}, timeout=10)
    assert (timeout.value.device, timeout.value.step) == ("synth", "read_data")
    assert "(LabSynth at GPIB0::8::INSTR) failed to read_data: read 'slow'" in str(timeout.value)
    assert "VI_ERROR_TMO" in str(timeout.value)


def test_an_instrument_from_a_station_yaml(tmp_path: Path) -> None:
    station = tmp_path / "station.yaml"
    station.write_text(
        "instruments:\n"
        "  rf:\n"
        "    type: qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A\n"
        "    address: GPIB::1::INSTR\n"
        "    init:\n"
        "      pyvisa_sim_file: 'qcodes.instrument.sims:RSSGS100A.yaml'\n"
        "  shell:\n"
        "    type: os.system\n"
    )
    settings = (QCoDeSSetting("frequency", "42 MHz", unit="MHz"),)
    configuration = QCoDeSInstrumentConfiguration(
        station=str(station), instrument="rf", settings=settings
    )
    with QCoDeSInstrument("rf", **init_parameters(configuration)) as rf:
        rf.update_parameters(values=[42.0])
        assert Instrument.find_instrument("rf").frequency() == 42e6  # type: ignore[attr-defined]
    refused = QCoDeSInstrumentConfiguration(station=str(station), instrument="shell")
    with pytest.raises(DeviceError, match=r"driver 'os.system' is neither"):
        QCoDeSInstrument("shell", **init_parameters(refused)).__enter__()


def test_without_qcodes_the_device_says_which_extra_to_install(monkeypatch) -> None:
    real_import = builtins.__import__

    def blocked(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "qcodes" or name.startswith("qcodes."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    monkeypatch.setitem(sys.modules, "qcodes", None)
    with pytest.raises(ImportError, match=r"install shotbook\[qcodes\] to use QCoDeSInstrument"):
        QCoDeSInstrument("rf", **init_parameters(rf_configuration())).__enter__()


def test_a_driver_without_an_address_qcodes_dummy_instrument() -> None:
    mock = QCoDeSInstrumentConfiguration(
        driver="qcodes.instrument_drivers.mock_instruments.DummyInstrument",
        identify=False,
        settings=(QCoDeSSetting("dac1", "250 mV", unit="mV"),),
        readings=(QCoDeSReading("dac1", label="dac1_mV", unit="mV"), QCoDeSReading("dac2")),
    )
    with QCoDeSInstrument("rf", **init_parameters(mock)) as device:
        device.update_parameters(values=[250.0])
        assert device.read_data() == {"dac1_mV": pytest.approx(250.0), "dac2": 0}
        assert device.data_units() == {"dac1_mV": "mV", "dac2": "V"}
