"""A sequence as one readable YAML file: export, check and import (``shotbook-sequence`` v1).

The file holds the sequence's steps and time lanes (and its notes), written with the
registry's serializer (``$type`` / ``$data`` entries, the same tags a store uses) and dumped
by pyyaml in a stable order. In settings-only mode it holds no time, so the same sequence
always gives the same bytes and a git diff shows only what changed. With settings, it adds
the global parameters and device configurations the sequence ran with (its snapshot) or,
for a draft, the store's current ones, plus its state and times.

Importing refuses a file of another format or version, and names every type tag this
installation does not know (a device or a lane type of a missing extension) with where it
is in the file. Layout::

    format: shotbook-sequence
    version: 1
    notes: ''
    steps: {$type: steps, $data: [...]}
    time_lanes: {$type: time_lanes, $data: {step_names: [...], ...}}
    settings:                       # only with settings
      source: snapshot              # or: current (a draft's store-wide settings)
      global_parameters: {$type: parameter_namespace, ...}
      device_configurations: {$dict: {name: {$type: ..., $data: ...}}}
    run:                            # only with settings, for a sequence that ran
      state: finished
      start_time: '2026-12-07T21:30:46.581781+00:00'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from shotbook.registry import SerializationError, Serializer
from shotbook.session import ExperimentSession, State
from shotbook.types import ParameterNamespace, PureSequencePath, StepsConfiguration, TimeLanes

PathLike = PureSequencePath | str

FORMAT = "shotbook-sequence"
VERSION = 1
"""The version of the file layout written; files of another version are refused."""


class SequenceFileError(ValueError):
    """A sequence file that cannot be imported; the message says what and where."""


@dataclass(frozen=True)
class SequenceFile:
    """The content of a sequence file, decoded."""

    steps: StepsConfiguration
    time_lanes: TimeLanes
    notes: str
    global_parameters: ParameterNamespace | None
    device_configurations: dict[str, object] | None
    settings_source: str | None


def export_sequence_text(
    session: ExperimentSession,
    serializer: Serializer,
    path: PathLike,
    *,
    with_settings: bool = False,
) -> str:
    """The YAML text of the sequence at ``path`` (see the module's documentation)."""
    sequences = session.sequences
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "notes": sequences.get_notes(path),
        "steps": serializer.to_data(sequences.get_iteration(path)),
        "time_lanes": serializer.to_data(sequences.get_time_lanes(path)),
    }
    if with_settings:
        stats = sequences.get_stats(path)
        snapshot = sequences.get_global_parameters(path)
        if snapshot is not None:
            source = "snapshot"
            devices = sequences.get_device_configurations(path) or {}
        else:
            source = "current"
            snapshot = session.get_global_parameters()
            devices = dict(session.default_device_configurations)
        document["settings"] = {
            "source": source,
            "global_parameters": serializer.to_data(snapshot),
            "device_configurations": serializer.to_data(dict(sorted(devices.items()))),
        }
        if stats.state is not State.DRAFT:
            document["run"] = {
                "state": str(stats.state.name).lower(),
                "number_of_shots": stats.number_of_shots,
                "start_time": None if stats.start_time is None else stats.start_time.isoformat(),
                "stop_time": None if stats.stop_time is None else stats.stop_time.isoformat(),
            }
    header = (
        f"# A shotbook sequence ({FORMAT} version {VERSION}): steps and time lanes"
        f"{', with settings' if with_settings else ''}.\n"
    )
    body: str = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + body


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict | list) or (
        isinstance(value, dict) and not value  # {} (a tag without data)
    )


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # pyyaml ships no types here
    """Block style, except one line for a list or mapping of plain values
    (``[true, 2]``, ``{$type: expression, $data: 10 MHz}``): short and easy to diff."""


def _is_small(value: Any) -> bool:
    return _is_leaf(value) or (
        isinstance(value, dict) and all(_is_leaf(inner) for inner in value.values())
    )


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = bool(data) and all(_is_small(item) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = not data or all(_is_leaf(value) for value in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def _tags(data: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every ``$type`` tag in ``data`` with where it is."""
    if isinstance(data, dict):
        tag = data.get("$type")
        if isinstance(tag, str):
            yield tag, where
        for key, value in data.items():
            inside = where if key in ("$data", "$dict") else f"{where} → {key}"
            yield from _tags(value, inside)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _tags(value, f"{where}[{index}]")


def read_sequence_text(text: str, serializer: Serializer, source: str = "<text>") -> SequenceFile:
    """Decode a sequence file; :class:`SequenceFileError` names what is wrong and where."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SequenceFileError(f"{source}: not valid YAML ({error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SequenceFileError(f"{source}: not a shotbook sequence file (no 'format: {FORMAT}')")
    if document.get("version") != VERSION:
        raise SequenceFileError(
            f"{source}: version {document.get('version')!r} of the sequence file format; this "
            f"shotbook reads version {VERSION}"
        )
    unknown = [
        (tag, where) for tag, where in _tags(document, "file") if tag not in serializer.registry
    ]
    if unknown:
        listed = "; ".join(f"{tag!r} at {where}" for tag, where in unknown)
        raise SequenceFileError(
            f"{source}: unknown type(s) {listed}: register the extension that provides them "
            "(a device or lane type of another lab?) before importing; nothing was imported"
        )

    def decode(key: str, kind: type) -> Any:
        if key not in document:
            raise SequenceFileError(f"{source}: no '{key}' entry")
        try:
            value = serializer.from_data(document[key])
        except (SerializationError, LookupError, TypeError, ValueError) as error:
            raise SequenceFileError(f"{source}: '{key}': {error}") from None
        if not isinstance(value, kind):
            raise SequenceFileError(f"{source}: '{key}' is a {type(value).__name__}")
        return value

    steps = decode("steps", StepsConfiguration)
    time_lanes = decode("time_lanes", TimeLanes)
    settings = document.get("settings")
    globals_: ParameterNamespace | None = None
    devices: dict[str, object] | None = None
    settings_source = None
    if isinstance(settings, dict):
        settings_source = str(settings.get("source"))
        try:
            globals_ = serializer.from_data(settings.get("global_parameters"))
            devices = serializer.from_data(settings.get("device_configurations"))
        except (SerializationError, LookupError, TypeError, ValueError) as error:
            raise SequenceFileError(f"{source}: 'settings': {error}") from None
    notes = document.get("notes") or ""
    return SequenceFile(steps, time_lanes, str(notes), globals_, devices, settings_source)


def import_sequence_text(
    session: ExperimentSession,
    serializer: Serializer,
    text: str,
    path: PathLike,
    source: str = "<text>",
) -> SequenceFile:
    """Create a DRAFT at ``path`` from a sequence file's steps, time lanes and notes."""
    content = read_sequence_text(text, serializer, source)
    session.sequences.create(path, content.steps, content.time_lanes)
    if content.notes:
        session.sequences.set_notes(path, content.notes)
    return content


__all__ = [
    "FORMAT",
    "VERSION",
    "SequenceFile",
    "SequenceFileError",
    "export_sequence_text",
    "import_sequence_text",
    "read_sequence_text",
]
