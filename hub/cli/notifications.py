"""``hub notifications``: the operator's view of the outbox, and its workers.

``list`` shows messages and their delivery status (no bodies: those are
rendered at send time and never stored); ``retry`` queues failed or dead
messages again; ``dead-letter`` gives up on named ones; ``work`` runs the
delivery workers in the foreground, for deployments that keep them out of
the serving processes (``HUB_NOTIFY_WORKERS=0`` there).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from hub.config import Settings
from hub.notifications.models import CHANNELS, MESSAGE_STATUSES

if TYPE_CHECKING:
    from hub.services import Services

__all__ = ["register"]


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "notifications", help="citizen notifications: list, retry, dead-letter, work"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="messages and their delivery status, as JSON")
    listing.add_argument("--status", choices=MESSAGE_STATUSES)
    listing.add_argument("--channel", choices=CHANNELS)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=_list)
    retry = actions.add_parser("retry", help="queue failed or dead messages again")
    retry.add_argument("ids", nargs="*", help="message ids")
    retry.add_argument("--all-dead", action="store_true", help="every dead message")
    retry.set_defaults(run=_retry)
    dead = actions.add_parser("dead-letter", help="stop trying to deliver messages")
    dead.add_argument("ids", nargs="+", help="message ids")
    dead.add_argument("--reason", default="dead-lettered by an operator")
    dead.set_defaults(run=_dead_letter)
    work = actions.add_parser("work", help="run the delivery workers until interrupted")
    work.add_argument("--workers", type=int, help="threads (default HUB_NOTIFY_WORKERS, >= 1)")
    work.add_argument("--once", action="store_true", help="one round, then exit")
    work.set_defaults(run=_work)


def _services(settings: Settings) -> Services:
    from hub.app import build_services  # noqa: PLC0415  # only these commands need the app

    return build_services(settings)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        found = services.notifications.messages(args.status, args.channel, args.limit)
    finally:
        services.close()
    print(json.dumps([m.to_json() for m in found], ensure_ascii=False, indent=2))
    return 0


def _retry(args: argparse.Namespace, settings: Settings) -> int:
    if not args.ids and not args.all_dead:
        print("name message ids, or --all-dead")
        return 2
    services = _services(settings)
    try:
        count = services.notifications.retry(args.ids, all_dead=args.all_dead)
    finally:
        services.close()
    print(f"queued {count} message(s) again")
    return 0


def _dead_letter(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        count = services.notifications.dead_letter(args.ids, args.reason)
    finally:
        services.close()
    print(f"dead-lettered {count} message(s)")
    return 0


def _work(args: argparse.Namespace, settings: Settings) -> int:
    from hub.logs import configure_logging  # noqa: PLC0415
    from hub.notifications.service import NotificationWorker  # noqa: PLC0415

    configure_logging(settings.log_level)
    services = _services(settings)
    service = services.notifications
    try:
        if args.once:
            done = service.run_once()
            print(f"handled {done} event(s) and message(s)")
            return 0
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        count = max(1, args.workers or settings.notify_workers)
        workers = [NotificationWorker(service, name=f"notify-{n}") for n in range(count)]
        for worker in workers:
            worker.start()
        print(f"{count} notification worker(s) running", flush=True)
        while not stop.wait(0.5):
            pass
        for worker in workers:
            worker.stop()
    finally:
        services.close()
    return 0
