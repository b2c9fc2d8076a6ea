"""Tables of citizen notifications: the outbox, messages, contacts and preferences.

``notification_outbox`` is the transactional outbox: a row is written in the
same transaction as the state change it announces (by the access-log hook or
by :func:`hub.persistence.outbox.enqueue_in`), so a committed change always
has its row and a rolled-back one never does. Workers expand each event into
one ``notification_messages`` row per channel the citizen wants, and deliver
those; the message id doubles as the idempotency key towards providers.

Contacts and preferences are keyed by the citizen's AFM (what every sign-in
carries); ``notification_profiles`` also remembers the citizen's AMKA, so an
event naming the citizen by AMKA finds the same contacts.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = [
    "ContactRow",
    "ContactVerificationRow",
    "NotificationMessageRow",
    "OutboxRow",
    "PreferenceRow",
    "ProfileRow",
]


class OutboxRow(Base):
    """One event a citizen may be told about, written with the change it announces."""

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    #: ``afm:…`` or ``amka:…``: whom the event concerns.
    subject: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    #: JSON: codes only (agency, purpose, evidence type, ids), never personal data.
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    #: Not expanded before this moment (``hidden_until`` purposes).
    not_before: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    #: Set once the event has been expanded into messages.
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: Makes a scheduled event (consent about to expire) enqueue once.
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)

    __table_args__ = (Index("ix_notification_outbox_pending", "processed_at", "not_before"),)


class NotificationMessageRow(Base):
    """One message to one contact point; its id is the provider idempotency key."""

    __tablename__ = "notification_messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    subject: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    digest: Mapped[bool] = mapped_column(Boolean)
    #: queued, sending, sent, delivered, failed (will retry) or dead.
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    #: When the event happened: event-to-delivery latency is measured from it.
    event_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    provider_id: Mapped[str | None] = mapped_column(String(128))
    #: The claim that holds the message while ``status='sending'``: a worker
    #: renews and settles only a message whose lease is still its own.
    lease: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_notification_messages_due", "status", "next_attempt_at"),
        Index("ix_notification_messages_subject", "subject", "created_at"),
        Index("ix_notification_messages_provider", "provider_id"),
    )


class ProfileRow(Base):
    """A citizen's language and AMKA, so AMKA-named events reach the same contacts."""

    __tablename__ = "notification_profiles"

    afm: Mapped[str] = mapped_column(String(16), primary_key=True)
    amka: Mapped[str | None] = mapped_column(String(16), unique=True)
    language: Mapped[str] = mapped_column(String(2))


class ContactRow(Base):
    """A verified contact point of a citizen: one per channel kind (email, mobile)."""

    __tablename__ = "notification_contacts"

    afm: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    address: Mapped[str] = mapped_column(String(254))
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ContactVerificationRow(Base):
    """A pending one-time code; only its hash is kept."""

    __tablename__ = "notification_verifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    afm: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_notification_verifications_afm", "afm", "kind"),)


class PreferenceRow(Base):
    """The citizen's choice for one event kind on one channel (when not the default)."""

    __tablename__ = "notification_preferences"

    afm: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12))
