"""What agency webhooks need from storage: endpoints, and a queue of deliveries.

Events are *published* inside the transaction of the change that caused
them (``publish_in`` with that transaction's handle, a SQLAlchemy
``Session`` this package does not import), so a delivery exists exactly
when its change committed.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from hub.webhooks.models import AgencyEvent, Attempt, Delivery, Endpoint

__all__ = ["DeliveryQueue", "EndpointStore", "EventPublisher"]


@runtime_checkable
class EventPublisher(Protocol):
    """Turns an event into one pending delivery per subscribed endpoint."""

    def publish_in(self, transaction: Any, event: AgencyEvent) -> int:
        """Queue the event inside ``transaction``; the number of deliveries queued."""
        ...


@runtime_checkable
class EndpointStore(Protocol):
    """The agencies' registered endpoints and their delivery logs."""

    def add(self, endpoint: Endpoint, *, limit: int) -> bool:
        """Register; False when the agency already has ``limit`` endpoints."""
        ...

    def endpoints_of(self, agency_id: str) -> list[Endpoint]: ...

    def get(self, endpoint_id: str) -> Endpoint | None: ...

    def remove(self, endpoint_id: str, *, at: dt.datetime) -> None:
        """Unregister; its pending deliveries are cancelled, its log is kept."""
        ...

    def deliveries_of(self, endpoint_id: str, *, limit: int) -> list[Delivery]:
        """Newest first, each with its attempts."""
        ...


@runtime_checkable
class DeliveryQueue(Protocol):
    """Due deliveries, claimed by one worker at a time across every hub node."""

    def claim(
        self, *, now: dt.datetime, lease: dt.timedelta, limit: int
    ) -> list[tuple[Delivery, Endpoint]]:
        """Take up to ``limit`` due deliveries for ``lease``; no other worker gets them."""
        ...

    def finish(
        self,
        delivery_id: str,
        attempt: Attempt,
        *,
        next_attempt_at: dt.datetime | None,
        dead: bool,
    ) -> None:
        """Record the attempt: delivered, due again at ``next_attempt_at``, or dead."""
        ...
