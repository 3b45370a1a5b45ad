"""QCoDeS instruments in whole sequences run by a LocalExperimentManager (simulated lab +
QCoDeS's simulated instruments): stored columns, static and opening errors, a time-out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qcodes.instrument import Instrument

from shotbook.analysis import read_shots
from shotbook.control import (
    SequenceFailedError,
    ShotRetryConfig,
)
from shotbook.device.qcodes import (
    QCoDeSInstrumentConfiguration,
    QCoDeSReading,
    QCoDeSSetting,
    allow_qcodes_drivers,
    register_qcodes_types,
)
from tests.control.lab import (
    shots_of,
    state_of,
)
from tests.device.instrument_runs import sequence_runs

from .conftest import DMM, DMM_SIM, rf_configuration, synth_configuration
from .lab_driver import FlakySynth

allow_qcodes_drivers(FlakySynth)

RF = rf_configuration(
    QCoDeSSetting("frequency", "mot.detuning + 80 MHz", unit="MHz", bounds=(1, 6000)),
    QCoDeSSetting("power", "-10 dBm", unit="dBm"),
)
DMM_READOUT = QCoDeSInstrumentConfiguration(
    driver=DMM,
    address="GPIB::1::INSTR",
    driver_options=DMM_SIM,
    readings=(QCoDeSReading("volt", label="voltage"),),
)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    """``run(path, instruments, **manager options)``: the simulated lab plus ``instruments``."""
    yield from sequence_runs(tmp_path, register_qcodes_types)


def test_a_scan_sets_the_rf_source_per_shot_and_stores_the_read_outs_twice_in_a_row(run) -> None:
    for path in ("/rf/first", "/rf/second"):  # the same configuration opened again
        summary = run(path, {"rf": RF, "dmm": DMM_READOUT})
        assert summary.ok, summary
        frame = shots_of(run.storage, path)
        assert frame["rf.frequency_readback"].to_list() == [65e6] * 4  # -15 MHz + 80 MHz
        assert frame["dmm.voltage"].to_list() == [10.0] * 4  # the simulated meter's own value
        units = read_shots(run.storage, path).units  # the parameters' own units, stored
        assert (units["dmm.voltage"], units["rf.frequency_readback"]) == ("V", "Hz")
    assert not Instrument.exist("rf")
    assert not Instrument.exist("dmm")


def test_a_bound_in_the_configuration_keeps_the_sequence_a_draft(run) -> None:
    rf = rf_configuration(QCoDeSSetting("frequency", "7 GHz", unit="MHz", bounds=(1, 6000)))
    with pytest.raises(SequenceFailedError, match=r"'7 GHz' = 7000 MHz is outside") as caught:
        run("/rf/static", {"rf": rf})
    assert caught.value.state == "draft"
    assert state_of(run.storage, "/rf/static") == "draft"


def test_the_instruments_validator_at_open_crashes_the_sequence_naming_the_expression(
    run,
) -> None:
    rf = rf_configuration(
        QCoDeSSetting("frequency", "mot.detuning + 80 MHz", unit="MHz", bounds=(1, 30_000))
    )
    with pytest.raises(SequenceFailedError) as caught:
        run("/rf/validator", {"rf": rf})
    text = str(caught.value)
    assert "set 'frequency' = 'mot.detuning + 80 MHz'" in text
    assert "the upper bound 30000.0 MHz is refused by the instrument's validator" in text
    assert caught.value.state == "crashed"
    assert state_of(run.storage, "/rf/validator") == "crashed"
    assert len(shots_of(run.storage, "/rf/validator")) == 0
    assert not Instrument.exist("rf")


def test_an_instrument_timing_out_at_shot_2_crashes_the_run_and_keeps_shots_0_and_1(run) -> None:
    synth = synth_configuration(
        driver=f"{FlakySynth.__module__}.{FlakySynth.__qualname__}",
        readings=(QCoDeSReading("probe"),),
    )
    FlakySynth.answers = 2
    retry = ShotRetryConfig((TimeoutError,), number_of_attempts=2)
    with pytest.raises(SequenceFailedError) as caught:
        run("/synth/timeout", {"synth": synth, "rf": RF}, shot_retry_config=retry)
    text = str(caught.value)
    assert caught.value.shot_index == 2
    assert "device 'synth' (FlakySynth at GPIB0::8::INSTR) failed to read_data" in text
    assert "VI_ERROR_TMO" in text
    assert state_of(run.storage, "/synth/timeout") == "crashed"
    frame = shots_of(run.storage, "/synth/timeout")
    assert frame["shot_index"].to_list() == [0, 1]
    assert frame["synth.probe"].to_list() == [294.65, 294.65]
    assert not Instrument.exist("synth")  # devices closed
    assert not Instrument.exist("rf")


def test_an_absent_instrument_crashes_the_run_naming_device_address_and_step(run) -> None:
    absent = synth_configuration(address="GPIB0::9::INSTR")  # pyvisa-sim knows no such one
    with pytest.raises(SequenceFailedError) as caught:
        run("/synth/absent", {"synth": absent, "rf": RF})
    text = str(caught.value)
    assert caught.value.state == "crashed"
    assert "device 'synth' (LabSynth at GPIB0::9::INSTR) failed to open" in text
    assert state_of(run.storage, "/synth/absent") == "crashed"
    assert len(shots_of(run.storage, "/synth/absent")) == 0
    assert not Instrument.exist("synth")  # devices closed
    assert not Instrument.exist("rf")
