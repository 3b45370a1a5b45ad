"""Plain SCPI instruments through PyVISA, for labs without QCoDeS.

* :class:`VISAInstrumentConfiguration`: the VISA address, :class:`SCPICommand` sent before
  each shot (``"FREQ {value:.6f}"`` with the value of an expression) and :class:`SCPIQuery`
  whose replies are stored as ``device.label`` columns;
* :class:`VISACompiler` checks it before the sequence runs and computes each shot's values;
* :class:`VISAInstrument` is the device (PyVISA is imported only when it opens: ``pip
  install 'shotbook[visa]'``);
* :func:`register_visa_types` and :func:`visa_device_extension` register all of it.

Example::

    from shotbook.device.visa import (SCPICommand, SCPIQuery, VISAInstrumentConfiguration,
                                      visa_device_extension)

    experiment.register_device_extension(visa_device_extension())
    synth = VISAInstrumentConfiguration(
        address="TCPIP0::192.168.1.30::INSTR",
        commands=(SCPICommand("FREQ {value:.6f}", "aom.frequency + 2 MHz", unit="MHz"),),
        queries=(SCPIQuery("MEAS:VOLT?", "voltage", unit="V"),),
    )
"""

from __future__ import annotations

from collections.abc import MutableMapping

from shotbook.compile import CompilerFactory
from shotbook.registry import DeviceExtension, TypeRegistry

from .._registration import register_device_class
from ._compiler import VISACompiler
from ._configuration import (
    SCPICommand,
    SCPIQuery,
    VISAInstrumentConfiguration,
    format_command,
    parse_command_template,
)
from ._device import VISAInstrument

__all__ = [
    "SCPICommand",
    "SCPIQuery",
    "VISACompiler",
    "VISAInstrument",
    "VISAInstrumentConfiguration",
    "format_command",
    "parse_command_template",
    "register_visa_types",
    "visa_device_extension",
]


def register_visa_types(
    registry: TypeRegistry, compilers: MutableMapping[type, CompilerFactory] | None = None
) -> dict[type, CompilerFactory]:
    """Register the configuration types (``"visa_instrument_configuration"``,
    ``"scpi_command"``, ``"scpi_query"``) and the device class (``"visa_instrument"``) in
    ``registry``; return the compiler (also added to ``compilers``). Imports no PyVISA.

    >>> from shotbook.registry import default_registry
    >>> registry = default_registry()
    >>> _ = register_visa_types(registry)
    >>> "visa_instrument" in registry
    True
    """
    for tag, cls in (
        ("scpi_command", SCPICommand),
        ("scpi_query", SCPIQuery),
        ("visa_instrument_configuration", VISAInstrumentConfiguration),
    ):
        if not registry.is_registered(cls):
            registry.register(tag, cls)
    if "visa_instrument" not in registry:
        register_device_class(registry, "visa_instrument", VISAInstrument)
    added: dict[type, CompilerFactory] = {VISAInstrumentConfiguration: VISACompiler}
    if compilers is not None:
        compilers.update(added)
    return added


def _register(registry: TypeRegistry) -> None:
    register_visa_types(registry)


def _example() -> VISAInstrumentConfiguration:
    return VISAInstrumentConfiguration(
        address="TCPIP0::192.168.1.30::INSTR",
        commands=(SCPICommand("FREQ {value:.6f}", "80 MHz", unit="MHz"),),
        queries=(SCPIQuery("MEAS:VOLT?", "voltage", unit="V"),),
    )


def visa_device_extension() -> DeviceExtension:
    """The SCPI instrument as a device extension (``Experiment.register_device_extension``)."""
    return DeviceExtension(
        label="SCPI instrument (PyVISA)",
        configuration_type=VISAInstrumentConfiguration,
        configuration_factory=_example,
        register_types=_register,
        compiler_type=VISACompiler,
        device_type=VISAInstrument,
        description="Any SCPI instrument: commands sent before each shot, queries stored after",
    )
