"""How experiment managers run: frozen, serializable configurations."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shotbook.registry import TypeRegistry


def _positive(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} is a finite number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"{what} must be > 0 s, got {value}")
    return float(value)


def _count(value: int, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{what} is an int >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class LocalExperimentManagerConfiguration:
    """Tuning of a manager that runs sequences in this process.

    Args:
        compile_ahead: shots compiled ahead of the one running (bounded queue).
        compile_workers: threads compiling shots.
        storage_queue_size: shots waiting for analysis and storage before the run waits.
        heartbeat_interval: seconds between heartbeats of the running sequence's owner.
        stale_after: a running sequence of another host whose heartbeat is older than this
            (seconds) is considered abandoned at start-up and marked CRASHED.
        shot_timeout: seconds allowed to a shot beyond its own duration.
        server_ping_timeout: seconds to wait for each device server's ping before a run.

    >>> LocalExperimentManagerConfiguration(compile_ahead=4).compile_ahead
    4
    """

    compile_ahead: int = 8
    compile_workers: int = 2
    storage_queue_size: int = 8
    heartbeat_interval: float = 2.0
    stale_after: float = 30.0
    shot_timeout: float = 10.0
    server_ping_timeout: float = 2.0

    def __post_init__(self) -> None:
        _count(self.compile_ahead, "compile_ahead")
        _count(self.compile_workers, "compile_workers")
        _count(self.storage_queue_size, "storage_queue_size")
        for name in ("heartbeat_interval", "stale_after", "shot_timeout", "server_ping_timeout"):
            object.__setattr__(self, name, _positive(getattr(self, name), name))
        if self.stale_after <= self.heartbeat_interval:
            raise ValueError(
                f"stale_after ({self.stale_after} s) must be longer than heartbeat_interval "
                f"({self.heartbeat_interval} s), or live runs would look abandoned"
            )


@dataclass(frozen=True)
class RemoteExperimentManagerConfiguration:
    """How to reach an experiment server (``shotbook experiment-server``).

    Args:
        host: the server's host name or address.
        port: its RPC port (events come on a second port the server announces).
        server_public_key: for a secure server, its public key (z85 or a ``.pub`` file).
        client_secret_key_file: for a secure server, this client's secret key file (its
            public key must be authorized by the server).
        timeout: seconds to wait for each call's reply.

    >>> RemoteExperimentManagerConfiguration("lab-pc", 5570).address
    'tcp://lab-pc:5570'
    """

    host: str
    port: int
    server_public_key: str | None = None
    client_secret_key_file: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host or any(c in self.host for c in "/ "):
            raise ValueError(f"host must be a host name or IP address, got {self.host!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise ValueError(f"port must be an int in 1..65535, got {self.port!r}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be an int in 1..65535, got {self.port!r}")
        if (self.server_public_key is None) != (self.client_secret_key_file is None):
            raise ValueError(
                "a secure connection needs both server_public_key and client_secret_key_file "
                "(give neither for an insecure server)"
            )
        object.__setattr__(self, "timeout", _positive(self.timeout, "timeout"))

    @property
    def address(self) -> str:
        """The server's RPC address."""
        return f"tcp://{self.host}:{self.port}"

    @property
    def secure(self) -> bool:
        """Whether CurveZMQ is used."""
        return self.server_public_key is not None


def register_control_types(registry: TypeRegistry) -> None:
    """Register the manager configurations in a ``TypeRegistry`` (so an experiment stores them).

    >>> from shotbook.registry import Serializer, default_registry
    >>> registry = default_registry()
    >>> register_control_types(registry)
    >>> config = RemoteExperimentManagerConfiguration("lab-pc", 5570)
    >>> Serializer(registry).loads(Serializer(registry).dumps(config)) == config
    True
    """
    registry.register("local_experiment_manager_configuration", LocalExperimentManagerConfiguration)
    registry.register(
        "remote_experiment_manager_configuration", RemoteExperimentManagerConfiguration
    )


__all__ = [
    "LocalExperimentManagerConfiguration",
    "RemoteExperimentManagerConfiguration",
    "register_control_types",
]
