"""``/signin`` and ``/signout``: starting and ending a session.

With an identity issuer configured (``HUB_CITIZEN_ISSUER``), ``/signin``
sends a citizen there: the OpenID Connect authorization code flow with PKCE
(S256), ``state`` and ``nonce`` kept in a short-lived signed cookie
(hub/web/_oidc.py). The issuer sends the browser back to
``/signin/callback`` with a code; the hub exchanges it for an ID token,
checks that token with :meth:`~hub.auth.service.TokenService.verify_citizen_token`
(issuer, audience, lifetime, nonce, signature by the issuer's JWKS) and
starts a session holding a session token it mints itself.

Without an issuer, outside production, a person trying the hub picks one
of the sandbox's demo citizens, or types an auditor's name; in production
that development page does not exist (404).
"""

from __future__ import annotations

import functools
import secrets
import unicodedata
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.auth.models import CitizenPrincipal
from hub.auth.ports import CitizenSignIn
from hub.errors import BadRequest, Forbidden, HubError, NotFound, Unauthorized
from hub.web._frame import Frame, Page
from hub.web._oidc import FLOW_SECONDS, Flow, open_flow, seal_flow
from hub.web._session import session_cookie

if TYPE_CHECKING:
    from hub.config import Settings

__all__ = ["DEMO_CITIZENS", "SignInFailed", "demo_citizens", "routes", "safe_next"]

#: How many sandbox citizens the development sign-in offers.
DEMO_CITIZENS = 20
_MAX_AUDITOR = 64


@functools.lru_cache(maxsize=4)
def _sample(size: int, seed: int) -> tuple[dict[str, Any], ...]:
    # Development only: the sandbox is not imported by a production hub.
    from adapters.sandbox.runner import sample_citizens  # noqa: PLC0415

    return tuple(sample_citizens(size, seed, DEMO_CITIZENS))


def demo_citizens(settings: Settings) -> tuple[dict[str, Any], ...]:
    """The sandbox citizens a developer may sign in as (computed once)."""
    return _sample(settings.sandbox_population, settings.sandbox_seed)


def safe_next(value: str | None, default: str) -> str:
    """Only our own pages are a place to return to: no open redirect."""
    if not value or "//" in value or "\\" in value:
        return default
    path = value.split("?", 1)[0]
    if any(path == p or path.startswith(p + "/") for p in ("/me", "/audit", "/verify")):
        return value[:512]
    return default


def _auditor_name(text: str) -> str | None:
    name = " ".join(text.split())
    if not 1 <= len(name) <= _MAX_AUDITOR:
        return None
    if any(unicodedata.category(c).startswith("C") for c in name):
        return None
    return name


class SignInFailed(BadRequest):
    """The answer that came back from the identity issuer is not for this sign-in."""

    slug = "signin-failed"
    title = "Sign-in failed"


def routes(frame: Frame) -> list[Route]:
    def refuse_in_production() -> None:
        if frame.settings.is_production:
            raise NotFound("There is no such page.")

    def issuer_signin() -> CitizenSignIn | None:
        return frame.services.citizen_signin

    async def start_at_issuer(page: Page, signin: CitizenSignIn) -> Response:
        return await _start_at_issuer(frame, page, signin)

    async def callback(request: Request) -> Response:
        return await _callback(frame, request)

    def render_form(page: Page, errors: dict[str, str], status: int = 200) -> Response:
        context = {
            "citizens": demo_citizens(frame.settings),
            "errors": errors,
            "next": safe_next(page.request.query_params.get("next"), ""),
            "auditor": "",
            "issuer_signin": issuer_signin() is not None,
        }
        return frame.render(page, "signin.html", context, status=status)

    async def show(request: Request) -> Response:
        signin = issuer_signin()
        wants_auditor = request.query_params.get("role") == "auditor"
        if signin is not None and not (wants_auditor and not frame.settings.is_production):
            return await start_at_issuer(frame.begin(request), signin)
        refuse_in_production()
        page = frame.begin(request)
        citizens = await run_in_threadpool(demo_citizens, frame.settings)
        del citizens  # computed off the event loop; render_form reads the cache
        return render_form(page, {})

    async def submit(request: Request) -> Response:
        refuse_in_production()
        page = frame.begin(request)
        form = await frame.form(page)
        tokens = frame.tokens
        role = form.get("role")
        if role == "auditor":
            name = _auditor_name(form.get("auditor"))
            if name is None:
                return render_form(page, {"auditor": page.t("signin_auditor_name")}, 422)
            issued = tokens.issue_auditor(name)
            frame.start_session(
                page, session_cookie("auditor", issued.access_token), max(issued.expires_in, 3600)
            )
            return frame.redirect(page, safe_next(form.get("next"), "/audit"))
        if issuer_signin() is not None:
            raise Forbidden("Citizens sign in through the identity issuer.")
        chosen = form.get("citizen")
        found = next((c for c in demo_citizens(frame.settings) if c["afm"] == chosen), None)
        if found is None:
            return render_form(page, {"citizen": page.t("signin_pick_citizen")}, 422)
        citizen = CitizenPrincipal(afm=found["afm"], amka=found["amka"], name=found["name"])
        issued = tokens.issue_citizen_session(citizen)
        frame.start_session(
            page, session_cookie("citizen", issued.access_token), max(issued.expires_in, 3600)
        )
        return frame.redirect(page, safe_next(form.get("next"), "/me"))

    async def signout(request: Request) -> Response:
        page = frame.begin(request)
        await frame.form(page)
        was_citizen = page.citizen is not None
        frame.end_session(page)
        signin = issuer_signin()
        if was_citizen and signin is not None:
            # The issuer's own session ends too, if it has an endpoint for that.
            back = frame.settings.public_url + "/verify"
            elsewhere = await run_in_threadpool(signin.end_session_url, back)
            if elsewhere is not None:
                return frame.redirect(page, elsewhere)
        return frame.redirect(page, "/verify")

    return [
        Route("/signin", show, methods=["GET"]),
        Route("/signin/callback", callback, methods=["GET"]),
        Route("/signin", submit, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]


async def _start_at_issuer(frame: Frame, page: Page, signin: CitizenSignIn) -> Response:
    """Send the browser to the identity issuer, remembering the flow in a cookie."""
    signer = frame.signer()
    flow = Flow.start(safe_next(page.request.query_params.get("next"), "/me"))
    url = await run_in_threadpool(
        functools.partial(
            signin.authorization_url,
            state=flow.state,
            nonce=flow.nonce,
            code_challenge=flow.challenge,
        )
    )
    page.extra_cookies.append((frame.cookies.flow, seal_flow(signer, flow), FLOW_SECONDS))
    return frame.finish(page, RedirectResponse(url, status_code=303))


async def _callback(frame: Frame, request: Request) -> Response:
    """``/signin/callback``: the identity issuer's answer, then a session or an error page."""
    page = frame.begin(request)
    signin = frame.services.citizen_signin
    if signin is None:
        raise NotFound("There is no such page.")
    # The flow cookie is good for one answer, whatever that answer is.
    page.extra_cookies.append((frame.cookies.flow, "", 0))
    try:
        return await _finish_at_issuer(frame, page, signin)
    except HubError as exc:
        return frame.error(page, exc)


async def _finish_at_issuer(frame: Frame, page: Page, signin: CitizenSignIn) -> Response:
    tokens = frame.tokens
    params = page.request.query_params
    flow = open_flow(frame.signer(), page.request.cookies.get(frame.cookies.flow))
    if flow is None:
        raise SignInFailed("This sign-in has expired or was not started here; start again.")
    if not secrets.compare_digest(params.get("state", "").encode(), flow.state.encode()):
        raise SignInFailed("The answer of the identity issuer is not for this sign-in.")
    if params.get("error"):
        raise Unauthorized("The identity issuer did not sign you in.")
    code = params.get("code", "")
    if not 1 <= len(code) <= 2048:
        raise SignInFailed("The identity issuer sent no sign-in code.")
    id_token = await run_in_threadpool(signin.exchange_code, code, flow.verifier)
    citizen = await run_in_threadpool(
        functools.partial(tokens.verify_citizen_token, id_token, nonce=flow.nonce)
    )
    issued = tokens.issue_citizen_session(citizen)
    frame.start_session(page, session_cookie("citizen", issued.access_token), issued.expires_in)
    return frame.redirect(page, safe_next(flow.next, "/me"))
