"""Any QCoDeS instrument parameter as a per-shot setting and a read-out.

* :class:`QCoDeSInstrumentConfiguration` names an instrument (driver class and address, or a
  station YAML), the :class:`QCoDeSSetting` set before each shot from expressions
  (``frequency = aom.frequency + 2 MHz``) and the :class:`QCoDeSReading` read after it
  (stored as ``device.label`` columns);
* :class:`QCoDeSCompiler` checks it before the sequence runs and computes each shot's values;
* :class:`QCoDeSInstrument` is the device (QCoDeS is imported only when it opens: ``pip
  install 'shotbook[qcodes]'``);
* :func:`allow_qcodes_drivers` lets a lab use driver classes outside
  ``qcodes.instrument_drivers``; :func:`register_qcodes_types` and
  :func:`qcodes_device_extension` register all of it.

Example::

    from shotbook.device.qcodes import (QCoDeSInstrumentConfiguration, QCoDeSReading,
                                        QCoDeSSetting, qcodes_device_extension)

    experiment.register_device_extension(qcodes_device_extension())
    rf = QCoDeSInstrumentConfiguration(
        driver="qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A",
        address="TCPIP0::192.168.1.20::inst0::INSTR",
        settings=(QCoDeSSetting("frequency", "aom.frequency + 2 MHz", unit="MHz"),
                  QCoDeSSetting("power", "rf.power", unit="dBm", bounds=(-30, 10))),
    )
"""

from __future__ import annotations

from collections.abc import MutableMapping

from shotbook.compile import CompilerFactory
from shotbook.registry import DeviceExtension, TypeRegistry

from .._registration import register_device_class
from ._compiler import QCoDeSCompiler
from ._configuration import QCoDeSInstrumentConfiguration, QCoDeSReading, QCoDeSSetting
from ._device import QCoDeSInstrument
from ._drivers import allow_qcodes_drivers, allowed_qcodes_drivers, driver_refusal

__all__ = [
    "QCoDeSCompiler",
    "QCoDeSInstrument",
    "QCoDeSInstrumentConfiguration",
    "QCoDeSReading",
    "QCoDeSSetting",
    "allow_qcodes_drivers",
    "allowed_qcodes_drivers",
    "driver_refusal",
    "qcodes_device_extension",
    "register_qcodes_types",
]

SGS100A_SIMULATION = QCoDeSInstrumentConfiguration(
    driver="qcodes.instrument_drivers.rohde_schwarz.RohdeSchwarzSGS100A",
    address="GPIB::1::INSTR",
    driver_options={"pyvisa_sim_file": "qcodes.instrument.sims:RSSGS100A.yaml"},
    settings=(QCoDeSSetting("frequency", "80 MHz", unit="MHz", bounds=(1, 20_000)),),
    readings=(QCoDeSReading("frequency", unit="MHz"),),
)
"""A configuration of QCoDeS's simulated R&S SGS100A (the device extension's default)."""


def register_qcodes_types(
    registry: TypeRegistry, compilers: MutableMapping[type, CompilerFactory] | None = None
) -> dict[type, CompilerFactory]:
    """Register the configuration types (``"qcodes_instrument_configuration"``,
    ``"qcodes_setting"``, ``"qcodes_reading"``) and the device class
    (``"qcodes_instrument"``) in ``registry``; return the compiler (also added to
    ``compilers``). Imports no QCoDeS.

    >>> from shotbook.registry import default_registry
    >>> registry = default_registry()
    >>> _ = register_qcodes_types(registry)
    >>> "qcodes_instrument" in registry
    True
    """
    for tag, cls in (
        ("qcodes_setting", QCoDeSSetting),
        ("qcodes_reading", QCoDeSReading),
        ("qcodes_instrument_configuration", QCoDeSInstrumentConfiguration),
    ):
        if not registry.is_registered(cls):
            registry.register(tag, cls)
    if "qcodes_instrument" not in registry:
        register_device_class(registry, "qcodes_instrument", QCoDeSInstrument)
    added: dict[type, CompilerFactory] = {QCoDeSInstrumentConfiguration: QCoDeSCompiler}
    if compilers is not None:
        compilers.update(added)
    return added


def _register(registry: TypeRegistry) -> None:
    register_qcodes_types(registry)


def qcodes_device_extension() -> DeviceExtension:
    """The QCoDeS instrument as a device extension (``Experiment.register_device_extension``)."""
    return DeviceExtension(
        label="QCoDeS instrument",
        configuration_type=QCoDeSInstrumentConfiguration,
        configuration_factory=lambda: SGS100A_SIMULATION,
        register_types=_register,
        compiler_type=QCoDeSCompiler,
        device_type=QCoDeSInstrument,
        description="Any QCoDeS instrument: parameters set before each shot, read after it",
    )
