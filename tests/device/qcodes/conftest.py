"""Fixtures of the QCoDeS tests: QCoDeS's own simulated instruments and the tests' lab synth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("qcodes")
pytest.importorskip("pyvisa_sim")

from qcodes.instrument import Instrument

from shotbook.device.qcodes import (
    QCoDeSCompiler,
    QCoDeSInstrumentConfiguration,
    QCoDeSReading,
    QCoDeSSetting,
    allow_qcodes_drivers,
)

from .lab_driver import LAB_SYNTH_ADDRESS, LAB_SYNTH_VISALIB, LabSynth

SGS100A = "qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A"
SGS100A_SIM = {"pyvisa_sim_file": "qcodes.instrument.sims:RSSGS100A.yaml"}
DMM = "qcodes.instrument_drivers.Keysight.Keysight34465A"
DMM_SIM = {"pyvisa_sim_file": "qcodes.instrument.sims:Keysight_34465A.yaml"}
LAB_SYNTH = f"{LabSynth.__module__}.{LabSynth.__qualname__}"

allow_qcodes_drivers(LabSynth)


def rf_configuration(*settings: QCoDeSSetting, **kwargs: Any) -> QCoDeSInstrumentConfiguration:
    """The simulated R&S SGS100A with these settings (frequency and power by default)."""
    if not settings:
        settings = (
            QCoDeSSetting("frequency", "aom.frequency + 2 MHz", unit="MHz", bounds=(1, 6000)),
            QCoDeSSetting("power", "rf.power", unit="dBm"),
        )
    kwargs.setdefault("readings", (QCoDeSReading("frequency", label="frequency_readback"),))
    return QCoDeSInstrumentConfiguration(
        driver=SGS100A,
        address="GPIB::1::INSTR",
        driver_options=SGS100A_SIM,
        settings=settings,
        **kwargs,
    )


def synth_configuration(driver: str = LAB_SYNTH, **kwargs: Any) -> QCoDeSInstrumentConfiguration:
    """The tests' lab synth (tests/device/visa/lab_synth.yaml) through its QCoDeS driver."""
    options = {"visalib": LAB_SYNTH_VISALIB, "timeout": 0.3}
    kwargs.setdefault("address", LAB_SYNTH_ADDRESS)
    kwargs.setdefault("settings", (QCoDeSSetting("frequency", "10 MHz", unit="MHz"),))
    kwargs.setdefault("readings", (QCoDeSReading("temperature"),))
    return QCoDeSInstrumentConfiguration(driver=driver, driver_options=options, **kwargs)


def init_parameters(configuration: QCoDeSInstrumentConfiguration) -> dict[str, Any]:
    return dict(QCoDeSCompiler("rf", configuration).compile_initialization_parameters())


@pytest.fixture(autouse=True)
def no_instrument_left_open() -> Iterator[None]:
    """Every test closes what it opens (QCoDeS keeps one instrument per name)."""
    yield
    left = [name for name in ("rf", "dmm", "synth") if Instrument.exist(name)]
    Instrument.close_all()
    assert not left, f"instruments left open: {left}"
