"""The operations of the published spec, with a token and a body for each.

The hardening tests walk every operation of ``specs/hub.yaml`` so that a
new endpoint is covered the day it appears; this module reads the spec and
knows how to call an operation: its path filled in, the bearer token of its
security scheme, and the media types its request body accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[2] / "specs" / "hub.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
PATH_VALUES = {
    "code": "ABCD-EFGH-JKLM",
    "request_id": "00000000-0000-4000-8000-000000000000",
    "consent_id": "00000000-0000-4000-8000-000000000000",
    "index": "0",
    "verification_id": "0" * 32,
    "kind": "email",
    "name": "issuing-ca.crl",
    "case_reference": "CASE-2026-0001",
    "webhook_id": "00000000-0000-4000-8000-000000000000",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def url_path(self) -> str:
        return self.path.format(**PATH_VALUES)

    @property
    def scheme(self) -> str | None:
        for requirement in self.spec.get("security", []):
            for scheme in requirement:
                return str(scheme)
        return None

    @property
    def body_types(self) -> tuple[str, ...]:
        content = self.spec.get("requestBody", {}).get("content", {})
        return tuple(content)

    @property
    def accepts_json(self) -> bool:
        return any(t == "application/json" or t.endswith("+json") for t in self.body_types)

    def headers(self, tokens: dict[str, str]) -> dict[str, str]:
        """The bearer token of the operation's scheme, by scheme name."""
        if self.scheme is None:
            return {}
        return {"Authorization": f"Bearer {tokens[self.scheme]}"}

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations() -> list[Operation]:
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    return [
        Operation(method.upper(), path, item[method])
        for path, item in paths.items()
        for method in METHODS
        if method in item
    ]
