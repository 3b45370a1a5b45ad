"""Configurations, compilers and registration of the simulated lab."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shotbook.compile import (
    AnalogChannelConfiguration,
    CalibratedMapping,
    CameraCompiler,
    CameraConfiguration,
    CompilerFactory,
    ConfigurationError,
    Constant,
    DeviceTrigger,
    DigitalChannelConfiguration,
    ExternalTriggerStart,
    LaneValues,
    SequenceCheckContext,
    SequencerCompiler,
    SequencerConfiguration,
    ShotContext,
    SoftwareTrigger,
    register_compile_types,
)
from shotbook.registry import TypeRegistry
from shotbook.types import Expression

from .._registration import register_device_class
from ._camera import SimulatedCamera
from ._gates import LightGate, as_gates
from ._imaging import AbsorptionImaging
from ._sequencer import SimulatedSequencer
from ._world import SimulatedWorld

_OLD_CAMERA_FIELDS = ("loading_time", "detuning", "time_of_flight", "temperature",
                      "background_pictures")  # fmt: skip
"""Fields of the simulated camera's configuration before the world model (shotbook 0.x):
the cloud came from shot parameters. Stores holding them still open: they are ignored."""

_warned_old_fields = False


@dataclass(frozen=True)
class SimulatedSequencerConfiguration(SequencerConfiguration):
    """A :class:`~shotbook.compile.SequencerConfiguration` run by a :class:`SimulatedSequencer`.

    ``speed`` is the fraction of the real duration a shot takes (0: as fast as possible);
    ``world`` names the simulated world its outputs reach (the ``name`` of a camera's
    :class:`~shotbook.device.sim.SimulatedWorld`).
    """

    speed: float = 0.0
    world: str = "lab"

    device_type: ClassVar[str] = "sim_sequencer"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.speed, int | float) or self.speed < 0:
            raise ConfigurationError(f"speed is a number >= 0, got {self.speed!r}")
        if not isinstance(self.world, str) or not self.world:
            raise ConfigurationError(f"world is the name of a simulated world, got {self.world!r}")


@dataclass(frozen=True)
class SimulatedCameraConfiguration(CameraConfiguration):
    """A :class:`~shotbook.compile.CameraConfiguration` run by a :class:`SimulatedCamera`.

    The camera sees the cloud of ``world`` (the physics and wiring of the simulated lab,
    :class:`~shotbook.device.sim.SimulatedWorld`) lit by ``imaging_light`` (``(device,
    channel)``) during its exposures. The optics, as a user enters them (analyses read them
    from here): ``pixel_size`` (m, 2–16 µm for scientific cameras), ``magnification`` (0.2–5),
    ``quantum_efficiency`` (0.3–0.95), ``photon_rate`` (fluorescence photons per atom per
    second of imaging light reaching the sensor, 1e4–1e6), ``read_noise`` (counts rms, 1–10)
    and ``bias`` (counts). ``imaging_gates`` are :class:`~shotbook.device.sim.LightGate` the
    imaging light passes through (a shutter's TTL: the light reaches the atoms only while
    every gate is open). ``absorption`` (an :class:`~shotbook.device.sim.AbsorptionImaging`)
    switches the camera to absorption imaging, its pictures named by role (atoms, probe,
    dark); ``None`` (the default) is fluorescence imaging. ``seed`` seeds the noise;
    ``replay=N`` cycles N pre-drawn frames; ``speed`` scales the exposure time a picture
    takes.

    Example:
        >>> config = SimulatedCameraConfiguration(roi=(0, 0, 512, 512), sensor_size=(512, 512))
        >>> config.imaging_light, config.effective_pixel_size
        (('digital', 'imaging light'), 1.3e-05)
    """

    world: SimulatedWorld = field(default_factory=SimulatedWorld)
    imaging_light: tuple[str, ...] = ("digital", "imaging light")
    imaging_gates: tuple[LightGate, ...] = ()
    absorption: AbsorptionImaging | None = None
    pixel_size: float = 6.5e-6
    magnification: float = 0.5
    quantum_efficiency: float = 0.7
    photon_rate: float = 1e5
    read_noise: float = 3.0
    bias: float = 100.0
    seed: int = 0
    replay: int = 0
    speed: float = 0.0

    device_type: ClassVar[str] = "sim_camera"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.world, SimulatedWorld):
            raise ConfigurationError(f"world is a SimulatedWorld, got {self.world!r}")
        light = tuple(self.imaging_light or ())
        if len(light) != 2 or not all(isinstance(v, str) and v for v in light):
            raise ConfigurationError(
                "imaging_light is the imaging light's (device, channel), got "
                f"{self.imaging_light!r}"
            )
        object.__setattr__(self, "imaging_light", light)
        try:
            gates = as_gates(self.imaging_gates, "imaging_gates")
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(str(exc)) from None
        object.__setattr__(self, "imaging_gates", gates)
        if self.absorption is not None and not isinstance(self.absorption, AbsorptionImaging):
            raise ConfigurationError(
                f"absorption is an AbsorptionImaging or None, got {self.absorption!r}"
            )
        for name in ("pixel_size", "magnification", "photon_rate", "read_noise", "bias"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigurationError(f"{name} is a number >= 0, got {value!r}")
        if self.pixel_size <= 0 or self.magnification <= 0:
            raise ConfigurationError("pixel_size and magnification must be > 0")
        if not 0 < self.quantum_efficiency <= 1:
            raise ConfigurationError(
                f"quantum_efficiency is in (0, 1], got {self.quantum_efficiency!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigurationError(f"seed is an int >= 0, got {self.seed!r}")
        if isinstance(self.replay, bool) or not isinstance(self.replay, int) or self.replay < 0:
            raise ConfigurationError(f"replay is an int >= 0, got {self.replay!r}")
        if not isinstance(self.speed, int | float) or self.speed < 0:
            raise ConfigurationError(f"speed is a number >= 0, got {self.speed!r}")

    @property
    def effective_pixel_size(self) -> float:
        """A pixel's size in the object plane (m): ``pixel_size / magnification``."""
        return self.pixel_size / self.magnification

    def counts_per_atom(self, exposure: float) -> float:
        """Mean counts per atom for an exposure fully lit for ``exposure`` seconds."""
        return self.photon_rate * exposure * self.quantum_efficiency


def _decode_camera_configuration(data: Any, decode: Callable[[Any], Any]) -> Any:
    """Read a stored simulated camera; fields of the old parameter-driven camera are
    dropped, with one warning per process."""
    global _warned_old_fields
    values = {key: decode(value) for key, value in data.items()}
    old = [key for key in _OLD_CAMERA_FIELDS if key in values]
    for key in old:
        del values[key]
    if old and not _warned_old_fields:
        _warned_old_fields = True
        warnings.warn(
            f"a stored simulated camera has the fields {old} of the old parameter-driven "
            "camera; they are ignored: the simulated world now reads the sequence's timeline",
            UserWarning,
            stacklevel=2,
        )
    return SimulatedCameraConfiguration(**values)


def _device_triggers(configuration: SequencerConfiguration) -> dict[str, str]:
    return {
        channel.name: channel.output.device
        for channel in configuration.channels
        if isinstance(channel, DigitalChannelConfiguration)
        and isinstance(channel.output, DeviceTrigger)
    }


class SimulatedSequencerCompiler(SequencerCompiler):
    """The sequencer compiler, adding ``speed``, ``world`` and ``device_triggers`` (its
    channels wired to a device's trigger) to the initialization parameters."""

    configuration: SimulatedSequencerConfiguration

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """Those of :class:`SequencerCompiler` plus ``speed``, ``world``, ``device_triggers``."""
        parameters = dict(super().compile_initialization_parameters())
        parameters["speed"] = float(getattr(self.configuration, "speed", 0.0))
        parameters["world"] = getattr(self.configuration, "world", "lab")
        parameters["device_triggers"] = _device_triggers(self.configuration)
        return parameters


class SimulatedCameraCompiler(CameraCompiler):
    """The camera compiler: the camera's shot parameters plus ``shot_key: None``, which the
    runner replaces by the shot's key (its index in the scan) to seed the shot's noise."""

    configuration: SimulatedCameraConfiguration

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """``roi``, ``sensor_size``, ``world``, ``imaging_light``, ``imaging_gates``,
        ``absorption``, the optics, ``seed``, ``replay`` and ``speed``."""
        config = self.configuration
        return {
            **super().compile_initialization_parameters(),
            "world": config.world,
            "imaging_light": config.imaging_light,
            "imaging_gates": config.imaging_gates,
            "absorption": config.absorption,
            "pixel_size": float(config.pixel_size),
            "magnification": float(config.magnification),
            "quantum_efficiency": float(config.quantum_efficiency),
            "photon_rate": float(config.photon_rate),
            "read_noise": float(config.read_noise),
            "bias": float(config.bias),
            "seed": config.seed,
            "replay": config.replay,
            "speed": float(config.speed),
        }

    def check_configuration(self, check: SequenceCheckContext) -> None:
        """The camera's lane, and the world's wiring: every named channel (the world's, the
        imaging light, its gates, the absorption probe) exists on a sequencer with the right
        kind of output, an absorption camera's lane takes its atoms, probe and dark
        pictures, and every device of the world runs in the camera's process."""
        super().check_configuration(check)
        name, config = self.device_name, self.configuration
        configurations = check.device_configurations
        roles: list[tuple[str, tuple[str, ...], bool]] = [
            ("the world's imaging light", config.imaging_light, False),
            *(
                (f"the world's {role.replace('_', ' ')}", ref, role in ("coil_current", "detuning"))
                for role, ref in config.world.channels().items()
            ),
            *(
                (f"imaging gate {k}", gate.ref, False)
                for k, gate in enumerate(config.imaging_gates)
            ),
            *(
                (f"the world's {role.replace('_', ' ')} gate {k}", gate.ref, False)
                for role, gates in config.world.gates().items()
                for k, gate in enumerate(gates)
            ),
        ]
        absorption = config.absorption
        if absorption is not None and absorption.probe_light is not None:
            roles.append(("the absorption probe", absorption.probe_light, False))
        for role, ref, analog in roles:
            device, channel = ref
            target = configurations.get(device)
            if not isinstance(target, SequencerConfiguration):
                check.report(
                    f"camera {name!r}: {role} is channel {channel!r} of device "
                    f"{device!r}, which is not a sequencer of this lab",
                    device=name,
                )
                continue
            found = {c.name: c for c in target.channels}
            if channel not in found:
                check.report(
                    f"camera {name!r}: {role} is channel {channel!r} of device "
                    f"{device!r}, which has no such channel (it has {sorted(found)})",
                    device=name,
                )
                continue
            if analog != isinstance(found[channel], AnalogChannelConfiguration):
                kind = "an analog" if analog else "a digital"
                check.report(
                    f"camera {name!r}: {role} must be {kind} channel; channel "
                    f"{channel!r} of device {device!r} is not",
                    device=name,
                )
        lane = check.time_lanes.lanes.get(name)
        if absorption is not None and lane is not None and lane.kind == "camera":
            taken = {value.picture for value, _ in lane.blocks if value is not None}
            for role, picture in absorption.roles().items():
                if picture not in taken:
                    check.report(
                        f"camera {name!r} images by absorption: its {role} picture "
                        f"{picture!r} is not taken by its lane (it takes {sorted(taken)})",
                        device=name,
                        lane=name,
                    )
        world = config.world.name
        for other, other_config in configurations.items():
            same = (
                isinstance(other_config, SimulatedSequencerConfiguration)
                and other_config.world == world
            ) or (
                isinstance(other_config, SimulatedCameraConfiguration)
                and other_config.world.name == world
            )
            if same and other_config.device_server != config.device_server:
                check.report(
                    f"devices {name!r} (device server {config.device_server!r}) and {other!r} "
                    f"(device server {other_config.device_server!r}) share the simulated "
                    f"world {world!r} but would run in different processes: put them on the "
                    "same device server (or both in the experiment's process)",
                    device=name,
                )

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """The camera's shot parameters plus ``shot_key`` (None; the runner fills it in)."""
        parameters = dict(super().compile_shot_parameters(context))
        parameters["shot_key"] = None
        return parameters


def sim_compilers() -> dict[type, CompilerFactory]:
    """The compilers of the simulated configurations, by configuration type."""
    return {
        SimulatedSequencerConfiguration: SimulatedSequencerCompiler,
        SimulatedCameraConfiguration: SimulatedCameraCompiler,
    }


def sim_device_classes() -> dict[type, str]:
    """Device class tags by configuration type, also for the plain compile configurations:
    ``SequencerConfiguration`` → ``"sim_sequencer"``, ``CameraConfiguration`` →
    ``"sim_camera"`` (for :func:`~shotbook.device.device_spec`)."""
    return {
        SimulatedSequencerConfiguration: "sim_sequencer",
        SimulatedCameraConfiguration: "sim_camera",
        SequencerConfiguration: "sim_sequencer",
        CameraConfiguration: "sim_camera",
    }


def register_sim_types(
    registry: TypeRegistry, compilers: MutableMapping[type, CompilerFactory] | None = None
) -> dict[type, CompilerFactory]:
    """Register the simulated lab in ``registry`` (and its compilers in ``compilers``).

    Registers the compile configuration types, the simulated configurations
    (``"sim_sequencer_configuration"``, ``"sim_camera_configuration"``) and the device
    classes (``"sim_sequencer"``, ``"sim_camera"``), so that a device server given this
    registry can build them. Returns the simulated compilers (also added to ``compilers``
    when given).

    Example:
        >>> from shotbook.registry import default_registry
        >>> registry = default_registry()
        >>> compilers = register_sim_types(registry)
        >>> "sim_camera" in registry, SimulatedCameraConfiguration in compilers
        (True, True)
    """
    register_compile_types(registry)
    registry.register("sim_sequencer_configuration", SimulatedSequencerConfiguration)
    registry.register(
        "sim_camera_configuration",
        SimulatedCameraConfiguration,
        decode=_decode_camera_configuration,
    )
    registry.register("sim_world", SimulatedWorld)
    registry.register("sim_light_gate", LightGate)
    registry.register("sim_absorption_imaging", AbsorptionImaging)
    register_device_class(registry, "sim_sequencer", SimulatedSequencer)
    register_device_class(registry, "sim_camera", SimulatedCamera)
    added = sim_compilers()
    if compilers is not None:
        compilers.update(added)
    return added


def simulated_lab(
    *,
    device_server: str | None = None,
    speed: float = 0.0,
    seed: int = 0,
    replay: int = 0,
    world: SimulatedWorld | None = None,
) -> dict[str, Any]:
    """The device configurations of the demo lab, by device name.

    * ``"digital"``: 8 digital channels at 50 ns, software-triggered (the master):
      ``"mot light"``, ``"repump"``, ``"imaging light"`` and ``"push"`` follow the digital
      lanes of those names (off when a sequence has no such lane), ``"analog trigger"``
      starts the analog card, ``"camera trigger"`` exposes the camera, ``"spare 6"`` and
      ``"spare 7"`` stay off.
    * ``"analog"``: 4 analog channels at 2.5 µs, started by ``"analog trigger"``:
      ``"mot detuning"`` follows the analog lane ``"mot detuning"`` (MHz) through a
      calibration to V (-60..60 MHz → -10..10 V), ``"coil current"`` follows the lane
      ``"coil current"`` (A, 0..20 A → 0..10 V), ``"spare 2"`` and ``"spare 3"`` hold 0 V.
    * ``"camera"``: a simulated 512×512 camera taking the pictures of the camera lane
      ``"camera"``, triggered by ``"camera trigger"``; it sees the fluorescence of the
      simulated world's cloud (:class:`~shotbook.device.sim.SimulatedWorld`: cooling light
      ``"mot light"``, ``"repump"``, ``"coil current"`` and ``"mot detuning"``) while
      ``"imaging light"`` is on during its exposures.

    ``device_server`` puts every device on that server; ``speed``, ``seed`` and ``replay``
    go to the simulated devices; ``world`` replaces the default physics.
    """
    digital_lanes = ("mot light", "repump", "imaging light", "push")
    digital = SimulatedSequencerConfiguration(
        time_step=50_000,
        channels=(
            *(DigitalChannelConfiguration(n, LaneValues(n, default=False)) for n in digital_lanes),
            DigitalChannelConfiguration("analog trigger", DeviceTrigger("analog")),
            DigitalChannelConfiguration("camera trigger", DeviceTrigger("camera")),
            DigitalChannelConfiguration("spare 6", Constant(False)),
            DigitalChannelConfiguration("spare 7", Constant(False)),
        ),
        trigger=SoftwareTrigger(),
        device_server=device_server,
        speed=speed,
    )
    analog = SimulatedSequencerConfiguration(
        time_step=2_500_000,
        channels=(
            AnalogChannelConfiguration(
                "mot detuning",
                CalibratedMapping(
                    LaneValues("mot detuning"), ((-60.0, -10.0), (60.0, 10.0)), "MHz", "V"
                ),
                output_unit="V",
                output_range=(-10.0, 10.0),
            ),
            AnalogChannelConfiguration(
                "coil current",
                CalibratedMapping(LaneValues("coil current"), ((0.0, 0.0), (20.0, 10.0)), "A", "V"),
                output_unit="V",
                output_range=(0.0, 10.0),
            ),
            AnalogChannelConfiguration("spare 2", Constant(Expression("0 V")), "V", (-10.0, 10.0)),
            AnalogChannelConfiguration("spare 3", Constant(Expression("0 V")), "V", (-10.0, 10.0)),
        ),
        trigger=ExternalTriggerStart(),
        device_server=device_server,
        speed=speed,
    )
    camera = SimulatedCameraConfiguration(
        roi=(0, 0, 512, 512),
        sensor_size=(512, 512),
        device_server=device_server,
        world=world if world is not None else SimulatedWorld(),
        seed=seed,
        replay=replay,
        speed=speed,
    )
    return {"digital": digital, "analog": analog, "camera": camera}
