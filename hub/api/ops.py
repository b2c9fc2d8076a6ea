"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from connexion.lifecycle import ConnexionResponse

from hub.api._context import services
from hub.api._responses import JsonResult, json_body

__all__ = ["healthz", "metrics", "readyz"]


def healthz() -> JsonResult:
    return json_body({"status": "ok"})


def readyz() -> JsonResult:
    ok, checks = services().ready()
    return json_body(
        {"status": "ready" if ok else "not-ready", "checks": checks}, 200 if ok else 503
    )


def metrics() -> ConnexionResponse:
    body = services().metrics.render()
    return ConnexionResponse(
        status_code=200,
        body=body,
        content_type="text/plain; version=0.0.4; charset=utf-8",
        mimetype="text/plain",
    )
