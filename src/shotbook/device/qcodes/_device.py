"""QCoDeSInstrument: a QCoDeS instrument as a shotbook device (settings per shot, read-outs).

QCoDeS is imported when the device opens, never before; without it the device says
``install shotbook[qcodes] to use QCoDeSInstrument``.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from shotbook.types import Dimension, Unit, UnitError, parse_unit

from .._missing_driver import import_driver
from .._protocols import DeviceError, DeviceTimeoutError, remote
from ._drivers import driver_refusal, load_driver

__all__ = ["QCoDeSInstrument"]


@dataclass
class _Setting:
    parameter: str
    expression: str
    unit: str | None
    bounds: tuple[float, float] | None
    constant: float | bool | None
    only_when_changed: bool
    settle_time: float
    target: Any = None
    convert: Callable[[float], float] | None = None


@dataclass
class _Reading:
    parameter: str
    label: str
    unit: str | None
    target: Any = None
    convert: Callable[[float], float] | None = None
    stored_unit: str | None = None


def _unit_of(symbol: str) -> Unit | None:
    """A QCoDeS unit string as a shotbook unit; ``""`` is dimensionless (``None``)."""
    return None if not symbol.strip() else parse_unit(symbol)


def _dimension(unit: Unit | None) -> Dimension:
    return Dimension.NONE if unit is None else unit.dimension


def _conversion(source: Unit | None, target: Unit | None) -> Callable[[float], float] | None:
    """``None`` when the number needs no conversion, else a function ``source → target``."""
    if source is None and target is None:
        return None
    if source is not None and target is not None and source.symbol == target.symbol:
        return None
    if _dimension(source) != _dimension(target):
        raise ValueError(
            f"{source or '(no unit)'} ({_dimension(source)}) cannot be converted to "
            f"{target or '(no unit)'} ({_dimension(target)})"
        )
    to_si = (lambda x: x) if source is None else source.to_si
    from_si = (lambda x: x) if target is None else target.from_si
    return lambda x: float(from_si(to_si(x)))


class QCoDeSInstrument:
    """A QCoDeS instrument whose parameters are set before each shot and read after it.

    Built from the initialization parameters of :class:`~shotbook.device.qcodes.QCoDeSCompiler`
    (plain data). Opening it imports the driver (only a class under
    ``qcodes.instrument_drivers`` or allowed by the lab), connects, checks that the
    instrument answers, finds each parameter, converts units, and checks the configured
    bounds and constant values against the parameter's own validators, so that a value the
    instrument would refuse ends the sequence before shot 0, naming the expression.
    Closing it closes the instrument (QCoDeS keeps one instrument per name in a process).

    Shot parameters: ``{"values": [...]}`` (see the compiler); :meth:`read_data` gives each
    reading by label, in :meth:`data_units`.
    """

    shot_calls_inline = False  # talks to an instrument: called on a worker thread

    def __init__(
        self,
        name: str,
        *,
        driver: str = "",
        address: str = "",
        driver_options: Mapping[str, Any] | None = None,
        station: str | None = None,
        instrument: str | None = None,
        identify: bool = True,
        settings: Sequence[Mapping[str, Any]] = (),
        readings: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self._name = name
        self._driver = driver
        self._address = address
        self._options = dict(driver_options or {})
        self._station = station
        self._station_instrument = instrument
        self._identify = identify
        self._settings = [
            _Setting(
                parameter=str(s["parameter"]),
                expression=str(s["expression"]),
                unit=s.get("unit"),
                bounds=None if s.get("bounds") is None else (s["bounds"][0], s["bounds"][1]),
                constant=s.get("constant"),
                only_when_changed=bool(s.get("only_when_changed", True)),
                settle_time=float(s.get("settle_time", 0.0)),
            )
            for s in settings
        ]
        self._readings = [
            _Reading(str(r["parameter"]), str(r["label"]), r.get("unit")) for r in readings
        ]
        self._instrument: Any = None
        self._last: list[Any] = [None] * len(self._settings)

    @property
    def name(self) -> str:
        """The device name."""
        return self._name

    @property
    def where(self) -> str:
        """The instrument's driver and address, for messages."""
        if self._station is not None:
            return f"instrument {self._station_instrument!r} of station {self._station}"
        return f"{self._driver.rpartition('.')[2]} at {self._address or '(no address)'}"

    def _error(self, step: str, what: str, cause: BaseException | None = None) -> DeviceError:
        detail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        message = f"device {self._name!r} ({self.where}) failed to {step}: {what}{detail}"
        timed_out = isinstance(cause, TimeoutError) or "timeout" in str(cause).lower()
        kind = DeviceTimeoutError if cause is not None and timed_out else DeviceError
        return kind(message, device=self._name, step=step)

    # ------------------------------------------------------------------ open / close

    def __enter__(self) -> Self:
        import_driver("qcodes", "qcodes", "QCoDeSInstrument")
        try:
            self._instrument = self._connect()
            self._check_answers()
            for setting in self._settings:
                self._prepare_setting(setting)
            for reading in self._readings:
                self._prepare_reading(reading)
        except BaseException:
            self._close()
            raise
        self._last = [None] * len(self._settings)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        instrument, self._instrument = self._instrument, None
        if instrument is not None:
            with contextlib.suppress(Exception):  # must not hide the error that closes us
                instrument.close()

    def _instrument_name(self) -> str:
        text = re.sub(r"\W", "_", self._name)
        return text if text and not text[0].isdigit() else f"d_{text}"

    def _connect(self) -> Any:
        from qcodes.instrument import Instrument

        name = self._station_instrument if self._station is not None else self._instrument_name()
        assert name is not None
        if Instrument.exist(name):
            raise self._error(
                "open",
                f"an instrument named {name!r} is already open in this process (busy: another "
                "device uses it, or it was not closed)",
            )
        if self._station is not None:
            return self._connect_station(name)
        try:
            cls = load_driver(self._driver)
        except (ValueError, ImportError, AttributeError, TypeError) as error:
            raise self._error("open", "cannot load the driver", error) from error
        arguments = dict(self._options)
        if self._address:  # drivers without an address (simulations, mock instruments)
            arguments["address"] = self._address
        try:
            return cls(name, **arguments)
        except Exception as error:
            raise self._error("open", "cannot connect", error) from error

    def _connect_station(self, name: str) -> Any:
        from qcodes.station import Station
        from ruamel.yaml import YAML

        path = Path(str(self._station))
        try:
            document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
            driver = str(document["instruments"][name]["type"])
        except (OSError, KeyError, TypeError) as error:
            raise self._error(
                "open", f"cannot read instrument {name!r} from the station", error
            ) from error
        refusal = driver_refusal(driver)
        if refusal is not None:
            raise self._error("open", refusal)
        self._driver = driver
        try:
            load_driver(driver)
            station = Station(config_file=str(path), default=False)
            return station.load_instrument(name)
        except Exception as error:
            raise self._error("open", "cannot connect", error) from error

    def _check_answers(self) -> None:
        if not self._identify:
            return
        try:
            identity = self._instrument.get_idn()
        except Exception as error:
            raise self._error("open", "the instrument does not answer", error) from error
        if not any(identity.get(key) for key in ("vendor", "model", "serial")):
            raise self._error(
                "open",
                "the instrument does not answer its identity query (absent, off, or another "
                "address?)",
            )

    def _find(self, path: str, step: str) -> Any:
        from qcodes.parameters import ParameterBase

        node: Any = self._instrument
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.submodules.get(part) if hasattr(node, "submodules") else None
            if node is None:
                raise self._error(step, f"the instrument has no submodule {part!r} (in {path!r})")
        parameter = node.parameters.get(parts[-1])
        if not isinstance(parameter, ParameterBase):
            known = ", ".join(sorted(node.parameters)) or "none"
            raise self._error(step, f"the instrument has no parameter {path!r} (it has: {known})")
        return parameter

    def _prepare_setting(self, setting: _Setting) -> None:
        where = f"set {setting.parameter!r} = '{setting.expression}'"
        parameter = self._find(setting.parameter, "open")
        if not parameter.settable:
            raise self._error("open", f"{where}: the parameter cannot be set")
        try:  # a plain number (no unit) goes as is to a parameter of any unit text
            if setting.unit is not None:
                own = _unit_of(str(parameter.unit or ""))
                setting.convert = _conversion(parse_unit(setting.unit), own)
        except (UnitError, ValueError) as error:
            raise self._error("open", f"{where}: the units do not match", error) from None
        setting.target = parameter
        checks: list[tuple[str, Any]] = []
        if setting.bounds is not None:
            checks += [
                ("the lower bound", setting.bounds[0]),
                ("the upper bound", setting.bounds[1]),
            ]
        if setting.constant is not None:
            checks.append(("the value", setting.constant))
        for what, value in checks:
            sent = self._converted(setting, value)
            try:
                parameter.validate(sent)
            except Exception as error:
                unit = f" {setting.unit}" if setting.unit else ""
                raise self._error(
                    "open",
                    f"{where}: {what} {value!r}{unit} is refused by the instrument's validator "
                    f"({parameter.vals})",
                    error,
                ) from None

    def _prepare_reading(self, reading: _Reading) -> None:
        parameter = self._find(reading.parameter, "open")
        if not parameter.gettable:
            raise self._error("open", f"read {reading.parameter!r}: the parameter cannot be read")
        own_symbol = str(parameter.unit or "")
        try:  # the value is kept as read (in any unit text) unless a unit is asked for
            if reading.unit is not None:
                reading.convert = _conversion(_unit_of(own_symbol), parse_unit(reading.unit))
        except (UnitError, ValueError) as error:
            raise self._error(
                "open", f"read {reading.parameter!r}: the units do not match", error
            ) from None
        reading.stored_unit = reading.unit if reading.unit is not None else (own_symbol or None)
        reading.target = parameter

    @staticmethod
    def _converted(setting: _Setting, value: Any) -> Any:
        if isinstance(value, bool) or setting.convert is None:
            return value
        return setting.convert(float(value))

    # ------------------------------------------------------------------ shots

    @remote
    def update_parameters(self, values: Sequence[Any] = ()) -> None:
        """Set each setting to this shot's value (skipped when unchanged, if so configured),
        then wait the longest settle time of those set."""
        if self._instrument is None:
            raise self._error("update_parameters", "the device is not open")
        if len(values) != len(self._settings):
            raise self._error(
                "update_parameters",
                f"got {len(values)} value(s) for {len(self._settings)} setting(s)",
            )
        settle = 0.0
        for index, (setting, value) in enumerate(zip(self._settings, values, strict=True)):
            sent = self._converted(setting, value)
            if setting.only_when_changed and self._last[index] == sent:
                continue
            self._last[index] = None  # unknown until the set succeeds
            try:
                setting.target.set(sent)
            except Exception as error:
                raise self._error(
                    "update_parameters",
                    f"set {setting.parameter!r} = '{setting.expression}' = {value!r}"
                    f"{' ' + setting.unit if setting.unit else ''}",
                    error,
                ) from error
            self._last[index] = sent
            settle = max(settle, setting.settle_time)
        if settle > 0:
            time.sleep(settle)

    @remote
    def read_data(self) -> dict[str, Any]:
        """Each reading's value, by label, in :meth:`data_units`."""
        if self._instrument is None:
            raise self._error("read_data", "the device is not open")
        data: dict[str, Any] = {}
        for reading in self._readings:
            try:
                value = reading.target.get()
            except Exception as error:
                raise self._error("read_data", f"read {reading.parameter!r}", error) from error
            if reading.convert is not None:
                value = reading.convert(float(value))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                value = float(value) if not isinstance(value, int) else value
            data[reading.label] = value
        return data

    @remote
    def data_units(self) -> dict[str, str | None]:
        """The unit of each reading's values, by label (known once the device is open)."""
        return {r.label: r.stored_unit for r in self._readings}

    def __repr__(self) -> str:
        state = "open" if self._instrument is not None else "closed"
        return f"QCoDeSInstrument({self._name!r}, {self.where}, {state})"
