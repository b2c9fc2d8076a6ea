"""The OAuth 2.0 token endpoint (client credentials, private_key_jwt).

It needs no login, and each request costs a signature check and a replay
record, so each client address is rate-limited (429 with ``Retry-After``).
"""

from __future__ import annotations

from typing import Any

from hub.api._context import services
from hub.api._limits import check_rate_limit
from hub.api._responses import JsonResult, json_body

__all__ = ["token"]


def token(body: dict[str, Any]) -> JsonResult:
    check_rate_limit(services().token_limiter, "token")
    issued = services().tokens.exchange(str(body["client_assertion"]))
    return json_body(
        {
            "access_token": issued.access_token,
            "token_type": issued.token_type,
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
