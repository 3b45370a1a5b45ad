"""Show the panel outside a notebook: a local Voila or JupyterLab page on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_NOTEBOOK_NAME = "shotbook-panel.ipynb"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def panel_notebook(code: str) -> dict[str, object]:
    """A notebook (nbformat 4 JSON data) with ``code`` as its only cell."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "shotbook-panel",
                "metadata": {},
                "outputs": [],
                "source": code,
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _running_as_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return bool(geteuid is not None and geteuid() == 0)


class PanelServer:
    """A running Voila or JupyterLab server showing the panel's notebook.

    ``url`` opens the page (it holds the access token); :meth:`stop` ends the server.
    """

    def __init__(self, process: subprocess.Popen[bytes], url: str, notebook: Path, log: Path):
        self.process = process
        self.url = url
        self.notebook = notebook
        self.log = log

    def is_alive(self) -> bool:
        """Whether the server process still runs."""
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (politely, then forcefully)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> PanelServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_alive() else "stopped"
        return f"<PanelServer {state} at {self.url}>"


def launch_panel_server(
    notebook_code: str | Path,
    *,
    mode: str = "voila",
    port: int | None = None,
    directory: str | Path | None = None,
    token: str | None = None,
    timeout: float = 60.0,
    quiet: bool = False,
) -> PanelServer:
    """Serve a notebook showing the panel on 127.0.0.1 and print its address.

    Args:
        notebook_code: the code of the notebook's cell (it should end with the panel), or
            the path of an existing ``.ipynb`` to serve.
        mode: ``"voila"`` (the page runs the notebook and shows only its outputs) or
            ``"lab"`` (JupyterLab with the notebook open; run its cell).
        port: the port (default: a free one).
        directory: where the notebook is written (default: a new temporary folder).
        token: the access token (default: a random one).
        timeout: seconds to wait for the server to listen.
        quiet: do not print the address.

    Raises ``RuntimeError`` with the server's log when it does not start.

    Example::

        server = launch_panel_server("from my_lab import experiment\\nexperiment.panel()")
        ...
        server.stop()
    """
    if mode not in ("voila", "lab"):
        raise ValueError(f"mode is 'voila' or 'lab', got {mode!r}")
    package = "voila" if mode == "voila" else "jupyterlab"
    if importlib.util.find_spec(package) is None:
        raise ModuleNotFoundError(
            f"the panel's {mode} page needs the {package} package: "
            "pip install 'shotbook[lab]' (or pip install " + package + ")"
        )
    folder = Path(directory) if directory is not None else Path(tempfile.mkdtemp("-shotbook"))
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook_code, Path) or str(notebook_code).endswith(".ipynb"):
        notebook = Path(notebook_code).resolve()
        if not notebook.is_file():
            raise FileNotFoundError(f"no notebook at {notebook}")
        folder = notebook.parent
    else:
        notebook = folder / _NOTEBOOK_NAME
        notebook.write_text(json.dumps(panel_notebook(str(notebook_code)), indent=1), "utf-8")
    port = port or free_port()
    token = token or secrets.token_hex(16)
    common = [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.token={token}",
        "--ServerApp.port_retries=0",
    ]
    if mode == "voila":
        command = [
            sys.executable, "-m", "voila", str(notebook), "--no-browser",
            "--Voila.ip=127.0.0.1", f"--port={port}", f"--token={token}",
        ]  # fmt: skip
        url = f"http://127.0.0.1:{port}/?token={token}"
    else:
        command = [
            sys.executable, "-m", "jupyter", "lab", *common,
            f"--ServerApp.root_dir={folder}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        if _running_as_root():
            command.append("--allow-root")
        url = f"http://127.0.0.1:{port}/lab/tree/{notebook.name}?token={token}"
    log = folder / f"shotbook-panel-{mode}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=folder, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    server = PanelServer(process, url, notebook, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if not quiet:
                    print(f"shotbook panel: {url}", flush=True)
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    text = log.read_text("utf-8", errors="replace")[-4000:]
    raise RuntimeError(f"the {mode} server did not start on 127.0.0.1:{port}; its log:\n{text}")


__all__ = ["PanelServer", "free_port", "launch_panel_server", "panel_notebook"]
