"""Remote exception rebuilding and CurveZMQ key files (in-process)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from shotbook.rpc import CurveKeys, RemoteError, generate_keypair, load_public_key
from shotbook.rpc._errors import build_remote_error, mro_names


class DeviceError(Exception):
    def __init__(self, code: int, detail: str) -> None:  # needs two arguments
        super().__init__(f"{code}: {detail}")


def rebuild(names: list[str], **types: type[BaseException]) -> RemoteError:
    return build_remote_error(
        names, "it broke", "Traceback...\nValueError: it broke\n",
        method="move", server="tcp://127.0.0.1:1", exception_types=types,
    )  # fmt: skip


@pytest.mark.parametrize("kind", [ValueError, TimeoutError, KeyError, FileNotFoundError])
def test_builtin_remote_types_are_instances_of_the_builtin(kind: type[Exception]) -> None:
    error = rebuild(mro_names(kind))
    assert isinstance(error, kind)
    assert isinstance(error, RemoteError)
    assert error.remote_type == kind.__name__
    with pytest.raises(kind):
        raise error


def test_unknown_subclass_of_a_builtin_keeps_the_builtin_base() -> None:
    error = rebuild(["lab.errors.CalibrationError", "ValueError", "Exception", "BaseException"])
    assert isinstance(error, ValueError)
    assert error.remote_type == "lab.errors.CalibrationError"


def test_mapped_types_are_used_even_if_their_init_needs_arguments() -> None:
    error = rebuild(["lab.DeviceError", "Exception"], **{"lab.DeviceError": DeviceError})
    assert isinstance(error, DeviceError)
    assert isinstance(error, RemoteError)
    by_short_name = rebuild(["lab.DeviceError", "Exception"], DeviceError=DeviceError)
    assert isinstance(by_short_name, DeviceError)


def test_unknown_types_become_plain_remote_errors() -> None:
    error = rebuild(["lab.Strange", "BaseException"])
    assert type(error) is RemoteError
    assert not isinstance(error, KeyboardInterrupt)


def test_message_shows_type_method_server_and_remote_traceback() -> None:
    error = rebuild(["ValueError", "Exception"])
    text = str(error)
    assert text.startswith("ValueError: it broke (in 'move' on tcp://127.0.0.1:1)")
    assert "remote traceback" in text
    assert error.remote_traceback.startswith("Traceback")
    assert (error.method, error.server, error.remote_message) == (
        "move",
        "tcp://127.0.0.1:1",
        "it broke",
    )


def test_keypair_save_and_load(tmp_path: Path) -> None:
    keys = generate_keypair()
    assert len(keys.public) == 40
    assert len(keys.secret) == 40
    assert keys.secret not in repr(keys)
    secret_path, public_path = keys.save(tmp_path / "keys" / "server.key")
    assert public_path.name == "server.key.pub"
    assert keys.secret not in public_path.read_text()
    if sys.platform != "win32":
        assert secret_path.stat().st_mode & 0o777 == 0o600
    assert CurveKeys.load(secret_path) == keys
    assert load_public_key(public_path) == keys.public
    assert load_public_key(secret_path) == keys.public
    with pytest.raises(FileExistsError, match="exists"):
        keys.save(secret_path)
    with pytest.raises(ValueError, match="no secret key"):
        CurveKeys.load(public_path)


def test_bad_keys_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="40-character z85"):
        CurveKeys.from_secret("short")
    first, second = generate_keypair(), generate_keypair()
    with pytest.raises(ValueError, match="does not belong"):
        CurveKeys(first.public, second.secret)
    broken = tmp_path / "broken.key"
    broken.write_text("secret: nope\n")
    with pytest.raises(ValueError, match=r"broken\.key:1"):
        CurveKeys.load(broken)
    assert os.path.exists(broken)
