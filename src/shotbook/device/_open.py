"""open_devices: every device of a sequence, in-process or behind its device server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shotbook.compile import CompilerFactory, default_compilers
from shotbook.registry import TypeRegistry

from .remote._client import DeviceServerConnection
from .remote._config import ClientRPCConfiguration


@dataclass(frozen=True)
class DeviceSpec:
    """How to open one device.

    Attributes:
        device_type: the tag under which the device class is registered (see
            :func:`~shotbook.device.remote.register_device_class`).
        init_parameters: keyword arguments of the device class (besides ``name``), usually
            the compiler's ``compile_initialization_parameters()``.
        device_server: the name of the device server that runs it, or None for this process.
    """

    device_type: str
    init_parameters: Mapping[str, Any] = field(default_factory=dict)
    device_server: str | None = None


def device_spec(
    name: str,
    configuration: Any,
    init_parameters: Mapping[str, Any],
    device_classes: Mapping[type, str] | None = None,
) -> DeviceSpec:
    """The :class:`DeviceSpec` of a device configuration.

    The device class tag comes from ``device_classes`` (configuration type → tag, looked up
    along the configuration's class hierarchy), else from the configuration class's
    ``device_type`` attribute; the server from its ``device_server`` field.
    """
    tag: str | None = None
    for klass in type(configuration).__mro__:
        if device_classes and klass in device_classes:
            tag = device_classes[klass]
            break
    if tag is None:
        tag = getattr(type(configuration), "device_type", None)
    if not isinstance(tag, str):
        raise TypeError(
            f"device {name!r}: no device class is known for a {type(configuration).__name__}; "
            "map the configuration type to a registered device class tag in device_classes"
        )
    server = getattr(configuration, "device_server", None)
    return DeviceSpec(tag, dict(init_parameters), server)


def device_specs(
    configurations: Mapping[str, Any],
    *,
    initialization: Mapping[str, Mapping[str, Any]] | None = None,
    compilers: Mapping[type, CompilerFactory] | None = None,
    device_classes: Mapping[type, str] | None = None,
) -> dict[str, DeviceSpec]:
    """The :class:`DeviceSpec` of each configuration (values already DeviceSpec are kept).

    Initialization parameters come from ``initialization`` (e.g.
    ``SequenceCompiler.compile_initialization_parameters()``) or else from the device's
    compiler (``compilers`` added to the built-in ones of :mod:`shotbook.compile`).
    """
    factories = default_compilers()
    factories.update(compilers or {})
    specs: dict[str, DeviceSpec] = {}
    for name, configuration in configurations.items():
        if isinstance(configuration, DeviceSpec):
            specs[name] = configuration
            continue
        if initialization is not None and name in initialization:
            init = initialization[name]
        else:
            factory = next(
                (factories[k] for k in type(configuration).__mro__ if k in factories), None
            )
            if factory is None:
                raise TypeError(
                    f"device {name!r}: no compiler for a {type(configuration).__name__}, so its "
                    "initialization parameters are unknown; pass compilers or initialization"
                )
            init = factory(name, configuration).compile_initialization_parameters()
        specs[name] = device_spec(name, configuration, init, device_classes)
    return specs


@contextlib.contextmanager
def open_devices(
    devices: Mapping[str, Any],
    registry: TypeRegistry,
    servers: Mapping[str, ClientRPCConfiguration] | None = None,
    *,
    initialization: Mapping[str, Mapping[str, Any]] | None = None,
    compilers: Mapping[type, CompilerFactory] | None = None,
    device_classes: Mapping[type, str] | None = None,
    timeout: float = 10.0,
    client_name: str = "experiment manager",
) -> Iterator[dict[str, Any]]:
    """Open the devices of a sequence and close them all on exit, whatever happens.

    ``devices`` maps names to :class:`DeviceSpec` or to device configurations, turned into
    specs by :func:`device_specs` with ``initialization``, ``compilers`` and
    ``device_classes``.

    A device without ``device_server`` is built here: its class is found in ``registry``
    by tag and called as ``cls(name=name, **init_parameters)``, then entered. A device
    with ``device_server="lab-pc-2"`` is built on that server (``servers["lab-pc-2"]``
    says how to reach it) and used through a :class:`~shotbook.device.remote.RemoteDevice`.
    One connection is made per server, holding its lease while the block runs.

    If opening any device fails, those already open are closed (in reverse order) and the
    error is raised, naming the device.

    Yields:
        ``{device name: device}`` in the order of ``devices``.

    Example::

        specs = {"camera": DeviceSpec("sim_camera", {"seed": 1}, device_server="lab-pc-2")}
        with open_devices(specs, registry, {"lab-pc-2": InsecureRPCConfiguration(port=5560)}) as d:
            runner = ShotRunner(d)
    """
    devices = device_specs(
        devices,
        initialization=initialization,
        compilers=compilers,
        device_classes=device_classes,
    )
    servers = dict(servers or {})
    missing = sorted(
        {s.device_server for s in devices.values() if s.device_server is not None} - set(servers)
    )
    if missing:
        raise ValueError(
            f"device server(s) {missing} are used by devices but not configured "
            f"(configured: {sorted(servers) or 'none'})"
        )
    with contextlib.ExitStack() as stack:
        connections: dict[str, DeviceServerConnection] = {}
        opened: dict[str, Any] = {}
        for name, spec in devices.items():
            if spec.device_server is None:
                device = _local_device(name, spec, registry)
                opened[name] = stack.enter_context(device)
                continue
            connection = connections.get(spec.device_server)
            if connection is None:
                connection = DeviceServerConnection(
                    servers[spec.device_server],
                    registry,
                    server_name=spec.device_server,
                    timeout=timeout,
                    client_name=client_name,
                )
                stack.enter_context(connection)
                connections[spec.device_server] = connection
            remote = connection.device(name, spec.device_type, spec.init_parameters)
            opened[name] = stack.enter_context(remote)
        yield opened


def _local_device(name: str, spec: DeviceSpec, registry: TypeRegistry) -> Any:
    try:
        cls = registry.entry_for_tag(spec.device_type).cls
    except LookupError as exc:
        raise LookupError(f"cannot build device {name!r}: {exc}") from None
    try:
        return cls(name=name, **dict(spec.init_parameters))
    except TypeError as exc:
        raise TypeError(f"cannot build device {name!r} ({spec.device_type}): {exc}") from exc
