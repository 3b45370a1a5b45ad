"""`import shotbook` must stay light: no Jupyter, storage or network libraries."""

import json
import subprocess
import sys

HEAVY = ["jupyterlab", "ipywidgets", "duckdb", "polars", "pyarrow", "zmq", "anywidget", "pint"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_shotbook_imports_no_heavy_library() -> None:
    loaded = _modules_after("import shotbook")
    assert not [name for name in HEAVY if name in loaded]


def test_core_types_import_without_heavy_libraries() -> None:
    loaded = _modules_after("import shotbook.types, shotbook.registry")
    heavy = [name for name in HEAVY if name in loaded]
    assert heavy == []


def test_lazy_public_names_resolve() -> None:
    loaded = _modules_after(
        "import shotbook\nassert shotbook.Expression('1 ms').text == '1 ms'\n"
        "assert shotbook.PureSequencePath('/a').name == 'a'"
    )
    assert "shotbook.types" in loaded
