"""The notification service: the contact registry, preferences and delivery workers.

Citizens register contact points, each confirmed by a one-time code sent
through that very channel (kept only as an HMAC, valid for minutes, a few
attempts), and choose per event kind and channel: off, immediate or a daily
digest. Whatever they have not registered comes from the contact directory
(the national contact registry; in development its sandbox).

Delivery runs in two steps, both claimed safely by any number of workers on
any number of nodes (see :mod:`hub.persistence.notifications`): due outbox
events are *expanded* into one message per wanted channel, then due
messages are *delivered*: rendered in the citizen's language, handed to the
channel's provider under the message id as idempotency key, and settled as
sent, failed (retried with exponential backoff and jitter) or dead (after
``max_attempts``, or at once when the provider refuses the address).
Delivery receipts from providers move sent messages to delivered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import random
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from hub.auth.models import CitizenPrincipal
from hub.domain.catalog import Catalog, CatalogView, in_force
from hub.errors import DeliveryError, HubError, InvalidContact, ServiceUnavailable, ValidationFailed
from hub.notifications.models import (
    CHANNELS,
    CONTACT_KINDS,
    DEFAULT_MODES,
    EVENT_KINDS,
    MODES,
    Channel,
    CitizenSettings,
    ClaimedEvent,
    ClaimedMessage,
    ContactPoints,
    MessageView,
    Outgoing,
    PlannedMessage,
    channel_contact,
)
from hub.notifications.ports import ChannelSender, ContactDirectory, NotificationStore
from hub.notifications.templates import render, render_code, render_digest

__all__ = [
    "DeliveryPolicy",
    "NotificationService",
    "NotificationWorker",
    "normalise_email",
    "normalise_mobile",
]

log = logging.getLogger(__name__)

_EMAIL: Final = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_E164: Final = re.compile(r"^\+[1-9]\d{7,14}$")
_GREEK_MOBILE: Final = re.compile(r"^69\d{8}$")
_GREEK_E164: Final = re.compile(r"^\+3069\d{8}$")


def normalise_email(text: str) -> str:
    """A plausible email address, domain lower-cased, or :class:`InvalidContact`."""
    value = text.strip()
    if len(value) > 254 or not _EMAIL.match(value) or ".." in value:
        raise InvalidContact("That is not an email address.", field="email")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_mobile(text: str) -> str:
    """A mobile number in E.164 (``+30 69…`` assumed for ten Greek digits)."""
    value = re.sub(r"[\s().-]", "", text.strip())
    if value.startswith("00"):
        value = "+" + value[2:]
    if _GREEK_MOBILE.match(value):
        value = "+30" + value
    # Greek numbers have a fixed length: 69 and eight digits for a mobile.
    if not _E164.match(value) or (value.startswith("+30") and not _GREEK_E164.match(value)):
        raise InvalidContact("That is not a mobile number.", field="mobile")
    return value


#: The defaults keyed by plain strings, as stored kinds and channels are.
_DEFAULTS: Final[Mapping[tuple[str, str], str]] = {
    (kind, channel): mode for (kind, channel), mode in DEFAULT_MODES.items()
}


class RateLimit(Protocol):
    def hit(self, key: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard and how fast the workers try."""

    max_attempts: int = 8
    backoff: float = 5.0
    backoff_max: float = 3600.0
    lease: float = 60.0
    #: Seconds a lease must still have after a send's deadline: for the
    #: database to record the send, and for clocks of nodes that differ.
    lease_margin: float = 2.0
    batch: int = 50
    poll: float = 1.0
    #: The UTC hour at which daily digests go out.
    digest_hour: int = 6
    code_ttl: int = 600
    code_attempts: int = 5
    #: How long before a consent's end its holder is told.
    expiry_warning: dt.timedelta = dt.timedelta(days=7)
    #: How often the expiry scan runs, in seconds.
    scan_every: float = 300.0

    def retry_delay(self, attempts: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: between half and all of base·2^(n-1)."""
        ceiling = min(self.backoff_max, self.backoff * (2 ** max(0, attempts - 1)))
        return float(ceiling * rng.uniform(0.5, 1.0))


class NotificationService:
    """Contacts, preferences, listings and one round of delivery work."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        catalog: CatalogView,
        public_url: str,
        senders: Mapping[str, ChannelSender],
        directory: ContactDirectory | None = None,
        limits: Mapping[str, RateLimit] | None = None,
        policy: DeliveryPolicy | None = None,
        secret: bytes | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        on_outcome: Callable[[str, str], None] | None = None,
        on_latency: Callable[[str, float], None] | None = None,
    ) -> None:
        self.store = store
        self._catalog = catalog
        self.public_url = public_url
        self.senders = dict(senders)
        self.directory = directory
        self.limits = dict(limits or {})
        self.policy = policy or DeliveryPolicy()
        # Codes are kept as an HMAC under this secret: six digits hashed
        # without one could be recovered by trying all a million.
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._rng = random.Random()  # noqa: S311 - jitter, not secrecy
        self._on_outcome = on_outcome or (lambda channel, outcome: None)
        self._on_latency = on_latency or (lambda channel, seconds: None)

    @property
    def catalog(self) -> Catalog:
        """The catalogue in force now (a reload swaps it whole)."""
        return in_force(self._catalog)

    def now(self) -> dt.datetime:
        return self._clock()

    # -- the citizen's contacts and choices ------------------------------------------------

    def _remember(self, citizen: CitizenPrincipal, language: str | None = None) -> None:
        self.store.save_profile(citizen.afm, citizen.amka, language)

    def contacts(self, citizen: CitizenPrincipal) -> dict[str, Any]:
        """Verified contacts (the hub's, else the directory's), language and pending codes."""
        mine = self.store.settings(f"afm:{citizen.afm}")
        outside = self._directory(f"afm:{citizen.afm}")
        pending = self.store.pending_verifications(citizen.afm, self.now())
        points: dict[str, Any] = {}
        for kind in CONTACT_KINDS:
            own = getattr(mine.contacts, kind)
            other = getattr(outside, kind) if outside else None
            points[kind] = {
                "address": own or other,
                "source": "hub" if own else ("registry" if other else None),
            }
        language = (
            mine.contacts.language if mine.has_profile else (outside.language if outside else "el")
        )
        return {
            **points,
            "language": language,
            "pending": [{"id": i, "kind": k, "address": a} for i, k, a in pending],
        }

    def _code_hash(self, ident: str, code: str) -> str:
        return hmac.new(self._secret, f"{ident}:{code}".encode(), hashlib.sha256).hexdigest()

    def start_verification(
        self, citizen: CitizenPrincipal, kind: str, address: str, language: str = "el"
    ) -> dict[str, Any]:
        """Send a one-time code to ``address``; the pending verification's id.

        The answer is the same whatever the address (known to the hub or
        not, someone else's or not), so it tells nothing about who has it.
        """
        if kind not in CONTACT_KINDS:
            raise ValidationFailed("kind is email or mobile")
        normal = normalise_email(address) if kind == "email" else normalise_mobile(address)
        channel: Channel = "email" if kind == "email" else "sms"
        sender = self.senders.get(channel)
        if sender is None:
            raise ServiceUnavailable(f"The hub sends no {channel} messages: it has no provider.")
        self._remember(citizen)
        code = f"{secrets.randbelow(10**6):06d}"
        now = self.now()
        ident = secrets.token_hex(16)
        self.store.add_verification(
            ident,
            citizen.afm,
            kind,
            normal,
            self._code_hash(ident, code),
            now=now,
            ttl=dt.timedelta(seconds=self.policy.code_ttl),
        )
        body = render_code(code, self.policy.code_ttl // 60, language)
        sender.send(
            Outgoing(
                key=ident,
                channel=channel,
                to=normal,
                subject=body.subject,
                text=body.text if channel == "email" else body.short,
                html=body.html if channel == "email" else None,
            )
        )
        expires = now + dt.timedelta(seconds=self.policy.code_ttl)
        return {"id": ident, "kind": kind, "address": normal, "expires_at": expires}

    def confirm(self, citizen: CitizenPrincipal, ident: str, code: str) -> dict[str, Any]:
        """Check a code: the contact is verified, or one answer for every failure."""
        code = code.strip()
        found = None
        if re.fullmatch(r"\d{6}", code):
            expected = self._code_hash(ident, code)
            found = self.store.check_verification(
                citizen.afm,
                ident,
                lambda stored: hmac.compare_digest(stored, expected),
                self.now(),
                self.policy.code_attempts,
            )
        if found is None:
            raise InvalidContact("The code is wrong, has expired or was tried too often.")
        return self.contacts(citizen)

    def remove_contact(self, citizen: CitizenPrincipal, kind: str) -> dict[str, Any]:
        if kind not in CONTACT_KINDS:
            raise ValidationFailed("kind is email or mobile")
        self.store.remove_contact(citizen.afm, kind)
        return self.contacts(citizen)

    def set_language(self, citizen: CitizenPrincipal, language: str) -> dict[str, Any]:
        if language not in ("el", "en"):
            raise ValidationFailed("language is el or en")
        self._remember(citizen, language)
        return self.contacts(citizen)

    def preferences(self, citizen: CitizenPrincipal) -> dict[str, dict[str, str]]:
        """kind -> channel -> mode, defaults filled in."""
        chosen = self.store.settings(f"afm:{citizen.afm}").preferences
        return {
            kind: {
                channel: chosen.get((kind, channel), DEFAULT_MODES[(kind, channel)])
                for channel in CHANNELS
            }
            for kind in EVENT_KINDS
        }

    def set_preferences(
        self, citizen: CitizenPrincipal, changes: Mapping[str, Mapping[str, str]]
    ) -> dict[str, dict[str, str]]:
        modes: dict[tuple[str, str], str] = {}
        for kind, channels in changes.items():
            if kind not in EVENT_KINDS or not isinstance(channels, Mapping):
                raise ValidationFailed(f"unknown event kind {kind[:40]!r}")
            for channel, mode in channels.items():
                if channel not in CHANNELS or mode not in MODES:
                    raise ValidationFailed("each choice is a channel and off, immediate or digest")
                modes[(kind, channel)] = mode
        self._remember(citizen)
        self.store.set_preferences(citizen.afm, modes)
        return self.preferences(citizen)

    def messages_of(self, citizen: CitizenPrincipal, limit: int = 50) -> list[MessageView]:
        return self.store.messages_for(sorted(citizen.subjects), limit)

    # -- operators -------------------------------------------------------------------------

    def messages(
        self, status: str | None = None, channel: str | None = None, limit: int = 50
    ) -> list[MessageView]:
        return self.store.messages(status, channel, limit)

    def retry(self, ids: Sequence[str], *, all_dead: bool = False) -> int:
        return self.store.retry(ids, self.now(), all_dead=all_dead)

    def dead_letter(self, ids: Sequence[str], reason: str = "dead-lettered by an operator") -> int:
        return self.store.dead_letter(ids, reason)

    def receipt(self, provider_id: str, status: str, error: str = "") -> int:
        """A provider says a message was delivered (or could not be)."""
        if status not in ("delivered", "failed"):
            raise ValidationFailed("status is delivered or failed")
        return self.store.record_receipt(provider_id, status == "delivered", self.now(), error)

    # -- work ------------------------------------------------------------------------------

    def _directory(self, subject: str) -> ContactPoints | None:
        if self.directory is None:
            return None
        try:
            return self.directory.lookup(subject)
        except HubError as exc:
            log.warning("contact directory failed", extra={"error": exc.slug})
            return None

    def _next_digest(self, now: dt.datetime) -> dt.datetime:
        at = now.replace(hour=self.policy.digest_hour, minute=0, second=0, microsecond=0)
        return at if at > now else at + dt.timedelta(days=1)

    def _plan(self, event: ClaimedEvent, mine: CitizenSettings) -> list[PlannedMessage]:
        outside: ContactPoints | None = None
        looked = False
        now = self.now()
        planned: list[PlannedMessage] = []
        for channel in CHANNELS:
            if channel not in self.senders:
                continue
            mode = mine.preferences.get((event.kind, channel)) or _DEFAULTS.get(
                (event.kind, channel), "off"
            )
            if mode == "off":
                continue
            address = getattr(mine.contacts, channel_contact(channel))
            if address is None:
                if not looked:
                    outside, looked = self._directory(event.subject), True
                address = getattr(outside, channel_contact(channel)) if outside else None
            if address is None:
                continue
            if mine.has_profile:
                language = mine.contacts.language
            else:
                if not looked:
                    outside, looked = self._directory(event.subject), True
                language = outside.language if outside else "el"
            planned.append(
                PlannedMessage(
                    channel=channel,
                    address=address,
                    language=language,
                    digest=mode == "digest",
                    not_before=self._next_digest(now) if mode == "digest" else now,
                )
            )
        return planned

    def expand(self) -> int:
        """Turn due outbox events into messages; how many events."""
        return self.store.expand_due(self.now(), self.policy.batch, self._plan)

    def deliver(self) -> int:
        """Deliver one batch of due messages; how many were claimed."""
        now = self.now()
        claimed = self.store.claim_messages(
            now, self.policy.batch, dt.timedelta(seconds=self.policy.lease)
        )
        groups: dict[tuple[str, ...], list[ClaimedMessage]] = defaultdict(list)
        for message in claimed:
            key = (
                (message.subject, message.channel, message.address)
                if message.digest
                else (message.id,)
            )
            groups[key].append(message)
        for group in groups.values():
            self._deliver(group)
        return len(claimed)

    def _deliver(self, group: list[ClaimedMessage]) -> None:
        first = min(group, key=lambda m: m.id)
        ids = [m.id for m in group]
        channel = first.channel
        sender = self.senders.get(channel)
        lease = first.lease
        if sender is None:
            self.store.mark_dead(ids, lease, f"the hub has no {channel} provider")
            self._on_outcome(channel, "dead")
            return
        limit = self.limits.get(channel)
        wait = limit.hit(channel) if limit is not None else None
        if wait is not None:
            self.store.release(ids, lease, self.now() + dt.timedelta(seconds=wait))
            self._on_outcome(channel, "throttled")
            return
        if first.digest and len(group) > 1:
            body = render_digest(
                self.catalog,
                self.public_url,
                [(m.kind, m.data) for m in sorted(group, key=lambda m: m.event_at)],
                first.language,
            )
        else:
            body = render(self.catalog, self.public_url, first.kind, first.data, first.language)
        outgoing = Outgoing(
            key=first.id,
            channel=channel,  # type: ignore[arg-type]  # stored from CHANNELS
            to=first.address,
            subject=body.subject,
            text=body.text if channel == "email" else body.short,
            html=body.html if channel == "email" else None,
        )
        if not self._hold_for_send(group, sender.deadline):
            return
        # Nothing between here and the provider may wait: the lease covers
        # the send's own deadline and the margin, not a queue before it.
        try:
            provider_id = sender.send(outgoing)
        except DeliveryError as exc:
            self._failed(group, exc)
            return
        now = self.now()
        self.store.mark_sent(ids, lease, provider_id, now)
        self._on_outcome(channel, "sent")
        for message in group:
            self._on_latency(channel, max(0.0, (now - message.event_at).total_seconds()))

    def _hold_for_send(self, group: list[ClaimedMessage], deadline: float) -> bool:
        """Whether the lease covers a send starting now; renewed if it would not.

        No other worker may claim a message while a send of it can still be
        under way, or the provider hears it twice: the lease must last past
        the send's deadline (the sender cuts it off then) by the margin. A
        lease short of that is renewed, to at least that much, right before
        the send (a transaction per message is saved while the claim's lease
        is long enough). A renewal refused means the lease ran out and
        another worker took the message over: this one leaves it alone. A
        renewal so slow that what is left no longer covers the send gives the
        message back untried: a database that slow could not record the send
        in time either.
        """
        ids = [m.id for m in group]
        first = group[0]
        need = dt.timedelta(seconds=deadline + self.policy.lease_margin)
        now = self.now()
        until = first.lease_until
        if until - now < need:
            until = now + max(need, dt.timedelta(seconds=self.policy.lease))
            if not self.store.renew(ids, first.lease, until):
                return False
        if until - self.now() < dt.timedelta(seconds=deadline):
            self.store.release(ids, first.lease, self.now())
            log.warning("notification lease renewed too late", extra={"channel": first.channel})
            return False
        return True

    def _failed(self, group: list[ClaimedMessage], exc: DeliveryError) -> None:
        ids = [m.id for m in group]
        channel = group[0].channel
        attempts = max(m.attempts for m in group)
        if exc.permanent or attempts >= self.policy.max_attempts:
            self.store.mark_dead(ids, group[0].lease, exc.detail)
            self._on_outcome(channel, "dead")
            log.warning("notification dead-lettered", extra={"channel": channel, "error": exc.slug})
            return
        delay = self.policy.retry_delay(attempts, self._rng)
        self.store.mark_failed(
            ids, group[0].lease, exc.detail, self.now() + dt.timedelta(seconds=delay)
        )
        self._on_outcome(channel, "failed")

    def scan_expiring(self) -> int | None:
        """Enqueue "consent about to expire" events (one node at a time)."""
        return self.store.enqueue_expiring(self.now(), self.policy.expiry_warning)

    def run_once(self) -> int:
        """One round: expand due events, then deliver due messages; work done."""
        return self.expand() + self.deliver()

    def close(self) -> None:
        for sender in self.senders.values():
            sender.close()


class NotificationWorker:
    """Runs :meth:`NotificationService.run_once` in a background thread until stopped."""

    def __init__(self, service: NotificationService, *, name: str = "notify-worker") -> None:
        self.service = service
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._last_scan = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        policy = self.service.policy
        while not self._stop.is_set():
            done = 0
            try:
                now = self.service.now().timestamp()
                if now - self._last_scan >= policy.scan_every:
                    self._last_scan = now
                    self.service.scan_expiring()
                done = self.service.run_once()
            except HubError as exc:
                # A database hiccup: wait a poll interval and try again.
                log.warning("notification worker round failed", extra={"error": exc.slug})
            if done == 0:
                self._stop.wait(policy.poll)
