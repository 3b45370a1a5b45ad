"""Compiling a QCoDeS instrument's configuration: static checks and per-shot values.

Shot parameters: ``{"values": [value, ...]}``, one per setting in the configuration's order,
in the setting's ``unit`` (a float, or a bool). Initialization parameters: the keyword
arguments of :class:`~shotbook.device.qcodes.QCoDeSInstrument` (plain data, so that a device
server can build it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shotbook.compile import SequenceCheckContext, ShotContext

from .._instrument_values import InstrumentValues
from ._configuration import QCoDeSInstrumentConfiguration
from ._drivers import driver_refusal

__all__ = ["QCoDeSCompiler"]


class QCoDeSCompiler:
    """Turns a :class:`QCoDeSInstrumentConfiguration` into what the device needs."""

    def __init__(self, device_name: str, configuration: QCoDeSInstrumentConfiguration) -> None:
        self.device_name = device_name
        self.configuration = configuration
        self._values = InstrumentValues(
            device_name, [s.instrument_value() for s in configuration.settings]
        )

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """The device's keyword arguments (besides ``name``)."""
        config = self.configuration
        return {
            "driver": config.driver,
            "address": config.address,
            "driver_options": dict(config.driver_options),
            "station": config.station,
            "instrument": config.instrument,
            "identify": config.identify,
            "settings": [
                {
                    "parameter": setting.parameter,
                    "expression": setting.value,
                    "unit": setting.unit,
                    "bounds": None if setting.bounds is None else list(setting.bounds),
                    "constant": value.constant(),
                    "only_when_changed": setting.only_when_changed,
                    "settle_time": setting.settle_time,
                }
                for setting, value in zip(config.settings, self._values.values, strict=True)
            ],
            "readings": [
                {"parameter": r.parameter, "label": r.label, "unit": r.unit}
                for r in config.readings
            ],
        }

    def check_configuration(self, check: SequenceCheckContext) -> None:
        """The driver is accepted; each setting's expression has its unit's dimension and a
        constant one is within its bounds. Imports no driver and touches no instrument."""
        config = self.configuration
        if config.station is None:
            refusal = driver_refusal(config.driver)
            if refusal is not None:
                check.report(refusal, device=self.device_name)
        self._values.check(check)

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """``{"values": [...]}``: each setting's value for this shot, in its unit."""
        return self._values.shot_parameters(context)
