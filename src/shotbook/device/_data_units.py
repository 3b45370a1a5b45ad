"""The units of the values data sources read: asked once, when the devices are open.

A :class:`~shotbook.device.DataSource` may declare the unit of each label it reads with a
``data_units()`` method (marked :func:`~shotbook.device.remote` so that it also answers
through a device server)::

    class PowerMeter:
        @remote
        def read_data(self) -> dict[str, float]:
            return {"power": self._read_watts()}

        @remote
        def data_units(self) -> dict[str, str | None]:
            return {"power": "W"}          # stored with the column "meter.power"

The store keeps the unit with the column ``device.label`` (the value is stored as read);
the analysis API gives it back (``read_shots(...).units["meter.power"] == "W"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._protocols import DeviceError

__all__ = ["DATA_UNITS_METHOD", "data_units_of"]

DATA_UNITS_METHOD = "data_units"
"""The optional method of a data source that gives the unit of each label it reads."""


def _checked(name: str, units: Any) -> dict[str, str]:
    def refuse(what: str) -> DeviceError:
        return DeviceError(
            f"device {name!r}: data_units() {what}; it returns a mapping of label to a unit "
            "symbol (a non-empty str such as 'V') or None",
            device=name,
            step="data_units",
        )

    if not isinstance(units, Mapping):
        raise refuse(f"returned {type(units).__name__}")
    found: dict[str, str] = {}
    for label, unit in units.items():
        if not isinstance(label, str) or not label.strip():
            raise refuse(f"gave the label {label!r}")
        if unit is None:
            continue
        if not isinstance(unit, str) or not unit.strip():
            raise refuse(f"gave the unit {unit!r} for {label!r}")
        found[f"{name}.{label}"] = unit.strip()
    return found


def data_units_of(devices: Mapping[str, Any]) -> dict[str, str]:
    """The unit of each ``device.label`` column whose data source declares one.

    ``devices`` are open (in this process or on a device server). A device without a
    ``data_units`` method declares none; an error of the method, or an answer that is not a
    mapping of label to unit symbol, raises :class:`~shotbook.device.DeviceError` naming the
    device and the step ``data_units``.

    >>> class Meter:
    ...     def read_data(self): return {"power": 1e-3}
    ...     def data_units(self): return {"power": "W", "count": None}
    >>> data_units_of({"meter": Meter(), "lamp": object()})
    {'meter.power': 'W'}
    """
    found: dict[str, str] = {}
    for name, device in devices.items():
        if not callable(getattr(device, "read_data", None)):
            continue
        method = getattr(device, DATA_UNITS_METHOD, None)
        if not callable(method):
            continue
        try:
            units = method()
        except DeviceError:
            raise
        except Exception as error:
            raise DeviceError(
                f"device {name!r} failed to give its data units: {type(error).__name__}: {error}",
                device=name,
                step="data_units",
            ) from error
        found.update(_checked(name, units))
    return found
