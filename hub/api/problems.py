"""Every error leaves the hub as RFC 9457 problem+json, with our own text.

Connexion and Starlette raise their own exceptions for unknown routes, wrong
methods, unsupported media types and schema violations; their messages echo
schema fragments, so they are mapped here to stable problem types with short
details. Anything unexpected becomes a bare 500 problem with no internals.

A client that prefers Greek (``Accept-Language: el``) gets the title and
detail in Greek, a person reading an error in an agency's tool, say; English
stays the default, for machines and logs. The ``type`` URI never changes.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from hub.errors import (
    BadRequest,
    Forbidden,
    HubError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from hub.logs import REQUEST_ID

__all__ = [
    "PROBLEM_JSON",
    "hub_error_for_status",
    "problem_language",
    "problem_response",
    "register",
]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("hub.api")

_BY_STATUS: dict[int, type[HubError]] = {
    400: ValidationFailed,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: TooManyRequests,
}

#: A header is read only this far: a client gains nothing by listing more languages.
_MAX_LANGUAGES = 16

_DETAILS = {
    404: "No resource is served at this path.",
    405: "This path does not accept that method.",
    415: "The request body's media type is not accepted here.",
}


def hub_error_for_status(status: int, detail: str | None = None) -> HubError:
    cls = _BY_STATUS.get(status)
    if cls is None:
        return BadRequest(detail) if 400 <= status < 500 else HubError()
    return cls(detail or _DETAILS.get(status))


def problem_language(accept_language: str | None) -> str:
    """``el`` when the client ranks Greek above English (RFC 9110 §12.5.4), else ``en``."""
    best = {"el": 0.0, "en": 0.0}
    for part in (accept_language or "").split(",")[:_MAX_LANGUAGES]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in best:
            continue
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        best[primary] = max(best[primary], quality)
    return "el" if best["el"] > best["en"] else "en"


def problem_body(error: HubError, instance: str | None = None, language: str = "en") -> bytes:
    problem = error.to_problem(instance, language)
    request_id = REQUEST_ID.get()
    if request_id:
        problem["request_id"] = request_id
    return json.dumps(problem, ensure_ascii=False).encode()


#: The token endpoint, whose errors also carry RFC 6749 §5.2 members.
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret


def oauth_error_code(error: HubError) -> str:
    """The RFC 6749 §5.2 ``error`` code a token endpoint refusal is answered with."""
    code = getattr(error, "oauth_error", None)
    if isinstance(code, str):
        return code
    if isinstance(error, Unauthorized):
        return "invalid_client"
    if error.status in (429, 503):
        return "temporarily_unavailable"
    return "invalid_request" if error.status < 500 else "server_error"


def _token_error(error: HubError, instance: str) -> ConnexionResponse:
    """A token endpoint refusal: RFC 6749 §5.2 JSON that is also a problem document.

    OAuth libraries read ``error`` and ``error_description`` from an
    ``application/json`` body (Authlib shows a misleading error otherwise);
    the problem members stay so that the hub's errors keep one shape.
    """
    problem = json.loads(problem_body(error, instance))
    problem.update({"error": oauth_error_code(error), "error_description": error.detail})
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    retry_after = error.extensions.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return ConnexionResponse(
        status_code=error.status,
        mimetype="application/json",
        content_type="application/json",
        body=json.dumps(problem, ensure_ascii=False).encode(),
        headers=headers,
    )


def problem_response(
    error: HubError, instance: str | None = None, language: str = "en"
) -> ConnexionResponse:
    if instance == TOKEN_PATH:
        return _token_error(error, instance)
    headers: dict[str, str] = {"Content-Language": language, "Vary": "Accept-Language"}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="oncehub"'
    retry_after = error.extensions.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return ConnexionResponse(
        status_code=error.status,
        mimetype=PROBLEM_JSON,
        content_type=PROBLEM_JSON,
        body=problem_body(error, instance, language),
        headers=headers,
    )


def _validation_detail(exc: Exception) -> str:
    """A short, schema-free description of a request validation failure."""
    detail = str(getattr(exc, "detail", "") or "")
    # Connexion details look like "'x' is a required property\n\nFailed validating ...";
    # keep the first sentence, drop schema dumps and anything very long.
    first = detail.split("\n", 1)[0].strip()
    if not first or len(first) > 200 or "{" in first:
        return "The request does not match the API description."
    return first


def _on_hub_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    if not isinstance(exc, HubError):  # pragma: no cover - registered for HubError only
        return _on_unexpected(request, exc)
    if exc.status >= 500:
        log.error("request failed", extra={"problem": exc.slug, "status": exc.status})
    return problem_response(exc, request.url.path, _language(request))


def _language(request: ConnexionRequest) -> str:
    return problem_language(request.headers.get("accept-language"))


def _on_problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    status = int(getattr(exc, "status", None) or 500)
    if status == 400:
        error: HubError = ValidationFailed(_validation_detail(exc))
    elif status in (401, 403):
        error = hub_error_for_status(status, "The request is not authorised.")
    elif status == 415:
        error = hub_error_for_status(status)
    elif status >= 500:
        # A response that does not match the spec is our bug, not the client's.
        log.error("response failed validation", extra={"status": status})
        error = HubError()
    else:
        error = hub_error_for_status(status)
    return problem_response(error, request.url.path, _language(request))


def _on_http_exception(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    status = int(getattr(exc, "status_code", 500))
    return problem_response(hub_error_for_status(status), request.url.path, _language(request))


def _on_unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    log.error("unexpected error", exc_info=exc)
    return problem_response(HubError(), request.url.path, _language(request))


def register(app: Any) -> None:
    """Install the handlers on a connexion app."""
    app.add_error_handler(HubError, _on_hub_error)
    app.add_error_handler(ProblemException, _on_problem)
    app.add_error_handler(HTTPException, _on_http_exception)
    app.add_error_handler(Exception, _on_unexpected)
