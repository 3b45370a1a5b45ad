"""The front-end modules of the panel's widgets, each preceded by the shared key guard."""

from __future__ import annotations

import pathlib

_HERE = pathlib.Path(__file__).parent

KEY_GUARD = _HERE / "_keys.js"
"""``guardKeys(el)``: keys typed in a widget never reach JupyterLab's notebook shortcuts."""


def front_end_module(path: pathlib.Path) -> str:
    """The text of the ES module at ``path`` preceded by :data:`KEY_GUARD` (its render
    calls ``guardKeys(el)``)."""
    return KEY_GUARD.read_text(encoding="utf-8") + "\n" + path.read_text(encoding="utf-8")


__all__ = ["KEY_GUARD", "front_end_module"]
