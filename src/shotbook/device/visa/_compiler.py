"""Compiling a SCPI instrument's configuration: static checks and per-shot values.

Shot parameters: ``{"values": [value, ...]}``, one per command in the configuration's order,
in the command's ``unit`` (a float, or a bool). Initialization parameters: the keyword
arguments of :class:`~shotbook.device.visa.VISAInstrument` (plain data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shotbook.compile import SequenceCheckContext, ShotContext

from .._instrument_values import InstrumentValues
from ._configuration import VISAInstrumentConfiguration

__all__ = ["VISACompiler"]


class VISACompiler:
    """Turns a :class:`VISAInstrumentConfiguration` into what the device needs."""

    def __init__(self, device_name: str, configuration: VISAInstrumentConfiguration) -> None:
        self.device_name = device_name
        self.configuration = configuration
        self._values = InstrumentValues(
            device_name, [c.instrument_value() for c in configuration.commands]
        )

    def compile_initialization_parameters(self) -> Mapping[str, Any]:
        """The device's keyword arguments (besides ``name``)."""
        config = self.configuration
        return {
            "address": config.address,
            "backend": config.backend,
            "timeout": config.timeout,
            "read_termination": config.read_termination,
            "write_termination": config.write_termination,
            "identify_query": config.identify_query,
            "settle_time": config.settle_time,
            "commands": [
                {
                    "template": c.template,
                    "expression": c.value,
                    "only_when_changed": c.only_when_changed,
                }
                for c in config.commands
            ],
            "queries": [
                {"query": q.query, "label": q.label, "kind": q.kind, "unit": q.unit}
                for q in config.queries
            ],
        }

    def check_configuration(self, check: SequenceCheckContext) -> None:
        """Each command's expression has its unit's dimension; a constant one is within its
        bounds. Touches no instrument."""
        self._values.check(check)

    def compile_shot_parameters(self, context: ShotContext) -> Mapping[str, Any]:
        """``{"values": [...]}``: each command's value for this shot, in its unit."""
        return self._values.shot_parameters(context)
