"""Stored names brought to Unicode NFC, the form every entry point now gives names.

Stores written before names were normalised may hold a name in another form (``café``
typed decomposed), which no lookup reaches any more, and even two names that differ only
in their form. :func:`normalise_stored_names` renames the first to their NFC form and keeps
the second apart: the one not already in NFC gets a free name (``café (2)``); nothing is
ever merged, and every change is returned (and recorded in the audit log) for the caller
to report.
"""

from __future__ import annotations

import unicodedata

from .._interfaces import RenamedName
from ._audit import record as audit_record
from ._protocols import CatalogTransaction


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _join(parent: str, name: str) -> str:
    return f"{parent.rstrip('/')}/{name}"


def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent or "/", name


def plan_renames(paths: list[str]) -> list[RenamedName]:
    """What :func:`normalise_stored_names` does to a store holding ``paths`` (pure).

    >>> [str(r) for r in plan_renames(["/a", "/cafe\\u0301", "/caf\\u00e9"])]
    ['/café → /café (2) (it differs from /café only in Unicode normalisation)']
    """
    taken = {path for path in paths if _nfc(path) == path}  # these keep their names
    renamed: dict[str, str] = {}
    changes = []
    for old in sorted((p for p in paths if p not in taken), key=lambda p: (p.count("/"), p)):
        parent, name = _split(old)
        parent = renamed.get(parent, parent)
        base = _nfc(name)
        new = _join(parent, base)
        clash = None
        if new in taken:
            clash = new
            number = 2
            while _join(parent, f"{base} ({number})") in taken:
                number += 1
            new = _join(parent, f"{base} ({number})")
        taken.add(new)
        renamed[old] = new
        changes.append(RenamedName(old, new, clash))
    return changes


def normalise_stored_names(tx: CatalogTransaction) -> list[RenamedName]:
    """Rename every stored path that is not in NFC (see the module's doc), in ``tx``."""
    paths = [str(row[0]) for row in tx.all("SELECT path FROM paths")]
    changes = plan_renames(paths)
    if not changes:
        return []
    sequences = dict(tx.all("SELECT path, uuid FROM sequences"))
    tx.touch(sequences[change.old] for change in changes if change.old in sequences)
    for change in changes:
        tx.execute(
            "UPDATE paths SET path = ?, parent = ? WHERE path = ?",
            [change.new, _split(change.new)[0], change.old],
        )
        tx.execute("UPDATE sequences SET path = ? WHERE path = ?", [change.new, change.old])
        audit_record(
            tx,
            "rename",
            change.old,
            target=change.new,
            sequence_id=sequences.get(change.old),
            detail="upgrade: " + change.reason,
        )
    return changes


__all__ = ["normalise_stored_names", "plan_renames"]
