"""Registration of the core model's types (expressions, scans, lanes, paths)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shotbook.types import (
    AnalogTimeLane,
    ArangeLoop,
    CameraTimeLane,
    DigitalTimeLane,
    DottedVariableName,
    ExecuteShot,
    Expression,
    LinspaceLoop,
    ParameterNamespace,
    PureSequencePath,
    Ramp,
    StepsConfiguration,
    TakePicture,
    TimeLane,
    TimeLanes,
    VariableDeclaration,
)

from ._opaque import OpaqueDeviceConfiguration
from ._registry import TypeRegistry

Nested = Callable[[Any], Any]


def _lane_coders(cls: type[TimeLane[Any]]) -> tuple[Any, Any]:
    def encode(lane: TimeLane[Any], nested: Nested) -> Any:
        return [[nested(value), span] for value, span in lane.blocks]

    def decode(data: Any, nested: Nested) -> TimeLane[Any]:
        return cls.from_blocks((nested(value), int(span)) for value, span in data)

    return encode, decode


def _encode_time_lanes(lanes: TimeLanes, nested: Nested) -> Any:
    return {
        "step_names": list(lanes.step_names),
        "step_durations": [d.text for d in lanes.step_durations],
        "lanes": [[name, nested(lane)] for name, lane in lanes.lanes.items()],
    }


def _decode_time_lanes(data: Any, nested: Nested) -> TimeLanes:
    return TimeLanes(
        data["step_names"],
        data["step_durations"],
        [(name, nested(lane)) for name, lane in data["lanes"]],
    )


def _encode_namespace(namespace: ParameterNamespace, nested: Nested) -> Any:
    return [[str(name), nested(value)] for name, value in namespace.items()]


def _decode_namespace(data: Any, nested: Nested) -> ParameterNamespace:
    return ParameterNamespace((name, nested(value)) for name, value in data)


def register_core_types(registry: TypeRegistry) -> None:
    """Register every type of :mod:`shotbook.types` that is stored or sent."""
    registry.register(
        "expression", Expression, encode=lambda e, _: e.text, decode=lambda d, _: Expression(d)
    )
    registry.register(
        "path",
        PureSequencePath,
        encode=lambda p, _: str(p),
        decode=lambda d, _: PureSequencePath(d),
    )
    registry.register(
        "variable_name",
        DottedVariableName,
        encode=lambda n, _: str(n),
        decode=lambda d, _: DottedVariableName(d),
    )
    registry.register(
        "parameter_namespace",
        ParameterNamespace,
        encode=_encode_namespace,
        decode=_decode_namespace,
    )
    registry.register("variable_declaration", VariableDeclaration)
    registry.register("linspace_loop", LinspaceLoop)
    registry.register("arange_loop", ArangeLoop)
    registry.register("execute_shot", ExecuteShot)
    registry.register(
        "steps",
        StepsConfiguration,
        encode=lambda s, nested: [nested(step) for step in s.steps],
        decode=lambda d, nested: StepsConfiguration([nested(step) for step in d]),
    )
    registry.register("ramp", Ramp)
    registry.register("take_picture", TakePicture)
    for tag, cls in (
        ("digital_lane", DigitalTimeLane),
        ("analog_lane", AnalogTimeLane),
        ("camera_lane", CameraTimeLane),
    ):
        encode, decode = _lane_coders(cls)
        registry.register(tag, cls, encode=encode, decode=decode)
    registry.register("time_lanes", TimeLanes, encode=_encode_time_lanes, decode=_decode_time_lanes)
    registry.register("opaque_device_configuration", OpaqueDeviceConfiguration)


def default_registry() -> TypeRegistry:
    """A new registry holding the core types (extensions add theirs)."""
    registry = TypeRegistry()
    register_core_types(registry)
    return registry
