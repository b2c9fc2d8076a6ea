"""Hubs for the security and fault suites: in a thread with overrides, or as a process.

``running_hub`` serves a migrated hub under uvicorn in a background thread,
with any settings changed (a small body limit, a low rate limit, a short
registry timeout). ``HubProcess`` runs ``python -m hub serve`` as a real
operating-system process configured only through ``HUB_*`` variables, as in
production, so that a test can load it from outside, watch its memory and
kill it with SIGKILL. ``HealthMonitor`` polls ``/healthz`` from its own thread
while a test loads the hub, and keeps every latency.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

from hub.config import Settings
from tests.common.server import free_port, serve

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def migrated_services(settings: Settings) -> Iterator[Any]:
    """The hub's services as ``hub serve`` builds them, over a migrated database; closed after."""
    from hub.app import build_services  # noqa: PLC0415 - builds the whole hub
    from hub.persistence import migrate  # noqa: PLC0415

    built = build_services(settings)
    try:
        migrate.upgrade(built.db)
        yield built
    finally:
        built.close()


@contextmanager
def running_hub(settings: Settings, **overrides: Any) -> Iterator[str]:
    """A migrated hub over real HTTP on loopback, with ``overrides`` applied."""
    from hub.app import build_services, create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415

    port = free_port()
    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}", **overrides)
    services = build_services(settings)
    migrate.upgrade(services.db)
    try:
        with serve(create_app(services=services), port=port) as url:
            yield url
    finally:
        services.close()


def hub_environment(settings: Settings, port: int) -> dict[str, str]:
    """The ``HUB_*`` variables that make ``hub serve`` run as ``settings`` say."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_ENV": "test",
            "HUB_HOST": "127.0.0.1",
            "HUB_PORT": str(port),
            "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HUB_DATABASE_URL": settings.database_url,
            "HUB_KEYS_DIR": str(settings.keys_dir),
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_REGISTRY_TIMEOUT": str(settings.registry_timeout),
            "HUB_REGISTRY_MAX_IN_FLIGHT": str(settings.registry_max_in_flight),
            "HUB_REGISTRY_QUEUE_WAIT": str(settings.registry_queue_wait),
            "HUB_REGISTRY_BREAKER_FAILURES": str(settings.registry_breaker_failures),
            "HUB_REGISTRY_BREAKER_PAUSE": str(settings.registry_breaker_pause),
            "HUB_SANDBOX_POPULATION": str(settings.sandbox_population),
            "HUB_SANDBOX_SEED": str(settings.sandbox_seed),
        }
    )
    if settings.registry_ca_file is not None:
        env["HUB_REGISTRY_CA_FILE"] = str(settings.registry_ca_file)
    for registry, url in settings.registry_urls.items():
        env[f"HUB_REGISTRY_URL_{registry.upper().replace('-', '_')}"] = url
    return env


@dataclass
class HubProcess:
    """``python -m hub serve`` on a fixed loopback port; start, kill and start again."""

    settings: Settings
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return hub_environment(self.settings, self.port)

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and return once ``/readyz`` answers 200."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited at start-up:\n{self.output()}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the hub did not become ready:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``python -m hub ARGS`` with this hub's environment."""
        return subprocess.run(
            [sys.executable, "-m", "hub", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _status(self, field: str) -> int:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="ascii")
        for line in status.splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} line in /proc/PID/status")

    def reset_peak_memory(self) -> int:
        """Start measuring the peak afresh (Linux ``clear_refs``); the resident set now."""
        assert self.process is not None
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5", encoding="ascii")
        return self._status("VmRSS")

    def peak_memory(self) -> int:
        """The process's peak resident set since the last reset, in bytes (``VmHWM``)."""
        return self._status("VmHWM")

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]


@dataclass
class HealthMonitor:
    """Polls ``/healthz`` from its own thread and keeps every latency."""

    url: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = session.get(f"{self.url}/healthz", timeout=5)
                    if response.status_code != 200:
                        self.failures.append(f"status {response.status_code}")
                except requests.RequestException as exc:
                    self.failures.append(exc.__class__.__name__)
                self.latencies.append(time.monotonic() - started)
                self._stop.wait(0.1)

    def __enter__(self) -> HealthMonitor:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(10)


@contextmanager
def hub_process_on(
    work: Path,
    keys_dir: Path,
    registry_urls: Mapping[str, str],
    *,
    size: int,
    seed: int,
    registry_timeout: float,
    **overrides: Any,
) -> Iterator[HubProcess]:
    """A started hub process on its own migrated SQLite file under ``work``.

    ``overrides`` are further :class:`Settings` fields (a registry CA file,
    a shorter circuit pause), passed to the process as ``HUB_*`` variables.
    """
    from hub.persistence import migrate  # noqa: PLC0415
    from hub.persistence.db import Database  # noqa: PLC0415

    settings = Settings.for_tests(
        work,
        keys_dir=keys_dir,
        registry_urls=dict(registry_urls),
        registry_timeout=registry_timeout,
        sandbox_population=size,
        sandbox_seed=seed,
        **overrides,
    )
    db = Database(settings.database_url)
    migrate.upgrade(db)
    db.dispose()
    process = HubProcess(settings, work / "hub.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()
