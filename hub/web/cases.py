"""``/me/cases``: the signed-in citizen's cases and their timelines.

The page calls the same :class:`~hub.cases.service.CaseService` method as
``GET /v1/me/cases``, with the principal from the session, and shows every
code (agency, status, evidence type, purpose) in the catalogue's words.
``/me/cases/{case_reference}`` (where a notification links) shows the cases
with that reference only.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.cases.models import CaseView
from hub.cases.service import STATUS_SECTION
from hub.web._frame import Frame
from hub.web._words import Words

__all__ = ["routes"]


def _row(view: CaseView, words: Words) -> dict[str, Any]:
    case = view.case
    timeline: list[dict[str, Any]] = []
    for item in reversed(view.timeline):
        if item.change is not None:
            timeline.append(
                {
                    "at": item.at,
                    "what": words.term(STATUS_SECTION, item.change.status),
                    "document": (
                        words.evidence_type(item.change.document) if item.change.document else None
                    ),
                    "deadline": item.change.deadline,
                    "note": item.change.note,
                    "purpose": None,
                    "outcome": None,
                }
            )
        elif item.evidence is not None:
            timeline.append(
                {
                    "at": item.at,
                    "what": words.term("actions", "evidence.request"),
                    "document": words.evidence_type(item.evidence.evidence_type),
                    "deadline": None,
                    "note": None,
                    "purpose": words.purpose(item.evidence.purpose),
                    "outcome": words.term("outcomes", item.evidence.outcome),
                }
            )
    offer = view.offer
    return {
        "reference": case.reference,
        "title": case.title,
        "agency": words.agency(case.agency_id),
        "status": case.status,
        "status_text": words.term(STATUS_SECTION, case.status),
        "updated_at": case.updated_at,
        "deadline": case.deadline,
        "timeline": timeline,
        "offer": None
        if offer is None
        else {
            "document": words.evidence_type(offer.evidence_type),
            "agency_can_fetch": offer.agency_can_fetch,
            "certificate_url": (
                f"/me/certificates?type={offer.evidence_type}" if offer.certificate else None
            ),
        },
    }


def routes(frame: Frame) -> list[Route]:
    async def show(request: Request) -> Response:
        page = frame.begin(request)
        citizen = frame.require_citizen(page)
        views = await run_in_threadpool(frame.services.cases.cases_of, citizen)
        wanted = request.path_params.get("case_reference")
        if wanted is not None:
            views = [v for v in views if v.case.reference == str(wanted)[:200]]
        words = frame.words(page)
        return frame.render(page, "me_cases.html", {"cases": [_row(v, words) for v in views]})

    return [
        Route("/me/cases", show, methods=["GET"]),
        Route("/me/cases/{case_reference:path}", show, methods=["GET"]),
    ]
