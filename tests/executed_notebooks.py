"""Executed notebooks handed to the documentation build, so that CI runs each notebook once.

When the environment variable ``SHOTBOOK_EXECUTED_NOTEBOOKS`` names a folder (``.ci/check``
sets it for pytest), a notebook test that ran a notebook as committed keeps the executed copy
there, without the cells the test added (the probes). ``docs/conf.py`` then shows those
outputs instead of running the notebook again, provided the copy was made from the notebook
as it is now: the source's SHA-256 is recorded in the copy's metadata.
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path

import nbformat

ENVIRONMENT_VARIABLE = "SHOTBOOK_EXECUTED_NOTEBOOKS"
SOURCE_HASH_KEY = "shotbook_source_sha256"


def keep_for_docs(source: Path, executed: nbformat.NotebookNode) -> Path | None:
    """Keep ``executed`` (a run of the committed notebook ``source``) for the docs build.

    Only the cells of ``source`` are kept (matched by cell id). Returns the copy's path, or
    ``None`` when no folder is configured.
    """
    folder = os.environ.get(ENVIRONMENT_VARIABLE)
    if not folder:
        return None
    ids = {cell.get("id") for cell in nbformat.read(source, as_version=4).cells}
    kept = copy.deepcopy(executed)
    kept.cells = [cell for cell in kept.cells if cell.get("id") in ids]
    kept.metadata[SOURCE_HASH_KEY] = hashlib.sha256(source.read_bytes()).hexdigest()
    target = Path(folder) / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(kept, target)
    return target
