"""The values of agency webhooks: endpoints, events, deliveries and their attempts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "EVENT_TYPES",
    "AgencyEvent",
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "Endpoint",
]

#: The events an agency can subscribe to. Consent events concern the
#: agency's own consent requests; case events its own cases.
EVENT_TYPES: Final = (
    "consent.approved",
    "consent.refused",
    "consent.revoked",
    "consent.expired",
    "case.updated",
)

DeliveryStatus = Literal["pending", "delivered", "dead", "cancelled"]


@dataclass(frozen=True, slots=True)
class AgencyEvent:
    """Something an agency may want to hear of, before it is fanned out to endpoints.

    ``data`` carries references the agency already holds (request, consent and
    case ids, statuses, dates), never a citizen's identifiers or evidence.
    """

    agency_id: str
    type: str
    at: dt.datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An agency's registered URL and the event types it receives."""

    id: str
    agency_id: str
    url: str
    event_types: tuple[str, ...]
    created_at: dt.datetime
    #: ``whsec_<base64>``; shown to the agency once, at registration.
    secret: str = field(repr=False, default="")

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at delivering: when, what came back, how long it took."""

    number: int
    at: dt.datetime
    outcome: Literal["delivered", "failed"]
    duration_ms: int
    status_code: int | None = None
    #: A short code of what went wrong (``timeout``, ``refused-address``, ``http-500``).
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one endpoint; ``id`` is the ``webhook-id``."""

    id: str
    endpoint_id: str
    agency_id: str
    event_type: str
    body: str
    status: DeliveryStatus
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    attempt_count: int = 0
    attempts: tuple[Attempt, ...] = ()
