"""The hub's one base64url: unpadded, and strict when it decodes."""

from __future__ import annotations

import pytest

from hub.domain.encoding import b64url, unb64url


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", b"\xfb\xff\xfe", bytes(range(256))])
def test_round_trip_without_padding(data: bytes) -> None:
    text = b64url(data)
    assert not set(text) & set("=+/")
    assert unb64url(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "Zg==",  # padding
        "Zm9v+w",  # the standard alphabet
        "Z",  # a length no encoding has
        "Zh",  # "f" with a non-zero unused bit: a second spelling of b"f"
        "Zm 9v",  # whitespace
    ],
)
def test_anything_but_the_canonical_form_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        unb64url(text)
