"""Response helpers: name the media type, since operations also document problems.

Every operation documents its ``application/problem+json`` errors, so
connexion cannot guess the media type of a handler's success body; handlers
return through these helpers to say it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["JsonResult", "json_body"]

JsonResult = tuple[Any, int, dict[str, str]]


def json_body(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JsonResult:
    return body, status, {**(headers or {}), "Content-Type": "application/json"}
