"""Tables of agency webhooks: endpoints, the delivery queue and every attempt.

``webhook_deliveries`` is the durable queue: a row is written in the same
transaction as the event that caused it, and workers claim due rows by
``next_attempt_at`` (and an expired ``lease_until``). Attempts are kept as
rows of their own, so the agency's delivery log shows each one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = ["WebhookAttemptRow", "WebhookDeliveryRow", "WebhookEndpointRow"]


class WebhookEndpointRow(Base):
    """An agency's endpoint; removed ones stay (``removed_at``) for their log."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agency_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    #: A JSON list of event types.
    event_types: Mapped[str] = mapped_column(Text)
    #: ``whsec_…``: needed in clear to sign; never shown after registration.
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_webhook_endpoints_agency", "agency_id", "created_at"),)


class WebhookDeliveryRow(Base):
    """One event for one endpoint: pending, delivered, dead or cancelled."""

    __tablename__ = "webhook_deliveries"

    #: ``msg_…``: the ``webhook-id``, the same on every attempt.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(32), ForeignKey("webhook_endpoints.id"))
    agency_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    #: The exact JSON body every attempt sends (and signs).
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempt_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
    )


class WebhookAttemptRow(Base):
    """One try at a delivery, as the agency's delivery log shows it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(40), ForeignKey("webhook_deliveries.id"))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)
