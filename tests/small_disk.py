"""A real, small filesystem to fill up: a tmpfs mounted under the test's folder (as root).

Outside CI a machine where mounting is refused skips the test with the reason; in CI
(``CI=true``) a skip is a failure (see ``tests/conftest.py``), which is intended: CI runs as
root on a machine where this works.
"""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

_CHUNK = 1 << 16


class SmallDisk:
    """A mounted tmpfs of a few MB; :meth:`fill` takes its last free byte, :meth:`free` gives
    the space back."""

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.filler = mount / "filler.bin"
        self._stop_keeping = threading.Event()
        self._keeper: threading.Thread | None = None

    def keep_full(self) -> None:
        """Fill the disk now, and again whenever space is freed, until :meth:`free`."""
        self.fill()
        if self._keeper is None:
            self._stop_keeping.clear()
            self._keeper = threading.Thread(target=self._keep, daemon=True)
            self._keeper.start()

    def _keep(self) -> None:
        while not self._stop_keeping.wait(0.002):
            self.fill()

    def fill(self, leave: int = 0) -> None:
        """Fill the disk up to the byte, then give ``leave`` bytes back."""
        descriptor = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (_CHUNK, 4096, 1):
                block = b"\0" * size
                while True:
                    try:
                        os.write(descriptor, block)
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(descriptor)
        if leave:
            os.truncate(self.filler, max(0, self.filler.stat().st_size - leave))

    def is_full(self) -> bool:
        """Whether not even one more byte can be written."""
        probe = self.mount / "probe.bin"
        try:
            with open(probe, "wb") as file:
                file.write(b"x" * 4096)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            return True
        finally:
            probe.unlink(missing_ok=True)
        return False

    def free(self) -> None:
        """Give all the space taken by :meth:`fill` back (and stop keeping the disk full)."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            self._stop_keeping.set()
            keeper.join()
        self.filler.unlink(missing_ok=True)


def mounted_small_disk(folder: Path, size: str = "16m") -> Iterator[SmallDisk]:
    """Mount a tmpfs of ``size`` at ``folder`` for the duration; unmount at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (run as root): {result.stderr.strip()}")
    disk = SmallDisk(folder)
    try:
        yield disk
    finally:
        disk.free()
        done = subprocess.run(["umount", str(folder)], capture_output=True, check=False)
        if done.returncode != 0:  # a file still open (a dying thread): detach it lazily
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)
