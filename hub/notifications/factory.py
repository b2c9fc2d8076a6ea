"""Builds the notifications: the channels' senders, the contact directory, the service.

``hub.app`` composes the hub from the features' factories; this one knows
the concrete senders (``adapters/notify_smtp.py``, ``adapters/notify_http.py``),
the store (``hub/persistence/notifications.py``), the rate limiters and the
outbox writer it hangs on the access log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from adapters.notify_http import JsonGatewaySender
from adapters.notify_smtp import SmtpSender
from hub.errors import HubError
from hub.notifications.service import DeliveryPolicy, NotificationService
from hub.persistence.notifications import SqlNotificationStore
from hub.persistence.outbox import OutboxWriter
from hub.persistence.ratelimit import SqlRateLimiter

if TYPE_CHECKING:
    from hub.catalog.files import LoadedCatalog
    from hub.config import Settings
    from hub.metrics import Metrics
    from hub.notifications.ports import ChannelSender, ContactDirectory
    from hub.persistence.auditlog import SqlAccessLog
    from hub.persistence.db import Database

__all__ = ["build_notifications"]


def _senders(settings: Settings) -> dict[str, ChannelSender]:
    senders: dict[str, ChannelSender] = {}
    if settings.smtp_host:
        senders["email"] = SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_user,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )
    # Receipts are asked for only when the hub can check their signature.
    callback = (
        settings.public_url + "/v1/notifications/receipts"
        if settings.notify_callback_secret
        else None
    )
    if settings.sms_url:
        senders["sms"] = JsonGatewaySender(
            "sms",
            settings.sms_url,
            token=settings.sms_token,
            sender=settings.sms_sender,
            callback_url=callback,
            timeout=settings.sms_timeout,
        )
    if settings.viber_url:
        senders["viber"] = JsonGatewaySender(
            "viber",
            settings.viber_url,
            token=settings.viber_token,
            sender=settings.viber_sender,
            callback_url=callback,
            timeout=settings.viber_timeout,
        )
    return senders


def _directory(settings: Settings) -> ContactDirectory | None:
    if settings.contact_directory != "sandbox":
        return None
    # Development only (Settings refuses it in production).
    from adapters.sandbox.contacts import SandboxContactRegistry  # noqa: PLC0415
    from adapters.sandbox.population import Population  # noqa: PLC0415

    return SandboxContactRegistry(Population(settings.sandbox_population, settings.sandbox_seed))


def build_notifications(
    settings: Settings,
    db: Database,
    loaded: LoadedCatalog,
    metrics: Metrics,
    access_log: SqlAccessLog,
) -> NotificationService:
    """The notification service, and the outbox writer on the access log."""
    holder = loaded.holder

    def hidden_until(purpose_id: str) -> str | None:
        # The catalogue in force when the entry is written (a reload swaps it).
        found = holder.current.purposes.get(purpose_id)
        return found.hidden_until if found else None

    access_log.add_writer(OutboxWriter(hidden_until))
    store = SqlNotificationStore(db)
    secret = settings.notify_secret
    service = NotificationService(
        store=store,
        catalog=loaded.holder,
        public_url=settings.public_url,
        senders=_senders(settings),
        directory=_directory(settings),
        limits={
            "email": SqlRateLimiter(db, limit=settings.notify_rate_email, scope="notify"),
            "sms": SqlRateLimiter(db, limit=settings.notify_rate_sms, scope="notify"),
            "viber": SqlRateLimiter(db, limit=settings.notify_rate_viber, scope="notify"),
        },
        policy=DeliveryPolicy(
            max_attempts=settings.notify_max_attempts,
            backoff=settings.notify_backoff_seconds,
            backoff_max=settings.notify_backoff_max_seconds,
            lease=settings.notify_lease_seconds,
            batch=settings.notify_batch,
            poll=settings.notify_poll_seconds,
            digest_hour=settings.notify_digest_hour,
            expiry_warning=dt.timedelta(days=settings.notify_expiry_days),
        ),
        secret=hashlib.sha256(secret.encode()).digest() if secret else None,
        on_outcome=lambda channel, outcome: metrics.notifications.labels(channel, outcome).inc(),
        on_latency=lambda channel, s: metrics.notification_latency.labels(channel).observe(s),
    )

    def refresh() -> None:
        try:
            counts, oldest, pending = store.queue_stats(service.now())
        except HubError:
            return
        metrics.notification_queue.clear()
        for (channel, status), count in counts.items():
            metrics.notification_queue.labels(channel, status).set(count)
        metrics.notification_oldest.set(oldest)
        metrics.notification_events.set(pending)

    metrics.add_refresher(refresh)
    return service
