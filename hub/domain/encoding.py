"""Unpadded base64url, the one way the hub writes bytes into text.

Key ids, JWS segments, JWK members, cookies, PKCE challenges and page cursors
all use RFC 4648 §5 base64url without padding (RFC 7515 §2). Decoding is
strict: the alphabet, no padding, and only the canonical encoding of the bytes
(unused trailing bits zero), so one value has one textual form and a token
altered in its last character cannot decode to the same bytes.
"""

from __future__ import annotations

import base64
import re

__all__ = ["b64url", "unb64url"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url(data: bytes) -> str:
    """Unpadded base64url text of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """The bytes of canonical unpadded base64url ``text``; ``ValueError`` otherwise."""
    if len(text) % 4 == 1 or not _ALPHABET.fullmatch(text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:  # non-zero unused bits: another encoding of data
        raise ValueError("not canonical base64url")
    return data
