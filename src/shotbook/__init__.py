"""shotbook: Jupyter-first control of precisely timed physics experiments.

``import shotbook`` stays light: the heavy parts (storage, the panel, ZeroMQ,
analysis) are imported only when one of their names is first used::

    import shotbook
    experiment = shotbook.Experiment()   # imports shotbook.extension now
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# public name -> module that defines it; resolved on first access (PEP 562)
_LAZY: dict[str, str] = {
    "Experiment": "shotbook.extension",
    "DeviceExtension": "shotbook.extension",
    "TimeLaneExtension": "shotbook.extension",
    "DuckDBConfig": "shotbook.session",
    "SQLiteConfig": "shotbook.session",
    "PostgreSQLConfig": "shotbook.session",
    "Expression": "shotbook.types",
    "ParameterNamespace": "shotbook.types",
    "StepsConfiguration": "shotbook.types",
    "TimeLanes": "shotbook.types",
    "PureSequencePath": "shotbook.types",
    "scan_shots": "shotbook.analysis",
    "read_shots": "shotbook.analysis",
    "escape_path": "shotbook.analysis",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shotbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
