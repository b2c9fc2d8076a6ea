"""Operations endpoints: liveness, readiness and Prometheus metrics.

The metrics tell anyone who reads them how busy the hub is, which agencies'
routes fail and how its registries behave, so in production they are not
public: either ``HUB_METRICS_TOKEN`` is set and ``/metrics`` wants it as a
bearer token, or ``HUB_METRICS_ADDRESS`` serves them on an internal listener
and this route answers 404. Without either, production answers 404 too.
"""

from __future__ import annotations

import hmac

from connexion import request as _request
from connexion.lifecycle import ConnexionResponse

from hub.api._context import services
from hub.api._responses import JsonResult, json_body
from hub.config import Settings
from hub.errors import NotFound, Unauthorized

__all__ = ["healthz", "metrics", "readyz"]


def healthz() -> JsonResult:
    return json_body({"status": "ok"})


def readyz() -> JsonResult:
    ok, checks = services().ready()
    return json_body(
        {"status": "ready" if ok else "not-ready", "checks": checks}, 200 if ok else 503
    )


def _check_metrics_access(settings: Settings) -> None:
    if settings.metrics_address is not None:
        raise NotFound("The metrics are served on the internal metrics address.")
    expected = settings.metrics_token
    if expected is None:
        if settings.is_production:
            raise NotFound("The metrics need HUB_METRICS_TOKEN or HUB_METRICS_ADDRESS.")
        return
    scheme, _, given = (_request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise Unauthorized("The metrics need the operator's bearer token.")


def metrics() -> ConnexionResponse:
    hub = services()
    _check_metrics_access(hub.settings)
    body = hub.metrics.render()
    return ConnexionResponse(
        status_code=200,
        body=body,
        content_type="text/plain; version=0.0.4; charset=utf-8",
        mimetype="text/plain",
    )
