"""Registering the Basler camera: configuration type, compiler and device class."""

from __future__ import annotations

from collections.abc import MutableMapping

from shotbook.compile import CompilerFactory, register_compile_types
from shotbook.registry import DeviceExtension, TypeRegistry

from .._registration import register_device_class
from ._camera import BaslerCamera
from ._configuration import BaslerCameraCompiler, BaslerCameraConfiguration


def register_basler_types(
    registry: TypeRegistry, compilers: MutableMapping[type, CompilerFactory] | None = None
) -> dict[type, CompilerFactory]:
    """Register ``"basler_camera_configuration"`` and the device class ``"basler_camera"``
    (so that device servers given ``registry`` can build it); returns the compiler (also
    added to ``compilers`` when given). Imports no driver.

    Example:
        >>> from shotbook.registry import default_registry
        >>> registry = default_registry()
        >>> compilers = register_basler_types(registry)
        >>> "basler_camera" in registry, BaslerCameraConfiguration in compilers
        (True, True)
    """
    register_compile_types(registry)
    if not registry.is_registered(BaslerCameraConfiguration):
        registry.register("basler_camera_configuration", BaslerCameraConfiguration)
    if not registry.is_registered(BaslerCamera):
        register_device_class(registry, "basler_camera", BaslerCamera)
    added: dict[type, CompilerFactory] = {BaslerCameraConfiguration: BaslerCameraCompiler}
    if compilers is not None:
        compilers.update(added)
    return added


def _register(registry: TypeRegistry) -> None:
    register_basler_types(registry)


def basler_device_extension() -> DeviceExtension:
    """The Basler camera as a device extension: ``experiment.register_device_extension(...)``."""
    return DeviceExtension(
        label="basler camera",
        configuration_type=BaslerCameraConfiguration,
        configuration_factory=lambda: BaslerCameraConfiguration(
            roi=(0, 0, 640, 480), sensor_size=(640, 480)
        ),
        register_types=_register,
        compiler_type=BaslerCameraCompiler,
        device_type=BaslerCamera,
        description="A Basler (GenICam) camera through pypylon (shotbook[basler])",
    )
