"""Entry point of the ``hub`` command.

Each subcommand lives in its own module and registers itself on the parser.
The CLI catches :class:`~hub.errors.HubError` only, prints its diagnostics and
exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hub import __version__, _patches
from hub.cli import (
    audit,
    catalog,
    certificates,
    db,
    keys,
    notifications,
    sandbox,
    serve,
    token,
    witness,
)
from hub.config import Settings
from hub.errors import HubError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub", description="The once-only data exchange hub: serve it and operate it."
    )
    parser.add_argument("--version", action="version", version=f"hub {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        serve,
        db,
        keys,
        token,
        sandbox,
        audit,
        certificates,
        witness,
        notifications,
        catalog,
    ):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every command may seal, verify or render: the guarded library patches first.
    _patches.apply()
    try:
        settings = Settings.from_env()
        code: int = args.run(args, settings)
    except HubError as exc:
        print(f"error: {exc.diagnostics()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
