"""Builds the agencies' webhooks: the store, the service and the delivery worker.

``hub.app`` composes the hub from the features' factories; this one knows
the concrete store (``hub/persistence/webhooks.py``), which the consent and
case stores also publish their events to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.persistence.webhooks import SqlWebhookStore
from hub.webhooks.delivery import HttpSender
from hub.webhooks.policy import UrlPolicy
from hub.webhooks.service import WebhookService
from hub.webhooks.worker import WebhookWorker

if TYPE_CHECKING:
    from hub.config import Settings
    from hub.persistence.db import Database

__all__ = ["build_webhook_store", "build_webhooks"]


def build_webhook_store(db: Database) -> SqlWebhookStore:
    """Endpoints, events and deliveries on the hub's database."""
    return SqlWebhookStore(db)


def build_webhooks(
    settings: Settings, store: SqlWebhookStore
) -> tuple[WebhookService, WebhookWorker]:
    """The agencies' endpoint service and the worker that delivers their events."""
    policy = UrlPolicy.for_settings(settings)
    worker = WebhookWorker(
        queue=store,
        policy=policy,
        sender=HttpSender(deadline=settings.webhook_timeout),
        max_attempts=settings.webhook_max_attempts,
        backoff=settings.webhook_backoff,
        poll_seconds=settings.webhook_poll_seconds,
        sweeps=[store.announce_expired_requests],
    )
    return WebhookService(store=store, policy=policy), worker
