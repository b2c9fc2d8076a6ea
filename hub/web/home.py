"""``/``: the front door, the first URL ``hub demo`` prints.

A person who opens the hub's address meets a page, not a JSON 404: in Greek
first, like every page, it says what the hub does and leads to what each
visitor came for — checking a document, the citizen's area, the access
audit — and lists the evidence the hub can exchange (the service catalogue:
each kind with the registries it comes from, its fields and whether a
citizen can have it as a certificate, all in the catalogue's own words) with
the links an agency's developer needs: the API documentation, the OpenAPI
document, the machine-readable directory and the OAuth metadata. No script,
no form: the fields fold open in a ``<details>``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.domain.catalog import Catalog, EvidenceType, RegistrySpec
from hub.web._frame import Frame

__all__ = ["routes"]


def routes(frame: Frame) -> list[Route]:
    async def home(request: Request) -> Response:
        page = frame.begin(request)
        catalog = frame.services.catalog.catalog
        greek = page.language == "el"
        catalogue = sorted(
            (_service(catalog, kind, greek) for kind in catalog.evidence_types.values()),
            key=lambda service: str(service["title"]),
        )
        return frame.render(page, "home.html", {"catalogue": catalogue})

    return [Route("/", home, methods=["GET", "HEAD"])]


def _service(catalog: Catalog, kind: EvidenceType, greek: bool) -> dict[str, object]:
    """One evidence type as the page lists it, in the page's language."""
    pick = 0 if greek else 1
    registries = dict.fromkeys(
        _registry_name(catalog.registries[s.registry], pick)
        for s in kind.sources
        if s.registry in catalog.registries
    )
    return {
        "id": kind.id,
        "title": kind.title_el if greek else kind.title_en,
        "registries": list(registries),
        "fields": [
            kind.labels[name][pick] if name in kind.labels else name for name in kind.fields
        ],
        "certificate": any(c.evidence_type == kind.id for c in catalog.certificate_types.values()),
    }


def _registry_name(registry: RegistrySpec, pick: int) -> str:
    """The registry as people read it; its catalogue name when it has no labels."""
    return registry.labels[pick] if registry.labels else registry.name
