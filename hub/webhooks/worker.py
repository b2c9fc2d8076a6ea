"""The delivery loop: claim due deliveries, send them signed, record each attempt.

Several hub nodes may run a worker each: claiming takes rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer at a time)
and leases them for longer than an attempt can last, so no two workers send
the same delivery at once, and a worker that dies mid-attempt only delays
it until the lease runs out. Receivers may still see a message twice (a
crash after their 2xx, before the hub recorded it): the ``webhook-id`` is
the same on every attempt so they can drop the repeat, as Standard Webhooks
asks.

Retries wait ``backoff * 2**(attempt-1)`` seconds (at most six hours), half
of it fixed and half random ("equal jitter"), so that endpoints coming back
after an outage are not hit by every retry at once. After ``max_attempts``
the delivery is dead: kept in the log, never sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Sequence
from typing import Final

from hub.errors import HubError, WebhookUrlRefused
from hub.webhooks.delivery import DeliveryError, HttpSender
from hub.webhooks.models import Attempt, Delivery, Endpoint
from hub.webhooks.policy import UrlPolicy
from hub.webhooks.ports import DeliveryQueue
from hub.webhooks.signing import headers

__all__ = ["WebhookWorker", "retry_delay"]

log = logging.getLogger("hub.webhooks")

_MAX_DELAY: Final = 6 * 3600.0
_BATCH: Final = 10


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def retry_delay(attempt: int, backoff: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    full: float = min(backoff * 2.0 ** (attempt - 1), _MAX_DELAY)
    return full / 2 + rng.uniform(0, full / 2)


class WebhookWorker:
    """Delivers due webhooks; ``run_once`` for one pass, ``start`` for a thread."""

    def __init__(
        self,
        *,
        queue: DeliveryQueue,
        policy: UrlPolicy,
        sender: HttpSender,
        max_attempts: int,
        backoff: float,
        poll_seconds: float,
        sweeps: Sequence[Callable[[dt.datetime], int]] = (),
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.queue = queue
        self.policy = policy
        self.sender = sender
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.poll_seconds = poll_seconds
        self.sweeps = tuple(sweeps)
        self._clock = clock
        # Jitter only spreads retries in time; it guards no secret.
        self._rng = random.Random()  # noqa: S311
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Run the sweeps, then deliver what is due; the number of attempts made."""
        now = self._clock()
        for sweep in self.sweeps:
            sweep(now)
        lease = dt.timedelta(seconds=self.sender.deadline + 30)
        claimed = self.queue.claim(now=now, lease=lease, limit=_BATCH)
        for delivery, endpoint in claimed:
            self._attempt(delivery, endpoint)
        return len(claimed)

    def _attempt(self, delivery: Delivery, endpoint: Endpoint) -> None:
        number = delivery.attempt_count + 1
        started = self._clock()
        body = delivery.body.encode("utf-8")
        status: int | None = None
        error: str | None = None
        duration = 0
        try:
            # Checked again now: the name may resolve elsewhere than at registration.
            target = self.policy.check(endpoint.url)
            sent = self.sender.send(
                target, headers(endpoint.secret, delivery.id, int(started.timestamp()), body), body
            )
            status, duration = sent.status, sent.duration_ms
            if not 200 <= status < 300:
                error = f"http-{status}"
        except WebhookUrlRefused:
            error = "refused-address"
        except DeliveryError as exc:
            error = exc.code
            duration = int((self._clock() - started).total_seconds() * 1000)
        delivered = error is None
        attempt = Attempt(
            number=number,
            at=started,
            outcome="delivered" if delivered else "failed",
            duration_ms=duration,
            status_code=status,
            error=error,
        )
        dead = not delivered and number >= self.max_attempts
        following = None
        if not delivered and not dead:
            delay = retry_delay(number, self.backoff, self._rng)
            following = self._clock() + dt.timedelta(seconds=delay)
        self.queue.finish(delivery.id, attempt, next_attempt_at=following, dead=dead)
        if not delivered:
            log.info(
                "webhook attempt failed",
                extra={"delivery": delivery.id, "attempt": number, "error": error, "dead": dead},
            )

    # -- the background thread -------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except HubError as exc:
                log.warning("webhook delivery postponed", extra={"error": exc.slug})
                busy = 0
            if not busy:
                self._stop.wait(self.poll_seconds)

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
