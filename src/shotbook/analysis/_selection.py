"""Which sequences an analysis reads: paths, folders, ``Sequence`` handles and path patterns.

A pattern matches whole path names: ``*`` any characters within one name, ``?`` one
character within one name, and ``**`` as a whole name any number of levels (zero included).
Names may hold ``?`` and ``*`` themselves: a text that is exactly the path of a sequence
names it alone, before any pattern matching, and ``\\?`` / ``\\*`` match the
character itself (:func:`escape_path` escapes a whole path). Texts are compared in Unicode
NFC, as the store keeps names.

>>> matches_pattern("/tof/*", "/tof/scan 1"), matches_pattern("/tof/*", "/tof/a/b")
(True, False)
>>> matches_pattern("/tof/**", "/tof/a/b"), matches_pattern("/**/scan?", "/x/y/scan2")
(True, True)
>>> escape_path("/amb/scan?"), matches_pattern(escape_path("/amb/scan?"), "/amb/scanX")
('/amb/scan\\\\?', False)
"""

from __future__ import annotations

import builtins
import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias, overload

from shotbook.session import Sequence, State
from shotbook.types import PureSequencePath, as_path

if TYPE_CHECKING:
    from shotbook.session import ExperimentSession, SequenceStats

__all__ = [
    "NoSequenceMatchError",
    "SequenceSelection",
    "escape_path",
    "exact_paths",
    "is_pattern",
    "matches_pattern",
    "reusable",
    "select_sequences",
]

SequenceSelection: TypeAlias = (
    "str | PureSequencePath | Sequence | Iterable[str | PureSequencePath | Sequence]"
)
"""What :func:`scan_shots` reads: a path, a folder, a pattern, a ``Sequence``, or a list of them."""

_WILDCARDS = ("*", "?")
_ESCAPE = "\\"


class NoSequenceMatchError(LookupError):
    """A path pattern matched no sequence of the store (the message lists what exists)."""


def escape_path(path: str | PureSequencePath) -> str:
    """``path`` written as a pattern that matches only itself (``?`` and ``*`` escaped).

    >>> escape_path("/amb/scan*?")
    '/amb/scan\\\\*\\\\?'
    """
    text = str(as_path(path))
    for wildcard in _WILDCARDS:
        text = text.replace(wildcard, _ESCAPE + wildcard)
    return text


def _tokens(text: str) -> builtins.list[tuple[str, bool]]:
    """The characters of ``text`` (NFC), each with whether it is a wildcard; an escaped
    wildcard is a plain character, and any other backslash a separator (as in paths)."""
    text = unicodedata.normalize("NFC", text)
    tokens: builtins.list[tuple[str, bool]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == _ESCAPE and text[index + 1 : index + 2] in _WILDCARDS:
            tokens.append((text[index + 1], False))
            index += 2
            continue
        tokens.append(("/" if char == _ESCAPE else char, char in _WILDCARDS))
        index += 1
    return tokens


def is_pattern(text: str) -> bool:
    """Whether ``text`` holds a wildcard (``*`` or ``?`` not escaped by a backslash)."""
    return any(wildcard for _, wildcard in _tokens(text))


def _literal(text: str) -> str:
    """``text`` with its escapes resolved (for a text that is not a pattern)."""
    return "".join(char for char, _ in _tokens(text))


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    tokens = _tokens(pattern)
    if not tokens or tokens[0] != ("/", False):
        raise ValueError(
            f"the path pattern {pattern!r} must start with '/' (for example '/{pattern}')"
        )
    names: builtins.list[builtins.list[tuple[str, bool]]] = [[]]
    for token in tokens[1:]:
        if token == ("/", False):
            names.append([])
        else:
            names[-1].append(token)
    if names[-1] == [] and len(names) > 1:
        names.pop()  # a trailing separator, as paths tolerate
    if names == [[]]:
        names = []
    if any(name == [] for name in names):
        raise ValueError(f"the path pattern {pattern!r} has an empty name between separators")
    parts = ["^"]
    for name in names:
        if name == [("*", True), ("*", True)]:
            parts.append("(?:/[^/]+)*")
            continue
        parts.append("/")
        for char, wildcard in name:
            if wildcard:
                parts.append("[^/]*" if char == "*" else "[^/]")
            else:
                parts.append(re.escape(char))
    parts.append("$")
    return re.compile("".join(parts))


def _exact(text: str) -> PureSequencePath | None:
    """The path ``text`` would name as a plain path (a pattern's text written with ``/``
    only; escapes and backslash separators make it a pattern), or ``None``."""
    if _ESCAPE in text:
        return None
    try:
        return as_path(text)
    except ValueError:
        return None


def matches_pattern(pattern: str, path: str | PureSequencePath) -> bool:
    """Whether the sequence path ``path`` matches ``pattern`` (see the module's doc)."""
    return _compile(pattern).match(str(path)) is not None


def _items(what: object) -> builtins.list[object]:
    if isinstance(what, str | PureSequencePath | Sequence):
        return [what]
    if isinstance(what, Iterable):
        items = list(what)
        if not items:
            raise ValueError("no sequence given: the list of sequences is empty")
        return items
    raise TypeError(
        "sequences are given as a path ('/tof/scan'), a pattern ('/tof/*'), a Sequence or a "
        f"list of them, not {type(what).__name__}"
    )


@overload
def reusable(what: SequenceSelection) -> SequenceSelection: ...
@overload
def reusable(what: None) -> None: ...
def reusable(what: SequenceSelection | None) -> SequenceSelection | None:
    """``what``, with an iterator of items made a list (so it can be read more than once)."""
    if isinstance(what, str | PureSequencePath | Sequence) or not isinstance(what, Iterable):
        return what
    return list(what)


def exact_paths(what: SequenceSelection) -> builtins.list[PureSequencePath] | None:
    """The paths ``what`` names, each once, when it names each by its exact path.

    ``None`` when an item is a pattern, or not a path, a string or a ``Sequence`` (only
    :func:`select_sequences`, with the catalog, can resolve or reject those). A path may
    still be a folder; the caller checks that it is a sequence.
    """
    selected: dict[PureSequencePath, None] = {}
    for item in _items(what):
        if isinstance(item, Sequence):
            selected[item.path] = None
        elif isinstance(item, PureSequencePath):
            selected[item] = None
        elif isinstance(item, str) and not is_pattern(item):
            selected[as_path(_literal(item))] = None
        else:
            return None
    return list(selected)


def select_sequences(
    session: ExperimentSession, what: SequenceSelection
) -> builtins.list[PureSequencePath]:
    """The sequences ``what`` names, in the order given, each once.

    A folder stands for every sequence under it (at any depth); a pattern for every
    sequence whose path matches it, sorted by path. DRAFT sequences are left out of folders
    and patterns (they have no shots). Raises :class:`NoSequenceMatchError` when a pattern
    matches nothing, and the store's ``PathNotFoundError`` for a missing path.
    """
    selected: dict[PureSequencePath, None] = {}
    every: builtins.list[SequenceStats] | None = None
    named: set[PureSequencePath] = set()
    for item in _items(what):
        if isinstance(item, Sequence):
            selected[item.path] = None
        elif isinstance(item, str) and is_pattern(item):
            if every is None:  # one listing serves every pattern of the selection
                every = session.sequences.all_sequences()
                named = {stats.path for stats in every}
            exact = _exact(item)
            if exact is not None and exact in named:
                selected[exact] = None  # a sequence named exactly so wins over the pattern
                continue
            listing = [stats.path for stats in every if stats.state is not State.DRAFT]
            regex = _compile(item)
            found = [path for path in listing if regex.match(str(path))]
            if not found:
                known = ", ".join(str(path) for path in listing[:20]) or "none"
                more = f" (and {len(listing) - 20} more)" if len(listing) > 20 else ""
                raise NoSequenceMatchError(
                    f"no sequence matches {item!r}; '*' and '?' stay within one name, '**' "
                    f"spans levels (e.g. '/tof/**'), '\\?' and '\\*' match the character "
                    f"itself. Sequences with shots: {known}{more}"
                )
            selected.update(dict.fromkeys(found))
        elif isinstance(item, str | PureSequencePath):
            path = as_path(_literal(item) if isinstance(item, str) else item)
            if session.sequences.is_sequence(path):
                selected[path] = None
            else:
                under = session.sequences.list(path)
                selected.update(
                    dict.fromkeys(stats.path for stats in under if stats.state is not State.DRAFT)
                )
        else:
            raise TypeError(f"cannot read shots of {item!r}: give a path, a pattern or a Sequence")
    return list(selected)
