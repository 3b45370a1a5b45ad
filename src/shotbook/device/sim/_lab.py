"""Configurations, compilers and registration of the simulated lab."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
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
    same_dimension,
)
from shotbook.registry import TypeRegistry
from shotbook.types import Dimension, Expression, ExpressionError

from .._registration import register_device_class
from ._camera import CLOUD_PARAMETERS, SimulatedCamera
from ._sequencer import SimulatedSequencer

_TIME = Dimension(time=1)
_FREQUENCY = Dimension(time=-1)
_DIMENSIONS = {"loading_time": _TIME, "detuning": _FREQUENCY, "time_of_flight": _TIME}


@dataclass(frozen=True)
class SimulatedSequencerConfiguration(SequencerConfiguration):
    """A :class:`~shotbook.compile.SequencerConfiguration` run by a :class:`SimulatedSequencer`.

    ``speed`` is the fraction of the real duration a shot takes (0: as fast as possible).
    """

    speed: float = 0.0

    device_type: ClassVar[str] = "sim_sequencer"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.speed, int | float) or self.speed < 0:
            raise ConfigurationError(f"speed is a number >= 0, got {self.speed!r}")


@dataclass(frozen=True)
class SimulatedCameraConfiguration(CameraConfiguration):
    """A :class:`~shotbook.compile.CameraConfiguration` run by a :class:`SimulatedCamera`.

    ``loading_time``, ``detuning`` and ``time_of_flight`` say where each shot's cloud comes
    from: an expression evaluated with the shot's parameters (usually a parameter name, e.g.
    ``"mot.detuning"``; or a constant, ``"10 ms"``), giving a time, a frequency and a time.
    ``temperature`` (K) is the cloud's; ``seed`` seeds the noise; ``replay=N`` cycles N
    pre-drawn frames; ``speed`` scales the exposure time a picture takes;
    ``background_pictures`` names pictures taken without atoms.

    Example:
        >>> SimulatedCameraConfiguration(roi=(0, 0, 512, 512), sensor_size=(512, 512),
        ...                              time_of_flight="wait_time").time_of_flight
        'wait_time'
    """

    loading_time: str = "mot.loading_time"
    detuning: str = "mot.detuning"
    time_of_flight: str = "time_of_flight"
    temperature: float = 20e-6
    seed: int = 0
    replay: int = 0
    speed: float = 0.0
    background_pictures: tuple[str, ...] = ("background",)

    device_type: ClassVar[str] = "sim_camera"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in CLOUD_PARAMETERS:
            text = getattr(self, name)
            if not isinstance(text, str) or not text.strip():
                raise ConfigurationError(
                    f"{name} is an expression (str), e.g. a parameter name, got {text!r}"
                )
            Expression(text)  # syntax errors now, not at the first shot
        if not isinstance(self.temperature, int | float) or self.temperature < 0:
            raise ConfigurationError(f"temperature is in K, >= 0, got {self.temperature!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigurationError(f"seed is an int >= 0, got {self.seed!r}")
        if isinstance(self.replay, bool) or not isinstance(self.replay, int) or self.replay < 0:
            raise ConfigurationError(f"replay is an int >= 0, got {self.replay!r}")
        if not isinstance(self.speed, int | float) or self.speed < 0:
            raise ConfigurationError(f"speed is a number >= 0, got {self.speed!r}")
        object.__setattr__(self, "background_pictures", tuple(self.background_pictures))


class SimulatedSequencerCompiler(SequencerCompiler):
    """The sequencer compiler, adding ``speed`` to the initialization parameters."""

    configuration: SimulatedSequencerConfiguration

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """Those of :class:`SequencerCompiler` plus ``speed``."""
        parameters = dict(super().compile_initialization_parameters())
        parameters["speed"] = float(getattr(self.configuration, "speed", 0.0))
        return parameters


class SimulatedCameraCompiler(CameraCompiler):
    """The camera compiler, adding the cloud's values of each shot.

    Shot parameters: those of :class:`CameraCompiler` plus ``"cloud": {"loading_time": s,
    "detuning": Hz, "time_of_flight": s}``, evaluated from the configuration's expressions.
    """

    configuration: SimulatedCameraConfiguration

    def __init__(self, device_name: str, configuration: SimulatedCameraConfiguration) -> None:
        super().__init__(device_name, configuration)
        self._expressions = {
            name: Expression(getattr(configuration, name)) for name in CLOUD_PARAMETERS
        }

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """``roi``, ``sensor_size``, the model's ``temperature``, ``seed``, ``replay``,
        ``speed`` and ``background_pictures``."""
        config = self.configuration
        return {
            **super().compile_initialization_parameters(),
            "model": {"temperature": float(config.temperature)},
            "seed": config.seed,
            "replay": config.replay,
            "speed": float(config.speed),
            "background_pictures": config.background_pictures,
        }

    def check_configuration(self, check: SequenceCheckContext) -> None:
        """The camera's lane, and the cloud's expressions: known parameters, right units."""
        super().check_configuration(check)
        for name, expression in self._expressions.items():
            where = f"the simulated camera's {name} '{expression}'"
            try:
                dimension = expression.compile(check.dimensions).dimension
            except ExpressionError as error:
                check.report(
                    f"{where}: {error.message} (set {name} in the camera's configuration to a "
                    "parameter of the sequence or a constant)",
                    device=self.device_name,
                    expression=expression.text,
                )
                continue
            if dimension != _DIMENSIONS[name]:
                check.report(
                    f"{where} is {dimension}, expected {_DIMENSIONS[name]}",
                    device=self.device_name,
                    expression=expression.text,
                )

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """The camera's shot parameters plus ``cloud`` (SI values)."""
        parameters = dict(super().compile_shot_parameters(context))
        cloud: dict[str, float] = {}
        for name, expression in self._expressions.items():
            dimension = context.dimension_of(expression)
            if not same_dimension(dimension, _DIMENSIONS[name]):
                raise context.error(
                    f"the simulated camera's {name} '{expression}' is {dimension}, expected "
                    f"{_DIMENSIONS[name]}",
                    expression=expression.text,
                )
            cloud[name] = float(context.evaluate(expression))
        parameters["cloud"] = cloud
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
    registry.register("sim_camera_configuration", SimulatedCameraConfiguration)
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
      ``"camera"``; its cloud follows ``mot.loading_time``, ``mot.detuning`` and
      ``time_of_flight``.

    ``device_server`` puts every device on that server; ``speed``, ``seed`` and ``replay``
    go to the simulated devices.
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
        seed=seed,
        replay=replay,
        speed=speed,
    )
    return {"digital": digital, "analog": analog, "camera": camera}
