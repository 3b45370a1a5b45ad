"""Before a run: read the sequence, check it, and check that its devices can be reached.

Everything here runs in the caller's thread and touches no device: a bad expression, a
unit mismatch, an unused lane, an out-of-range output, a device without a known class or
an unreachable device server stops the sequence while it is still a DRAFT.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shotbook.compile import CompilerFactory, SequenceCompiler, check_sequence
from shotbook.device import DeviceSpec, device_spec
from shotbook.registry import TypeRegistry
from shotbook.session import ExperimentSession
from shotbook.types import ParameterNamespace, PureSequencePath, StepsConfiguration, TimeLanes

from ._errors import SequenceFailedError

if TYPE_CHECKING:
    from shotbook.device.remote import ClientRPCConfiguration

_log = logging.getLogger("shotbook.control")


@dataclass(frozen=True)
class RunDependencies:
    """What a run needs from the layers above, given by injection.

    Attributes:
        registry: the types that devices, device servers and storage know.
        device_servers: how to reach each device server, by the name device configurations
            use (``device_server="lab-pc-2"``).
        compilers: extra compilers by configuration type (extensions' devices).
        device_classes: the registered device class tag of each configuration type, for
            configuration classes without a ``device_type`` attribute.
    """

    registry: TypeRegistry
    device_servers: Mapping[str, ClientRPCConfiguration]
    compilers: Mapping[type, CompilerFactory]
    device_classes: Mapping[type, str]


@dataclass(frozen=True)
class SequenceSnapshot:
    """What a run uses, read from the store once before it starts."""

    path: PureSequencePath
    iteration: StepsConfiguration
    time_lanes: TimeLanes
    global_parameters: ParameterNamespace
    device_configurations: dict[str, Any]
    expected_number_of_shots: int | None
    device_specs: dict[str, DeviceSpec]


def read_sequence(
    session: ExperimentSession, path: PureSequencePath
) -> tuple[StepsConfiguration, TimeLanes, ParameterNamespace, dict[str, Any]]:
    """The scan, time lanes, globals and device configurations to run ``path`` with."""
    sequences = session.sequences
    iteration = sequences.get_iteration(path)
    time_lanes = sequences.get_time_lanes(path)
    global_parameters = session.get_global_parameters()
    device_configurations = dict(session.default_device_configurations.items())
    return iteration, time_lanes, global_parameters, device_configurations


def check_before_run(
    path: PureSequencePath,
    iteration: StepsConfiguration,
    time_lanes: TimeLanes,
    global_parameters: ParameterNamespace,
    device_configurations: Mapping[str, Any],
    dependencies: RunDependencies,
    ping_timeout: float,
) -> SequenceSnapshot:
    """Run every check that needs no shot value nor any device; return the run's snapshot.

    Raises :class:`SequenceFailedError` (``state="draft"``, ``shot_index=None``) naming the
    problem, its location and what to do.
    """
    text = str(path)

    def fail(error: BaseException) -> SequenceFailedError:
        return SequenceFailedError.from_exception(text, error, state="draft")

    try:
        check_sequence(
            time_lanes,
            iteration,
            global_parameters,
            device_configurations,
            compilers=dependencies.compilers,
        )
        expected = iteration.expected_number_shots(global_parameters)
        compiler = SequenceCompiler(
            time_lanes, device_configurations, compilers=dependencies.compilers
        )
        initialization = compiler.compile_initialization_parameters()
    except Exception as error:
        raise fail(error) from error
    specs: dict[str, DeviceSpec] = {}
    for name, configuration in device_configurations.items():
        try:
            spec = device_spec(
                name, configuration, initialization.get(name, {}), dependencies.device_classes
            )
        except Exception as error:
            raise fail(error) from error
        if spec.device_server is None:
            try:
                dependencies.registry.entry_for_tag(spec.device_type)
            except LookupError as error:
                raise fail(
                    LookupError(
                        f"device {name!r}: its class {spec.device_type!r} is not registered "
                        f"in this experiment's type registry ({error}); register it (e.g. "
                        "register_sim_types(registry)) or run it on a device server"
                    )
                ) from error
        specs[name] = spec
    servers = sorted({s.device_server for s in specs.values() if s.device_server is not None})
    for server in servers:
        if server not in dependencies.device_servers:
            known = sorted(dependencies.device_servers) or "none"
            raise fail(
                LookupError(
                    f"device server {server!r} is used by device(s) "
                    f"{sorted(n for n, s in specs.items() if s.device_server == server)} but is "
                    f"not configured (configured: {known}); add it to the experiment's device "
                    "servers"
                )
            )
        try:
            ping_device_server(server, dependencies.device_servers[server], ping_timeout)
        except Exception as error:
            raise fail(error) from error
    return SequenceSnapshot(
        path,
        iteration,
        time_lanes,
        global_parameters,
        dict(device_configurations),
        expected,
        specs,
    )


class DeviceServerUnreachableError(ConnectionError):
    """A device server did not answer a ping before a run."""


def ping_device_server(name: str, config: ClientRPCConfiguration, timeout: float) -> float:
    """Ping device server ``name``; return the round trip in seconds.

    Raises :class:`DeviceServerUnreachableError` saying which server, where, and what to do.
    """
    from shotbook.rpc import RPCClient, RPCError

    address = getattr(config, "address", None)
    if not isinstance(address, str):
        raise TypeError(
            f"device server {name!r}: its configuration {config!r} has no address; use "
            "InsecureRPCConfiguration or SecureRPCClientConfiguration"
        )
    security: dict[str, Any] = {}
    server_key = getattr(config, "server_key", None)
    client_keys = getattr(config, "client_keys", None)
    if callable(server_key) and callable(client_keys):
        keys = client_keys()
        security = {
            "curve_server_key": server_key(),
            "curve_public_key": keys.public,
            "curve_secret_key": keys.secret,
        }
    try:
        with RPCClient(address, timeout=timeout, name="experiment manager (ping)", **security) as c:
            return c.ping(timeout=timeout)
    except (RPCError, TimeoutError, OSError) as error:
        raise DeviceServerUnreachableError(
            f"device server {name!r} at {address} did not answer a ping within {timeout:g} s "
            f"({error}); start it (shotbook device-server ...) or check its host and port"
        ) from None


__all__ = [
    "DeviceServerUnreachableError",
    "RunDependencies",
    "SequenceSnapshot",
    "check_before_run",
    "ping_device_server",
    "read_sequence",
]
