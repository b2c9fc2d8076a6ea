"""``/signin`` and ``/signout``: starting and ending a session.

In production, citizens sign in through the configured identity issuer and
the development page does not exist (404). Outside production, a person
trying the hub picks one of the sandbox's demo citizens, or types an
auditor's name, and gets a session holding a token the hub's
:class:`~hub.domain.auth.TokenService` issued for them, exactly as the
``hub token`` CLI would.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import NotFound, ServiceUnavailable
from hub.web._frame import Frame, Page
from hub.web._session import session_cookie

if TYPE_CHECKING:
    from hub.config import Settings

__all__ = ["DEMO_CITIZENS", "demo_citizens", "routes", "safe_next"]

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


def routes(frame: Frame) -> list[Route]:
    def refuse_in_production() -> None:
        if frame.settings.is_production:
            raise NotFound("There is no such page.")

    def render_form(page: Page, errors: dict[str, str], status: int = 200) -> Response:
        context = {
            "citizens": demo_citizens(frame.settings),
            "errors": errors,
            "next": safe_next(page.request.query_params.get("next"), ""),
            "auditor": "",
        }
        return frame.render(page, "signin.html", context, status=status)

    async def show(request: Request) -> Response:
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
        if tokens is None:
            raise ServiceUnavailable("The hub has no token key; run 'hub keys init'.")
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
        chosen = form.get("citizen")
        found = next((c for c in demo_citizens(frame.settings) if c["afm"] == chosen), None)
        if found is None:
            return render_form(page, {"citizen": page.t("signin_pick_citizen")}, 422)
        issued = tokens.issue_citizen(found["afm"], found["amka"], found["name"])
        frame.start_session(
            page, session_cookie("citizen", issued.access_token), max(issued.expires_in, 3600)
        )
        return frame.redirect(page, safe_next(form.get("next"), "/me"))

    async def signout(request: Request) -> Response:
        page = frame.begin(request)
        await frame.form(page)
        frame.end_session(page)
        return frame.redirect(page, "/verify")

    return [
        Route("/signin", show, methods=["GET"]),
        Route("/signin", submit, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
