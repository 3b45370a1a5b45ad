"""Sphinx configuration of the shotbook documentation.

Build (from the repository root, after ``pip install -e '.[docs]'``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Nothing is fetched at build time: no intersphinx inventories, no remote fonts, scripts or
widget bundles. The notebooks of ``notebooks/`` are copied into ``docs/tutorials/`` (ignored
by git). A notebook the test suite already ran as committed (``.ci/check`` has the notebook
tests keep their executed copies in ``docs/_build/executed``) is shown with those outputs and
not run again, so CI runs each of those notebooks once. The others are executed by myst-nb,
their outputs cached in ``docs/_build/.jupyter_cache`` (a notebook runs again only when its
code changes).
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(DOCS / "_ext"))

from shotbook import __version__  # noqa: E402

project = "shotbook"
author = "shotbook developers"
copyright = "shotbook developers"
version = release = __version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "shotbook_cli_reference",
]
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path: list[str] = []

# --- the notebooks: tutorials with their outputs -------------------------------------------
TUTORIALS = {
    "quickstart.ipynb",
    "temperature.ipynb",
    "custom_device.ipynb",
    "overnight_scan.ipynb",
    "real_instruments.ipynb",
    "qcodes_instruments.ipynb",
}


EXECUTED = DOCS / "_build" / "executed"
"""Notebooks the notebook tests ran as committed (``tests/executed_notebooks.py``; ``.ci/check``
points them here): shown with those outputs instead of being run a second time."""


def _executed_copy(source: Path) -> Path | None:
    """The notebook tests' executed copy of ``source``, if it was made from ``source`` as it
    is now."""
    executed = EXECUTED / source.name
    if not executed.exists():
        return None
    try:
        recorded = json.loads(executed.read_text(encoding="utf-8"))["metadata"].get(
            "shotbook_source_sha256"
        )
    except (OSError, ValueError, KeyError):
        return None
    return executed if recorded == hashlib.sha256(source.read_bytes()).hexdigest() else None


def _copy_notebooks() -> list[str]:
    """Copy the notebooks into the source tree (only those that changed, for Sphinx's own
    incremental build), the tests' executed copy where there is one; return the patterns of
    the tutorials not to execute again."""
    reused = []
    for name in sorted(TUTORIALS):
        source, target = ROOT / "notebooks" / name, DOCS / "tutorials" / name
        executed = _executed_copy(source)
        if executed is not None:
            source = executed
            reused.append(f"tutorials/{name}")
        if not target.exists() or not filecmp.cmp(source, target, shallow=False):
            shutil.copyfile(source, target)
    return reused


nb_execution_mode = "cache"
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_in_temp = True  # the stores the notebooks create go to a temporary folder
nb_execution_timeout = 300
nb_execution_raise_on_error = True  # a notebook that fails fails the build
nb_execution_excludepatterns: list[str] = _copy_notebooks()
nb_merge_streams = True
# No widget JavaScript from a CDN: widgets show their saved static form (the panel's HTML
# snapshot, the progress bar's final text) instead of a live view.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

# --- API reference from the docstrings -----------------------------------------------------
autodoc_default_options = {
    "members": True,
    "imported-members": True,
    "undoc-members": True,
    "show-inheritance": True,
}
autodoc_member_order = "groupwise"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autosummary_generate = False
API_PACKAGES = [
    "shotbook.extension",
    "shotbook.session",
    "shotbook.analysis",
    "shotbook.control",
    "shotbook.device",
    "shotbook.compile",
    "shotbook.types",
    "shotbook.registry",
    "shotbook.rpc",
    "shotbook.ui",
    "shotbook.demo",
    "shotbook.cli",
]


def _resolve_lazy_names() -> None:
    """Some packages import a few public names on first use (PEP 562 ``__getattr__``);
    autodoc lists a module's members with ``dir()``, so resolve them first."""
    import importlib

    for package in API_PACKAGES:
        module = importlib.import_module(package)
        for name in getattr(module, "__all__", ()):
            vars(module).setdefault(name, getattr(module, name))


_resolve_lazy_names()

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # dataclass fields are documented once, by autodoc
add_module_names = False

# --- HTML: the pydata theme, with nothing remote ---------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"shotbook {release}"
html_static_path = ["_static"]
html_theme_options = {
    "icon_links": [],  # no links to code hosts (the repository URL is not known)
    "analytics": {},
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
    "use_edit_page_button": False,
}
html_show_sourcelink = False
html_copy_source = False
# MathJax would be loaded from a CDN: formulas (a few in the notebooks) show as TeX source.
mathjax_path = "mathjax-offline.js"

# --- broken cross-references fail the build ---------------------------------------------------
# nitpicky: every reference to a shotbook name must resolve. Without intersphinx inventories
# (nothing is downloaded), names of other libraries (numpy, polars, the standard library...)
# cannot resolve and are not checked.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!shotbook\b).*"),
    # Signatures name the private module where a type variable or a helper class lives
    # (``shotbook.types._time_lane.T``): not part of the public API, so not documented.
    (r"py:.*", r"shotbook(\.\w+)*\._\w+.*"),
]
nitpick_ignore = [
    # Named by a docstring of shotbook.session.ShotFolders but not exported by
    # shotbook.session (it lives in a private module): to fix in the storage code.
    ("py:func", "shotbook.session.scan_shot_folder"),
]
