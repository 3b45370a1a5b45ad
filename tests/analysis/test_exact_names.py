"""Names holding ``?``, ``*`` or non-NFC Unicode, read through patterns on all three stores."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotbook.analysis import escape_path, matches_pattern, read_shots
from shotbook.registry import Serializer, default_registry
from shotbook.session import PathExistsError, StorageManager
from shotbook.types import PureSequencePath
from tests.session.conftest import BACKENDS
from tests.types.test_paths import _names

from .helpers import SequenceSpec, fill

COMPOSED = unicodedata.normalize("NFC", "café")
DECOMPOSED = unicodedata.normalize("NFD", "café")


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageManager]:
    """A new store of each backend."""
    with BACKENDS[request.param](tmp_path) as config:
        manager = config.create_storage_manager(Serializer(default_registry()))
        manager.upgrade()
        try:
            yield manager
        finally:
            manager.close()


def _fill(manager: StorageManager, path: str, shots: int) -> None:
    spec = SequenceSpec(path, shots, lambda i: {"x": float(i)}, {"x": None})
    fill(manager, spec)


def _read(manager: StorageManager, what: Any) -> dict[str, int]:
    frame = read_shots(manager, what, ["sequence", "shot_index"])
    counts = frame.group_by("sequence", maintain_order=True).agg(pl.len())
    return dict(zip(counts["sequence"].to_list(), counts["len"].to_list(), strict=True))


def test_exact_names_win_over_patterns_and_escapes_match_literally(
    store: StorageManager,
) -> None:
    _fill(store, "/amb/scan?", 1)
    _fill(store, "/amb/scanX", 2)
    _fill(store, "/amb/scan*", 3)
    everything = {"/amb/scan*": 3, "/amb/scan?": 1, "/amb/scanX": 2}
    # a sequence named exactly like the text is read alone
    assert _read(store, "/amb/scan?") == {"/amb/scan?": 1}
    assert _read(store, "/amb/scan*") == {"/amb/scan*": 3}
    # escapes match the character itself, wherever the name is not a sequence
    assert _read(store, r"/amb/scan\?") == {"/amb/scan?": 1}
    assert _read(store, r"/amb/scan\*") == {"/amb/scan*": 3}
    assert _read(store, r"/am?/scan\*") == {"/amb/scan*": 3}
    assert _read(store, escape_path("/amb/scan?")) == {"/amb/scan?": 1}
    assert escape_path("/amb/scan*?") == r"/amb/scan\*\?"
    # patterns stay the default
    assert _read(store, "/amb/sca??") == everything
    assert _read(store, "/amb/*") == everything
    assert _read(store, "/**") == everything
    assert _read(store, ["/amb/scanX", "/amb/scan?"]) == {"/amb/scanX": 2, "/amb/scan?": 1}


def test_names_differing_only_in_unicode_normalisation_are_one_name(
    store: StorageManager,
) -> None:
    assert COMPOSED != DECOMPOSED
    _fill(store, f"/amb/{DECOMPOSED}", 2)
    with store.session() as session:
        assert [str(p) for p in session.paths.children("/amb")] == [f"/amb/{COMPOSED}"]
        assert session.sequences.is_sequence(f"/amb/{COMPOSED}")
        with pytest.raises(PathExistsError):
            session.sequences.create(
                f"/amb/{COMPOSED}",
                *_empty_sequence(),
            )
        session.paths.move(f"/amb/{COMPOSED}", f"/amb/{DECOMPOSED} 2")
        assert session.sequences.is_sequence(f"/amb/{COMPOSED} 2")
    assert _read(store, f"/amb/{DECOMPOSED} 2") == {f"/amb/{COMPOSED} 2": 2}
    assert _read(store, f"/amb/{COMPOSED} 2") == {f"/amb/{COMPOSED} 2": 2}
    assert _read(store, f"/amb/{DECOMPOSED}*") == {f"/amb/{COMPOSED} 2": 2}


def _empty_sequence() -> tuple[Any, Any]:
    from shotbook.types import ExecuteShot, StepsConfiguration, TimeLanes

    return StepsConfiguration([ExecuteShot()]), TimeLanes([], [])


@settings(max_examples=200, deadline=None)
@given(st.lists(_names, min_size=1, max_size=4), st.lists(_names, min_size=1, max_size=4))
def test_an_escaped_path_matches_itself_and_nothing_else(
    parts: list[str], other: list[str]
) -> None:
    path = PureSequencePath.from_parts(parts)
    assert matches_pattern(escape_path(path), path)
    other_path = PureSequencePath.from_parts(other)
    assert matches_pattern(escape_path(path), other_path) is (other_path == path)
