"""``hub serve`` and ``hub demo``: run the hub under uvicorn.

``serve`` runs the hub as configured. ``demo`` prepares everything a fresh
machine lacks (database schema, development keys, sandbox registries) and
then serves on loopback with the embedded defaults.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from hub.app import create_app
from hub.config import Settings
from hub.logs import configure_logging
from hub.persistence import migrate
from hub.persistence.db import Database

__all__ = ["register", "run_server"]


def register(commands: Any) -> None:
    serve: argparse.ArgumentParser = commands.add_parser("serve", help="serve the hub")
    serve.add_argument("--host", help="address to bind (default HUB_HOST)")
    serve.add_argument("--port", type=int, help="port to bind (default HUB_PORT)")
    serve.set_defaults(run=_serve)
    demo: argparse.ArgumentParser = commands.add_parser(
        "demo", help="prepare database, keys and sandbox registries, then serve on loopback"
    )
    demo.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    demo.set_defaults(run=_demo)


def _with_address(settings: Settings, host: str | None, port: int | None) -> Settings:
    from dataclasses import replace  # noqa: PLC0415 - only needed here

    host = host or settings.host
    port = port or settings.port
    public = settings.public_url
    if public == f"http://{settings.host}:{settings.port}":
        public = f"http://{host}:{port}"
    return replace(settings, host=host, port=port, public_url=public)


def run_server(settings: Settings) -> int:
    configure_logging(settings.log_level)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        lifespan="on",
        server_header=False,
    )
    uvicorn.Server(config).run()
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    return run_server(_with_address(settings, args.host, args.port))


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    settings = _with_address(settings, args.host, args.port)
    db = Database(settings.database_url)
    try:
        revision = migrate.upgrade(db)
    finally:
        db.dispose()
    print(f"database ready ({settings.database_url}, schema {revision})", flush=True)
    print(f"hub on {settings.public_url}  (API docs: {settings.public_url}/ui/)", flush=True)
    return run_server(settings)
