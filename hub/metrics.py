"""Prometheus metrics of one app: requests by route and status, and latency.

Each app owns its registry, so several apps in one process (tests) do not
collide, and ``/metrics`` shows exactly what this app served.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

#: Event-to-delivery latency of notifications: seconds to a day (digests wait).
_DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hub_http_requests",
            "HTTP requests served, by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_http_request_duration_seconds",
            "Time to serve an HTTP request, by route.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry_calls = Counter(
            "hub_registry_calls",
            "Calls to registries, by registry and outcome.",
            ["registry", "outcome"],
            registry=self.registry,
        )

        self.notifications = Counter(
            "hub_notifications",
            "Notification delivery attempts, by channel and outcome "
            "(sent, failed, dead, throttled).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.notification_latency = Histogram(
            "hub_notification_delivery_seconds",
            "Time from the event to the provider accepting its message, by channel.",
            ["channel"],
            buckets=_DELIVERY_BUCKETS,
            registry=self.registry,
        )
        self.notification_queue = Gauge(
            "hub_notification_queue",
            "Notification messages by channel and status (read from the database at scrape).",
            ["channel", "status"],
            registry=self.registry,
        )
        self.notification_oldest = Gauge(
            "hub_notification_oldest_waiting_seconds",
            "Age of the oldest message waiting to be sent (digests excluded).",
            registry=self.registry,
        )
        self.notification_events = Gauge(
            "hub_notification_events_pending",
            "Outbox events due but not yet expanded into messages.",
            registry=self.registry,
        )
        # Gauges read from shared state (the database) just before a scrape.
        self._refreshers: list[Callable[[], None]] = []

    def add_refresher(self, refresh: Callable[[], None]) -> None:
        """Call ``refresh()`` before each :meth:`render` (to set gauges)."""
        self._refreshers.append(refresh)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        for refresh in self._refreshers:
            refresh()
        return generate_latest(self.registry)
