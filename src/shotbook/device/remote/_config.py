"""Where a device server listens and how clients reach it, with or without CurveZMQ."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shotbook.registry import TypeRegistry
from shotbook.rpc import CurveKeys, load_public_key

_KEY_LENGTH = 40


def _check_port(port: int, what: str) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"{what}: port must be an int in 0..65535, got {port!r}")


def _check_host(host: str, what: str) -> None:
    if not isinstance(host, str) or not host or any(c in host for c in "/ "):
        raise ValueError(f"{what}: host must be a host name or IP address, got {host!r}")


def resolve_public_key(key: str) -> str:
    """A z85 public key given as itself (40 characters) or as a key file path."""
    if isinstance(key, str) and len(key) == _KEY_LENGTH and not Path(key).exists():
        return key
    return load_public_key(Path(key).expanduser())


@dataclass(frozen=True)
class InsecureRPCConfiguration:
    """A device server without encryption or authentication (trusted networks only).

    On the server, ``host`` is the interface bound (``"127.0.0.1"`` by default: this
    computer only; ``"0.0.0.0"``: every interface). On a client, it is the server's address.

    Example:
        >>> InsecureRPCConfiguration(port=5560).address
        'tcp://127.0.0.1:5560'
    """

    host: str = "127.0.0.1"
    port: int = 0

    def __post_init__(self) -> None:
        _check_host(self.host, "InsecureRPCConfiguration")
        _check_port(self.port, "InsecureRPCConfiguration")

    @property
    def address(self) -> str:
        """The address a client connects to."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "*") else self.host
        return f"tcp://{host}:{self.port}"


@dataclass(frozen=True)
class SecureRPCConfiguration:
    """A device server using CurveZMQ: encrypted, and only authorized clients get in.

    Args:
        host: interface to bind.
        port: TCP port.
        server_secret_key_file: the server's secret key file (``shotbook keygen`` writes one).
        authorized_keys: public keys of the clients allowed, each a z85 string or the path
            of a ``.pub`` file.

    Example::

        SecureRPCConfiguration("0.0.0.0", 5560, "keys/server.key",
                               authorized_keys=("keys/manager.key.pub",))
    """

    host: str
    port: int
    server_secret_key_file: str
    authorized_keys: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_host(self.host, "SecureRPCConfiguration")
        _check_port(self.port, "SecureRPCConfiguration")
        if isinstance(self.authorized_keys, str):
            raise TypeError("authorized_keys is a list of keys or key files, not one str")
        object.__setattr__(self, "authorized_keys", tuple(self.authorized_keys))
        if not self.authorized_keys:
            raise ValueError(
                "SecureRPCConfiguration: authorized_keys is empty, so no client could connect; "
                "add the public key (file) of the experiment manager"
            )

    def server_keys(self) -> CurveKeys:
        """The server's key pair, read from its file."""
        return CurveKeys.load(Path(self.server_secret_key_file).expanduser())

    def client_keys(self) -> list[str]:
        """The authorized client public keys as z85 strings."""
        return [resolve_public_key(key) for key in self.authorized_keys]


@dataclass(frozen=True)
class SecureRPCClientConfiguration:
    """How a client reaches a :class:`SecureRPCConfiguration` server.

    Args:
        host: the server's host name or address.
        port: its port.
        server_public_key: the server's public key (z85) or its ``.pub`` file.
        client_secret_key_file: this client's secret key file; its public key must be in the
            server's ``authorized_keys``.
    """

    host: str
    port: int
    server_public_key: str
    client_secret_key_file: str

    def __post_init__(self) -> None:
        _check_host(self.host, "SecureRPCClientConfiguration")
        _check_port(self.port, "SecureRPCClientConfiguration")

    @property
    def address(self) -> str:
        """The address a client connects to."""
        return f"tcp://{self.host}:{self.port}"

    def server_key(self) -> str:
        """The server's public key as z85."""
        return resolve_public_key(self.server_public_key)

    def client_keys(self) -> CurveKeys:
        """This client's key pair."""
        return CurveKeys.load(Path(self.client_secret_key_file).expanduser())


RPCConfiguration = InsecureRPCConfiguration | SecureRPCConfiguration
"""Where a device server listens."""

ClientRPCConfiguration = InsecureRPCConfiguration | SecureRPCClientConfiguration
"""How a client reaches a device server."""


def keygen(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new CurveZMQ key pair: the secret file at ``path``, the public at ``path.pub``.

    Refuses to overwrite existing files. Returns ``(secret_path, public_path)``. This is
    ``shotbook keygen PATH``.

    Example::

        secret, public = keygen("keys/server.key")   # give keys/server.key.pub to clients
    """
    from shotbook.rpc import generate_keypair

    return generate_keypair().save(path)


def register_remote_types(registry: TypeRegistry) -> None:
    """Register the RPC configurations, so an experiment can store them."""
    registry.register("insecure_rpc", InsecureRPCConfiguration)
    registry.register("secure_rpc", SecureRPCConfiguration)
    registry.register("secure_rpc_client", SecureRPCClientConfiguration)
