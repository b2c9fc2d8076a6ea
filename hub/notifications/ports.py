"""What the notification service needs from the world, as protocols.

A channel sender delivers one rendered message to a provider (an SMTP
server, an SMS or Viber gateway) and honours the idempotency key; a contact
directory (the national contact registry, or its sandbox) knows the contact
points citizens registered elsewhere; the notification store keeps the
citizens' settings and the outbox. ``hub.notifications.factory`` wires the
implementations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from hub.notifications.models import (
    Channel,
    CitizenSettings,
    ClaimedEvent,
    ClaimedMessage,
    ContactPoints,
    MessageView,
    Outgoing,
    PlannedMessage,
    Verification,
)

__all__ = ["ChannelSender", "ContactDirectory", "NotificationStore"]


class ChannelSender(Protocol):
    """Hands messages of one channel to its provider."""

    channel: Channel
    #: The most one :meth:`send` may take, in seconds, connect to last byte,
    #: whatever the provider does: the sender cuts the exchange off then. The
    #: service holds a message's lease for at least this long (and a margin)
    #: past the moment a send starts, so no other worker takes it meanwhile.
    deadline: float

    def send(self, message: Outgoing) -> str:
        """Deliver ``message`` within :attr:`deadline`; the provider's message id.

        Raises :class:`~hub.errors.DeliveryError` (``permanent`` when trying
        again cannot help; a send cut off at the deadline is not). Sending the
        same ``message.key`` twice must not reach the citizen twice. Safe to
        call from several threads at once, none waiting for another's send.
        """
        ...

    def close(self) -> None: ...


class ContactDirectory(Protocol):
    """A registry of contact points kept outside the hub."""

    def lookup(self, subject: str) -> ContactPoints | None:
        """The contact points of ``afm:…``/``amka:…``, or None if unknown."""
        ...


@runtime_checkable
class NotificationStore(Protocol):
    """Contacts, preferences, verifications and the outbox's messages in the hub's database.

    Implemented by ``hub/persistence/notifications.py``. Claims carry a
    lease: only the holder of a claim may renew or settle its messages.
    """

    def settings(self, subject: str) -> CitizenSettings: ...

    def save_profile(self, afm: str, amka: str | None, language: str | None) -> None: ...

    def set_preferences(self, afm: str, modes: Mapping[tuple[str, str], str]) -> None: ...

    def remove_contact(self, afm: str, kind: str) -> None: ...

    def add_verification(
        self,
        ident: str,
        afm: str,
        kind: str,
        address: str,
        code_hash: str,
        *,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> str:
        """A new pending code; older pending codes of the same kind are dropped."""
        ...

    def check_verification(
        self,
        afm: str,
        ident: str,
        matches: Callable[[str], bool],
        now: dt.datetime,
        max_attempts: int,
    ) -> Verification | None: ...

    def pending_verifications(self, afm: str, now: dt.datetime) -> list[tuple[str, str, str]]:
        """(id, kind, address) of the citizen's codes still valid."""
        ...

    def expand_due(
        self,
        now: dt.datetime,
        limit: int,
        plan: Callable[[ClaimedEvent, CitizenSettings], Sequence[PlannedMessage]],
    ) -> int:
        """Turn due events into messages (``plan`` decides which); how many events."""
        ...

    def claim_messages(
        self, now: dt.datetime, limit: int, lease: dt.timedelta
    ) -> list[ClaimedMessage]:
        """Lease up to ``limit`` due messages to this worker (one attempt each)."""
        ...

    def renew(self, ids: Sequence[str], lease: str, until: dt.datetime) -> bool: ...

    def mark_sent(
        self, ids: Sequence[str], lease: str, provider_id: str, now: dt.datetime
    ) -> None: ...

    def mark_failed(
        self, ids: Sequence[str], lease: str, error: str, retry_at: dt.datetime
    ) -> None: ...

    def mark_dead(self, ids: Sequence[str], lease: str, error: str) -> None: ...

    def release(self, ids: Sequence[str], lease: str, retry_at: dt.datetime) -> None:
        """Give leased messages back untried (a rate limit said wait)."""
        ...

    def record_receipt(
        self, provider_id: str, delivered: bool, now: dt.datetime, error: str
    ) -> int:
        """A provider's delivery receipt; how many messages it settled."""
        ...

    def messages_for(self, subjects: Sequence[str], limit: int) -> list[MessageView]: ...

    def messages(
        self, status: str | None, channel: str | None, limit: int
    ) -> list[MessageView]: ...

    def retry(self, ids: Sequence[str], now: dt.datetime, *, all_dead: bool = False) -> int:
        """Queue dead or failed messages again, with a fresh attempt count."""
        ...

    def dead_letter(self, ids: Sequence[str], reason: str) -> int:
        """Give up on messages an operator names (not those already sent)."""
        ...

    def queue_stats(self, now: dt.datetime) -> tuple[dict[tuple[str, str], int], float, int]:
        """Messages by (channel, status), the oldest waiting message's age, events pending."""
        ...

    def enqueue_expiring(self, now: dt.datetime, within: dt.timedelta) -> int | None: ...
