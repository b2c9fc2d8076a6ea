"""Free text for the permanent record: no control and no bidi-control characters."""

from __future__ import annotations

import unicodedata

import pytest

from hub.domain.text import BIDI_CONTROLS, check_plain_text, is_plain_text
from hub.errors import ValidationFailed


@pytest.mark.parametrize(
    "text", ["Ε. Παπαδοπούλου", "ΔΑ-2026/4711", "O'Brien & Sons", "", "Ω", "emoji 👩\u200d💻"]
)
def test_ordinary_text_passes(text: str) -> None:
    assert is_plain_text(text)
    assert check_plain_text(text, "official") == text


def test_every_control_and_bidi_control_is_refused() -> None:
    controls = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"]
    assert len(controls) == 65  # C0, DEL and C1
    bidi = [
        "\u061c",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    ]
    assert set(bidi) == BIDI_CONTROLS
    for char in [*controls, *bidi]:
        assert not is_plain_text(f"a{char}b"), hex(ord(char))


def test_the_problem_names_the_field_not_the_value() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_plain_text("evil\u202etxt", "case_reference")
    assert "case_reference" in caught.value.detail
    assert "evil" not in caught.value.detail
    assert check_plain_text(None, "official") is None
