"""``hub serve`` and ``hub demo``: run the hub under uvicorn.

``serve`` runs the hub as configured, in one process or, with
``--workers N`` (``HUB_WORKERS``), in N processes forked from a small
supervisor that share one listening socket and the database
(:mod:`hub.cli._workers`). ``demo`` prepares everything a fresh machine
lacks (database schema, development keys, sandbox registries) and then
serves on loopback with the embedded defaults, in one process.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn

from adapters.sandbox.messages import CALLBACK_SECRET, GATEWAY_TOKEN
from adapters.sandbox.runner import ProvidersHandle, start_providers, start_sandbox
from hub.app import build_services, create_app, production_refusals, reload_catalog
from hub.audit.service import CheckpointTimer
from hub.cli import _running as running
from hub.cli import _workers as workers
from hub.cli._http import server_config, start_metrics_listener
from hub.cli.keys import ensure_keys
from hub.config import MAX_WORKERS, Settings
from hub.errors import ConfigError, HubError
from hub.logs import configure_logging
from hub.persistence import migrate
from hub.persistence.db import Database
from hub.persistence.singleton import ClusterSingleton
from hub.services import unavailable_reason

__all__ = ["pid_file", "register", "run_server"]

log = logging.getLogger("hub.catalog")


def pid_file(settings: Settings) -> Path:
    """Where a running server writes its process id, for ``hub catalog reload``."""
    return settings.var_dir / "hub.pid"


def _reload_on_sighup(services: Any) -> None:
    """SIGHUP reloads the catalogue, in a thread: the handler must not block the loop."""
    lock = threading.Lock()

    def reload() -> None:
        with lock:
            try:
                version = reload_catalog(services)
            except HubError as exc:
                # The catalogue in force keeps serving; the operator reads why here.
                log.error("catalogue reload refused", extra={"error": exc.detail})
                return
            log.info("catalogue reloaded", extra={"catalog_version": version})

    def handler(_signum: int, _frame: object) -> None:
        threading.Thread(target=reload, name="catalog-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, handler)


def register(commands: Any) -> None:
    serve: argparse.ArgumentParser = commands.add_parser("serve", help="serve the hub")
    serve.add_argument("--host", help="address to bind (default HUB_HOST)")
    serve.add_argument("--port", type=int, help="port to bind (default HUB_PORT)")
    serve.add_argument(
        "--workers",
        type=int,
        help="processes to serve with (default HUB_WORKERS; unset: the cores in production, "
        "1 elsewhere)",
    )
    serve.set_defaults(run=_serve)
    demo: argparse.ArgumentParser = commands.add_parser(
        "demo", help="prepare database, keys and sandbox registries, then serve on loopback"
    )
    demo.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    demo.set_defaults(run=_demo)


def _with_address(settings: Settings, host: str | None, port: int | None) -> Settings:
    host = host or settings.host
    port = port or settings.port
    public = settings.public_url
    if public == f"http://{settings.host}:{settings.port}":
        public = f"http://{host}:{port}"
    return replace(settings, host=host, port=port, public_url=public)


def _in_memory(database_url: str) -> bool:
    """Whether the database lives in this process's memory (SQLite only)."""
    if not database_url.startswith("sqlite"):
        return False
    rest = database_url.split(":", 1)[1]
    return rest in ("", "//", "///") or ":memory:" in rest or "mode=memory" in rest


def _write_pid(settings: Settings) -> Path:
    path = pid_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()), encoding="utf-8")
    return path


def _remove_pid(path: Path) -> None:
    """Remove the pid file if it still names this process."""
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8").strip() == str(os.getpid()):
            path.unlink(missing_ok=True)


def _never() -> bool:
    return False


def _serve_app(
    settings: Settings, sockets: list[socket.socket] | None = None, index: int = 0
) -> int:
    """One hub process: its own app, pool, metrics listener and background workers."""
    configure_logging(settings.log_level)
    app = create_app(settings)
    config = server_config(app, settings)
    metrics = start_metrics_listener(app.services, offset=index)
    # Checkpoints every N entries are made as entries are appended; this
    # timer makes one every T seconds when the log has grown. On several
    # nodes one of them runs it (and talks to the witnesses): the holder of
    # the cluster-wide singleton, which passes on when that node dies.
    singleton = ClusterSingleton(app.services.db, "audit-checkpoints")
    may_run = singleton.held
    if index > 0 and settings.database_url.startswith("sqlite"):
        # On SQLite the singleton is always held (one node by design), so
        # among several workers only the first runs the singleton's work.
        may_run = _never
    timer = (
        CheckpointTimer(app.services.audit, may_run=may_run)
        if unavailable_reason(app.services.audit) is None
        else None
    )
    witnessing = app.services.witnessing
    if timer:
        timer.start()
    if witnessing is not None:
        witnessing.start(may_run=may_run)
    # Agency webhooks are sent from the database queue by this process's
    # worker; claims lease rows in the database, so several processes (or
    # nodes) never send the same delivery at once.
    app.services.webhook_worker.start()
    _reload_on_sighup(app.services)
    # A supervised worker leaves the pid file to its supervisor, which passes
    # a reload on to every worker rather than to whichever wrote last.
    pid = None if sockets else _write_pid(settings)
    try:
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        if pid is not None:
            _remove_pid(pid)
        app.services.webhook_worker.stop()
        if witnessing is not None:
            witnessing.stop()
        if timer:
            timer.stop()
        singleton.release()
        if metrics is not None:
            metrics.shutdown()
    return 0


def run_server(settings: Settings, worker_count: int | None = None) -> int:
    count = worker_count if worker_count is not None else settings.worker_count
    if not 1 <= count <= MAX_WORKERS:
        raise ConfigError(f"--workers must be between 1 and {MAX_WORKERS}")
    if count == 1:
        return _serve_app(settings)
    if _in_memory(settings.database_url):
        raise ConfigError(
            "several workers need a database they can share; an in-memory SQLite "
            "database exists once per process: use a file or PostgreSQL, or one worker"
        )
    configure_logging(settings.log_level)
    listener = workers.bind(settings.host, settings.port)
    pid = _write_pid(settings)
    try:
        return workers.supervise(count, lambda index: _serve_app(settings, [listener], index))
    finally:
        _remove_pid(pid)
        listener.close()


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    settings = _with_address(settings, args.host, args.port)
    if settings.is_production:
        # Refuse before binding the port: a production hub never serves with
        # development keys or in clear text, and says every reason at once.
        services = build_services(settings)
        try:
            refusals = production_refusals(settings, services.keystore)
        finally:
            services.close()
        if refusals:
            raise ConfigError("refusing to start in production: " + "; ".join(refusals))
    return run_server(settings, args.workers)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if settings.is_production:
        raise ConfigError(
            "'hub demo' runs sandbox registries and development keys; use 'hub serve'"
        )
    settings = _with_address(settings, args.host, args.port)
    db = Database(settings.database_url)
    try:
        revision = migrate.upgrade(db)
    finally:
        db.dispose()
    print(f"database ready ({settings.database_url}, schema {revision})", flush=True)
    for line in ensure_keys(settings):
        print(line, flush=True)
    print(f"keys ready in {settings.keys_dir}", flush=True)
    sandbox = start_sandbox(
        settings.sandbox_host,
        settings.sandbox_base_port,
        settings.sandbox_population,
        settings.sandbox_seed,
        specs_dir=settings.registries_dir,
    )
    for registry, url in sandbox.urls.items():
        print(f"sandbox registry {registry:<16} {url}", flush=True)
    settings = replace(settings, registry_urls={**sandbox.urls, **settings.registry_urls})
    try:
        providers, settings = _sandbox_providers(settings)
    except ConfigError:
        sandbox.stop()
        raise
    print(f"hub on {settings.public_url}  (API docs: {settings.public_url}/ui/)", flush=True)
    print("try: hub sandbox citizens --limit 3   and   hub token agency opeka", flush=True)
    print("     hub sandbox messages --to <AFM>   (what the citizen was told)", flush=True)
    # 'hub token' reads this address, so its tokens name this demo as issuer.
    running.record(settings)
    try:
        # One process: the sandbox runs threads in this one, and a fork
        # copies none of them.
        return run_server(settings, 1)
    finally:
        running.forget(settings)
        if providers is not None:
            providers.stop()
        sandbox.stop()


def _sandbox_providers(settings: Settings) -> tuple[ProvidersHandle | None, Settings]:
    """Start the sandbox mail server and SMS/Viber gateway, unless real ones are set.

    They listen on the two ports after the registries' (8103 and 8104 by
    default) and keep what they receive in ``HUB_SANDBOX_MESSAGES``.
    """
    if settings.smtp_host or settings.sms_url or settings.viber_url:
        return None, settings
    base = settings.sandbox_base_port
    providers = start_providers(
        settings.sandbox_messages,
        settings.sandbox_host,
        smtp_port=base + 3 if base else 0,
        gateway_port=base + 4 if base else 0,
    )
    print(
        f"sandbox mail server (SMTP)      {providers.smtp_host}:{providers.smtp_port}", flush=True
    )
    print(f"sandbox SMS/Viber gateway       {providers.gateway_url}", flush=True)
    gateway = providers.gateway_url + "/v1/messages"
    return providers, replace(
        settings,
        smtp_host=providers.smtp_host,
        smtp_port=providers.smtp_port,
        sms_url=gateway,
        sms_token=GATEWAY_TOKEN,
        viber_url=gateway,
        viber_token=GATEWAY_TOKEN,
        notify_callback_secret=settings.notify_callback_secret or CALLBACK_SECRET,
    )
