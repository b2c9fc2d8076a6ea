"""Notification delivery: the outbox against plain ``smtplib``, and event-to-delivery latency.

The floor is what the standard library does alone: one SMTP connection to
the sandbox mail server (aiosmtpd on 127.0.0.1, storing every message in its
SQLite box), sending one message after another. The hub's figure is the
same number of messages going the whole way: outbox events committed,
expanded into messages (contacts, preferences), claimed under a lease,
rendered in the citizen's language, sent over the same kind of connection
and settled — so the ratio is the outbox's overhead per message.

Latency is from the event's commit to the provider accepting its message,
with one worker thread polling as ``hub serve`` runs it, events arriving one
at a time; read from the hub's own records (``event_at`` → ``sent_at``).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import time
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from adapters.sandbox.contacts import SandboxContactRegistry
from adapters.sandbox.messages import MessageBox, SandboxMailServer
from adapters.sandbox.population import Population
from bench.config import BenchConfig
from bench.databases import BenchDatabase
from bench.report import Figure
from bench.stats import per_second, summarise
from hub.app import build_services
from hub.config import Settings
from hub.notifications.service import NotificationWorker
from hub.persistence.notification_models import NotificationMessageRow
from hub.persistence.outbox import enqueue_in

__all__ = ["measure_notifications"]

SECTION = "notifications"


def _plain_smtp(port: int, count: int) -> float:
    """Messages per second through one plain ``smtplib`` connection."""
    began = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for n in range(count):
            mail = EmailMessage()
            mail["From"] = "no-reply@oncehub.example.gr"
            mail["To"] = f"floor{n}@mail.example.gr"
            mail["Subject"] = "Εκδόθηκε πιστοποιητικό"
            mail["Message-ID"] = f"<floor-{n}@oncehub.example.gr>"
            mail.set_content("Εκδόθηκε πιστοποιητικό: Πιστοποιητικό γέννησης.\n" * 4)
            mail.add_alternative("<p>Εκδόθηκε πιστοποιητικό.</p>" * 4, subtype="html")
            smtp.send_message(mail)
    return per_second(count, time.perf_counter() - began)


def _subjects(config: BenchConfig, count: int) -> list[str]:
    population = Population(config.sandbox_size, config.sandbox_seed)
    contacts = SandboxContactRegistry(population)
    found: list[str] = []
    for citizen in population:
        if contacts.contacts_of(citizen) is not None:
            found.append(f"afm:{citizen.afm}")
        if len(found) == count:
            break
    return found


def measure_notifications(
    config: BenchConfig, work: Path, keys: Path, database: BenchDatabase
) -> list[Figure]:
    count = 100 if config.name == "quick" else 300
    latency_events = 20 if config.name == "quick" else 100
    box = MessageBox(work / "bench-messages.db")
    mail = SandboxMailServer(box)
    mail.start()
    try:
        floor = _plain_smtp(mail.port, count)
        settings = replace(
            Settings.for_tests(work, keys_dir=keys),
            database_url=database.url,
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            sandbox_population=config.sandbox_size,
            sandbox_seed=config.sandbox_seed,
            notify_batch=100,
            notify_poll_seconds=0.02,
            notify_rate_email=1_000_000,
        )
        services = build_services(settings)
        try:
            subjects = _subjects(config, count)
            with services.db.session() as session:
                for subject in subjects:
                    enqueue_in(
                        session,
                        subject,
                        "certificate_issued",
                        {"evidence_type": "birth-certificate"},
                    )
            service = services.notifications
            began = time.perf_counter()
            while service.run_once():
                pass
            outbox = per_second(len(subjects), time.perf_counter() - began)

            worker = NotificationWorker(service)
            worker.start()
            try:
                for subject in subjects[:latency_events]:
                    with services.db.session() as session:
                        enqueue_in(session, subject, "consent_revoked", {"agency": "opeka"})
                    # Spaced beyond the delivery rate: latency, not queueing.
                    time.sleep(0.2)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    latencies = _latencies(services, "consent_revoked")
                    if len(latencies) >= latency_events:
                        break
                    time.sleep(0.05)
            finally:
                worker.stop()
            summary = summarise(latencies)
        finally:
            services.close()
    finally:
        mail.stop()
    note = f"{count} messages to the sandbox SMTP server on 127.0.0.1, {database.label}"
    return [
        Figure(
            SECTION,
            "outbox → SMTP delivery",
            outbox,
            "msg/s",
            floor_name="plain smtplib, one connection",
            floor=floor,
            note=note,
        ),
        Figure(SECTION, "event → delivery p50", summary.p50_ms, "ms", note="1 worker, 20 ms poll"),
        Figure(
            SECTION, "event → delivery p99", summary.p99_ms, "ms", note=f"{summary.count} events"
        ),
    ]


def _latencies(services: object, kind: str) -> list[float]:
    db = services.db  # type: ignore[attr-defined]
    with db.session() as session:
        rows = session.execute(
            select(NotificationMessageRow.event_at, NotificationMessageRow.sent_at).where(
                NotificationMessageRow.kind == kind, NotificationMessageRow.sent_at.is_not(None)
            )
        )
        return [_seconds(sent) - _seconds(at) for at, sent in rows]


def _seconds(value: dt.datetime) -> float:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.timestamp()
