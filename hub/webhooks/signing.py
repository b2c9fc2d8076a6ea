"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.

The Standard Webhooks specification (standardwebhooks.com) names three
headers: ``webhook-id`` (the message id, the same on every retry so that the
receiver can drop duplicates), ``webhook-timestamp`` (seconds since the
epoch, of this attempt, so that the receiver can refuse replays of old
messages) and ``webhook-signature`` (space-separated ``v1,<sig>`` values).
The key is the endpoint's secret, given as ``whsec_`` and its base64 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

__all__ = ["SECRET_PREFIX", "headers", "new_secret", "sign"]

# The prefix the specification gives secrets, not a secret itself.
SECRET_PREFIX: Final = "whsec_"  # noqa: S105
#: 32 random bytes: as strong as the HMAC-SHA256 key can use.
_SECRET_BYTES: Final = 32


def new_secret() -> str:
    """A fresh endpoint secret, ``whsec_<base64 of 32 random bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,…`` signature of one attempt of one message."""
    signed = f"{message_id}.{timestamp}.".encode("ascii") + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
