"""The configuration of a QCoDeS instrument: what to set before each shot, what to read after.

Frozen dataclasses saved with each sequence (registered by
:func:`~shotbook.device.qcodes.register_qcodes_types`); nothing here imports QCoDeS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shotbook.compile import ConfigurationError
from shotbook.types import Expression

from .._instrument_values import (
    InstrumentValue,
    check_bounds,
    check_expression,
    check_seconds,
    check_unit,
)

__all__ = ["QCoDeSInstrumentConfiguration", "QCoDeSReading", "QCoDeSSetting"]

_OPTION_TYPES = (str, int, float, bool, type(None))


def _parameter_path(value: Any, where: str) -> str:
    if not isinstance(value, str) or not all(p.isidentifier() for p in value.split(".")):
        raise ConfigurationError(
            f"{where}: parameter is the name of an instrument parameter, dotted through "
            f"submodules ('frequency', 'ch1.voltage'), got {value!r}"
        )
    if any(part.startswith("_") for part in value.split(".")):
        raise ConfigurationError(f"{where}: parameter {value!r} names a private attribute")
    return value


@dataclass(frozen=True)
class QCoDeSSetting:
    """An instrument parameter set before each shot to the value of an expression.

    ``value`` is evaluated with the shot's parameters and sent in ``unit`` (its dimension is
    checked against the expression's before the sequence runs; ``None``: dimensionless, or a
    bool). The instrument receives it converted to the parameter's own unit (e.g. MHz → Hz).
    ``bounds`` ``(low, high)`` in ``unit`` are checked statically for constant expressions
    and at each shot otherwise. With ``only_when_changed`` the parameter is set only when its
    value differs from the one this device set last; ``settle_time`` (s) is waited after
    setting it.

    >>> QCoDeSSetting("frequency", "aom.frequency + 2 MHz", unit="MHz").unit
    'MHz'
    """

    parameter: str
    value: str
    unit: str | None = None
    bounds: tuple[float, float] | None = None
    only_when_changed: bool = True
    settle_time: float = 0.0

    def __post_init__(self) -> None:
        where = f"setting {self.parameter!r}"
        _parameter_path(self.parameter, where)
        object.__setattr__(self, "value", check_expression(self.value, f"{where}: value"))
        object.__setattr__(self, "unit", check_unit(self.unit, where))
        object.__setattr__(self, "bounds", check_bounds(self.bounds, where))
        if not isinstance(self.only_when_changed, bool):
            raise ConfigurationError(f"{where}: only_when_changed is a bool")
        object.__setattr__(
            self, "settle_time", check_seconds(self.settle_time, f"{where}: settle_time")
        )

    def instrument_value(self) -> InstrumentValue:
        """The value as the compilers see it."""
        return InstrumentValue(
            f"parameter {self.parameter!r}", Expression(self.value), self.unit, self.bounds
        )


@dataclass(frozen=True)
class QCoDeSReading:
    """An instrument parameter read after each shot, stored as the column ``device.label``.

    ``label`` defaults to the parameter's name (dots become ``_``); ``unit`` converts the
    value read from the parameter's own unit (``None``: kept in the parameter's unit).
    """

    parameter: str
    label: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        where = f"reading {self.parameter!r}"
        _parameter_path(self.parameter, where)
        if self.label is None:
            object.__setattr__(self, "label", self.parameter.replace(".", "_"))
        elif not isinstance(self.label, str) or not self.label.strip() or "." in self.label:
            raise ConfigurationError(f"{where}: label is a non-empty str without '.'")
        object.__setattr__(self, "unit", check_unit(self.unit, where))


@dataclass(frozen=True)
class QCoDeSInstrumentConfiguration:
    """One QCoDeS instrument: its driver and address (or a station YAML), what to set
    before each shot and what to read after it.

    * ``driver``: the driver class's full path, under ``qcodes.instrument_drivers`` or
      allowed by the lab (:func:`~shotbook.device.qcodes.allow_qcodes_drivers`);
    * ``address``: the VISA address (or what the driver takes as ``address``);
    * ``driver_options``: more keyword arguments of the driver (str, number, bool or None),
      e.g. ``{"pyvisa_sim_file": "qcodes.instrument.sims:RSSGS100A.yaml"}``;
    * ``station`` and ``instrument``: instead of ``driver``/``address``, a QCoDeS station
      YAML (a path on the computer that opens the device) and the instrument's name in it;
    * ``identify``: at open, ask the instrument its identity (``*IDN?``) and fail when it
      does not answer (an absent instrument).

    Example::

        QCoDeSInstrumentConfiguration(
            driver="qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A",
            address="TCPIP0::192.168.1.20::inst0::INSTR",
            settings=(QCoDeSSetting("frequency", "aom.frequency + 2 MHz", unit="MHz",
                                    bounds=(1, 6000)),
                      QCoDeSSetting("power", "rf.power", unit="dBm")),
        )
    """

    driver: str = ""
    address: str = ""
    settings: tuple[QCoDeSSetting, ...] = ()
    readings: tuple[QCoDeSReading, ...] = ()
    driver_options: Mapping[str, Any] | tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    station: str | None = None
    instrument: str | None = None
    identify: bool = True
    device_server: str | None = None

    device_type: ClassVar[str] = "qcodes_instrument"

    def data_labels(self) -> tuple[str, ...]:
        """The labels of the columns ``device.label`` stored after each shot."""
        return tuple(str(item.label) for item in self.readings)

    def __post_init__(self) -> None:
        if self.station is None:
            if not isinstance(self.driver, str) or not self.driver:
                raise ConfigurationError("driver is the driver class's dotted path (or a station)")
            if self.instrument is not None:
                raise ConfigurationError("instrument names an instrument of a station: set station")
        else:
            if not isinstance(self.station, str) or not self.station.strip():
                raise ConfigurationError(f"station is a YAML path, got {self.station!r}")
            if not isinstance(self.instrument, str) or not self.instrument.isidentifier():
                raise ConfigurationError(
                    f"instrument is the instrument's name in the station, got {self.instrument!r}"
                )
            if self.driver:
                raise ConfigurationError("give a driver or a station, not both")
        if not isinstance(self.address, str):
            raise ConfigurationError(f"address is a str, got {self.address!r}")
        settings = tuple(self.settings)
        readings = tuple(self.readings)
        if not all(isinstance(s, QCoDeSSetting) for s in settings):
            raise ConfigurationError("settings are QCoDeSSetting")
        if not all(isinstance(r, QCoDeSReading) for r in readings):
            raise ConfigurationError("readings are QCoDeSReading")
        for kind, names in (
            ("set", [s.parameter for s in settings]),
            ("read as label", [str(r.label) for r in readings]),
        ):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ConfigurationError(f"parameter(s) {kind} twice: {twice}")
        object.__setattr__(self, "settings", settings)
        object.__setattr__(self, "readings", readings)
        object.__setattr__(self, "driver_options", _options(self.driver_options))
        if not isinstance(self.identify, bool):
            raise ConfigurationError("identify is a bool")

    @property
    def where(self) -> str:
        """The driver and address (or the station and instrument), for messages."""
        if self.station is not None:
            return f"instrument {self.instrument!r} of station {self.station}"
        return f"{self.driver.rpartition('.')[2]} at {self.address or '(no address)'}"


def _options(options: Any) -> tuple[tuple[str, Any], ...]:
    items = options.items() if isinstance(options, Mapping) else options
    try:
        pairs = [(key, value) for key, value in items]
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"driver_options is a mapping of keyword to value, got {options!r}"
        ) from None
    for key, value in pairs:
        if not isinstance(key, str) or not key.isidentifier() or key in ("name", "address"):
            raise ConfigurationError(f"driver_options: {key!r} is not a keyword argument name")
        if not isinstance(value, _OPTION_TYPES):
            raise ConfigurationError(
                f"driver_options[{key!r}] is a str, number, bool or None, got {value!r}"
            )
    return tuple(sorted(pairs))
