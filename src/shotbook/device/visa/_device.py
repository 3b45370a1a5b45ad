"""VISAInstrument: a SCPI instrument driven through PyVISA, imported only when it opens."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any, Self

from .._missing_driver import import_driver
from .._protocols import DeviceError, DeviceTimeoutError, remote
from ._configuration import Piece, backend_refusal, format_command, parse_command_template

__all__ = ["VISAInstrument"]


class VISAInstrument:
    """A SCPI instrument: templated commands before each shot, queries stored after it.

    Built from the initialization parameters of :class:`~shotbook.device.visa.VISACompiler`
    (plain data). Opening it imports PyVISA, opens the resource and asks ``identify_query``
    (an instrument that does not answer fails here, naming its address). Errors and
    time-outs name the device, its address and the step (``open``, ``update_parameters``,
    ``read_data``).

    Shot parameters: ``{"values": [...]}``, one per command.
    """

    shot_calls_inline = False  # talks to an instrument: called on a worker thread

    def __init__(
        self,
        name: str,
        *,
        address: str,
        backend: str = "",
        timeout: float = 2.0,
        read_termination: str = "\n",
        write_termination: str = "\n",
        identify_query: str = "*IDN?",
        settle_time: float = 0.0,
        commands: Sequence[Mapping[str, Any]] = (),
        queries: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self._name = name
        self._address = address
        self._backend = backend
        self._timeout = float(timeout)
        self._terminations = (read_termination, write_termination)
        self._identify_query = identify_query
        self._settle_time = float(settle_time)
        self._commands: list[tuple[tuple[Piece, ...], str, bool]] = [
            (
                parse_command_template(str(c["template"])),
                str(c["expression"]),
                bool(c.get("only_when_changed", True)),
            )
            for c in commands
        ]
        self._queries = [
            (str(q["query"]), str(q["label"]), str(q.get("kind", "float"))) for q in queries
        ]
        self._units: dict[str, str | None] = {str(q["label"]): q.get("unit") for q in queries}
        self._manager: Any = None
        self._resource: Any = None
        self._last: list[str | None] = [None] * len(self._commands)
        self.identity = ""

    @property
    def name(self) -> str:
        """The device name."""
        return self._name

    def _error(self, step: str, what: str, cause: BaseException | None = None) -> DeviceError:
        detail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        message = f"device {self._name!r} (VISA {self._address}) failed to {step}: {what}{detail}"
        timed_out = isinstance(cause, TimeoutError) or "VI_ERROR_TMO" in str(cause)
        kind = DeviceTimeoutError if cause is not None and timed_out else DeviceError
        return kind(message, device=self._name, step=step)

    def __enter__(self) -> Self:
        refusal = backend_refusal(self._backend)
        if refusal is not None:  # checked again here: the arguments may come from a message
            raise self._error("open", refusal)
        pyvisa = import_driver("pyvisa", "visa", "VISAInstrument")
        try:
            self._manager = pyvisa.ResourceManager(self._backend)
        except Exception as error:
            raise self._error("open", f"no VISA backend {self._backend!r}", error) from error
        try:
            read, write = self._terminations
            self._resource = self._manager.open_resource(
                self._address,
                timeout=self._timeout * 1000.0,
                read_termination=read or None,
                write_termination=write,
            )
            if self._identify_query:
                self.identity = str(self._resource.query(self._identify_query)).strip()
                if not self.identity:
                    raise ConnectionError("the reply is empty")
        except Exception as error:
            what = (
                f"no answer to {self._identify_query!r} (absent, busy or another address?)"
                if self._resource is not None
                else "cannot open the resource"
            )
            self._close()
            raise self._error("open", what, error) from error
        self._last = [None] * len(self._commands)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        resource, self._resource = self._resource, None
        manager, self._manager = self._manager, None
        for closable in (resource, manager):
            if closable is not None:
                with contextlib.suppress(Exception):  # must not hide the error that closes us
                    closable.close()

    @remote
    def update_parameters(self, values: Sequence[Any] = ()) -> None:
        """Send each command with this shot's value (skipped when its text is unchanged, if
        so configured); then wait ``settle_time`` if any was sent."""
        if self._resource is None:
            raise self._error("update_parameters", "the device is not open")
        if len(values) != len(self._commands):
            raise self._error(
                "update_parameters",
                f"got {len(values)} value(s) for {len(self._commands)} command(s)",
            )
        sent_any = False
        for index, ((pieces, expression, only_when_changed), value) in enumerate(
            zip(self._commands, values, strict=True)
        ):
            try:
                text = format_command(pieces, value)
            except ValueError as error:
                raise self._error(
                    "update_parameters", f"cannot format '{expression}' = {value!r}", error
                ) from None
            if only_when_changed and self._last[index] == text:
                continue
            self._last[index] = None
            try:
                self._resource.write(text)
            except Exception as error:
                raise self._error(
                    "update_parameters", f"send {text!r} ('{expression}')", error
                ) from error
            self._last[index] = text
            sent_any = True
        if sent_any and self._settle_time > 0:
            time.sleep(self._settle_time)

    @remote
    def read_data(self) -> dict[str, Any]:
        """Each query's reply, by label (``float`` or ``int``)."""
        if self._resource is None:
            raise self._error("read_data", "the device is not open")
        data: dict[str, Any] = {}
        for query, label, kind in self._queries:
            try:
                reply = str(self._resource.query(query)).strip()
            except Exception as error:
                raise self._error("read_data", f"query {query!r}", error) from error
            try:
                data[label] = int(reply) if kind == "int" else float(reply)
            except ValueError:
                raise self._error(
                    "read_data", f"query {query!r}: the reply {reply[:80]!r} is not a {kind}"
                ) from None
        return data

    @remote
    def data_units(self) -> dict[str, str | None]:
        """The unit of each query's values, by label."""
        return dict(self._units)

    def __repr__(self) -> str:
        state = "open" if self._resource is not None else "closed"
        return f"VISAInstrument({self._name!r}, {self._address!r}, {state})"
