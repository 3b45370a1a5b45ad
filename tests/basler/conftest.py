"""Basler tests run against pylon's own camera emulation (``PYLON_CAMEMU``).

The variable must be set before pypylon is first imported in a process: here for this
process, and in the environment of the device-server processes the tests start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.device.conftest import ServerProcess

os.environ.setdefault("PYLON_CAMEMU", "2")

SERVER_SCRIPT = Path(__file__).with_name("basler_server_script.py")
SENSOR = (1024, 1040)
"""The emulated camera's default image size (its sensor can grow to 4096x4096)."""


def write_frame(path: Path, array: np.ndarray) -> Path:
    """Save ``array`` (uint8 → 8-bit PNG, uint16 → 16-bit TIFF) for the emulator to serve."""
    from pypylon import pylon

    image = pylon.PylonImage()
    if array.dtype == np.uint8:
        image.AttachArray(np.ascontiguousarray(array), pylon.PixelType_Mono8)
        image.Save(pylon.ImageFileFormat_Png, str(path))
    else:
        image.AttachArray(np.ascontiguousarray(array), pylon.PixelType_Mono16)
        image.Save(pylon.ImageFileFormat_Tiff, str(path))
    return path


def file_features(path: Path) -> tuple[tuple[str, str], ...]:
    """The emulator's features that make it serve the frame in ``path``."""
    return (("TestImageSelector", "Off"), ("ImageFileMode", "On"), ("ImageFilename", str(path)))


@pytest.fixture(scope="session")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray]]:
    """Known 64x48 frames on disk: an 8-bit ramp and a 16-bit one (values < 4096 << 4)."""
    folder = tmp_path_factory.mktemp("frames")
    rows, cols = np.indices((48, 64))
    mono8 = ((rows * 64 + cols) % 251).astype(np.uint8)
    mono12 = ((rows * 64 + cols) * 37 % 4096).astype(np.uint16)
    wide = write_frame(folder / "mono16.tiff", mono12 << 4)
    return {
        "mono8": (write_frame(folder / "mono8.png", mono8), mono8),
        # the emulator scales a 16-bit file to the format's depth by dropping low bits
        "mono10": (wide, mono12 >> 2),
        "mono12": (wide, mono12),
        "mono16": (wide, mono12 << 4),
    }


class BaslerServer(ServerProcess):
    """A device server in a subprocess serving emulated Basler cameras."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(log_dir, script=SERVER_SCRIPT, env={"PYLON_CAMEMU": "2"}, start_timeout=60)


@pytest.fixture(scope="module")
def basler_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaslerServer]:
    """One device-server process shared by the tests of a module."""
    server = BaslerServer(tmp_path_factory.mktemp("logs"))
    yield server
    server.kill()
