"""Device servers: devices in another process or computer, reached over ZeroMQ.

A :class:`DeviceServer` builds devices from classes registered by tag (never from code
sent by a client), serves only their remote methods, and serves one experiment manager at a
time (a lease). Clients use :class:`DeviceServerConnection` and :class:`RemoteDevice`, which
behaves like the device itself.

Example::

    from shotbook.device.remote import InsecureRPCConfiguration, run_device_server

    run_device_server(InsecureRPCConfiguration(host="0.0.0.0", port=5560), registry, "lab-pc-2")
"""

from .._registration import register_device_class
from ._client import DeviceServerConnection, RemoteDevice
from ._config import (
    ClientRPCConfiguration,
    InsecureRPCConfiguration,
    RPCConfiguration,
    SecureRPCClientConfiguration,
    SecureRPCConfiguration,
    keygen,
    register_remote_types,
)
from ._server import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DeviceServer,
    DeviceServerBusyError,
    DeviceServerError,
    run_device_server,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "ClientRPCConfiguration",
    "DeviceServer",
    "DeviceServerBusyError",
    "DeviceServerConnection",
    "DeviceServerError",
    "InsecureRPCConfiguration",
    "RPCConfiguration",
    "RemoteDevice",
    "SecureRPCClientConfiguration",
    "SecureRPCConfiguration",
    "keygen",
    "register_device_class",
    "register_remote_types",
    "run_device_server",
]
