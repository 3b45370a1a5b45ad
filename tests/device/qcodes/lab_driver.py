"""A QCoDeS driver of the tests' own simulated synthesiser (tests/device/visa/lab_synth.yaml).

It is outside ``qcodes.instrument_drivers``: the tests allow it with ``allow_qcodes_drivers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qcodes.instrument import VisaInstrument
from qcodes.validators import Numbers

LAB_SYNTH_YAML = Path(__file__).parents[1] / "visa" / "lab_synth.yaml"
LAB_SYNTH_ADDRESS = "GPIB0::8::INSTR"
LAB_SYNTH_VISALIB = f"{LAB_SYNTH_YAML}@sim"


class LabSynth(VisaInstrument):
    """Frequency (Hz, 0..1 GHz) and amplitude set per shot; temperature and a never-answered
    ``slow`` read-out."""

    default_terminator = "\n"

    def __init__(self, name: str, address: str, **kwargs: Any) -> None:
        super().__init__(name, address, **kwargs)
        self.frequency = self.add_parameter(
            "frequency",
            unit="Hz",
            get_cmd="FREQ?",
            set_cmd="FREQ {:.6f}",
            get_parser=float,
            vals=Numbers(0, 1e9),
        )
        self.amplitude = self.add_parameter(
            "amplitude", unit="V", get_cmd="AMPL?", set_cmd="AMPL {:.4f}", get_parser=float
        )
        self.temperature = self.add_parameter(
            "temperature", unit="K", get_cmd="TEMP?", get_parser=float
        )
        self.slow = self.add_parameter("slow", unit="V", get_cmd="SLOW?", get_parser=float)


class FlakySynth(LabSynth):
    """The lab synth whose ``probe`` read-out answers ``answers`` times, then times out."""

    answers = 0

    def __init__(self, name: str, address: str, **kwargs: Any) -> None:
        super().__init__(name, address, **kwargs)
        self.probe = self.add_parameter("probe", unit="K", get_cmd=self._probe, get_parser=float)

    def _probe(self) -> str:
        if FlakySynth.answers > 0:
            FlakySynth.answers -= 1
            return self.ask("TEMP?")
        return self.ask("SLOW?")
