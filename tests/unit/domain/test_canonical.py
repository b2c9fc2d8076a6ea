"""The fast canonical JSON writes exactly the reference RFC 8785 bytes."""

from __future__ import annotations

import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.canonical import NotCanonicalisable, _plain, canonical_json

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(_json)
def test_matches_the_reference_serialiser(value: Any) -> None:
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError, ValueError):
        with pytest.raises(NotCanonicalisable):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ufb33": 2},  # UTF-16 order differs from code point order
        {"n": 2**53 + 1},
        {"x": 1.5},
    ],
)
def test_values_off_the_fast_path_still_canonicalise_or_refuse(value: Any) -> None:
    assert not _plain(value)
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError, ValueError):
        with pytest.raises(NotCanonicalisable):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


def test_an_access_entry_shape_takes_the_fast_path() -> None:
    entry = {
        "v": 1,
        "actor": {"kind": "agency", "id": "ΔΟΥ Α΄ Αθηνών"},
        "fields": ["surname", "given_name"],
        "reason": None,
        "ok": True,
        "note": 'line\nbreak "quoted" \\ \x01 \u2028',
    }
    assert _plain(entry)
    assert canonical_json(entry) == rfc8785.dumps(entry)


@pytest.mark.parametrize("bad", [math.nan, math.inf, {1: "int key"}, object(), "\ud800"])
def test_values_without_a_canonical_form_are_refused(bad: Any) -> None:
    with pytest.raises(NotCanonicalisable):
        canonical_json({"v": bad})
