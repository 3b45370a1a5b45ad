"""Sequence paths: canonical form, parts, and refused names."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotbook.types import InvalidPathError, PureSequencePath


def test_root_has_no_parts_or_parent() -> None:
    root = PureSequencePath("/")
    assert root.parts == ()
    assert root.parent is None
    assert root.is_root()
    assert str(root) == "/"
    with pytest.raises(ValueError, match="root"):
        _ = root.name


def test_parts_parent_name_and_division() -> None:
    path = PureSequencePath("/calibrations/mot/detuning scan")
    assert path.parts == ("calibrations", "mot", "detuning scan")
    assert path.name == "detuning scan"
    assert path.parent == PureSequencePath("/calibrations/mot")
    assert PureSequencePath("/calibrations") / "mot" / "detuning scan" == path
    assert [str(p) for p in path.ancestors()] == ["/calibrations/mot", "/calibrations", "/"]
    assert path.is_relative_to(PureSequencePath("/calibrations"))
    assert not PureSequencePath("/cal").is_relative_to(PureSequencePath("/calibrations"))


def test_caqtus_backslash_paths_are_normalised() -> None:
    assert str(PureSequencePath("\\a\\b")) == "/a/b"
    assert PureSequencePath("\\a\\b") == PureSequencePath("/a/b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a/b", "must start with '/'"),
        ("/a//b", "empty name"),
        ("/a/\x00b", "control character"),
        ("/a/b\n", "control character"),
        ("/" + "x" * 300, "at most 255"),
        ("/ a", "whitespace"),
        ("/a/..", "not a valid name"),
    ],
)
def test_invalid_paths_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(InvalidPathError, match=message):
        PureSequencePath(text)


def test_hash_and_order() -> None:
    paths = {PureSequencePath("/a"), PureSequencePath("/a/"), PureSequencePath("\\a")}
    assert len(paths) == 1
    assert sorted([PureSequencePath("/b"), PureSequencePath("/a/c")]) == [
        PureSequencePath("/a/c"),
        PureSequencePath("/b"),
    ]


_names = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn"), blacklist_characters="/\\"
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s == s.strip() and s not in (".", ".."))


@given(st.lists(_names, max_size=6))
def test_round_trip_through_text(parts: list[str]) -> None:
    path = PureSequencePath.from_parts(parts)
    assert PureSequencePath(str(path)) == path
    assert path.parts == tuple(unicodedata.normalize("NFC", part) for part in parts)


def test_names_are_kept_in_unicode_nfc() -> None:
    decomposed = PureSequencePath("/amb/" + unicodedata.normalize("NFD", "café"))
    assert decomposed == PureSequencePath("/amb/café")
    assert str(decomposed) == unicodedata.normalize("NFC", "/amb/café")
    assert (PureSequencePath("/") / unicodedata.normalize("NFD", "é")).name == "\u00e9"
