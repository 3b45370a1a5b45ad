"""Benchmark: what shotbook adds per shot around a QCoDeS instrument (issue #17, budget 0.5 ms).

Workload: QCoDeS's simulated R&S SGS100A (pyvisa-sim); each shot sets 2 parameters
(``frequency`` from ``aom.frequency + 2 MHz`` in MHz, converted to Hz; ``power`` in dBm, both
changing every shot so both are really set) and reads 1 (``frequency``).

* baseline: the driver's own calls, ``rf.frequency.set(hz)``, ``rf.power.set(dbm)``,
  ``rf.frequency.get()``, with the same values;
* device: ``QCoDeSInstrument.update_parameters(values=[mhz, dbm])`` + ``read_data()`` (unit
  conversion, change detection, error wrapping, labelling);
* compile: the device's share of compiling a shot (``QCoDeSCompiler.compile_shot_parameters``:
  two expressions evaluated, bounds checked).

The same is measured on QCoDeS's ``DummyInstrument`` (``dac1``, ``dac2`` set, ``dac3`` read; no
I/O at all), where the driver's own calls are cheap and shotbook's share shows plainly.

Shotbook's overhead is (device - baseline) + compile. Each run does SHOTS shots of each kind,
interleaved in blocks of BLOCK shots (the VM's speed drifts); medians of RUNS runs.

Run: python bench/bench_drivers_qcodes.py   (from the repository root)
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

from qcodes.instrument import Instrument

from shotbook.compile import SequenceCompiler
from shotbook.device.qcodes import (
    QCoDeSCompiler,
    QCoDeSInstrument,
    QCoDeSInstrumentConfiguration,
    QCoDeSReading,
    QCoDeSSetting,
)
from shotbook.types import ShotParameters, TimeLanes, parse_unit

SHOTS = 300
RUNS = 7
BLOCK = 10
ROOT = Path(__file__).resolve().parent

CONFIGURATION = QCoDeSInstrumentConfiguration(
    driver="qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A",
    address="GPIB::1::INSTR",
    driver_options={"pyvisa_sim_file": "qcodes.instrument.sims:RSSGS100A.yaml"},
    settings=(
        QCoDeSSetting("frequency", "aom.frequency + 2 MHz", unit="MHz", bounds=(1, 6000)),
        QCoDeSSetting("power", "rf.power", unit="dBm", bounds=(-120, 25)),
    ),
    readings=(QCoDeSReading("frequency"),),
)


MOCK = QCoDeSInstrumentConfiguration(
    driver="qcodes.instrument_drivers.mock_instruments.DummyInstrument",
    identify=False,
    settings=(
        QCoDeSSetting("dac1", "aom.frequency / 1 MHz * 1 mV", unit="V", bounds=(-1, 1)),
        QCoDeSSetting("dac2", "rf.power / 1 mW * 1 mV", unit="V", bounds=(-1, 1)),
    ),
    readings=(QCoDeSReading("dac3"),),
)


def parameters(index: int) -> ShotParameters:
    dbm = -20.0 + (index % 10)
    return ShotParameters(
        {"aom.frequency": (78.0 + index % 50) * 1e6, "rf.power": 1e-3 * 10 ** (dbm / 10)},
        {"aom.frequency": parse_unit("MHz"), "rf.power": parse_unit("dBm")},
    )


def per_shot(function: Any, values: list[Any]) -> float:
    start = time.perf_counter()
    for value in values:
        function(value)
    return (time.perf_counter() - start) / len(values) * 1e3


def measure(configuration: QCoDeSInstrumentConfiguration, driver_calls: Any) -> list[Any]:
    """Per run: (driver only, through the device, compile), in ms per shot."""
    compiler = SequenceCompiler(
        TimeLanes(["wait"], ["1 ms"], {}),
        {"rf": configuration},
        {QCoDeSInstrumentConfiguration: QCoDeSCompiler},
    )
    device_compiler = compiler.compilers["rf"]
    contexts = [compiler.context(parameters(i)).for_device("rf") for i in range(SHOTS)]
    shots = [device_compiler.compile_shot_parameters(c)["values"] for c in contexts]
    init = QCoDeSCompiler("rf", configuration).compile_initialization_parameters()
    rows: list[tuple[float, float, float]] = []
    with QCoDeSInstrument("rf", **init) as device:
        rf: Any = Instrument.find_instrument("rf")

        def driver_only(values: list[float]) -> None:
            driver_calls(rf, values)

        def through_device(values: list[float]) -> None:
            device.update_parameters(values=values)
            device.read_data()

        for _ in range(2):  # warm up
            per_shot(driver_only, shots[:50])
            per_shot(through_device, shots[:50])
        for run in range(RUNS):
            # blocks of BLOCK shots, alternating (which goes first alternates too), so that
            # the VM's drift hits both figures alike
            times = {"driver": 0.0, "device": 0.0}
            for block in range(0, SHOTS, BLOCK):
                chunk = shots[block : block + BLOCK]
                order = [("driver", driver_only), ("device", through_device)]
                for kind, function in order if (block // BLOCK + run) % 2 else order[::-1]:
                    times[kind] += per_shot(function, chunk) * len(chunk)
            compiled = per_shot(device_compiler.compile_shot_parameters, contexts)
            rows.append((times["driver"] / SHOTS, times["device"] / SHOTS, compiled))
    return rows


def sgs100a_calls(rf: Any, values: list[float]) -> None:
    rf.frequency.set(values[0] * 1e6)
    rf.power.set(values[1])
    rf.frequency.get()


def mock_calls(mock: Any, values: list[float]) -> None:
    mock.dac1.set(values[0])
    mock.dac2.set(values[1])
    mock.dac3.get()


def table(title: str, rows: list[Any]) -> list[str]:
    baseline = statistics.median(r[0] for r in rows)
    measured = statistics.median(r[1] for r in rows)
    compiled = statistics.median(r[2] for r in rows)
    overhead = statistics.median(r[1] - r[0] + r[2] for r in rows)
    return [
        f"## {title}",
        "",
        "| run | driver only (ms/shot) | through QCoDeSInstrument | compile (ms) | overhead |",
        "|---|---|---|---|---|",
        *(
            f"| {i} | {b:.4f} | {m:.4f} | {c:.4f} | {m - b + c:.4f} |"
            for i, (b, m, c) in enumerate(rows)
        ),
        "",
        f"median: driver {baseline:.4f} ms, device {measured:.4f} ms, compile {compiled:.4f} ms,"
        f" overhead {overhead:.4f} ms (budget 0.5 ms)",
        "",
    ]


def main() -> None:
    lines = [f"# QCoDeS per-shot overhead ({dt.date.today()}, {SHOTS} shots x {RUNS} runs)", ""]
    lines += table("Simulated R&S SGS100A (pyvisa-sim)", measure(CONFIGURATION, sgs100a_calls))
    lines += table("QCoDeS DummyInstrument (no I/O)", measure(MOCK, mock_calls))
    text = "\n".join(lines)
    print(text)
    (ROOT / "results" / "drivers_qcodes.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
