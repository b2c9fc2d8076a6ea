"""``/me/notifications``: the citizen's contact details, choices and messages.

The page calls the same :class:`~hub.notifications.service.NotificationService`
methods as ``/v1/me/contacts`` and ``/v1/me/notification-preferences``, with
the principal from the session. Every change is a CSRF-checked POST answered
by a redirect (POST-redirect-GET); a malformed address or a wrong code comes
back as a notice on the page rather than an error page, since the citizen
will simply try again.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.errors import InvalidContact
from hub.notifications.models import CHANNELS, CONTACT_KINDS, EVENT_KINDS, MODES
from hub.notifications.service import NotificationService
from hub.web._frame import Frame

__all__ = ["routes"]

_PATH = "/me/notifications"


def _service(frame: Frame) -> NotificationService:
    return frame.services.notifications


def routes(frame: Frame) -> list[Route]:
    async def show(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        service = _service(frame)
        contacts = await run_in_threadpool(service.contacts, citizen)
        preferences = await run_in_threadpool(service.preferences, citizen)
        messages = await run_in_threadpool(service.messages_of, citizen, 50)
        words = frame.words(page)
        context: dict[str, Any] = {
            "contacts": contacts,
            "contact_kinds": CONTACT_KINDS,
            "preferences": [
                (kind, words.term("notification_kinds", kind), preferences[kind])
                for kind in EVENT_KINDS
            ],
            "channels": [c for c in CHANNELS if c in service.senders] or list(CHANNELS),
            "modes": MODES,
            "messages": [m.to_json() for m in messages],
            "kind_words": {k: words.term("notification_kinds", k) for k in EVENT_KINDS},
            "notice": request.query_params.get("done", ""),
            "problem": request.query_params.get("error", ""),
        }
        return frame.render(page, "me_notifications.html", context)

    async def add_contact(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        form = await frame.form(page)
        kind = form.get("kind")
        try:
            await run_in_threadpool(
                _service(frame).start_verification,
                citizen,
                kind if kind in CONTACT_KINDS else "email",
                form.get("address")[:254],
                page.language,
            )
        except InvalidContact:
            return frame.redirect(page, _PATH, error="invalid")
        return frame.redirect(page, _PATH, done="code_sent")

    async def confirm(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        form = await frame.form(page)
        try:
            await run_in_threadpool(
                _service(frame).confirm, citizen, form.get("id")[:64], form.get("code")[:12]
            )
        except InvalidContact:
            return frame.redirect(page, _PATH, error="code")
        return frame.redirect(page, _PATH, done="confirmed")

    async def remove(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        await frame.form(page)
        kind = str(request.path_params["kind"])
        await run_in_threadpool(_service(frame).remove_contact, citizen, kind)
        return frame.redirect(page, _PATH, done="removed")

    async def language(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        form = await frame.form(page)
        chosen = form.get("language")
        await run_in_threadpool(
            _service(frame).set_language, citizen, chosen if chosen in ("el", "en") else "el"
        )
        return frame.redirect(page, _PATH, done="saved")

    async def preferences(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        form = await frame.form(page)
        changes: dict[str, dict[str, str]] = {}
        for kind in EVENT_KINDS:
            for channel in CHANNELS:
                mode = form.get(f"pref.{kind}.{channel}")
                if mode in MODES:
                    changes.setdefault(kind, {})[channel] = mode
        await run_in_threadpool(_service(frame).set_preferences, citizen, changes)
        return frame.redirect(page, _PATH, done="saved")

    return [
        Route(_PATH, show, methods=["GET"]),
        Route(_PATH + "/contacts", add_contact, methods=["POST"]),
        Route(_PATH + "/contacts/confirm", confirm, methods=["POST"]),
        Route(_PATH + "/contacts/{kind}/remove", remove, methods=["POST"]),
        Route(_PATH + "/language", language, methods=["POST"]),
        Route(_PATH + "/preferences", preferences, methods=["POST"]),
    ]
