"""The server, key and upgrade commands, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from shotbook.cli import main
from shotbook.extension import ExperimentNotFoundError, load_experiment

LAB = textwrap.dedent(
    """
    from shotbook.extension import Experiment
    from shotbook.session import DuckDBConfig

    experiment = Experiment(DuckDBConfig("store"))
    experiment.setup_default_extensions()
    not_an_experiment = 3
    """
)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "my_lab_cli.py").write_text(LAB)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    process.kill()
    raise AssertionError(f"{needle!r} not printed; got {''.join(seen)!r}")


def test_load_experiment_errors_say_what_is_wrong(lab: Path) -> None:
    assert load_experiment("my_lab_cli:experiment").device_extensions
    with pytest.raises(ExperimentNotFoundError, match="MODULE:EXPERIMENT"):
        load_experiment("my_lab_cli")
    with pytest.raises(ExperimentNotFoundError, match="no module 'nope'"):
        load_experiment("nope:experiment")
    with pytest.raises(ExperimentNotFoundError, match="no variable 'lab'"):
        load_experiment("my_lab_cli:lab")
    with pytest.raises(ExperimentNotFoundError, match="not a shotbook Experiment"):
        load_experiment("my_lab_cli:not_an_experiment")


def test_keygen_writes_a_pair_and_refuses_to_overwrite(tmp_path: Path) -> None:
    assert main(["keygen", str(tmp_path / "server.key")]) == 0
    assert (tmp_path / "server.key").exists()
    assert (tmp_path / "server.key.pub").exists()
    with pytest.raises(FileExistsError):
        main(["keygen", str(tmp_path / "server.key")])


def test_upgrade_creates_a_store(lab: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upgrade", "my_lab_cli:experiment"]) == 0
    assert (lab / "store" / "catalog.duckdb").exists()
    assert main(["upgrade", "--root", str(lab / "other")]) == 0
    assert (lab / "other" / "catalog.duckdb").exists()


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        (
            ["device-server", "my_lab_cli:experiment", "--port", "0"],
            "listening on tcp://127.0.0.1:",
        ),
    ],
)
@pytest.mark.parametrize("signals", [1, 3])
def test_server_commands_start_and_stop_on_interrupt(
    lab: Path, command: list[str], needle: str, signals: int
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shotbook.cli", *command],
        cwd=lab,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        _wait_for_line(process, needle)
        for _ in range(signals):  # right after the announcement, and a burst of them
            process.send_signal(subprocess.signal.SIGINT)  # type: ignore[attr-defined]
        code = process.wait(timeout=20)
        assert process.stdout is not None
        assert code == 0, process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert (lab / "logs" / "device_server.log").exists()


def test_a_device_server_registered_for_clients_is_not_served_unencrypted(lab: Path) -> None:
    (lab / "my_lab_secure.py").write_text(
        LAB
        + textwrap.dedent(
            """
            from shotbook.device.remote import SecureRPCClientConfiguration

            experiment.register_device_server(
                "rack", SecureRPCClientConfiguration("rack-pc", 5560, "rack.pub", "lab.key")
            )
            """
        )
    )
    with pytest.raises(
        TypeError, match=r"'rack' is registered with a SecureRPCClientConfiguration"
    ):
        main(["device-server", "my_lab_secure:experiment", "--name", "rack"])
    assert not (lab / "logs").exists()  # refused before any server started


SERVER_LAB = textwrap.dedent(
    """
    from shotbook.cli._demo import build_demo_experiment
    from shotbook.control import RemoteExperimentManagerConfiguration
    from pathlib import Path

    experiment = build_demo_experiment(Path("store"))
    location = RemoteExperimentManagerConfiguration("127.0.0.1", {port})
    experiment.configure_experiment_manager(location)
    """
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_experiment_server_runs_a_scan_for_a_remote_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shotbook.cli._demo import create_demo_sequence, fit_demo_temperature

    port = _free_port()
    (tmp_path / "server_lab.py").write_text(SERVER_LAB.format(port=port))
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shotbook.cli", "experiment-server", "server_lab:experiment"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        _wait_for_line(process, f"listening on tcp://127.0.0.1:{port}")
        experiment = load_experiment("server_lab:experiment")  # the notebook's side
        path = create_demo_sequence(experiment, points=3, repetitions=1, seed=1)
        manager = experiment.connect_to_experiment_manager()
        summary = manager.run_sequence(path, progress=False)
        assert summary is not None
        assert summary.ok
        assert fit_demo_temperature(experiment, path).temperature > 0
        manager.close()
        experiment.close()
        process.send_signal(subprocess.signal.SIGINT)  # type: ignore[attr-defined]
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert (tmp_path / "logs" / "experiment-server.log").exists()
