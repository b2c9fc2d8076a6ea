"""``hub sandbox``: run the sandbox registries, list sample citizens, read messages.

``hub sandbox messages`` prints what the sandbox mail server and SMS/Viber
gateway received (``hub demo`` runs them), as a citizen's mailbox and phone
would show it; ``--to AFM`` picks the messages to that citizen's contact
points — those of the sandbox contact registry and any the citizen
confirmed on the hub. The messages themselves carry no AFM.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapters.sandbox.faults import parse_fault_map
from adapters.sandbox.runner import SandboxHandle, sample_citizens, serve_sandbox
from hub.config import Settings
from hub.errors import HubError

__all__ = ["register"]


def register(commands: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--population", type=int, help="citizens (default HUB_SANDBOX_POPULATION)")
    common.add_argument("--seed", type=int, help="population seed (default HUB_SANDBOX_SEED)")
    parser: argparse.ArgumentParser = commands.add_parser(
        "sandbox", help="the sandbox registries with a synthetic population", parents=[common]
    )
    parser.add_argument("--base-port", type=int, help="first port (default 8100)")
    parser.add_argument(
        "--faults",
        default="",
        help="faults per registry, e.g. 'land:latency=200,error_rate=0.3;population:hostile=xxe'",
    )
    parser.set_defaults(run=_serve)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    citizens = actions.add_parser(
        "citizens", help="print sample citizens as JSON", parents=[common]
    )
    citizens.add_argument("--limit", type=int, default=20)
    citizens.set_defaults(run=_citizens)
    messages = actions.add_parser(
        "messages", help="messages the sandbox mail server and gateway received, as JSON"
    )
    messages.add_argument("--to", metavar="AFM", help="only those to this citizen")
    messages.add_argument("--channel", choices=("email", "sms", "viber"))
    messages.add_argument("--population", type=int, help=argparse.SUPPRESS)
    messages.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    messages.set_defaults(run=_messages)


def _size(args: argparse.Namespace, settings: Settings) -> tuple[int, int]:
    return (
        args.population or settings.sandbox_population,
        args.seed if args.seed is not None else settings.sandbox_seed,
    )


def _citizens(args: argparse.Namespace, settings: Settings) -> int:
    size, seed = _size(args, settings)
    print(json.dumps(sample_citizens(size, seed, args.limit), ensure_ascii=False, indent=2))
    return 0


def _addresses(afm: str, settings: Settings) -> list[str]:
    """Where messages to the citizen with ``afm`` go: registry and hub contacts."""
    from adapters.sandbox.contacts import SandboxContactRegistry  # noqa: PLC0415
    from adapters.sandbox.population import Population  # noqa: PLC0415
    from hub.domain.identity import is_valid_afm  # noqa: PLC0415
    from hub.errors import InvalidIdentifier  # noqa: PLC0415
    from hub.persistence.db import Database  # noqa: PLC0415
    from hub.persistence.notifications import SqlNotificationStore  # noqa: PLC0415

    if not is_valid_afm(afm):
        raise InvalidIdentifier("--to takes an AFM: nine digits with a valid check digit")
    size, seed = _size(argparse.Namespace(population=None, seed=None), settings)
    found = SandboxContactRegistry(Population(size, seed)).lookup(f"afm:{afm}")
    addresses = [a for a in (found.email, found.mobile) if a] if found else []
    db = Database(settings.database_url)
    try:
        mine = SqlNotificationStore(db).settings(f"afm:{afm}").contacts
        addresses += [a for a in (mine.email, mine.mobile) if a]
    except HubError:
        pass  # No hub database yet: the registry's contacts are all there is.
    finally:
        db.dispose()
    return sorted(set(addresses))


def _messages(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.sandbox.messages import MessageBox  # noqa: PLC0415

    to = _addresses(args.to, settings) if args.to else None
    box = MessageBox(settings.sandbox_messages)
    print(json.dumps(box.list(to=to, channel=args.channel), ensure_ascii=False, indent=2))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    size, seed = _size(args, settings)

    def ready(handle: SandboxHandle) -> None:
        for registry, url in handle.urls.items():
            print(f"{registry:<16} {url}", flush=True)

    serve_sandbox(
        settings.sandbox_host,
        args.base_port or settings.sandbox_base_port,
        size,
        seed,
        faults=parse_fault_map(args.faults),
        specs_dir=settings.registries_dir,
        ready=ready,
    )
    return 0
