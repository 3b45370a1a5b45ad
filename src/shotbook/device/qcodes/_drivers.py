"""Which QCoDeS driver classes a configuration may name, and loading them.

A configuration names its driver by its full dotted path. Only two kinds are accepted:

* a class under ``qcodes.instrument_drivers`` (the drivers QCoDeS ships), or
* a class the lab allowed in this process with :func:`allow_qcodes_drivers` (the lab's
  experiment module does it, on the experiment's computer and on its device servers).

Anything else is refused by the static check and again when the device opens, before any
import: a device server never imports a module named by a message.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

__all__ = [
    "QCODES_DRIVERS_PACKAGE",
    "allow_qcodes_drivers",
    "allowed_qcodes_drivers",
    "driver_refusal",
    "load_driver",
]

QCODES_DRIVERS_PACKAGE = "qcodes.instrument_drivers"
"""Drivers under this package are always accepted."""

_lock = threading.Lock()
_allowed: dict[str, type | None] = {}


def _is_dotted_path(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 2 and all(part.isidentifier() for part in parts)


def allow_qcodes_drivers(*drivers: str | type) -> None:
    """Allow these driver classes (classes, or full dotted paths ``"package.module.Class"``).

    A class given as an object is used as is (never imported again); a path is imported
    when a device using it opens.

    Example::

        from mylab.drivers import LabSynth
        allow_qcodes_drivers(LabSynth)          # in the lab's experiment module
        QCoDeSInstrumentConfiguration(driver="mylab.drivers.LabSynth", address=...)
    """
    with _lock:
        for driver in drivers:
            if isinstance(driver, type):
                _allowed[f"{driver.__module__}.{driver.__qualname__}"] = driver
            elif isinstance(driver, str) and _is_dotted_path(driver):
                _allowed.setdefault(driver, None)
            else:
                raise TypeError(
                    f"a driver is a class or a dotted path 'package.module.Class', got {driver!r}"
                )


def allowed_qcodes_drivers() -> frozenset[str]:
    """The paths allowed with :func:`allow_qcodes_drivers` in this process."""
    with _lock:
        return frozenset(_allowed)


def driver_refusal(driver: str) -> str | None:
    """Why the driver path ``driver`` is refused, or ``None`` when it is accepted.

    Imports nothing.

    >>> driver_refusal("qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A") is None
    True
    >>> print(driver_refusal("os.system"))
    driver 'os.system' is neither under qcodes.instrument_drivers nor allowed by the lab \
(allow_qcodes_drivers)
    """
    if not isinstance(driver, str) or not _is_dotted_path(driver):
        return f"driver {driver!r} is not a dotted path 'package.module.Class'"
    with _lock:
        if driver in _allowed:
            return None
    if driver.startswith(QCODES_DRIVERS_PACKAGE + ".") and not any(
        part.startswith("_") for part in driver.split(".")
    ):
        return None
    return (
        f"driver {driver!r} is neither under {QCODES_DRIVERS_PACKAGE} nor allowed by the lab "
        "(allow_qcodes_drivers)"
    )


def load_driver(driver: str) -> type:
    """The driver class at ``driver``, after checking it is accepted (else ``ValueError``).

    Raises ``ValueError`` when it is refused, ``ImportError``/``AttributeError`` when the
    module or the class does not exist, ``TypeError`` when it is not a QCoDeS instrument.
    """
    refusal = driver_refusal(driver)
    if refusal is not None:
        raise ValueError(refusal)
    with _lock:
        known = _allowed.get(driver)
    if known is not None:
        return known
    module_name, _, class_name = driver.rpartition(".")
    module = importlib.import_module(module_name)
    cls: Any = getattr(module, class_name, None)
    if cls is None:
        raise AttributeError(f"module {module_name!r} has no driver class {class_name!r}")
    from qcodes.instrument import InstrumentBase

    if not (isinstance(cls, type) and issubclass(cls, InstrumentBase)):
        raise TypeError(f"{driver!r} is not a QCoDeS instrument class")
    return cls
