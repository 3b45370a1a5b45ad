"""Import a caqtus database (SQLite or PostgreSQL) into any shotbook store.

>>> from shotbook.extension import import_caqtus          # doctest: +SKIP
>>> import_caqtus("caqtus.sqlite", storage_manager)        # doctest: +SKIP
"""

from ._devices import (
    DeviceConverter,
    UnsupportedConfigurationError,
    camera_converter,
    sequencer_converter,
)
from ._importer import (
    IMPORTED,
    IN_PROGRESS,
    INCOMPLETE,
    CaqtusImportSummary,
    CaqtusImportWarning,
    import_caqtus,
)
from ._source import SUPPORTED_REVISIONS, CaqtusImportError

__all__ = [
    "IMPORTED",
    "INCOMPLETE",
    "IN_PROGRESS",
    "SUPPORTED_REVISIONS",
    "CaqtusImportError",
    "CaqtusImportSummary",
    "CaqtusImportWarning",
    "DeviceConverter",
    "UnsupportedConfigurationError",
    "camera_converter",
    "import_caqtus",
    "sequencer_converter",
]
