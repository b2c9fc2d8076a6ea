"""``hub sandbox``: run the sandbox registries, or list sample citizens."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapters.sandbox.faults import parse_fault_map
from adapters.sandbox.runner import SandboxHandle, sample_citizens, serve_sandbox
from hub.config import Settings

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


def _size(args: argparse.Namespace, settings: Settings) -> tuple[int, int]:
    return (
        args.population or settings.sandbox_population,
        args.seed if args.seed is not None else settings.sandbox_seed,
    )


def _citizens(args: argparse.Namespace, settings: Settings) -> int:
    size, seed = _size(args, settings)
    print(json.dumps(sample_citizens(size, seed, args.limit), ensure_ascii=False, indent=2))
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
