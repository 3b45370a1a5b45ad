"""The simulated world reads the compiled timeline: tests through the public device API."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from shotbook.analysis import fit_gaussian_2d
from shotbook.compile import Constant, DigitalChannelConfiguration, SequenceCheckError
from shotbook.device.sim import SimulatedWorld
from shotbook.device.sim._atom_cloud import BOLTZMANN_CONSTANT
from shotbook.types import AnalogTimeLane, CameraTimeLane, DigitalTimeLane, Ramp, TimeLanes

from .lab import EXPOSURE, QUIET, lab, parameters, run_shots, tof_lanes, world

COUNTS_PER_ATOM = 1e5 * EXPOSURE * 0.7  # the default camera's photon_rate × exposure × QE
SMALL_ROI = (191, 59, 128, 128)  # ±4.5 σ around the cloud after 1 ms of flight


def atoms_seen(data: dict) -> float:
    """Atom number from a picture: counts above the background picture, per atom."""
    signal = data["camera.atoms"].astype(float) - data["camera.background"].astype(float)
    return float(signal.sum()) / COUNTS_PER_ATOM


def small_lab(settings: SimulatedWorld, **kwargs: object) -> dict:
    configurations = lab(settings, **kwargs)
    configurations["camera"] = dataclasses.replace(configurations["camera"], roi=SMALL_ROI)
    return configurations


def test_mot_light_off_in_every_step_gives_no_atoms() -> None:
    quiet = small_lab(world(**QUIET))
    on, off = run_shots(tof_lanes(), [parameters(flight=1e-3)] * 1, quiet) + run_shots(
        tof_lanes(mot_light=False), [parameters(flight=1e-3)], quiet
    )
    assert atoms_seen(on) == pytest.approx(world().max_atom_number * (1 - math.exp(-1)), rel=0.05)
    assert abs(atoms_seen(off)) < 100  # read noise of 128×128 pixels: ~ 7 atoms rms


def test_a_picture_outside_the_imaging_pulse_is_dark_and_counts_follow_the_overlap() -> None:
    quiet = small_lab(world(**QUIET))
    # the imaging pulse moved to the fly step: the exposure (in the image step) sees nothing
    moved = tof_lanes(imaging=(False, True, False, False, True))
    (dark,) = run_shots(moved, [parameters(flight=1e-3)], quiet)
    frame = dark["camera.atoms"].astype(float)
    assert frame.mean() == pytest.approx(100.0, abs=0.1)  # bias only: no atoms, no stray light
    assert frame.std() == pytest.approx(3.0, rel=0.05)  # read noise only
    # an exposure twice the pulse collects what the pulse gives: the overlap counts
    lanes = TimeLanes(
        ["load", "fly", "image", "dark", "wait", "background"],
        [
            "mot.loading_time",
            "flight",
            "imaging.exposure",
            "imaging.exposure",
            "100 ms",
            "imaging.exposure",
        ],
        {
            "mot light": DigitalTimeLane([True, False, False, False, False, False]),
            "repump": DigitalTimeLane([True, False, True, True, False, True]),
            "imaging light": DigitalTimeLane([False, False, True, False, False, True]),
            "mot detuning": AnalogTimeLane(["mot.detuning", *(["0 MHz"] * 5)]),
            "coil current": AnalogTimeLane(["10 A", *(["0 A"] * 5)]),
            "camera": CameraTimeLane.from_blocks(
                [(None, 2), ("atoms", 2), (None, 1), ("background", 1)]
            ),
        },
    )
    (long,) = run_shots(lanes, [parameters(flight=1e-3)], quiet)
    assert atoms_seen(long) == pytest.approx(atoms_seen(run_shots(
        tof_lanes(), [parameters(flight=1e-3)], quiet)[0]), rel=0.02)  # fmt: skip


def test_a_longer_imaging_pulse_gives_proportionally_more_counts() -> None:
    quiet = small_lab(world(**QUIET))
    short, long = run_shots(
        tof_lanes(),
        [parameters(flight=1e-3, imaging__exposure=50e-6), parameters(flight=1e-3)],
        quiet,
    )
    ratio = atoms_seen(long) / atoms_seen(short)
    assert ratio == pytest.approx(2.0, rel=0.02)


def test_scanning_a_step_duration_gives_the_ballistic_expansion_of_that_duration() -> None:
    settings = world(**QUIET)
    flights = [1e-3, 4e-3, 7e-3, 10e-3]
    shots = run_shots(tof_lanes(), [parameters(flight=t) for t in flights], lab(settings))
    pixel = 13e-6
    for flight, data in zip(flights, shots, strict=True):
        fit = fit_gaussian_2d(data["camera.atoms"].astype(float) - data["camera.background"])
        t = flight + EXPOSURE / 2  # from the release to the middle of the imaging pulse
        expected = math.sqrt(
            settings.sigma0**2
            + BOLTZMANN_CONSTANT * settings.mot_temperature * t**2 / settings.mass
        )
        assert fit.sigma_x * pixel == pytest.approx(expected, rel=0.02)
        centre_y = settings.initial_centre[1] + 0.5 * settings.gravity * t**2
        assert fit.centre_y == pytest.approx(centre_y / pixel, abs=0.3)


def predicted_atoms(settings: SimulatedWorld, start: float, stop: float, duration: float) -> float:
    """Integrate dN/dt = R f(δ(t)) f_B − N/τ for a linear detuning ramp (fine Euler steps)."""
    steps = 20_000
    dt = duration / steps
    atoms = 0.0
    for k in range(steps):
        delta = start + (stop - start) * (k + 0.5) / steps
        rate = settings.capture_rate * settings.loading_fraction(delta, 10.0)
        atoms += dt * (rate - atoms / settings.loading_time_constant)
    return atoms


def test_a_detuning_ramp_during_loading_gives_the_atom_number_the_model_predicts() -> None:
    settings = world(**QUIET)
    lanes = TimeLanes(
        ["set", "load", "fly", "image", "wait", "background"],
        ["1 ms", "mot.loading_time", "flight", "imaging.exposure", "100 ms", "imaging.exposure"],
        {
            "mot light": DigitalTimeLane([False, True, False, False, False, False]),
            "repump": DigitalTimeLane([False, True, False, True, False, True]),
            "imaging light": DigitalTimeLane([False, False, False, True, False, True]),
            "mot detuning": AnalogTimeLane(
                ["-2 MHz", Ramp(), "-40 MHz", "0 MHz", "0 MHz", "0 MHz"]
            ),
            "coil current": AnalogTimeLane(["0 A", "10 A", "0 A", "0 A", "0 A", "0 A"]),
            "camera": CameraTimeLane([None, None, None, "atoms", None, "background"]),
        },
    )
    (ramped,) = run_shots(lanes, [parameters(flight=1e-3)], small_lab(settings))
    expected = predicted_atoms(settings, -2e6, -40e6, 0.5)
    constant = predicted_atoms(settings, -15e6, -15e6, 0.5)
    assert abs(expected - constant) > 0.1 * constant  # the ramp matters
    assert atoms_seen(ramped) == pytest.approx(expected, rel=0.01)


def loading(t: np.ndarray, number: float, tau: float) -> np.ndarray:
    return number * -np.expm1(-t / tau)


def test_a_loading_time_scan_recovers_the_time_constant_within_its_error() -> None:
    settings = world()  # with the lab's shot-to-shot noise
    times = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.4] * 2
    shots = run_shots(
        tof_lanes(), [parameters(flight=1e-3, mot__loading_time=t) for t in times],
        small_lab(settings, seed=3),
    )  # fmt: skip
    numbers = np.array([atoms_seen(d) for d in shots])
    values, covariance = curve_fit(loading, np.array(times), numbers, p0=(4e5, 0.3))
    tau, error = values[1], math.sqrt(covariance[1, 1])
    assert 0.005 < error / tau < 0.2  # a lab-like error bar
    assert abs(tau - settings.loading_time_constant) < 2.5 * error


def capture(detuning: np.ndarray, number: float, optimum: float) -> np.ndarray:
    x = detuning / optimum
    return number * (x**2 * np.exp(1 - x**2)) ** 2


def detuning_scan(configurations: dict) -> tuple[float, float]:
    detunings = np.linspace(-4e6, -40e6, 10)
    shots = run_shots(
        tof_lanes(), [parameters(flight=1e-3, mot__detuning=d) for d in detunings],
        configurations,
    )  # fmt: skip
    numbers = np.array([atoms_seen(d) for d in shots])
    values, covariance = curve_fit(capture, detunings, numbers, p0=(3e5, -12e6))
    return float(values[1]), math.sqrt(covariance[1, 1])


def test_a_detuning_scan_recovers_the_optimum_and_a_mis_set_calibration_shifts_it() -> None:
    settings = world()
    optimum, error = detuning_scan(small_lab(settings, seed=4))
    assert abs(optimum - settings.optimal_detuning) < 2.5 * error
    # the device's calibration says 5 MHz/V where the AOM gives 6 MHz/V (the world's):
    # every commanded detuning comes out 1.2× larger, the measured optimum 1.2× smaller
    configurations = small_lab(settings, seed=4)
    analog = configurations["analog"]
    channel = analog.channels[0]
    wrong = dataclasses.replace(channel.output, points=((-60.0, -12.0), (60.0, 12.0)))
    configurations["analog"] = dataclasses.replace(
        analog, channels=(dataclasses.replace(channel, output=wrong), *analog.channels[1:])
    )
    shifted, shifted_error = detuning_scan(configurations)
    assert abs(shifted - settings.optimal_detuning / 1.2) < 2.5 * shifted_error
    assert abs(shifted - settings.optimal_detuning) > 5 * shifted_error


def test_with_the_analog_cards_trigger_held_low_the_world_sees_only_idle_values() -> None:
    configurations = small_lab(world(**QUIET))
    digital = configurations["digital"]
    channels = tuple(
        DigitalChannelConfiguration(c.name, Constant(False)) if c.name == "analog trigger" else c
        for c in digital.channels
    )
    configurations["digital"] = dataclasses.replace(digital, channels=channels)
    seen: list[tuple[float, float]] = []

    def look(devices: dict) -> None:
        w = devices["camera"]._world
        seen.append(
            (
                w.signal(("analog", "coil current")).value_at(0.25),
                w.signal(("analog", "mot detuning")).value_at(0.25),
            )
        )

    (data,) = run_shots(tof_lanes(), [parameters(flight=1e-3)], configurations, inspect=look)
    assert seen == [(0.0, 0.0)]  # never started: 0 V on both outputs
    assert abs(atoms_seen(data)) < 100  # no coil current: no MOT


def test_noise_is_keyed_by_the_shot_not_by_the_order_of_shots() -> None:
    configurations = small_lab(world(), seed=7)
    shots = [parameters(flight=1e-3, mot__loading_time=t) for t in (0.2, 0.4, 0.6)]
    scan = run_shots(tof_lanes(), shots, configurations)
    alone = run_shots(tof_lanes(), [shots[2]], configurations, keys=[2])[0]
    for key in scan[2]:
        np.testing.assert_array_equal(scan[2][key], alone[key])  # shot 2 rerun alone
    again = run_shots(tof_lanes(), shots, configurations)
    np.testing.assert_array_equal(scan[1]["camera.atoms"], again[1]["camera.atoms"])
    other = run_shots(tof_lanes(), shots, small_lab(world(), seed=8))
    assert not np.array_equal(scan[1]["camera.atoms"], other[1]["camera.atoms"])
    # the same parameters under another key: another draw of the shot-to-shot noise
    repeated = run_shots(tof_lanes(), [shots[0], shots[0]], configurations)
    assert atoms_seen(repeated[0]) != pytest.approx(atoms_seen(repeated[1]), rel=1e-3)


def test_a_world_channel_missing_from_the_sequencer_is_refused_before_the_run() -> None:
    from shotbook.compile import check_sequence
    from shotbook.device.sim import sim_compilers
    from shotbook.types import ExecuteShot, ParameterNamespace, StepsConfiguration

    globals_ = ParameterNamespace.from_mapping(
        {
            "mot": {"loading_time": "200 ms", "detuning": "-15 MHz"},
            "imaging": {"exposure": "100 us"},
            "coils": {"current": "10 A"},
            "flight": "5 ms",
        }
    )
    scan = StepsConfiguration([ExecuteShot()])
    check_sequence(tof_lanes(), scan, globals_, lab(), compilers=sim_compilers())
    bad = lab(world(repump=("digital", "repumper")))
    with pytest.raises(SequenceCheckError) as caught:
        check_sequence(tof_lanes(), scan, globals_, bad, compilers=sim_compilers())
    assert "channel 'repumper' of device 'digital', which has no such channel" in str(caught.value)
    no_light = lab()
    no_light["camera"] = dataclasses.replace(no_light["camera"], imaging_light=("digital", "probe"))
    with pytest.raises(SequenceCheckError, match=r"imaging light is channel 'probe' of device"):
        check_sequence(tof_lanes(), scan, globals_, no_light, compilers=sim_compilers())
    split = lab()
    split["camera"] = dataclasses.replace(split["camera"], device_server="pc")
    with pytest.raises(SequenceCheckError, match=r"devices 'camera' \(device server 'pc'\) and"):
        check_sequence(tof_lanes(), scan, globals_, split, compilers=sim_compilers())


def test_a_camera_configuration_without_imaging_light_is_refused() -> None:
    from shotbook.compile import ConfigurationError

    with pytest.raises(ConfigurationError, match="imaging_light is the imaging light's"):
        dataclasses.replace(lab()["camera"], imaging_light=())


def test_the_coil_current_has_an_interior_optimum() -> None:
    """Too weak a gradient holds nothing, too strong a one captures less."""
    quiet = small_lab(world(**QUIET))
    currents = (0.3, 5.0, 10.0, 18.0)
    numbers = [
        atoms_seen(d)
        for d in run_shots(
            tof_lanes(), [parameters(flight=1e-3, coils__current=c) for c in currents], quiet
        )
    ]
    settings = world()
    assert abs(numbers[0]) < 100  # below the trap current: no MOT
    assert numbers[2] > numbers[1]
    assert numbers[2] > numbers[3]
    for current, number in zip(currents[1:], numbers[1:], strict=True):
        expected = (
            settings.max_atom_number
            * (1 - math.exp(-1))
            * settings.loading_fraction(-15e6, current)
        )
        assert number == pytest.approx(expected, rel=0.02)


def molasses_lanes() -> TimeLanes:
    return TimeLanes(
        ["load", "molasses", "fly", "image", "wait", "background"],
        [
            "mot.loading_time",
            "molasses.duration",
            "flight",
            "imaging.exposure",
            "100 ms",
            "imaging.exposure",
        ],
        {
            "mot light": DigitalTimeLane([True, True, False, False, False, False]),
            "repump": DigitalTimeLane([True, True, False, True, False, True]),
            "imaging light": DigitalTimeLane([False, False, False, True, False, True]),
            "mot detuning": AnalogTimeLane(
                ["mot.detuning", "molasses.detuning", "0 MHz", "0 MHz", "0 MHz", "0 MHz"]
            ),
            "coil current": AnalogTimeLane(["10 A", "0 A", "0 A", "0 A", "0 A", "0 A"]),
            "camera": CameraTimeLane([None, None, None, "atoms", None, "background"]),
        },
    )


def test_a_molasses_cools_the_cloud_best_at_its_sub_doppler_detuning() -> None:
    settings = world(**QUIET)
    detunings = (-15e6, -35e6, -55e6)
    flight = 8e-3
    shots = run_shots(
        molasses_lanes(),
        [
            parameters(flight=flight, molasses__detuning=d, molasses__duration=5e-3)
            for d in detunings
        ],
        lab(settings),
    )
    t = flight + EXPOSURE / 2
    measured = []
    for data in shots:
        fit = fit_gaussian_2d(data["camera.atoms"].astype(float) - data["camera.background"])
        sigma = fit.sigma_x * 13e-6
        measured.append((sigma**2 - settings.sigma0**2) * settings.mass / BOLTZMANN_CONSTANT / t**2)
    expected = [settings.molasses_temperature(d, duration=5e-3) for d in detunings]
    assert measured == pytest.approx(expected, rel=0.05)
    assert measured[1] < measured[0]
    assert measured[1] < measured[2]
    assert expected[1] == pytest.approx(settings.sub_doppler_temperature, rel=0.05)


def test_each_picture_reflects_its_own_shots_timeline_with_compile_ahead(tmp_path) -> None:
    """Through the experiment manager (compiling up to 8 shots ahead): over a scan whose
    consecutive shots differ, the picture of shot k shows shot k's flight."""
    from shotbook.extension import Experiment
    from shotbook.session import DuckDBConfig
    from shotbook.types import ExecuteShot, LinspaceLoop, ParameterNamespace, StepsConfiguration

    settings = world(**QUIET)
    experiment = Experiment(DuckDBConfig(tmp_path / "store"))
    experiment.setup_default_extensions()

    def centre(data, parameters) -> dict[str, float]:
        picture = data["camera.atoms"].astype(float) - data["camera.background"]
        return {"centre_y": fit_gaussian_2d(picture).centre_y}

    experiment.add_shot_analysis("cloud", centre)
    flights = (12e-3, 2e-3, 10e-3, 4e-3, 8e-3, 6e-3)  # a zigzag: every neighbour differs
    try:
        with experiment.storage_session() as session:
            session.set_global_parameters(
                ParameterNamespace.from_mapping(
                    {
                        "mot": {"loading_time": "200 ms", "detuning": "-15 MHz"},
                        "imaging": {"exposure": "100 us"},
                        "coils": {"current": "10 A"},
                    }
                )
            )
            for name, configuration in lab(settings, seed=2).items():
                session.default_device_configurations[name] = configuration
            loops = [
                LinspaceLoop("flight", f"{f * 1e3:g} ms", f"{f * 1e3:g} ms", 1, [ExecuteShot()])
                for f in flights
            ]
            session.sequences.create("/zigzag", StepsConfiguration(loops), tof_lanes())
        summary = experiment.get_local_experiment_manager().run_sequence("/zigzag", progress=False)
        assert summary is not None
        assert summary.ok
        shots = experiment.read_shots("/zigzag", ["flight", "analysis.cloud.centre_y"])
    finally:
        experiment.close()
    assert shots["flight"].to_list() == pytest.approx([f * 1e3 for f in flights])
    for flight, measured in zip(flights, shots["analysis.cloud.centre_y"], strict=True):
        t = flight + EXPOSURE / 2
        expected = (settings.initial_centre[1] + 0.5 * settings.gravity * t**2) / 13e-6
        assert measured == pytest.approx(expected, abs=0.5)
