"""The vocabulary of notifications: event kinds, channels, modes, statuses.

Plain values shared by the outbox writer, the workers, the API and the pages,
so that a kind or a channel is spelled one way everywhere. Nothing here knows
a database or a provider.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

__all__ = [
    "CHANNELS",
    "CONTACT_KINDS",
    "DEFAULT_MODES",
    "EVENT_KINDS",
    "MESSAGE_STATUSES",
    "MODES",
    "Channel",
    "CitizenSettings",
    "ClaimedEvent",
    "ClaimedMessage",
    "ContactKind",
    "ContactPoints",
    "Event",
    "EventKind",
    "MessageStatus",
    "MessageView",
    "Mode",
    "Outgoing",
    "PlannedMessage",
    "Verification",
    "channel_contact",
]

EventKind = Literal[
    "consent_requested",
    "consent_expiring",
    "consent_granted",
    "consent_refused",
    "consent_revoked",
    "access",
    "certificate_issued",
    "certificate_checked",
    "case_status",
]
EVENT_KINDS: Final[tuple[EventKind, ...]] = get_args(EventKind)

Channel = Literal["email", "sms", "viber"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)

#: What a citizen registers: an email address and a mobile number (SMS and
#: Viber both reach the mobile).
ContactKind = Literal["email", "mobile"]
CONTACT_KINDS: Final[tuple[ContactKind, ...]] = get_args(ContactKind)

Mode = Literal["off", "immediate", "digest"]
MODES: Final[tuple[Mode, ...]] = get_args(Mode)

#: ``failed`` will be retried; ``dead`` will not (until an operator retries it).
MessageStatus = Literal["queued", "sending", "sent", "delivered", "failed", "dead"]
MESSAGE_STATUSES: Final[tuple[MessageStatus, ...]] = get_args(MessageStatus)


def channel_contact(channel: Channel) -> ContactKind:
    """The contact point a channel reaches."""
    return "email" if channel == "email" else "mobile"


def _defaults() -> dict[tuple[EventKind, Channel], Mode]:
    modes: dict[tuple[EventKind, Channel], Mode] = {}
    for kind in EVENT_KINDS:
        modes[(kind, "email")] = "immediate"
        modes[(kind, "sms")] = "off"
        modes[(kind, "viber")] = "off"
    # What needs the citizen's action, or their application, also goes by SMS.
    modes[("consent_requested", "sms")] = "immediate"
    modes[("case_status", "sms")] = "immediate"
    # A certificate checked by a third party is told only to those who ask.
    modes[("certificate_checked", "email")] = "off"
    return modes


#: The mode of each (kind, channel) a citizen has not chosen themself.
DEFAULT_MODES: Final[Mapping[tuple[EventKind, Channel], Mode]] = _defaults()


@dataclass(frozen=True, slots=True)
class Event:
    """Something to tell a citizen: codes only, never personal data.

    ``data`` holds the agency id, purpose id, evidence type, consent or
    request id, certificate code, case reference — what a template needs to
    say who, what and why, and where to look.
    """

    subject: str
    kind: EventKind
    data: Mapping[str, Any]
    at: dt.datetime
    not_before: dt.datetime | None = None
    dedupe_key: str | None = None


@dataclass(frozen=True, slots=True)
class ContactPoints:
    """Where and in which language a citizen is reached."""

    email: str | None = None
    mobile: str | None = None
    language: str = "el"

    def address(self, channel: Channel) -> str | None:
        return self.email if channel == "email" else self.mobile


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One rendered message for a provider; ``key`` is its idempotency key."""

    key: str
    channel: Channel
    to: str
    subject: str
    text: str
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message as the citizen and operators see it (no body, no address in full)."""

    id: str
    kind: str
    channel: str
    to: str
    status: str
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime
    last_error: str | None
    digest: bool

    def to_json(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

        return {
            "id": self.id,
            "kind": self.kind,
            "channel": self.channel,
            "to": self.to,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": iso(self.created_at),
            "sent_at": iso(self.sent_at),
            "delivered_at": iso(self.delivered_at),
            "next_attempt_at": iso(self.next_attempt_at),
            "last_error": self.last_error,
            "digest": self.digest,
        }


# -- what the store hands the service ------------------------------------------------


@dataclass(frozen=True, slots=True)
class CitizenSettings:
    """What the hub itself holds for a citizen: verified contacts, language, choices."""

    afm: str | None
    contacts: ContactPoints
    has_profile: bool
    preferences: Mapping[tuple[str, str], str]


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    subject: str
    kind: str
    data: Mapping[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    channel: str
    address: str
    language: str
    digest: bool
    not_before: dt.datetime


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: str
    subject: str
    kind: str
    channel: str
    address: str
    language: str
    digest: bool
    attempts: int
    event_at: dt.datetime
    data: Mapping[str, Any]
    #: This claim's token: only its holder may renew or settle the message.
    lease: str
    #: When the claim's lease runs out.
    lease_until: dt.datetime


@dataclass(frozen=True, slots=True)
class Verification:
    id: str
    afm: str
    kind: str
    address: str
    code_hash: str
    expires_at: dt.datetime
    attempts: int
