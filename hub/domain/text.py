"""Free text that an agency writes into the permanent record.

The official's name and the case reference an agency sends are stored in the
access log forever and shown to the citizen on their history page. A line
break there forges a second line in any text export, a NUL truncates it in C
tools, and a bidirectional override (U+202E) makes a reference read as
something else on screen. Such characters have no place in a name or a
reference, so they are refused rather than cleaned: a silently altered value
would no longer be the one the agency sent.

This check lives in the domain rather than as a ``pattern`` in the API
description because connexion's pattern failures echo the offending value
(control characters included) and the whole pattern back to the client.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from hub.errors import ValidationFailed

__all__ = ["BIDI_CONTROLS", "check_plain_text", "is_plain_text"]

#: Unicode's bidirectional formatting characters (UAX #9): marks, embeddings,
#: overrides and isolates, and the Arabic letter mark.
BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f"
    + "".join(chr(c) for c in range(0x202A, 0x202F))
    + "".join(chr(c) for c in range(0x2066, 0x206A))
)


def is_plain_text(value: str) -> bool:
    """Whether ``value`` has no control (Cc) and no bidi-control characters."""
    return not any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in value)


def check_plain_text(value: str | None, name: str) -> str | None:
    """``value`` unchanged, or :class:`ValidationFailed` naming the field (never the value)."""
    if value is not None and not is_plain_text(value):
        raise ValidationFailed(
            f"{name} must not contain control or bidirectional-control characters."
        )
    return value
