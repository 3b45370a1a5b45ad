"""CurveZMQ keys (z85 text), their files, and the socket set-up of secure servers/clients."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
from zmq.utils import z85

_KEY_LENGTH = 40
_HEADER = "# shotbook CurveZMQ {kind} key; {advice}\n"


def _check_key(key: Any, what: str) -> str:
    if isinstance(key, bytes):
        key = key.decode("ascii", "replace")
    if not isinstance(key, str) or len(key) != _KEY_LENGTH:
        raise ValueError(f"{what} must be a 40-character z85 string, got {key!r:.60}")
    try:
        z85.decode(key.encode("ascii"))
    except (ValueError, KeyError, UnicodeEncodeError):
        raise ValueError(f"{what} is not valid z85 text: {key!r}") from None
    return key


@dataclass(frozen=True)
class CurveKeys:
    """A CurveZMQ key pair as z85 text (40 characters each).

    Example::

        keys = generate_keypair()
        keys.save("~/.shotbook/server.key")        # writes server.key and server.key.pub
        keys = CurveKeys.load("~/.shotbook/server.key")
    """

    public: str
    secret: str

    def __post_init__(self) -> None:
        _check_key(self.public, "the public key")
        _check_key(self.secret, "the secret key")
        derived = zmq.curve_public(self.secret.encode("ascii")).decode("ascii")
        if derived != self.public:
            raise ValueError("the public key does not belong to the secret key")

    def __repr__(self) -> str:  # never print the secret
        return f"CurveKeys(public={self.public!r}, secret=<hidden>)"

    @classmethod
    def from_secret(cls, secret: str) -> CurveKeys:
        """The key pair of a secret key."""
        secret = _check_key(secret, "the secret key")
        return cls(zmq.curve_public(secret.encode("ascii")).decode("ascii"), secret)

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write the secret file at ``path`` (owner-only) and the public one at ``path.pub``.

        Returns ``(secret_path, public_path)``. Refuses to overwrite an existing file.
        """
        secret_path = Path(path).expanduser()
        public_path = secret_path.with_name(secret_path.name + ".pub")
        for existing in (secret_path, public_path):
            if existing.exists():
                raise FileExistsError(f"{existing} exists; remove it or choose another path")
        secret_path.parent.mkdir(parents=True, exist_ok=True)
        advice = "keep it private, never share it"
        with open(secret_path, "x", encoding="ascii") as file:
            file.write(_HEADER.format(kind="secret", advice=advice))
            file.write(f"public = {self.public}\nsecret = {self.secret}\n")
        secret_path.chmod(0o600)
        advice = "give it to the other side to authorize this one"
        with open(public_path, "x", encoding="ascii") as file:
            file.write(_HEADER.format(kind="public", advice=advice))
            file.write(f"public = {self.public}\n")
        return secret_path, public_path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CurveKeys:
        """Read a key pair written by :meth:`save` (the secret file)."""
        fields = _read_key_file(path)
        if "secret" not in fields:
            raise ValueError(f"{path} holds no secret key (is it the .pub file?)")
        keys = cls.from_secret(fields["secret"])
        if "public" in fields and fields["public"] != keys.public:
            raise ValueError(f"{path}: the public key does not belong to the secret key")
        return keys


def _read_key_file(path: str | os.PathLike[str]) -> dict[str, str]:
    path = Path(path).expanduser()
    fields: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in ("public", "secret"):
            raise ValueError(f"{path}:{number}: expected 'public = KEY' or 'secret = KEY'")
        fields[name] = _check_key(value, f"{path}:{number}: the {name} key")
    return fields


def generate_keypair() -> CurveKeys:
    """A new CurveZMQ key pair (z85 public and secret keys as str)."""
    public, secret = zmq.curve_keypair()
    return CurveKeys(public.decode("ascii"), secret.decode("ascii"))


def load_public_key(path: str | os.PathLike[str]) -> str:
    """The public key in a key file (``.pub`` or secret file)."""
    fields = _read_key_file(path)
    if "public" not in fields:
        raise ValueError(f"{path} holds no public key")
    return fields["public"]


_auth_log = logging.getLogger("shotbook.rpc.auth")


class _AllowList:
    """Credentials provider of pyzmq's authenticator: accepts only the listed keys.

    A refusal is logged at warning with the peer's address (pyzmq logs it at debug only).
    """

    def __init__(self, keys: Iterable[str], peer: Callable[[], str]) -> None:
        self.keys = frozenset(k.encode("ascii") for k in keys)
        self._peer = peer

    def callback(self, domain: str, key: bytes) -> bool:
        if key in self.keys:
            return True
        _auth_log.warning(
            "DENIED a CurveZMQ client from %s: its public key %s is not authorized",
            self._peer(), key.decode("ascii", "replace"),
        )  # fmt: skip
        return False


@functools.cache
def _authenticator_class() -> type[Any]:
    """pyzmq's thread authenticator, noting the peer address of the request it handles."""
    from zmq.auth.thread import ThreadAuthenticator

    class PeerNotingAuthenticator(ThreadAuthenticator):
        peer = "an unknown address"

        async def handle_zap_message(self, msg: list[bytes]) -> None:
            # one thread handles the requests one at a time: the field names this one's peer
            if len(msg) > 3:
                self.peer = msg[3].decode("utf-8", "replace") or "an unknown address"
            await super().handle_zap_message(msg)

    return PeerNotingAuthenticator


class ServerSecurity:
    """Owns the context and ZAP authenticator of a secure server or publisher."""

    def __init__(self, secret_key: str, authorized_client_keys: Iterable[str] | str) -> None:
        if isinstance(authorized_client_keys, str):
            raise TypeError("authorized_client_keys is a list of z85 public keys, not one str")
        self.secret = _check_key(secret_key, "curve_secret_key").encode("ascii")
        keys = [_check_key(k, "an authorized client key") for k in authorized_client_keys]
        if not keys:
            raise ValueError(
                "authorized_client_keys is empty: no client could connect; give the public "
                "keys of the clients allowed (generate_keypair() makes them)"
            )
        self.context: zmq.Context[Any] = zmq.Context()
        self.authenticator = _authenticator_class()(self.context, log=_auth_log)
        self.authenticator.start()
        authenticator = self.authenticator
        allow = _AllowList(keys, lambda: str(authenticator.peer))
        self.authenticator.configure_curve_callback("*", allow)

    def apply(self, socket: zmq.Socket[Any]) -> None:
        socket.curve_secretkey = self.secret
        socket.curve_server = True

    def close(self) -> None:
        self.authenticator.stop()
        self.context.term()


def apply_client_curve(
    socket: zmq.Socket[Any],
    server_key: str | None,
    public_key: str | None,
    secret_key: str | None,
) -> bool:
    """Configure a client socket for CurveZMQ; returns whether it is secure.

    Without ``public_key``/``secret_key`` (but with ``server_key``), a fresh key pair is
    used: the link is encrypted but the server can only accept it with an allow-any policy.
    """
    if server_key is None:
        if public_key is not None or secret_key is not None:
            raise ValueError("curve_public_key/curve_secret_key need curve_server_key too")
        return False
    server = _check_key(server_key, "curve_server_key")
    if secret_key is None:
        if public_key is not None:
            raise ValueError("curve_public_key needs curve_secret_key too")
        keys = generate_keypair()
    else:
        keys = CurveKeys.from_secret(secret_key)
        if public_key is not None and _check_key(public_key, "curve_public_key") != keys.public:
            raise ValueError("curve_public_key does not belong to curve_secret_key")
    socket.curve_serverkey = server.encode("ascii")
    socket.curve_publickey = keys.public.encode("ascii")
    socket.curve_secretkey = keys.secret.encode("ascii")
    return True
