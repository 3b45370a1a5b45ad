"""Importing an optional driver library, with the extra to install when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingDriverError", "import_driver"]


class MissingDriverError(ImportError):
    """An optional driver library is not installed; the message says which extra to install.

    >>> str(MissingDriverError("qcodes", "qcodes", "QCoDeSInstrument"))
    "install shotbook[qcodes] to use QCoDeSInstrument (the module 'qcodes' is not installed)"
    """

    def __init__(self, module: str, extra: str, user: str) -> None:
        super().__init__(
            f"install shotbook[{extra}] to use {user} (the module {module!r} is not installed)",
            name=module,
        )
        self.extra = extra


def import_driver(module: str, extra: str, user: str) -> ModuleType:
    """Import the driver library ``module`` for ``user`` (a device class name).

    Raises :class:`MissingDriverError` naming ``shotbook[extra]`` when it cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDriverError(module, extra, user) from error
