"""Architecture checks over src/shotbook: no private reaches across objects, no import loops.

**Private reaches.** A module may not read another object's private attribute: ``obj._name``
(one leading underscore, not a ``__dunder__`` nor a ``_sunder_`` protocol name such as
IPython's ``_repr_mimebundle_``) or ``getattr(obj, "_name")`` where ``obj`` is not ``self``,
``cls`` or ``super()``. Privacy is per module, as in Python's own convention: a module may
read the privates it defines itself (assigned as ``self._name``, a ``_name`` method, class
or variable of that module) on any object, so ``other._parts`` in ``__eq__`` or a tree's
``node._length`` inside the module that defines the nodes pass; a private defined only in
another module does not. Reading another module's privates through the module object
(``module._name``) is a reach too, and is flagged; a module's own through itself is not. The
check goes by name, without types: a private of another class that happens to share a name
this module defines passes unseen (it errs towards silence, never a false alarm). A read
that must stay (a third-party library's private, no public way) goes in :data:`ALLOWED`
with its reason; at most 5.

**Import loops.** The import graph of ``shotbook`` (grimp, as import-linter builds it;
imports inside functions count, ``if TYPE_CHECKING:`` imports do not: they never run) may
hold no loop (a strongly connected set of modules) that spans two layers (the top-level
subpackages) or two wings of ``session/`` (``_catalog``, ``_columns``, ``_parquet``,
``_duckdb``, ``_sql``, and its top-level modules). Loops inside one wing or one layer are
listed by :func:`import_loops` but allowed.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "shotbook"
SESSION_WINGS = ("_catalog", "_columns", "_parquet", "_duckdb", "_sql")

ALLOWED: tuple[tuple[str, str, str], ...] = (
    (
        "shotbook.types._units",
        "getattr(units, '_REGISTRY', None)",
        "pint gives a unit's registry only as _REGISTRY; no public accessor exists",
    ),
    (
        "shotbook.ui",
        "getattr(ipywidgets.Widget, '_control_comm', None)",
        "ipywidgets says whether a front end is connected only through this private",
    ),
    (
        "shotbook.analysis._units_namespace",
        "getattr(pl.DataFrame, '_accessors', set())",
        "polars lists the namespaces registered on DataFrame only in _accessors",
    ),
)
"""``(module or package, expression, reason)``: reads that may stay, each with its reason."""


@dataclass(frozen=True)
class Reach:
    """One read of another object's private attribute."""

    file: Path
    line: int
    module: str
    expression: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.expression}"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("_")


def _is_own(node: ast.expr) -> bool:
    """``self``, ``cls`` or ``super()``: the object's own attributes."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def _defined_private(node: ast.AST) -> str | None:
    """The private name ``node`` defines: a method, class, variable or ``self._x = ...``."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        name = node.name
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        name = node.id
    elif (
        isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _is_own(node.value)
    ):
        name = node.attr
    else:
        return None
    return name if _is_private(name) else None


def _reach(node: ast.AST) -> tuple[str, str] | None:
    """``(private name, expression)`` when ``node`` reads a private of an object not its own."""
    if isinstance(node, ast.Attribute) and _is_private(node.attr) and not _is_own(node.value):
        return node.attr, ast.unparse(node)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
        and _is_private(node.args[1].value)
        and not _is_own(node.args[0])
    ):
        return node.args[1].value, ast.unparse(node)
    return None


def private_reaches(source: str, file: Path, module: str) -> list[Reach]:
    """The reads of other objects' private attributes in one module's source (one walk)."""
    own: set[str] = set()
    candidates: list[tuple[int, str, str]] = []
    for node in ast.walk(ast.parse(source, filename=str(file))):
        defined = _defined_private(node)
        if defined is not None:
            own.add(defined)
        found = _reach(node)
        if found is not None:
            candidates.append((getattr(node, "lineno", 0), *found))
    return sorted(
        (
            Reach(file, line, module, expression)
            for line, name, expression in candidates
            if name not in own
        ),
        key=lambda reach: reach.line,
    )


def _modules(root: Path, package: str) -> Iterator[tuple[Path, str]]:
    base = root / package
    for file in sorted(base.rglob("*.py")):
        parts = file.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield file, ".".join(parts)


def _allowed(reach: Reach, allowed: Iterable[tuple[str, str, str]]) -> bool:
    return any(
        (reach.module == module or reach.module.startswith(module + "."))
        and reach.expression == expression
        for module, expression, _ in allowed
    )


@functools.cache
def all_reaches(root: Path, package: str) -> tuple[Reach, ...]:
    """Every private reach of every module of ``package`` under ``root``, allowed or not."""
    return tuple(
        reach
        for file, module in _modules(root, package)
        for reach in private_reaches(file.read_text(encoding="utf-8"), file, module)
    )


def reach_failures(
    root: Path, package: str, allowed: Iterable[tuple[str, str, str]] = ALLOWED
) -> list[Reach]:
    """The private reaches of every module of ``package`` under ``root`` not in ``allowed``."""
    allowed = list(allowed)
    return [reach for reach in all_reaches(root, package) if not _allowed(reach, allowed)]


def reach_message(reaches: list[Reach]) -> str:
    """What the failure says: where, what, and what to do."""
    lines = "\n".join(f"  {reach}" for reach in reaches)
    return (
        f"{len(reaches)} read(s) of another object's private attribute:\n{lines}\n"
        "Give the owner a public method or property (or a small Protocol when the owner "
        "lives in another room, e.g. session._catalog._protocols.CatalogAccess), and use "
        "that. Only a third-party private with no public way may go in "
        "tests/test_architecture.py's ALLOWED (at most 5 entries, each with its reason)."
    )


# --- import loops ---------------------------------------------------------------------------


def _strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one node (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def room_of(module: str) -> str:
    """The layer of a module, or for ``session`` its wing (``session`` for its top level)."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1].startswith("_"):
        return parts[0]  # the package's own modules (__init__, _version, __main__)
    if parts[1] == "session" and len(parts) > 2 and parts[2] in SESSION_WINGS:
        return f"session.{parts[2]}"
    return parts[1]


def import_loops(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The import loops (sets of modules that import each other, directly or not)."""
    return _strongly_connected(edges)


def loops_across_rooms(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The loops whose modules lie in more than one room (layer or session wing)."""
    return [loop for loop in import_loops(edges) if len({room_of(m) for m in loop}) > 1]


def import_edges(package: str) -> dict[str, set[str]]:
    """The run-time imports between the modules of ``package`` (grimp; TYPE_CHECKING left out)."""
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    return {
        module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules
    }


def loop_message(loops: list[list[str]], edges: Mapping[str, Iterable[str]]) -> str:
    """Each loop with its rooms and the imports that close it."""
    lines = []
    for loop in loops:
        members = set(loop)
        rooms = sorted({room_of(m) for m in loop})
        lines.append(f"  loop across {', '.join(rooms)}:")
        for module in loop:
            for target in sorted(set(edges.get(module, ())) & members):
                if room_of(module) != room_of(target):
                    lines.append(f"    {module} -> {target}")
    return (
        f"{len(loops)} import loop(s) across layers or session wings:\n"
        + "\n".join(lines)
        + "\nBreak each by moving what both sides need into the lower room, or by passing it "
        "in (injection, a Protocol), never by hiding the import inside a function."
    )


# --- the checks -----------------------------------------------------------------------------


def test_no_module_reads_another_objects_privates() -> None:
    assert len(ALLOWED) <= 5
    reaches = reach_failures(SRC, PACKAGE)
    assert not reaches, reach_message(reaches)


def test_every_allowed_reach_is_still_there() -> None:
    """An entry of ALLOWED that no longer matches anything must be removed."""
    every = all_reaches(SRC, PACKAGE)
    stale = [entry for entry in ALLOWED if not any(_allowed(r, [entry]) for r in every)]
    assert not stale, f"ALLOWED entries that match nothing (remove them): {stale}"


def test_no_import_loop_across_layers_or_session_wings() -> None:
    edges = import_edges(PACKAGE)
    assert "shotbook.session._catalog._session" in edges  # the graph is the real one
    loops = loops_across_rooms(edges)
    assert not loops, loop_message(loops, edges)


# --- the checkers themselves ------------------------------------------------------------------

BAD_MODULE = """
import helpers


class Sequences:
    def __init__(self, session):
        self._session = session
        self._cache = {}

    def count(self):
        return self._session._read(lambda tx: 1)  # another object's private method

    def peek(self, other):
        return other._cache, getattr(self._session, "_manager")  # own class's: fine; not

    def __eq__(self, other):
        return self._cache == other._cache  # a private this module defines

    def name(self):
        return helpers._secret, super()._hidden, self.__class__.__name__, obj._repr_html_()
"""


def test_the_reach_check_finds_reads_of_others_privates(tmp_path: Path) -> None:
    package = tmp_path / "bad"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "_sequences.py").write_text(BAD_MODULE)
    found = reach_failures(tmp_path, "bad", allowed=[])
    assert [(r.line, r.expression) for r in found] == [
        (11, "self._session._read"),
        (14, "getattr(self._session, '_manager')"),
        (20, "helpers._secret"),
    ]
    message = reach_message(found)
    assert f"{package / '_sequences.py'}:11: self._session._read" in message
    assert "public method" in message
    allowed = [("bad", "helpers._secret", "a test")]
    assert [r.line for r in reach_failures(tmp_path, "bad", allowed=allowed)] == [11, 14]


def test_the_loop_check_finds_loops_across_rooms_only() -> None:
    edges = {
        "shotbook.session._catalog._a": {"shotbook.session._duckdb._b"},
        "shotbook.session._duckdb._b": {"shotbook.session._errors"},
        "shotbook.session._errors": {"shotbook.session._catalog._a"},  # across three wings
        "shotbook.analysis._x": {"shotbook.analysis._y"},
        "shotbook.analysis._y": {"shotbook.analysis._x"},  # inside one layer
        "shotbook.types._p": {"shotbook.compile._q"},
        "shotbook.compile._q": {"shotbook.types._p"},  # across two layers
        "shotbook.rpc": set(),
    }
    assert import_loops(edges) == [
        ["shotbook.analysis._x", "shotbook.analysis._y"],
        ["shotbook.compile._q", "shotbook.types._p"],
        [
            "shotbook.session._catalog._a",
            "shotbook.session._duckdb._b",
            "shotbook.session._errors",
        ],
    ]
    across = loops_across_rooms(edges)
    assert across == import_loops(edges)[1:]
    message = loop_message(across, edges)
    assert "loop across compile, types:" in message
    assert "shotbook.session._duckdb._b -> shotbook.session._errors" in message
    assert "shotbook.analysis" not in message


def test_the_loop_check_reads_real_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop hidden in a function counts; one closed only under TYPE_CHECKING does not."""
    files = {
        "loopy/__init__.py": "",
        "loopy/types/__init__.py": "",
        "loopy/types/_p.py": "from loopy.compile import _q\n",
        "loopy/compile/__init__.py": "",
        "loopy/compile/_q.py": "def f():\n    from loopy.types import _p\n",
        "loopy/ui/__init__.py": "",
        "loopy/ui/_v.py": "from loopy.cli import _w\n",
        "loopy/cli/__init__.py": "",
        "loopy/cli/_w.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from loopy.ui import _v\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    edges = import_edges("loopy")
    assert loops_across_rooms(edges) == [["loopy.compile._q", "loopy.types._p"]]


@pytest.mark.parametrize(
    ("module", "room"),
    [
        ("shotbook", "shotbook"),
        ("shotbook._version", "shotbook"),
        ("shotbook.session", "session"),
        ("shotbook.session._errors", "session"),
        ("shotbook.session._sql._shots", "session._sql"),
        ("shotbook.device.remote._client", "device"),
    ],
)
def test_rooms(module: str, room: str) -> None:
    assert room_of(module) == room
