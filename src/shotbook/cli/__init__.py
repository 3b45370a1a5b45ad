"""The ``shotbook`` command line, and the report it writes for headless runs.

:class:`RunOutcome` and :func:`render_report` (the self-contained HTML report of
``shotbook run ... --report``) are public so that a notebook run headless (for example
``notebooks/overnight_scan.ipynb``) writes the same report; they are imported when first
used, so ``shotbook --help`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._main import build_parser, main

if TYPE_CHECKING:
    from ._report import RunOutcome, render_report, run_with_report

_LAZY = {"RunOutcome": "._report", "render_report": "._report", "run_with_report": "._report"}

__all__ = ["RunOutcome", "build_parser", "main", "render_report", "run_with_report"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shotbook.cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
