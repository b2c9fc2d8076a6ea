"""Start and stop the three sandbox registries, each its own HTTP server.

The hub's end-to-end runs, its integration tests and the ``hub sandbox``
command all need the registries listening on loopback with one shared
population. ``start_sandbox`` binds the sockets first (so port 0 works and the
real ports are known before any app is built), runs one uvicorn server per
registry in a background thread, and returns only once each one answers its
health check. ``serve_sandbox`` does the same in the foreground until a signal.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from adapters.sandbox._asgi import SandboxApp
from adapters.sandbox.contacts import SandboxContactRegistry
from adapters.sandbox.faults import REGISTRY_IDS, Faults
from adapters.sandbox.land_registry import LandRegistry
from adapters.sandbox.messages import MessageBox, SandboxGateway, SandboxMailServer
from adapters.sandbox.population import Population
from adapters.sandbox.population_registry import PopulationRegistry
from adapters.sandbox.social_security import SocialSecurityRegistry
from hub.errors import ConfigError

__all__ = [
    "DEFAULT_CREDENTIALS",
    "SPECS_DIR",
    "ProvidersHandle",
    "SandboxHandle",
    "sample_citizens",
    "serve_in_thread",
    "serve_sandbox",
    "start_providers",
    "start_sandbox",
]

#: Where the WSDL and OpenAPI files live in a source checkout.
SPECS_DIR = Path(__file__).resolve().parents[2] / "specs" / "registries"
#: The WS-Security user name and password of the social-security registry.
DEFAULT_CREDENTIALS = ("hub", "sandbox-secret")
_START_TIMEOUT = 10.0

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Running:
    app: SandboxApp
    server: Any
    thread: threading.Thread


@dataclass(slots=True)
class SandboxHandle:
    """The running registries: their base URLs by registry id, and a way to stop."""

    urls: dict[str, str]
    population: Population
    credentials: tuple[str, str]
    _running: list[_Running] = field(default_factory=list, repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every server; requests left hanging by a fault end at once."""
        for running in self._running:
            running.app.stopping = True
            running.server.should_exit = True
        for running in self._running:
            running.thread.join(timeout)
            if running.thread.is_alive():
                running.server.force_exit = True
                running.thread.join(timeout)
        self._running.clear()

    def set_faults(self, registry_id: str, faults: Faults | None) -> None:
        """Change how one running registry misbehaves (None: not at all).

        Fault tests use it to make a registry fail and then recover while the
        hub keeps running, as a real registry's outage begins and ends.
        """
        for running in self._running:
            if running.app.registry_id == registry_id:
                running.app.set_faults(faults)
                return
        raise ConfigError(f"no running sandbox registry is called {registry_id}")

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    app: Any, sock: socket.socket, name: str, **tls: Any
) -> tuple[uvicorn.Server, threading.Thread]:
    """Serve ``app`` on the bound ``sock`` from a daemon thread, quietly.

    ``tls`` holds uvicorn's ``ssl_*`` options, for registries served over https.
    """
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        server_header=False,
        timeout_graceful_shutdown=2,
        **tls,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    return server, thread


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"the sandbox cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _answers(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def start_sandbox(
    host: str = "127.0.0.1",
    base_port: int = 8100,
    size: int = 10_000,
    seed: int = 2026,
    *,
    faults: Mapping[str, Faults] | None = None,
    credentials: tuple[str, str] = DEFAULT_CREDENTIALS,
    specs_dir: Path | None = None,
) -> SandboxHandle:
    """Start the population, land and social-security registries in the background.

    They listen on ``base_port``, ``base_port + 1`` and ``base_port + 2``; with
    ``base_port=0`` each gets a free port, and ``handle.urls`` says which.
    """
    faults = dict(faults or {})
    unknown = set(faults) - set(REGISTRY_IDS)
    if unknown:
        raise ConfigError(f"no sandbox registry is called {', '.join(sorted(unknown))}")
    specs = specs_dir or SPECS_DIR
    population = Population(size, seed)
    sockets: list[socket.socket] = []
    try:
        for offset in range(len(REGISTRY_IDS)):
            sockets.append(_bind(host, base_port + offset if base_port else 0))
    except ConfigError:
        for sock in sockets:
            sock.close()
        raise
    ports = [sock.getsockname()[1] for sock in sockets]
    urls = {rid: _url(host, port) for rid, port in zip(REGISTRY_IDS, ports, strict=True)}
    apps: list[SandboxApp] = [
        PopulationRegistry(
            population,
            faults.get("population"),
            wsdl_path=specs / "population.wsdl",
            base_url=urls["population"],
        ),
        LandRegistry(population, faults.get("land"), spec_path=specs / "land-registry.yaml"),
        SocialSecurityRegistry(
            population,
            faults.get("social-security"),
            wsdl_path=specs / "social-security.wsdl",
            base_url=urls["social-security"],
            credentials=credentials,
        ),
    ]
    handle = SandboxHandle(urls, population, credentials)
    for app, sock in zip(apps, sockets, strict=True):
        server, thread = serve_in_thread(app, sock, f"sandbox-{app.registry_id}")
        handle._running.append(_Running(app, server, thread))
    deadline = time.monotonic() + _START_TIMEOUT
    for running, port in zip(handle._running, ports, strict=True):
        while not (running.server.started and _answers(host, port)):
            if time.monotonic() > deadline or not running.thread.is_alive():
                handle.stop()
                raise ConfigError(f"the sandbox {running.app.registry_id} registry did not start")
            time.sleep(0.01)
    log.info("sandbox registries started with %d citizens", size)
    return handle


@dataclass(slots=True)
class ProvidersHandle:
    """The sandbox mail server and SMS/Viber gateway, and where they listen."""

    box: MessageBox
    smtp_host: str
    smtp_port: int
    gateway_url: str
    _mail: SandboxMailServer
    _gateway: tuple[Any, threading.Thread]

    def stop(self, timeout: float = 5.0) -> None:
        self._mail.stop()
        server, thread = self._gateway
        server.should_exit = True
        thread.join(timeout)


def start_providers(
    path: Path, host: str = "127.0.0.1", smtp_port: int = 0, gateway_port: int = 0
) -> ProvidersHandle:
    """Start the sandbox SMTP server and SMS/Viber gateway, storing into ``path``."""
    box = MessageBox(path)
    sock = _bind(host, gateway_port)
    mail = SandboxMailServer(box, host, smtp_port)
    try:
        mail.start()
    except (OSError, RuntimeError) as exc:
        sock.close()
        raise ConfigError(f"the sandbox mail server cannot listen on {host}:{smtp_port}") from exc
    port = sock.getsockname()[1]
    server, thread = serve_in_thread(SandboxGateway(box), sock, "sandbox-gateway")
    deadline = time.monotonic() + _START_TIMEOUT
    while not (server.started and _answers(host, port)):
        if time.monotonic() > deadline or not thread.is_alive():
            mail.stop()
            raise ConfigError("the sandbox SMS/Viber gateway did not start")
        time.sleep(0.01)
    return ProvidersHandle(box, host, mail.port, _url(host, port), mail, (server, thread))


def serve_sandbox(
    host: str = "127.0.0.1",
    base_port: int = 8100,
    size: int = 10_000,
    seed: int = 2026,
    *,
    faults: Mapping[str, Faults] | None = None,
    credentials: tuple[str, str] = DEFAULT_CREDENTIALS,
    specs_dir: Path | None = None,
    ready: Callable[[SandboxHandle], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the sandbox in the foreground until SIGINT, SIGTERM or ``stop`` is set.

    ``ready`` is called with the handle once every registry answers, so a CLI
    can print the URLs.
    """
    stop = stop or threading.Event()
    handle = start_sandbox(
        host, base_port, size, seed, faults=faults, credentials=credentials, specs_dir=specs_dir
    )
    previous: dict[int, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        if ready is not None:
            ready(handle)
        while not stop.wait(0.2):
            pass
    finally:
        handle.stop()
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)


def sample_citizens(size: int = 10_000, seed: int = 2026, limit: int = 20) -> list[dict[str, Any]]:
    """Citizens worth trying, as JSON-ready dicts with tags saying why."""
    population = Population(size, seed)
    contacts = SandboxContactRegistry(population)
    result: list[dict[str, Any]] = []
    for citizen in population.sample(limit):
        tags = population.tags(citizen)
        points = contacts.contacts_of(citizen)
        result.append(
            {
                "afm": citizen.afm,
                "amka": citizen.amka,
                "name": citizen.full_name,
                "name_latin": citizen.full_name_latin,
                "sex": citizen.sex,
                "birth_date": citizen.birth_date.isoformat(),
                "death_date": citizen.death_date.isoformat() if citizen.death_date else None,
                "marital_status": citizen.marital_status,
                "minor": "minor" in tags,
                "deceased": "deceased" in tags,
                "owns_property": "owns_property" in tags,
                "insured": "insured" in tags,
                "married": "married" in tags,
                "tags": sorted(tags),
                # From the sandbox contact registry (none for the dead).
                "email": points.email if points else None,
                "mobile": points.mobile if points else None,
            }
        )
    return result
