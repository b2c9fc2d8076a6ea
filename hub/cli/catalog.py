"""``hub catalog`` and ``hub registry``: check and reload the catalogue, scaffold a registry.

``check`` reads the catalogue as the hub would — ``specs/catalog``, then
``HUB_CATALOG_DIRS``, then the directories given — and prints every error
with its file and line; it exits 1 when there is any, so CI can gate on it.
``reload`` checks first and then asks the running server (its process id
in ``<var>/hub.pid``) to reload by SIGHUP; the server swaps the new
catalogue in whole, or logs why not and keeps the old one.
``registry scaffold`` prints a skeleton from a WSDL or an OpenAPI file.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import Any

from hub.config import Settings
from hub.errors import ConfigError

__all__ = ["register"]


def register(commands: Any) -> None:
    catalog: argparse.ArgumentParser = commands.add_parser(
        "catalog", help="the catalogue: check it, reload it in the running hub"
    )
    actions = catalog.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="every error of the catalogue, by file and line (exit 1 if any)"
    )
    check.add_argument(
        "dirs", nargs="*", type=Path, metavar="DIR", help="catalogue directories merged over it"
    )
    check.add_argument(
        "--base",
        type=Path,
        help="check this catalogue instead of the hub's own (specs/catalog and HUB_CATALOG_DIRS)",
    )
    check.set_defaults(run=_check)
    reload = actions.add_parser("reload", help="check, then make the running hub reload (SIGHUP)")
    reload.add_argument("--pid", type=int, help="the server's process id (default: <var>/hub.pid)")
    reload.set_defaults(run=_reload)

    registry: argparse.ArgumentParser = commands.add_parser(
        "registry", help="registries: scaffold a catalogue entry from a service description"
    )
    registry_actions = registry.add_subparsers(dest="action", required=True, metavar="ACTION")
    scaffold = registry_actions.add_parser(
        "scaffold", help="print a catalogue skeleton for a registry, to edit"
    )
    source = scaffold.add_mutually_exclusive_group(required=True)
    source.add_argument("--wsdl", type=Path, help="the registry's WSDL (SOAP)")
    source.add_argument("--openapi", type=Path, help="the registry's OpenAPI 3 (REST)")
    scaffold.add_argument("--id", help="the registry's id in the catalogue")
    scaffold.set_defaults(run=_scaffold)


def _directories(
    settings: Settings, base: Path | None, extra: list[Path]
) -> tuple[Path, list[Path]]:
    if base is not None:
        return base, extra
    configured = list(settings.catalog_dirs)
    return settings.catalog_dir, [*configured, *extra]


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from hub.catalog.check import check_catalog, describe  # noqa: PLC0415  # zeep, for this only

    directory, extra = _directories(settings, args.base, args.dirs)
    findings = check_catalog(directory, extra, registries_dir=settings.registries_dir)
    print(describe(findings))
    return 1 if findings else 0


def _reload(args: argparse.Namespace, settings: Settings) -> int:
    from hub.catalog.check import check_catalog, describe  # noqa: PLC0415
    from hub.cli.serve import pid_file  # noqa: PLC0415

    directory, extra = _directories(settings, None, [])
    findings = check_catalog(directory, extra, registries_dir=settings.registries_dir)
    if findings:
        print(describe(findings))
        print("not reloaded: the hub keeps its catalogue")
        return 1
    pid = args.pid
    if pid is None:
        try:
            pid = int(pid_file(settings).read_text(encoding="utf-8").strip())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"no running hub recorded in {pid_file(settings)}; give --pid"
            ) from exc
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError as exc:
        raise ConfigError(f"no process {pid}: is the hub running?") from exc
    print(f"asked hub (process {pid}) to reload; its log says whether it did")
    return 0


def _scaffold(args: argparse.Namespace, settings: Settings) -> int:
    from hub.catalog.scaffold import scaffold_openapi, scaffold_wsdl  # noqa: PLC0415

    if args.wsdl is not None:
        print(scaffold_wsdl(args.wsdl, args.id), end="")
    else:
        print(scaffold_openapi(args.openapi, args.id), end="")
    return 0
