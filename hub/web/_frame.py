"""What every page shares: the request's language, session and form token.

Each handler starts with :meth:`Frame.begin`, which reads the cookies once
into a :class:`Page`, and ends with :meth:`Frame.render` or
:meth:`Frame.redirect`, which set the cookies and the security headers.
Keeping that in one place means no page can forget the CSRF check, the
``no-store`` header or the language cookie.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode, urlsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub.auth.models import AuditorPrincipal, CitizenPrincipal
from hub.auth.service import TokenService
from hub.errors import Forbidden, HubError, PayloadTooLarge, ServiceUnavailable
from hub.limits import MAX_UPLOAD_BYTES
from hub.logs import REQUEST_ID
from hub.services import unavailable_reason
from hub.web._forms import Form, parse_form
from hub.web._session import CookieNames, CsrfSigner, Session, new_nonce, read_session
from hub.web._words import ATHENS, Words, day, moment, parse_day
from hub.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, Language, translate

if TYPE_CHECKING:
    from hub.services import Services

__all__ = ["CsrfRefused", "Frame", "Page", "SignInNeeded"]

log = logging.getLogger("hub.web")

TEMPLATES: Final = Path(__file__).parent / "templates"
CSRF_FIELD: Final = "csrf_token"
_YEAR: Final = 365 * 24 * 3600
#: Pages never run scripts and load nothing from elsewhere.
_CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _csp(issuer: str | None) -> str:
    """The pages' policy; signing out may end at the identity issuer's logout page."""
    if issuer is None:
        return _CSP
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    return _CSP.replace("form-action 'self'", f"form-action 'self' {origin}")


class CsrfRefused(Forbidden):
    """A POST without this browser's valid form token."""

    slug = "csrf"
    title = "Form token missing or invalid"


class SignInNeeded(HubError):
    """The page needs a signed-in citizen or auditor; handled by a redirect."""

    status = 401
    slug = "unauthorized"

    def __init__(self, role: str) -> None:
        super().__init__(f"This page is for a signed-in {role}.")
        self.role = role


@dataclass(slots=True)
class Page:
    """One request as the pages see it."""

    request: Request
    language: Language
    nonce: str
    nonce_is_new: bool
    session_cookie: str | None
    session: Session | None
    set_language: bool = False
    csrf: str = ""
    extra_cookies: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def citizen(self) -> CitizenPrincipal | None:
        return self.session.citizen if self.session else None

    @property
    def auditor(self) -> AuditorPrincipal | None:
        return self.session.auditor if self.session else None

    def t(self, key: str) -> str:
        return translate(key, self.language)


def athens_day(text: str) -> dt.datetime | None:
    """The start of a typed day (31/12/2026 or 2026-12-31) in Athens; ``None`` if not a date."""
    day = parse_day(text)
    if day is None:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=ATHENS)


@jinja2.pass_context
def _moment_filter(context: Any, value: Any) -> str:
    return moment(value, context["lang"])


@jinja2.pass_context
def _day_filter(context: Any, value: Any) -> str:
    return day(value, context["lang"])


def _size(limit: int) -> str:
    """A byte limit as a person reads it: 1 MB, 512 kB (the body limit, not the file's)."""
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.3g} MB"
    return f"{limit // 1024} kB"


def today_athens() -> dt.date:
    return dt.datetime.now(ATHENS).date()


class Frame:
    """The pages' shared machinery, built once per hub from its services."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.cookies = CookieNames.for_url(services.settings.public_url)
        # Without keys the pages still render, but no form can be trusted, so
        # every form is refused (CsrfRefused) rather than answered unchecked.
        has_keys = unavailable_reason(services.keystore) is None
        self.csrf_signer = CsrfSigner(services.keystore) if has_keys else None
        self.csp = _csp(services.settings.citizen_issuer)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            # Every value is escaped unless a template says otherwise (none does).
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = _moment_filter
        self.env.filters["day"] = _day_filter

    def words(self, page: Page) -> Words:
        """The catalogue's words in the page's language."""
        return Words(self.services.catalog.catalog, page.language)

    # -- the request -----------------------------------------------------------

    @property
    def tokens(self) -> TokenService:
        return self.services.tokens

    def signer(self) -> CsrfSigner:
        """The key that seals forms and sign-in flows; 503 with the reason without keys."""
        if self.csrf_signer is None:
            raise ServiceUnavailable(unavailable_reason(self.services.keystore))
        return self.csrf_signer

    def begin(self, request: Request) -> Page:
        wanted = request.query_params.get("lang")
        set_language = wanted in LANGUAGES
        language: Language = DEFAULT_LANGUAGE
        remembered = request.cookies.get(self.cookies.language)
        if wanted == "en" or (not set_language and remembered == "en"):
            language = "en"
        nonce = request.cookies.get(self.cookies.csrf) or ""
        is_new = not (16 <= len(nonce) <= 128)
        if is_new:
            nonce = new_nonce()
        raw = request.cookies.get(self.cookies.session)
        # Without keys no session verifies (read_session answers None).
        session = read_session(raw, self.tokens)
        page = Page(
            request=request,
            language=language,
            nonce=nonce,
            nonce_is_new=is_new,
            session_cookie=raw if session else None,
            session=session,
            set_language=set_language,
        )
        if self.csrf_signer is not None:
            page.csrf = self.csrf_signer.token(nonce, page.session_cookie)
        return page

    async def form(self, page: Page, limit: int = MAX_UPLOAD_BYTES) -> Form:
        """The posted form, once its CSRF token proves it came from our pages."""
        request = page.request
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise PayloadTooLarge(f"The form is larger than {limit} bytes.")
        form = parse_form(request.headers.get("content-type"), bytes(body))
        token = form.fields.get(CSRF_FIELD)
        if page.nonce_is_new or self.csrf_signer is None:
            raise CsrfRefused("The form token is missing.")
        if not self.csrf_signer.check(token, page.nonce, page.session_cookie):
            raise CsrfRefused("The form token is not valid for this browser.")
        return form

    def require_citizen(self, page: Page) -> CitizenPrincipal:
        if page.citizen is None:
            raise SignInNeeded("citizen")
        return page.citizen

    def require_auditor(self, page: Page) -> AuditorPrincipal:
        if page.auditor is None:
            raise SignInNeeded("auditor")
        return page.auditor

    # -- the response ---------------------------------------------------------------

    def language_links(self, page: Page) -> dict[str, str]:
        """Where the language switch leads: this page, in the other language."""
        other = "en" if page.language == "el" else "el"
        query = {k: v for k, v in page.request.query_params.items() if k != "lang"}
        query["lang"] = other
        return {"href": f"{page.request.url.path}?{urlencode(query)}", "lang": other}

    def render(
        self,
        page: Page,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status: int = 200,
    ) -> Response:
        values: dict[str, Any] = {
            "page": page,
            "t": page.t,
            "w": self.words(page),
            "lang": page.language,
            "csrf_field": CSRF_FIELD,
            "csrf": page.csrf,
            "switch": self.language_links(page),
            "development": not self.settings.is_production,
            "request_id": REQUEST_ID.get() or "",
            "path": page.request.url.path,
            "max_upload": _size(min(self.settings.max_body_bytes, MAX_UPLOAD_BYTES)),
        }
        values.update(context or {})
        html = self.env.get_template(template).render(values)
        response = HTMLResponse(html, status_code=status)
        return self.finish(page, response)

    def redirect(self, page: Page, location: str, **query: str) -> Response:
        """POST-redirect-GET: a 303 to a page of ours, with notice parameters."""
        target = location + (f"?{urlencode(query)}" if query else "")
        return self.finish(page, RedirectResponse(target, status_code=303))

    def finish(self, page: Page, response: Response) -> Response:
        secure = self.cookies.secure
        if page.set_language:
            response.set_cookie(
                self.cookies.language,
                page.language,
                max_age=_YEAR,
                path="/",
                secure=secure,
                httponly=True,
                samesite="lax",
            )
        if page.nonce_is_new:
            response.set_cookie(
                self.cookies.csrf,
                page.nonce,
                path="/",
                secure=secure,
                httponly=True,
                samesite="lax",
            )
        for name, value, max_age in page.extra_cookies:
            response.set_cookie(
                name,
                value,
                max_age=max_age,
                path="/",
                secure=secure,
                httponly=True,
                samesite="lax",
            )
        headers = response.headers
        headers.setdefault("Cache-Control", "no-store")
        headers["Content-Security-Policy"] = self.csp
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        return response

    def start_session(self, page: Page, cookie_value: str, max_age: int) -> None:
        """Set the session cookie and a fresh form nonce (old forms stop working)."""
        page.extra_cookies.append((self.cookies.session, cookie_value, max_age))
        page.nonce = new_nonce()
        page.nonce_is_new = True

    def end_session(self, page: Page) -> None:
        page.extra_cookies.append((self.cookies.session, "", 0))
        page.nonce = new_nonce()
        page.nonce_is_new = True

    def error(self, page: Page, error: HubError, *, status: int | None = None) -> Response:
        code = status or error.status
        key = f"err_{code}" if page.t(f"err_{code}") != f"err_{code}" else "err_500"
        # Only the class reaches the log: details may carry what a person typed.
        log.info("page error", extra={"error": error.__class__.__name__, "status": code})
        if isinstance(error, CsrfRefused):
            detail = page.t("err_csrf")
        else:
            # A detail is written in English where the error is raised; a Greek
            # page gives the error's own Greek explanation instead.
            detail = error.detail_el if page.language == "el" else error.detail
        show_detail = code < 500 or code in (502, 503, 504)
        context = {"title_key": key, "detail": detail if show_detail else None, "status": code}
        return self.render(page, "error.html", context, status=code)
