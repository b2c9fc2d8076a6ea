"""``/``: the front door, the first URL ``hub demo`` prints.

A person who opens the hub's address meets a page, not a JSON 404: in Greek
first, like every page, it says what the hub does and leads to what each
visitor came for — checking a document, the citizen's area, the access
audit — and lists the evidence the hub can exchange (the service catalogue)
with the links an agency's developer needs: the API documentation, the
OpenAPI document and the OAuth metadata. No script, no form.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.web._frame import Frame

__all__ = ["routes"]


def routes(frame: Frame) -> list[Route]:
    async def home(request: Request) -> Response:
        page = frame.begin(request)
        catalogue = sorted(
            (
                (kind.title_el if page.language == "el" else kind.title_en, kind.id)
                for kind in frame.services.catalog.catalog.evidence_types.values()
            ),
        )
        return frame.render(page, "home.html", {"catalogue": catalogue})

    return [Route("/", home, methods=["GET", "HEAD"])]
