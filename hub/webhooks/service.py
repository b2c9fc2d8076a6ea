"""What an agency does with its webhooks: register, list, remove, read deliveries.

An endpoint belongs to the agency that registered it; another agency's
endpoint answers 404 exactly like a missing one. The secret that signs the
deliveries is returned once, at registration: the hub keeps it to sign,
never shows it again, and an agency that lost it registers anew.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Final

from hub.auth.models import AgencyPrincipal
from hub.errors import Conflict, NotFound, ValidationFailed
from hub.webhooks.models import EVENT_TYPES, Delivery, Endpoint
from hub.webhooks.policy import UrlPolicy
from hub.webhooks.ports import EndpointStore
from hub.webhooks.signing import new_secret

__all__ = ["MAX_ENDPOINTS", "WebhookService"]

#: Endpoints per agency: enough for a few systems, few enough to fan out cheaply.
MAX_ENDPOINTS: Final = 10
_MAX_DELIVERIES: Final = 200


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WebhookService:
    """Agencies' webhook endpoints; handlers call only this."""

    def __init__(
        self,
        *,
        store: EndpointStore,
        policy: UrlPolicy,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.store = store
        self.policy = policy
        self._clock = clock

    def register(
        self, principal: AgencyPrincipal, *, url: str, event_types: Sequence[str]
    ) -> Endpoint:
        """A new endpoint, with its secret (the only time it is shown)."""
        kinds = tuple(dict.fromkeys(event_types))
        if not kinds:
            raise ValidationFailed("Name at least one event type.")
        unknown = [k for k in kinds if k not in EVENT_TYPES]
        if unknown:
            raise ValidationFailed(f"Event types are some of {', '.join(EVENT_TYPES)}.")
        self.policy.check(url)
        endpoint = Endpoint(
            id=uuid.uuid4().hex,
            agency_id=principal.agency_id,
            url=url,
            event_types=kinds,
            created_at=self._clock(),
            secret=new_secret(),
        )
        if not self.store.add(endpoint, limit=MAX_ENDPOINTS):
            raise Conflict(f"An agency has at most {MAX_ENDPOINTS} webhook endpoints.")
        return endpoint

    def endpoints(self, principal: AgencyPrincipal) -> list[Endpoint]:
        return self.store.endpoints_of(principal.agency_id)

    def _own(self, principal: AgencyPrincipal, endpoint_id: str) -> Endpoint:
        found = self.store.get(endpoint_id)
        if found is None or found.agency_id != principal.agency_id:
            raise NotFound("There is no such webhook endpoint.")
        return found

    def remove(self, principal: AgencyPrincipal, endpoint_id: str) -> None:
        self._own(principal, endpoint_id)
        self.store.remove(endpoint_id, at=self._clock())

    def deliveries(self, principal: AgencyPrincipal, endpoint_id: str) -> list[Delivery]:
        """The endpoint's deliveries, newest first, each with every attempt."""
        self._own(principal, endpoint_id)
        return self.store.deliveries_of(endpoint_id, limit=_MAX_DELIVERIES)
