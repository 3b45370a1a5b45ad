"""The simulated lab's world: the physics the simulated devices share within one process.

The simulated sequencers hand the world what their outputs would carry (their compiled
instructions, from their start), the simulated cameras their exposures; the world finds
from those signals what a cold-atom experiment would give. Nothing is read from the
shot's parameters. The model, in SI units (detunings in Hz, ordinary frequency):

**Wiring.** :class:`SimulatedWorld` names the channels (``(device, channel)``) of the cooling
light, the repumper, the quadrupole coils' current and the cooling light's detuning; each
camera names its imaging light. Analog channels are read in volts and converted with the
world's *own* response (``detuning_per_volt``, ``current_per_volt``), not with the device
configuration's calibration: a mis-set calibration shows as it would in a lab. A device
started by a trigger plays from the first rising edge of the channel wired to it (the
channel whose output is ``DeviceTrigger(device)``); never triggered, its outputs stay idle
(off, 0 V); an externally clocked device is read at its own time step from its first clock
edge (clock jitter and missed edges are not simulated). A camera's exposure ``k`` starts
when its trigger is high after exposure ``k - 1`` ended (its rising edge, or a trigger held
high across back-to-back pictures).

**MOT loading** (cooling light, repumper on and coil current above ``trap_current``):
``dN/dt = R f_δ(δ) f_B(I) − N/τ`` with ``R = capture_rate``, ``τ = loading_time_constant``,
``f_δ(δ) = [x² exp(1 − x²)]²`` with ``x = δ/δ*`` for ``x > 0`` and 0 on the blue side (``δ* =
optimal_detuning < 0``: the red-detuned optimum; half maximum at ``0.62 δ*`` and ``1.44 δ*``,
about 2 Γ wide for δ* = −2.5 Γ) and ``f_B(I) = (I/I*)² exp(1 − (I/I*)²)``
(``I* = optimal_current``: too weak a gradient holds nothing, too strong a one shrinks the
capture volume). Ramps are followed piece by piece (midpoint rule on ≤ 1/16 of a ramp).
The MOT cloud sits at ``initial_centre`` with rms size ``sigma0`` and temperature
``mot_temperature``.

**Molasses** (cooling light and repumper on, coils below ``trap_current``): the cloud stays
in place and its temperature relaxes with time constant ``molasses_time`` towards
``T_eq(δ) = T_sub + (T_mot − T_sub) u²/(1 + u²)``, ``u = (δ − δ_m)/w_m`` (a sub-Doppler
minimum ``T_sub = sub_doppler_temperature`` at ``δ_m = molasses_detuning``, width ``w_m =
molasses_width``); on the blue side (``δ ≥ 0``) the atoms are lost within ``molasses_time``.

A light (the cooling light, the repumper) is on while its channel is high and each of its
gates (``cooling_light_gates``, ``repump_gates``: a shutter's TTL, see
:mod:`shotbook.device.sim._gates`) passes it.

**Flight** (cooling light or repumper off): ballistic, ``σ² = σ0² + k_B T t²/m`` and a fall
``g t²/2`` along the image's ``+y`` from the release. A MOT switched on again loads a new
cloud from zero (the flying one is lost; no recapture).

**Fluorescence imaging**: a picture collects ``N × photon_rate × overlap × QE`` photo-electrons
from the cloud (``overlap``: seconds of its exposure during which the imaging light is on),
spread as the cloud's pixel-integrated Gaussian at the middle of that overlap, plus stray
light ``background_rate × overlap`` per pixel, read noise and a bias. Outside the pulse a
picture is dark.

**Noise**, drawn from a stream keyed by ``(seed, shot key)`` (the runner gives each shot's
index as its key): atom number (relative rms ``atom_number_noise``), the cloud's temperature
and initial size (``temperature_noise``, ``size_noise``), cloud position
(``position_jitter``), probe intensity (``probe_intensity_noise``) and pointing
(``probe_pointing_jitter`` across a probe of waist ``probe_waist``); the camera adds photon
shot noise, read noise and stray light (Gaussian of the Poisson variance).

**Gates and absorption imaging**: a light passes only while its gates (e.g. a shutter's TTL)
pass it, and a camera may image by absorption: see :mod:`shotbook.device.sim._imaging`.

Not simulated: optical pumping, density-dependent losses and light-assisted collisions,
the MOT's own position/shape dependence on the knobs, atoms pushed by the imaging light,
eddy currents, camera dark current, cosmic rays, clock drifts.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ._atom_cloud import BOLTZMANN_CONSTANT, RB87_MASS, STANDARD_GRAVITY, _integrated_profile
from ._gates import LightGate, as_gates, gated
from ._signals import Signal, channel_pieces

__all__ = ["ChannelRef", "CloudState", "SimulatedWorld", "World", "join_world", "leave_world"]

ChannelRef = tuple[str, str]
"""A channel of the lab: ``(device name, channel name)``."""

_UINT16_MAX = 65535.0
_NEGLIGIBLE_ELECTRONS = 1e-6
_RAMP_STEPS = 16


def _ref(value: Any, name: str) -> ChannelRef:
    try:
        device, channel = value
    except (TypeError, ValueError):
        raise ValueError(f"SimulatedWorld.{name} is (device, channel), got {value!r}") from None
    if not isinstance(device, str) or not isinstance(channel, str) or not device or not channel:
        raise ValueError(f"SimulatedWorld.{name} is (device, channel) names, got {value!r}")
    return device, channel


@dataclass(frozen=True)
class SimulatedWorld:
    """The physics and wiring of a simulated lab (see the module docstring for the model).

    Typical values of a rubidium-87 lab are the defaults; the comment beside each noise
    says its usual size.

    Example:
        >>> world = SimulatedWorld()
        >>> world.cooling_light, world.detuning
        (('digital', 'mot light'), ('analog', 'mot detuning'))
        >>> round(world.loading_fraction(world.optimal_detuning, world.optimal_current), 3)
        1.0
    """

    name: str = "lab"
    # wiring: (device, channel)
    cooling_light: tuple[str, str] = ("digital", "mot light")
    repump: tuple[str, str] = ("digital", "repump")
    coil_current: tuple[str, str] = ("analog", "coil current")
    detuning: tuple[str, str] = ("analog", "mot detuning")
    cooling_light_gates: tuple[LightGate, ...] = ()  # e.g. the MOT beams' shutter
    repump_gates: tuple[LightGate, ...] = ()
    # the world's own responses
    detuning_per_volt: float = 6e6  # Hz/V: an AOM's VCO, 6 MHz per volt
    current_per_volt: float = 2.0  # A/V: the coils' current supply
    # MOT loading
    capture_rate: float = 1e6  # atoms/s at the optimum
    loading_time_constant: float = 0.5  # s, 1/(loss rate); 0.1–2 s in a vapour cell
    optimal_detuning: float = -2.5 * 6.0666e6  # Hz: -2.5 Γ
    optimal_current: float = 10.0  # A
    trap_current: float = 0.5  # A: below it the coils hold nothing (molasses)
    # the cloud
    mass: float = RB87_MASS
    mot_temperature: float = 100e-6  # K; 50–300 µK in a MOT
    sigma0: float = 150e-6  # m: rms size of the MOT
    initial_centre: tuple[float, float] = (255.5 * 13e-6, 1.6e-3)  # m, object plane
    gravity: float = STANDARD_GRAVITY
    # molasses
    sub_doppler_temperature: float = 20e-6  # K; 5–30 µK for Rb-87
    molasses_detuning: float = -35e6  # Hz
    molasses_width: float = 15e6  # Hz
    molasses_time: float = 1e-3  # s
    # shot-to-shot noise
    atom_number_noise: float = 0.03  # relative rms; 2–10 % in a lab
    temperature_noise: float = 0.03  # relative rms of the cloud's temperature; 1–5 %
    size_noise: float = 0.03  # relative rms of the initial size sigma0; 1–5 %
    position_jitter: float = 10e-6  # m rms; 5–50 µm
    probe_intensity_noise: float = 0.02  # relative rms; 1–5 %
    probe_pointing_jitter: float = 50e-6  # m rms at the atoms; 10–100 µm
    probe_waist: float = 3e-3  # m; 1–10 mm
    background_rate: float = 1e4  # stray-light counts/s per pixel with the probe on

    def __post_init__(self) -> None:
        for name in ("cooling_light", "repump", "coil_current", "detuning"):
            object.__setattr__(self, name, _ref(getattr(self, name), name))
        for name in ("cooling_light_gates", "repump_gates"):
            object.__setattr__(self, name, as_gates(getattr(self, name), f"SimulatedWorld.{name}"))
        centre = tuple(float(v) for v in self.initial_centre)
        if len(centre) != 2:
            raise ValueError(f"SimulatedWorld.initial_centre is (x, y), got {centre!r}")
        object.__setattr__(self, "initial_centre", centre)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"SimulatedWorld.name is a non-empty str, got {self.name!r}")
        positive = {
            "capture_rate",
            "loading_time_constant",
            "optimal_current",
            "mass",
            "sigma0",
            "molasses_width",
            "molasses_time",
            "probe_waist",
        }
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, tuple | str):
                continue
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"SimulatedWorld.{item.name} must be finite, got {value!r}")
            if item.name in positive and number <= 0:
                raise ValueError(f"SimulatedWorld.{item.name} must be > 0, got {value!r}")
            if item.name.endswith(("noise", "jitter", "temperature", "rate")) and number < 0:
                raise ValueError(f"SimulatedWorld.{item.name} must be >= 0, got {value!r}")
        if self.optimal_detuning >= 0:
            raise ValueError("SimulatedWorld.optimal_detuning is red of resonance (< 0 Hz)")

    def channels(self) -> dict[str, ChannelRef]:
        """The wired channels by role."""
        return {
            "cooling_light": self.cooling_light,
            "repump": self.repump,
            "coil_current": self.coil_current,
            "detuning": self.detuning,
        }

    def gates(self) -> dict[str, tuple[LightGate, ...]]:
        """The gates of the cooling light and the repumper (see :mod:`._gates`)."""
        return {"cooling_light": self.cooling_light_gates, "repump": self.repump_gates}

    @property
    def max_atom_number(self) -> float:
        """Atoms after a long load at both optima: ``capture_rate × loading_time_constant``."""
        return self.capture_rate * self.loading_time_constant

    def detuning_factor(self, detuning: float) -> float:
        """``f_δ``: 1 at the optimum, 0 at and above resonance."""
        x = detuning / self.optimal_detuning
        return (x * x * math.exp(1.0 - x * x)) ** 2 if x > 0 else 0.0

    def coil_factor(self, current: float) -> float:
        """``f_B``: 1 at the optimal current, 0 without current."""
        b = current / self.optimal_current
        return b * b * math.exp(1.0 - b * b) if current > self.trap_current else 0.0

    def loading_fraction(self, detuning: float, current: float) -> float:
        """``f_δ f_B``: the capture rate relative to ``capture_rate``."""
        return self.detuning_factor(detuning) * self.coil_factor(current)

    def molasses_temperature(self, detuning: float, duration: float | None = None) -> float:
        """The temperature (K) a molasses at ``detuning`` (Hz) reaches from the MOT's after
        ``duration`` seconds (``None``: a long molasses, ``T_eq``).

        Example:
            >>> world = SimulatedWorld()
            >>> round(world.molasses_temperature(world.molasses_detuning) * 1e6, 3)
            20.0
        """
        if detuning >= 0:
            target = self.mot_temperature
        else:
            u = (detuning - self.molasses_detuning) / self.molasses_width
            target = self.sub_doppler_temperature + (
                self.mot_temperature - self.sub_doppler_temperature
            ) * (u * u / (1.0 + u * u))
        if duration is None:
            return target
        return target + (self.mot_temperature - target) * math.exp(-duration / self.molasses_time)


@dataclass
class CloudState:
    """The cloud at one instant: atoms, temperature, and where it was released (or None)."""

    atoms: float = 0.0
    temperature: float = 0.0
    released_at: float | None = None
    lost: bool = False

    def copy(self) -> CloudState:
        """An independent copy."""
        return CloudState(self.atoms, self.temperature, self.released_at, self.lost)


@dataclass
class _Program:
    sequence: Any
    time_step: int
    software: bool
    device_triggers: dict[str, str]
    started: bool = False


class World:
    """The shared state of one simulated lab in this process (see :func:`join_world`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.settings: SimulatedWorld | None = None
        self.members: dict[str, str] = {}
        self._programs: dict[str, _Program] = {}
        self._imaging: dict[str, ChannelRef] = {}
        self._signals: dict[tuple[str, str, float], Signal] = {}  # this shot's, by channel
        self._lock = threading.Lock()

    # --- what the devices tell the world ---
    def set_settings(self, device: str, settings: SimulatedWorld) -> None:
        """The physics (from a camera's configuration); all cameras must agree."""
        with self._lock:
            if self.settings is not None and self.settings != settings:
                raise ValueError(
                    f"camera {device!r} joins the simulated world {self.name!r} with other "
                    "physics settings than its other cameras: give them the same world"
                )
            self.settings = settings

    def set_imaging_light(self, camera: str, channel: ChannelRef) -> None:
        """The channel of ``camera``'s imaging light."""
        self._imaging[camera] = channel

    def program(
        self,
        device: str,
        sequence: Any,
        time_step: int,
        software: bool,
        device_triggers: Mapping[str, str],
    ) -> None:
        """A sequencer was programmed (not yet started)."""
        with self._lock:
            self._programs[device] = _Program(sequence, time_step, software, dict(device_triggers))
            self._signals = {}

    def start(self, device: str) -> None:
        """A sequencer was started (or armed, for a triggered one)."""
        with self._lock:
            program = self._programs.get(device)
            if program is not None:
                program.started = True
            self._signals = {}

    # --- signals ---
    def _offset(self, device: str, seen: tuple[str, ...] = ()) -> float | None:
        """When ``device`` starts playing (s from the master's start), None if never."""
        program = self._programs.get(device)
        if program is None or not program.started or device in seen:
            return None
        if program.software:
            return 0.0
        for source, ch in self._trigger_sources(device):
            start = self._offset(source, (*seen, device))
            if start is None:
                continue
            signal = self._signal(source, ch, start)
            edges = signal.rising_edges()
            if edges:
                return edges[0]
        return None

    def _trigger_sources(self, device: str) -> Iterable[tuple[str, str]]:
        for source, program in self._programs.items():
            for channel, target in program.device_triggers.items():
                if target == device:
                    yield source, channel

    def _signal(self, device: str, channel: str, offset: float) -> Signal:
        key = (device, channel, offset)
        cached = self._signals.get(key)
        if cached is not None:
            return cached
        program = self._programs[device]
        if channel not in program.sequence.fields:
            signal = Signal.constant(0.0)
        else:
            pieces = channel_pieces(
                program.sequence.field(channel),
                program.time_step,
                offset,
                where=f"sequencer {device!r} channel {channel!r}",
            )
            signal = Signal(pieces, 0.0)
        self._signals[key] = signal
        return signal

    def signal(self, ref: ChannelRef) -> Signal:
        """What channel ``ref`` outputs this shot (idle when its device did not play)."""
        device, channel = ref
        offset = self._offset(device)
        if offset is None:
            return Signal.constant(0.0)
        return self._signal(device, channel, offset)

    def exposure_starts(self, camera: str, exposures: list[float]) -> list[float] | None:
        """When each exposure starts: at the first time its trigger is high after the
        previous exposure ended (a rising edge, or a trigger still high across back-to-back
        pictures); ``None`` when nothing in the world triggers ``camera``. The list is
        shorter than ``exposures`` when the trigger never comes for the last ones."""
        sources = list(self._trigger_sources(camera))
        if not sources:
            return None
        high: list[tuple[float, float]] = []
        for source, channel in sources:
            offset = self._offset(source)
            if offset is not None:
                high.extend(self._signal(source, channel, offset).on_intervals())
        high.sort()
        starts: list[float] = []
        ready = -math.inf
        for exposure in exposures:
            start = next((max(a, ready) for a, b in high if b > ready and b > a), None)
            if start is None:
                break
            starts.append(start)
            ready = start + max(exposure, 1e-12)
        return starts

    # --- physics ---
    def evolve(self, times: list[float]) -> list[CloudState]:
        """The cloud at each of ``times`` (s, sorted or not) for this shot's signals."""
        settings = self.settings or SimulatedWorld(name=self.name)
        roles = {role: self.signal(ref) for role, ref in settings.channels().items()}
        cooling, repump = roles["cooling_light"], roles["repump"]
        coils, detuning = roles["coil_current"], roles["detuning"]
        points = {0.0, *times}
        for signal in roles.values():
            points.update(signal.breakpoints())
        passing: dict[str, list[tuple[float, float]]] = {}
        for role, gates in settings.gates().items():
            if gates:
                signals = [(gate, self.signal(gate.ref)) for gate in gates]
                passing[role] = gated(roles[role], signals)
                points.update(t for interval in passing[role] for t in interval)
        grid = sorted(t for t in points if t >= 0.0 and math.isfinite(t))
        wanted = sorted(set(times))
        results: dict[float, CloudState] = {}
        state = CloudState(temperature=settings.mot_temperature)
        index = 0
        for start, stop in zip(grid, [*grid[1:], grid[-1]], strict=True):
            while index < len(wanted) and wanted[index] <= start:
                results[wanted[index]] = state.copy()
                index += 1
            if stop <= start:
                continue
            middle = 0.5 * (start + stop)
            light = _lit(cooling, passing.get("cooling_light"), middle) and _lit(
                repump, passing.get("repump"), middle
            )
            ramps = coils.is_linear_between(start, stop) or detuning.is_linear_between(start, stop)
            steps = _RAMP_STEPS if ramps else 1
            width = (stop - start) / steps
            for k in range(steps):
                t = start + (k + 0.5) * width
                delta = detuning.value_at(t) * settings.detuning_per_volt
                current = coils.value_at(t) * settings.current_per_volt
                _advance(state, settings, light, delta, current, start + k * width, width)
        while index < len(wanted):
            results[wanted[index]] = state.copy()
            index += 1
        return [results[t] for t in times]


def _lit(signal: Signal, passing: list[tuple[float, float]] | None, time: float) -> bool:
    """Whether a light is on at ``time``: its switch's value, or its gated intervals."""
    if passing is None:
        return signal.value_at(time) > 0.5
    return any(start <= time < stop for start, stop in passing)


def _advance(
    state: CloudState,
    settings: SimulatedWorld,
    light: bool,
    detuning: float,
    current: float,
    start: float,
    duration: float,
) -> None:
    """Evolve ``state`` over ``duration`` seconds of constant conditions."""
    trapped = light and current > settings.trap_current
    if trapped:
        if state.released_at is not None:  # a new MOT: the flying cloud is gone
            state.atoms, state.released_at = 0.0, None
        tau = settings.loading_time_constant
        steady = settings.capture_rate * settings.loading_fraction(detuning, current) * tau
        state.atoms = steady + (state.atoms - steady) * math.exp(-duration / tau)
        state.temperature = settings.mot_temperature
        return
    if state.released_at is not None:
        return  # flying
    if light:  # molasses
        decay = math.exp(-duration / settings.molasses_time)
        target = settings.molasses_temperature(detuning)
        state.temperature = target + (state.temperature - target) * decay
        if detuning >= 0:
            state.atoms *= decay
        return
    state.released_at = start


# --------------------------------------------------------------------------- registry

_WORLDS: dict[str, World] = {}
_WORLDS_LOCK = threading.Lock()


def join_world(name: str, device: str, kind: str) -> World:
    """The world ``name`` of this process, created on first use; ``device`` joins it."""
    with _WORLDS_LOCK:
        world = _WORLDS.get(name)
        if world is None:
            world = _WORLDS[name] = World(name)
        if device in world.members:
            raise RuntimeError(
                f"{kind} {device!r} is already open in the simulated world {name!r} of this process"
            )
        world.members[device] = kind
        return world


def leave_world(name: str, device: str) -> None:
    """``device`` leaves world ``name``; the world goes with its last device."""
    with _WORLDS_LOCK:
        world = _WORLDS.get(name)
        if world is None:
            return
        world.members.pop(device, None)
        world._programs.pop(device, None)
        world._signals = {}
        if not world.members:
            del _WORLDS[name]


# --------------------------------------------------------------------------- noise, pictures


def shot_streams(
    seed: int, key: int, camera: str
) -> tuple[np.random.Generator, np.random.Generator]:
    """The world's and the camera's random streams of shot ``key``."""
    tag = zlib.crc32(camera.encode())
    return (
        np.random.default_rng([seed, key, 0]),
        np.random.default_rng([seed, key, 1, tag]),
    )


@dataclass(frozen=True)
class ShotNoise:
    """One shot's draws of the world's noise (the same for every camera of the shot)."""

    atoms: float
    offset: tuple[float, float]
    probe: float
    pointing: tuple[float, float]
    temperature: float = 1.0
    size: float = 1.0

    @classmethod
    def draw(cls, settings: SimulatedWorld, rng: np.random.Generator) -> ShotNoise:
        """The shot's draws, always in the same order from ``rng``."""
        values = rng.standard_normal(8)
        return cls(
            atoms=max(0.0, 1.0 + settings.atom_number_noise * float(values[0])),
            offset=(
                settings.position_jitter * float(values[1]),
                settings.position_jitter * float(values[2]),
            ),
            probe=max(0.0, 1.0 + settings.probe_intensity_noise * float(values[3])),
            pointing=(
                settings.probe_pointing_jitter * float(values[4]),
                settings.probe_pointing_jitter * float(values[5]),
            ),
            temperature=max(0.0, 1.0 + settings.temperature_noise * float(values[6])),
            size=max(0.01, 1.0 + settings.size_noise * float(values[7])),
        )


@dataclass(frozen=True)
class Optics:
    """A camera as its configuration describes it (the user's numbers, used by the world)."""

    pixel_size: float
    magnification: float
    quantum_efficiency: float
    photon_rate: float
    read_noise: float
    bias: float

    @property
    def effective_pixel_size(self) -> float:
        """A pixel's size in the object plane (m)."""
        return self.pixel_size / self.magnification


def cloud_geometry(
    settings: SimulatedWorld, cloud: CloudState, time: float, noise: ShotNoise
) -> tuple[float, float, float, float]:
    """The cloud seen at ``time`` with the shot's noise: ``(atoms, rms size, x, y)`` (m,
    object plane): ballistic expansion and fall since its release."""
    atoms = cloud.atoms * noise.atoms
    flight = 0.0 if cloud.released_at is None else max(time - cloud.released_at, 0.0)
    temperature = cloud.temperature * noise.temperature
    sigma = math.sqrt(
        (settings.sigma0 * noise.size) ** 2
        + BOLTZMANN_CONSTANT * temperature * flight**2 / settings.mass
    )
    cx = settings.initial_centre[0] + noise.offset[0]
    cy = settings.initial_centre[1] + noise.offset[1] + 0.5 * settings.gravity * flight**2
    return atoms, sigma, cx, cy


def cloud_extent(
    edges_x: np.ndarray, edges_y: np.ndarray, cx: float, cy: float, sigma: float, scale: float
) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
    """Rows, columns and the two pixel-integrated profiles (fractions of the atoms per pixel
    row and column) of the part of the picture where ``scale`` × the profile exceeds a
    negligible amount; ``None`` when the cloud is nowhere (all coordinates in pixels)."""
    if scale <= 0:
        return None
    profile_x = _integrated_profile(edges_x, cx, sigma)
    profile_y = _integrated_profile(edges_y, cy, sigma)
    threshold = _NEGLIGIBLE_ELECTRONS / scale
    peak_x, peak_y = float(profile_x.max()), float(profile_y.max())
    rows = np.flatnonzero(profile_y * peak_x > threshold)
    cols = np.flatnonzero(profile_x * peak_y > threshold)
    if not rows.size or not cols.size:
        return None
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    return slice(r0, r1), slice(c0, c1), profile_y[r0:r1], profile_x[c0:c1]


def cloud_box(
    edges_x: np.ndarray, edges_y: np.ndarray, cx: float, cy: float, sigma: float, scale: float
) -> tuple[slice, slice, np.ndarray] | None:
    """Like :func:`cloud_extent`, with the profile as one ``(rows, columns)`` array."""
    extent = cloud_extent(edges_x, edges_y, cx, cy, sigma, scale)
    if extent is None:
        return None
    rows, cols, profile_y, profile_x = extent
    return rows, cols, np.outer(profile_y, profile_x)


_CHUNK_ELEMENTS = 8192
"""Pixels of the cloud drawn per Poisson call (64 KiB of means): the temporaries stay small
enough to be recycled by the allocator instead of being fresh, page-faulted memory."""


class RenderBuffers:
    """A camera's scratch memory for :func:`render`, reused from picture to picture.

    Drawing a 512×512 picture needs ~4 MB of temporaries (the float frame, the cloud's
    means and counts); allocated afresh each picture they come as new pages from the
    operating system wherever the allocator does not recycle them (in the worker threads of
    a device server: ~1,000 page faults, ~2 ms a picture). Kept here, only the returned
    picture is new memory. One instance per camera; not for concurrent use.

    Example:
        >>> buffers = RenderBuffers()
        >>> buffers.frame(2, 3).shape, buffers.frame(2, 3) is buffers.frame(2, 3)
        ((2, 3), True)
    """

    def __init__(self) -> None:
        self._frame = np.empty(0, dtype=np.float32)
        self._mean = np.empty(_CHUNK_ELEMENTS, dtype=np.float64)

    def frame(self, height: int, width: int) -> np.ndarray:
        """A float32 ``(height, width)`` work frame (its content is not kept)."""
        size = height * width
        if self._frame.size < size:
            self._frame = np.empty(size, dtype=np.float32)
        return self._frame[:size].reshape(height, width)

    def mean(self, rows: int, cols: int) -> np.ndarray:
        """A float64 ``(rows, cols)`` block, ``rows * cols <= chunk`` (see :meth:`rows`)."""
        return self._mean[: rows * cols].reshape(rows, cols)

    @staticmethod
    def rows(cols: int) -> int:
        """How many rows of ``cols`` pixels one Poisson call draws."""
        return max(1, _CHUNK_ELEMENTS // max(cols, 1))

    def ensure_mean(self, rows: int, cols: int) -> None:
        """Grow the mean block for rows wider than the chunk."""
        if self._mean.size < rows * cols:
            self._mean = np.empty(rows * cols, dtype=np.float64)


def render(
    *,
    settings: SimulatedWorld,
    optics: Optics,
    cloud: CloudState,
    time: float,
    light_time: float,
    noise: ShotNoise,
    rng: np.random.Generator,
    roi: tuple[int, int, int, int],
    buffers: RenderBuffers | None = None,
) -> np.ndarray:
    """One fluorescence picture (uint16, ``(height, width)`` of ``roi``).

    ``buffers`` (a camera's :class:`RenderBuffers`) holds the temporaries between pictures;
    the picture is the same with or without them (the same draws in the same order).
    """
    work = RenderBuffers() if buffers is None else buffers
    x0, y0, width, height = roi
    pixel = optics.effective_pixel_size
    atoms, sigma, cx, cy = cloud_geometry(settings, cloud, time, noise)
    px, py = noise.pointing
    probe = noise.probe * math.exp(-2.0 * (px * px + py * py) / settings.probe_waist**2)
    electrons = atoms * optics.photon_rate * light_time * optics.quantum_efficiency * probe
    stray = settings.background_rate * light_time
    frame = work.frame(height, width)
    rng.standard_normal(dtype=np.float32, out=frame)
    frame *= np.float32(math.sqrt(optics.read_noise**2 + stray))
    frame += np.float32(optics.bias + stray)
    if electrons > 0:
        edges_x = np.arange(x0, x0 + width + 1, dtype=np.float64) - 0.5
        edges_y = np.arange(y0, y0 + height + 1, dtype=np.float64) - 0.5
        extent = cloud_extent(edges_x, edges_y, cx / pixel, cy / pixel, sigma / pixel, electrons)
        if extent is not None:
            rows, cols, profile_y, profile_x = extent
            r0, c0, c1 = rows.start, cols.start, cols.stop
            row = profile_y * electrons
            step = work.rows(c1 - c0)
            work.ensure_mean(step, c1 - c0)
            # the cloud's counts in blocks of rows: the same draws, in the same (C) order,
            # as one Poisson call over the whole block, without its large temporaries
            for start in range(0, rows.stop - r0, step):
                stop = min(start + step, rows.stop - r0)
                mean = work.mean(stop - start, c1 - c0)
                np.multiply(row[start:stop, None], profile_x[None, :], out=mean)
                frame[r0 + start : r0 + stop, c0:c1] += rng.poisson(mean)
    np.rint(frame, out=frame)
    np.clip(frame, 0.0, _UINT16_MAX, out=frame)
    return frame.astype(np.uint16)
