"""The configuration of a plain SCPI instrument: per-shot commands and stored queries.

A command is a template with one or more ``{value}`` fields, each with an optional format
spec (``"FREQ {value:.6f}"``). Templates are parsed with :class:`string.Formatter`; only the
field name ``value`` is accepted: no positional field, no attribute or index access
(``{value.real}``, ``{value[0]}``), no conversion (``!r``) and no nested field in a spec.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import ClassVar, Literal

from shotbook.compile import ConfigurationError
from shotbook.types import Expression

from .._instrument_values import (
    InstrumentValue,
    check_bounds,
    check_expression,
    check_seconds,
    check_unit,
)

__all__ = [
    "SCPICommand",
    "SCPIQuery",
    "VISAInstrumentConfiguration",
    "backend_refusal",
    "format_command",
    "parse_command_template",
]

Piece = tuple[str, str | None]
"""A literal text, then the format spec of the ``{value}`` that follows it (``None``: none)."""

_INTEGER_TYPES = frozenset("bcdoxXn")
VISA_BACKENDS = frozenset({"ivi", "py", "sim"})
"""The PyVISA backends a configuration may name (PyVISA imports ``pyvisa_<name>`` for others:
a device server never imports a module named by a message)."""


def backend_refusal(backend: str) -> str | None:
    """Why the PyVISA backend string is refused, or ``None`` when it is accepted.

    >>> backend_refusal("sims/synth.yaml@sim") is None, backend_refusal("") is None
    (True, True)
    >>> print(backend_refusal("@evil"))
    backend '@evil': the part after '@' is one of ivi, py, sim, got 'evil'
    """
    if not isinstance(backend, str):
        return f"backend is a str, got {backend!r}"
    if "@" not in backend:
        return None  # a VISA library path, loaded by the IVI backend
    name = backend.rpartition("@")[2]
    if name not in VISA_BACKENDS:
        return (
            f"backend {backend!r}: the part after '@' is one of "
            f"{', '.join(sorted(VISA_BACKENDS))}, got {name!r}"
        )
    return None


def parse_command_template(template: str) -> tuple[Piece, ...]:
    """The pieces of a command template, or ``ConfigurationError`` saying what is refused.

    >>> parse_command_template("FREQ {value:.6f} Hz")
    (('FREQ ', '.6f'), (' Hz', None))
    >>> parse_command_template("FREQ {value.real}")
    Traceback (most recent call last):
    ...
    shotbook.compile._configurations.ConfigurationError: command 'FREQ {value.real}': only \
'{value}' fields (with a format spec) are accepted, got '{value.real}'
    """
    if not isinstance(template, str) or not template.strip():
        raise ConfigurationError(f"a command is a non-empty str template, got {template!r}")
    where = f"command {template!r}"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ConfigurationError(f"{where}: {error}") from None
    pieces: list[Piece] = []
    fields = 0
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None))
            continue
        if name != "value":
            raise ConfigurationError(
                f"{where}: only '{{value}}' fields (with a format spec) are accepted, got "
                f"'{{{name}}}'"
            )
        if conversion is not None:
            raise ConfigurationError(f"{where}: conversions ('!{conversion}') are not accepted")
        if spec and ("{" in spec or "}" in spec):
            raise ConfigurationError(f"{where}: a format spec cannot hold a field ({spec!r})")
        pieces.append((literal, spec or ""))
        fields += 1
    if fields == 0:
        raise ConfigurationError(f"{where}: the command needs a '{{value}}' field")
    for _, spec in pieces:
        if spec is not None:
            try:
                _format(1.0, spec)
            except (ValueError, TypeError) as error:
                raise ConfigurationError(f"{where}: bad format spec {spec!r}: {error}") from None
    return tuple(pieces)


def _format(value: float | bool, spec: str) -> str:
    if spec and spec[-1] in _INTEGER_TYPES:
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{value!r} is not an integer, as the spec {spec!r} needs")
        return format(int(number), spec)
    if isinstance(value, bool):
        return format(int(value), spec)
    return format(value, spec)


def format_command(pieces: tuple[Piece, ...], value: float | bool) -> str:
    """The command text for ``value`` (``ValueError`` if an integer spec gets a fraction).

    >>> format_command(parse_command_template("FREQ {value:.3f}"), 80.5)
    'FREQ 80.500'
    """
    return "".join(
        literal + ("" if spec is None else _format(value, spec)) for literal, spec in pieces
    )


@dataclass(frozen=True)
class SCPICommand:
    """A command sent before each shot with the value of an expression.

    ``template`` holds ``{value}`` fields with format specs (``"FREQ {value:.6f}"``);
    ``value`` is an expression sent in ``unit`` (``None``: dimensionless, or a bool sent as
    0/1), within ``bounds`` ``(low, high)`` in that unit if given. With
    ``only_when_changed`` the command is sent only when its text differs from the last one
    this device sent.

    >>> SCPICommand("FREQ {value:.6f}", "aom.frequency + 2 MHz", unit="MHz").unit
    'MHz'
    """

    template: str
    value: str
    unit: str | None = None
    bounds: tuple[float, float] | None = None
    only_when_changed: bool = True

    def __post_init__(self) -> None:
        parse_command_template(self.template)
        where = f"command {self.template!r}"
        object.__setattr__(self, "value", check_expression(self.value, f"{where}: value"))
        object.__setattr__(self, "unit", check_unit(self.unit, where))
        object.__setattr__(self, "bounds", check_bounds(self.bounds, where))
        if not isinstance(self.only_when_changed, bool):
            raise ConfigurationError(f"{where}: only_when_changed is a bool")

    def instrument_value(self) -> InstrumentValue:
        """The value as the compilers see it."""
        return InstrumentValue(
            f"command {self.template!r}", Expression(self.value), self.unit, self.bounds
        )


@dataclass(frozen=True)
class SCPIQuery:
    """A query sent after each shot; its reply is stored as the column ``device.label``.

    ``kind`` says how the reply is read: ``"float"`` or ``"int"`` (the text is parsed),
    ``unit`` is the unit the instrument answers in (kept with the column's description).
    """

    query: str
    label: str
    kind: Literal["float", "int"] = "float"
    unit: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.query, str) or not self.query.strip():
            raise ConfigurationError(f"a query is a non-empty str, got {self.query!r}")
        if not isinstance(self.label, str) or not self.label.strip() or "." in self.label:
            raise ConfigurationError(
                f"query {self.query!r}: label is a non-empty str without '.', got {self.label!r}"
            )
        if self.kind not in ("float", "int"):
            raise ConfigurationError(
                f"query {self.query!r}: kind is 'float' or 'int', got {self.kind!r}"
            )
        object.__setattr__(self, "unit", check_unit(self.unit, f"query {self.query!r}"))


@dataclass(frozen=True)
class VISAInstrumentConfiguration:
    """A SCPI instrument reached through PyVISA: commands before each shot, queries after.

    * ``address``: the VISA resource (``"TCPIP0::192.168.1.30::INSTR"``);
    * ``backend``: PyVISA's backend (``""``: the default VISA library; ``"@py"``: pyvisa-py;
      ``"path/to/sim.yaml@sim"``: pyvisa-sim);
    * ``timeout`` (s) of each read; ``read_termination`` / ``write_termination``;
    * ``identify_query``: asked at open to check the instrument answers (``""``: not asked);
    * ``settle_time`` (s): waited after a shot's commands when any was sent.

    Example::

        VISAInstrumentConfiguration(
            address="TCPIP0::192.168.1.30::INSTR",
            commands=(SCPICommand("FREQ {value:.6f}", "aom.frequency + 2 MHz", unit="MHz"),),
            queries=(SCPIQuery("MEAS:VOLT?", "voltage", unit="V"),),
        )
    """

    address: str
    commands: tuple[SCPICommand, ...] = ()
    queries: tuple[SCPIQuery, ...] = ()
    backend: str = ""
    timeout: float = 2.0
    read_termination: str = "\n"
    write_termination: str = "\n"
    identify_query: str = "*IDN?"
    settle_time: float = 0.0
    device_server: str | None = None

    device_type: ClassVar[str] = "visa_instrument"

    def data_labels(self) -> tuple[str, ...]:
        """The labels of the columns ``device.label`` stored after each shot."""
        return tuple(str(item.label) for item in self.queries)

    def __post_init__(self) -> None:
        if not isinstance(self.address, str) or not self.address.strip():
            raise ConfigurationError(f"address is a VISA resource name, got {self.address!r}")
        for name in ("backend", "read_termination", "write_termination", "identify_query"):
            if not isinstance(getattr(self, name), str):
                raise ConfigurationError(f"{name} is a str, got {getattr(self, name)!r}")
        refusal = backend_refusal(self.backend)
        if refusal is not None:
            raise ConfigurationError(refusal)
        commands = tuple(self.commands)
        queries = tuple(self.queries)
        if not all(isinstance(c, SCPICommand) for c in commands):
            raise ConfigurationError("commands are SCPICommand")
        if not all(isinstance(q, SCPIQuery) for q in queries):
            raise ConfigurationError("queries are SCPIQuery")
        labels = [q.label for q in queries]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ConfigurationError(f"query label(s) used twice: {twice}")
        timeout = check_seconds(self.timeout, "timeout")
        if timeout <= 0:
            raise ConfigurationError("timeout must be > 0 s")
        object.__setattr__(self, "timeout", timeout)
        object.__setattr__(self, "settle_time", check_seconds(self.settle_time, "settle_time"))
        object.__setattr__(self, "commands", commands)
        object.__setattr__(self, "queries", queries)

    @property
    def where(self) -> str:
        """The address, for messages."""
        return self.address
