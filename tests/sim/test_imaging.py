"""Absorption imaging and light gates of the simulated lab, through the public API.

The analysis reads pixel size, magnification and QE from the camera's configuration, as a
user would, never from the simulator's settings.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from shotbook.analysis import (
    absorption_atom_number,
    fit_gaussian_2d,
    fit_temperature,
    optical_density,
    saturation_counts,
)
from shotbook.compile import DigitalChannelConfiguration, LaneValues, SequenceCheckError
from shotbook.device.sim import AbsorptionImaging, LightGate, SimulatedWorld
from shotbook.types import AnalogTimeLane, CameraTimeLane, DigitalTimeLane, TimeLanes

from .lab import EXPOSURE, QUIET, lab, parameters, run_shots, tof_lanes, world

SMALL_ROI = (191, 59, 128, 128)  # ±4.5 σ around the cloud after 1 ms of flight
WEAK_PROBE = 0.02  # I/I_sat: saturation changes the OD by ~2 %


def absorption_lab(
    settings: SimulatedWorld,
    roi: tuple[int, int, int, int] = SMALL_ROI,
    **imaging: object,
) -> dict:
    configurations = lab(settings)
    configurations["camera"] = dataclasses.replace(
        configurations["camera"], roi=roi, absorption=AbsorptionImaging(**imaging)
    )
    return configurations


def absorption_lanes(
    probe: tuple[bool, ...] = (False, False, True, False, True, False, False),
    mot_light: bool = True,
) -> TimeLanes:
    """Load, fly, atoms picture, wait (the cloud falls away), probe picture, wait, dark."""
    return TimeLanes(
        ["load", "fly", "atoms", "wait", "probe", "wait 2", "dark"],
        [
            "mot.loading_time",
            "flight",
            "imaging.exposure",
            "100 ms",
            "imaging.exposure",
            "100 ms",
            "imaging.exposure",
        ],
        {
            "mot light": DigitalTimeLane([mot_light, *([False] * 6)]),
            "repump": DigitalTimeLane([True, *([False] * 6)]),
            "imaging light": DigitalTimeLane(list(probe)),
            "mot detuning": AnalogTimeLane(["mot.detuning", *(["0 MHz"] * 6)]),
            "coil current": AnalogTimeLane(["coils.current", *(["0 A"] * 6)]),
            "camera": CameraTimeLane([None, None, "atoms", None, "probe", None, "dark"]),
        },
    )


def od_of(data: dict, **kwargs: float) -> np.ndarray:
    return optical_density(
        data["camera.atoms"], data["camera.probe"], data["camera.dark"], **kwargs
    )


def atoms_of(od: np.ndarray, configurations: dict) -> float:
    camera = configurations["camera"]  # the user's numbers
    return absorption_atom_number(
        od, pixel_size=camera.pixel_size, magnification=camera.magnification
    )


def expected_atoms(settings: SimulatedWorld, loading_time: float) -> float:
    fraction = settings.loading_fraction(-15e6, 10.0)
    tau = settings.loading_time_constant
    return settings.capture_rate * fraction * tau * (1 - math.exp(-loading_time / tau))


def test_atom_number_is_recovered_at_low_od() -> None:
    settings = world(**QUIET)
    configurations = absorption_lab(settings, saturation_parameter=WEAK_PROBE)
    (data,) = run_shots(
        absorption_lanes(), [parameters(flight=1e-3, mot__loading_time=0.1)], configurations
    )
    od = od_of(data)
    assert 0.05 < od.max() < 0.3  # a thin cloud
    expected = expected_atoms(settings, 0.1)
    assert atoms_of(od, configurations) == pytest.approx(expected, rel=0.04)


def test_saturation_lowers_the_naive_od_and_the_corrected_formula_recovers_it() -> None:
    settings = world(**QUIET)
    configurations = absorption_lab(settings, saturation_parameter=2.0)
    pulse = 2e-6  # a short pulse keeps the bright probe below the camera's 65535 counts
    (data,) = run_shots(
        absorption_lanes(), [parameters(flight=1e-3, imaging__exposure=pulse)], configurations
    )
    camera = configurations["camera"]
    counts = saturation_counts(
        pulse,
        pixel_size=camera.pixel_size,
        magnification=camera.magnification,
        quantum_efficiency=camera.quantum_efficiency,
    )
    expected = expected_atoms(settings, 0.5)
    naive = atoms_of(od_of(data), configurations)
    corrected = atoms_of(od_of(data, saturation_counts=counts), configurations)
    assert naive < 0.5 * expected  # ≈ 1 / (1 + I/I_sat) of the truth at low OD
    assert corrected == pytest.approx(expected, rel=0.04)


def test_an_absorption_time_of_flight_scan_recovers_the_temperature() -> None:
    settings = world()  # a lab's noise: atom number, temperature, size, position, probe
    configurations = absorption_lab(settings, roi=(128, 0, 256, 288))
    flights = [1e-3, 2e-3, 3e-3, 4e-3] * 2
    shots = run_shots(absorption_lanes(), [parameters(flight=t) for t in flights], configurations)
    pixel = configurations["camera"].pixel_size / configurations["camera"].magnification
    sizes, errors = [], []
    for data in shots:
        fit = fit_gaussian_2d(od_of(data))
        sizes.append(fit.sigma_x * pixel)
        errors.append(fit.sigma_x_error * pixel)
    times = [t + EXPOSURE / 2 for t in flights]  # the middle of the probe pulse
    result = fit_temperature(times, sizes, mass=settings.mass, sigma_error=errors)
    truth = settings.mot_temperature  # no molasses in these lanes
    assert result.temperature_error < 0.1 * truth
    assert abs(result.temperature - truth) < 2 * result.temperature_error


def test_fringes_differ_between_the_atoms_and_probe_pictures() -> None:
    lanes = absorption_lanes(mot_light=False)  # no atoms: only the probe's structure
    shot = [parameters(flight=1e-3)]
    drifting = run_shots(lanes, shot, absorption_lab(world(**QUIET), fringe_contrast=0.2))[0]
    still = run_shots(
        lanes, shot, absorption_lab(world(**QUIET), fringe_contrast=0.2, fringe_phase_drift=0.0)
    )[0]
    for data in (drifting, still):
        for name in ("atoms", "probe"):
            light = data[f"camera.{name}"].astype(float) - data["camera.dark"]
            centre = light[32:96, 32:96]
            # fringes of 20 % contrast: far above the ~1 % photon noise
            assert centre.std() / centre.mean() > 0.1, name
    # the same phase in both pictures divides out; a drifting phase leaves fringes in the OD
    assert od_of(still).std() < 0.02
    assert od_of(drifting).std() > 4 * od_of(still).std()


def test_a_picture_with_the_probe_outside_its_exposure_is_dark() -> None:
    configurations = absorption_lab(world(**QUIET))
    moved = absorption_lanes(probe=(False, True, False, False, True, False, False))
    (data,) = run_shots(moved, [parameters(flight=1e-3)], configurations)
    for name in ("atoms", "dark"):
        frame = data[f"camera.{name}"].astype(float)
        assert frame.mean() == pytest.approx(100.0, abs=0.1), name  # bias only
        assert frame.std() == pytest.approx(3.0, rel=0.05), name  # read noise only
    assert data["camera.probe"].astype(float).mean() > 1000  # the probe picture is lit


def test_a_missing_probe_gate_or_picture_is_refused_before_the_run() -> None:
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
    compilers = sim_compilers()
    check_sequence(absorption_lanes(), scan, globals_, absorption_lab(world()), compilers=compilers)
    no_probe = absorption_lab(world(), probe_light=("digital", "probe"))
    with pytest.raises(SequenceCheckError) as caught:
        check_sequence(absorption_lanes(), scan, globals_, no_probe, compilers=compilers)
    assert (
        "camera 'camera': the absorption probe is channel 'probe' of device 'digital', which "
        "has no such channel"
    ) in str(caught.value)
    with pytest.raises(SequenceCheckError) as caught:  # the fluorescence lanes: no probe, dark
        check_sequence(tof_lanes(), scan, globals_, absorption_lab(world()), compilers=compilers)
    assert "its probe picture 'probe' is not taken by its lane" in str(caught.value)
    assert "its dark picture 'dark' is not taken by its lane" in str(caught.value)
    gates = lab(world(cooling_light_gates=(LightGate("digital", "mot shutter"),)))
    gates["camera"] = dataclasses.replace(
        gates["camera"], imaging_gates=(LightGate("analog", "mot detuning"),)
    )
    with pytest.raises(SequenceCheckError) as caught:
        check_sequence(tof_lanes(), scan, globals_, gates, compilers=compilers)
    assert (
        "the world's cooling light gate 0 is channel 'mot shutter' of device 'digital', which "
        "has no such channel"
    ) in str(caught.value)
    assert "imaging gate 0 must be a digital channel; channel 'mot detuning' of device " in str(
        caught.value
    )


def shutter_lab(opening_delay: float = 0.0) -> dict:
    """The lab with channel ``spare 6`` following a ``probe shutter`` lane, gating the
    imaging light (a mechanical shutter whose blade opens ``opening_delay`` late)."""
    configurations = lab(world(**QUIET))
    digital = configurations["digital"]
    channels = tuple(
        DigitalChannelConfiguration("probe shutter", LaneValues("probe shutter", default=False))
        if channel.name == "spare 6"
        else channel
        for channel in digital.channels
    )
    configurations["digital"] = dataclasses.replace(digital, channels=channels)
    configurations["camera"] = dataclasses.replace(
        configurations["camera"],
        roi=SMALL_ROI,
        imaging_gates=(LightGate("digital", "probe shutter", opening_delay=opening_delay),),
    )
    return configurations


def test_a_closed_shutter_darkens_the_picture_and_an_open_one_shows_the_cloud() -> None:
    def picture(shutter: list[bool], opening_delay: float = 0.0) -> np.ndarray:
        lanes = tof_lanes().with_lane("probe shutter", DigitalTimeLane(shutter))
        (data,) = run_shots(lanes, [parameters(flight=1e-3)], shutter_lab(opening_delay))
        return data["camera.atoms"].astype(float) - data["camera.background"]

    #      load,  fly,   image, wait,  background
    open_ = picture([False, False, True, False, True])
    closed = picture([False, False, False, False, True])
    late = picture([False, False, True, False, True], opening_delay=2e-3)  # blade still shut
    early = picture([False, True, True, False, True], opening_delay=0.5e-3)  # open in time
    cloud = open_.sum()
    assert cloud > 1e6  # ~3e5 atoms × 7 counts
    assert early.sum() == pytest.approx(cloud, rel=0.02)
    for dark in (closed, late):  # the imaging light never reaches the atoms
        assert abs(dark.sum()) < 0.01 * cloud
        assert dark.std() == pytest.approx(math.sqrt(2) * 3.0, rel=0.1)  # read noise only


def test_stored_camera_configurations_without_gates_or_absorption_still_open() -> None:
    from shotbook.device.sim import register_sim_types
    from shotbook.registry import Serializer, default_registry

    registry = default_registry()
    register_sim_types(registry)
    serializer = Serializer(registry)
    camera = lab()["camera"]
    stored = json.loads(serializer.dumps(camera))
    for key in ("imaging_gates", "absorption"):
        del stored["value"]["$data"][key]  # as written before they existed
    assert serializer.loads(json.dumps(stored)) == camera
    gated = shutter_lab()["camera"]
    assert serializer.loads(serializer.dumps(gated)) == gated
    absorbing = absorption_lab(world(), probe_light=("digital", "imaging light"))["camera"]
    assert serializer.loads(serializer.dumps(absorbing)) == absorbing


def test_a_shutter_on_the_cooling_light_gates_the_loading() -> None:
    """The MOT beams through a shutter whose blade opens 100 ms late: the load lasts 100 ms
    less; a shutter kept shut loads nothing."""
    shutter = LightGate("digital", "probe shutter", opening_delay=0.1)
    settings = world(**QUIET, cooling_light_gates=(shutter,))
    configurations = shutter_lab()
    configurations["camera"] = dataclasses.replace(
        configurations["camera"], world=settings, imaging_gates=()
    )
    #       load,  fly,   image, wait,  background
    opened = [True, False, False, False, False]
    shut = [False] * 5
    late, never = (
        run_shots(
            tof_lanes().with_lane("probe shutter", DigitalTimeLane(lane)),
            [parameters(flight=1e-3)],
            configurations,
        )[0]
        for lane in (opened, shut)
    )
    counts_per_atom = 1e5 * EXPOSURE * 0.7  # the camera's photon_rate × exposure × QE

    def atoms(data: dict) -> float:
        signal = data["camera.atoms"].astype(float) - data["camera.background"]
        return float(signal.sum()) / counts_per_atom

    assert atoms(late) == pytest.approx(expected_atoms(settings, 0.5 - 0.1), rel=0.03)
    assert abs(atoms(never)) < 100  # read noise of 128×128 pixels: ~ 7 atoms rms
