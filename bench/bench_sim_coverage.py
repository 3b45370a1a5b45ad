"""Do the temperature fit's error bars cover the simulated lab's temperature honestly?

Run from the repository root::

    PYTHONPATH=src .venv/bin/python bench/bench_sim_coverage.py [--seeds 200] \
        [--output bench/results/sim_coverage.md]

For each temperature (5, 20 and 80 µK) and each seed of the fixed list ``SEEDS`` (0..199;
``--seeds N`` takes the first N), one time-of-flight experiment runs on the simulated lab
through its real devices (compiled timeline, simulated sequencers and camera, shot keys as
the runner gives them): the MOT loads, the cloud is released (no molasses: it keeps the
MOT's temperature, which is set to the temperature studied), flies for 1 to 8 ms (8 values,
2 shots each) and is imaged for 100 µs. Each picture minus its background is fitted with
``fit_gaussian_2d`` on a 96×96 region of interest; the widths (pixel size and magnification
from the camera's configuration) and their fit errors go to the weighted ``fit_temperature``
(the demo's and the notebooks' fit), with times to the middle of the imaging pulse. The
study counts how often ``|T_fit − T| ≤ k σ_T`` for k = 1 and 2. Passing: 61–76 % within 1σ
and ≥ 91 % within 2σ (the 99 % binomial band around 68.3 % and 95.4 % for 200 seeds).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shotbook.analysis import fit_gaussian_2d, fit_temperature  # noqa: E402
from shotbook.compile import SequenceCompiler  # noqa: E402
from shotbook.control._runner import with_shot_key  # noqa: E402
from shotbook.device import ShotRunner, open_devices  # noqa: E402
from shotbook.device.sim import register_sim_types, simulated_lab  # noqa: E402
from shotbook.registry import default_registry  # noqa: E402
from shotbook.types import (  # noqa: E402
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    ShotParameters,
    TimeLanes,
    parse_unit,
)

SEEDS = tuple(range(200))
"""The fixed list of seeds of the study (documented in bench/RESULTS.md)."""
TEMPERATURES = (5e-6, 20e-6, 80e-6)
FLIGHTS = tuple(np.linspace(1e-3, 8e-3, 8))
REPETITIONS = 2
EXPOSURE = 100e-6
# 6.5 µm pixels at magnification 0.1: 65 µm at the atoms; 96×96 pixels around the cloud
MAGNIFICATION = 0.1
ROI = (3, 0, 96, 96)


def lanes() -> TimeLanes:
    """Load 300 ms, release, fly, image, wait for the cloud to fall away, background."""
    return TimeLanes(
        ["load", "fly", "image", "wait", "background"],
        ["300 ms", "flight", "100 us", "100 ms", "100 us"],
        {
            "mot light": DigitalTimeLane([True, False, False, False, False]),
            "repump": DigitalTimeLane([True, False, True, False, True]),
            "imaging light": DigitalTimeLane([False, False, True, False, True]),
            "mot detuning": AnalogTimeLane(["-15 MHz", "0 MHz", "0 MHz", "0 MHz", "0 MHz"]),
            "coil current": AnalogTimeLane(["10 A", "0 A", "0 A", "0 A", "0 A"]),
            "camera": CameraTimeLane([None, None, "atoms", None, "background"]),
        },
    )


def laboratory(temperature: float, seed: int) -> dict[str, Any]:
    """The demo lab with a MOT at ``temperature`` and a small region of interest."""
    lab = simulated_lab(seed=seed)
    camera = lab["camera"]
    world = dataclasses.replace(
        camera.world,
        mot_temperature=temperature,
        initial_centre=(50 * 65e-6, 30 * 65e-6),
    )
    lab["camera"] = dataclasses.replace(camera, world=world, magnification=MAGNIFICATION, roi=ROI)
    return lab


def experiment(temperature: float, seed: int, compilers: Any, registry: Any) -> Any:
    """One time-of-flight experiment; returns its TemperatureFit."""
    lab = laboratory(temperature, seed)
    camera = lab["camera"]
    pixel = camera.effective_pixel_size
    compiler = SequenceCompiler(lanes(), lab, compilers)
    ms = parse_unit("ms")
    times, sizes, errors = [], [], []
    with (
        open_devices(
            lab, registry, initialization=compiler.compile_initialization_parameters()
        ) as devices,
        ShotRunner(devices) as runner,
    ):
        key = 0
        for flight in FLIGHTS:
            for _ in range(REPETITIONS):
                shot = compiler.compile_shot(ShotParameters({"flight": flight}, {"flight": ms}))
                data = runner.run_shot(with_shot_key(shot, key), timeout=30)
                key += 1
                picture = data["camera.atoms"].astype(float) - data["camera.background"]
                fit = fit_gaussian_2d(picture)
                times.append(flight + EXPOSURE / 2)
                sizes.append(fit.sigma_x * pixel)
                errors.append(fit.sigma_x_error * pixel)
    return fit_temperature(times, sizes, sigma_error=errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=len(SEEDS))
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    registry = default_registry()
    compilers = register_sim_types(registry)
    seeds = SEEDS[: args.seeds]
    lines = [
        f"# Temperature fit coverage ({dt.date.today()})",
        "",
        f"seeds {seeds[0]}..{seeds[-1]} ({len(seeds)}), flights {FLIGHTS[0] * 1e3:g}–"
        f"{FLIGHTS[-1] * 1e3:g} ms × {len(FLIGHTS)} × {REPETITIONS}, ROI {ROI}",
        "",
        "| T (µK) | within 1σ | within 2σ | median σ_T/T | mean (T_fit−T)/T | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for temperature in TEMPERATURES:
        start = time.perf_counter()
        pulls, relative, bias = [], [], []
        for seed in seeds:
            fit = experiment(temperature, seed, compilers, registry)
            pulls.append((fit.temperature - temperature) / fit.temperature_error)
            relative.append(fit.temperature_error / temperature)
            bias.append((fit.temperature - temperature) / temperature)
        pull = np.abs(np.array(pulls))
        row = (
            f"| {temperature * 1e6:g} | {np.mean(pull <= 1) * 100:.1f} % | "
            f"{np.mean(pull <= 2) * 100:.1f} % | {np.median(relative) * 100:.1f} % | "
            f"{np.mean(bias) * 100:+.2f} % | {time.perf_counter() - start:.0f} |"
        )
        print(row, flush=True)
        lines.append(row)
        if not math.isfinite(float(np.mean(pull))):
            raise SystemExit("a fit gave a non-finite error")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output is not None:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
