"""Two hub nodes on one PostgreSQL behind Debian's nginx; one is SIGKILLed mid-load.

The deployment of ``deploy/`` without Docker: nginx (the system's binary, not
a daemon, with a configuration under the test's directory) terminates TLS
with a self-signed certificate made here, and balances over two ``hub
serve`` processes on loopback that share one PostgreSQL database and believe
forwarded addresses from 127.0.0.1 only. The server block is rendered from
``deploy/nginx/templates/hub.conf.template``, the file the compose
deployment uses.

Client threads send evidence requests through nginx, each with its own
``X-Request-ID``; after a number of answers one node is killed with SIGKILL.
Then: every request a client saw answered 200 is in the log exactly once,
the log's indices run 0..n-1 without repeats or gaps, ``hub audit verify``
passes, and requests sent after the kill succeed (the other node kept
serving, and nginx stopped sending to the dead one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from hub.app import build_services
from hub.config import Settings
from hub.persistence import migrate
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.clients import agency_token
from tests.common.database import POSTGRES_URL
from tests.common.hubs import HubProcess
from tests.common.server import free_port
from tests.common.tls import self_signed

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "hub.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="set HUB_TEST_DATABASE_URL to a PostgreSQL URL"),
]

THREADS = 12
PER_THREAD = 30
KILL_AFTER = 80
EVIDENCE_TYPES = ("family-status", "insurance-status", "property-ownership")


def _nginx_or_skip() -> str:
    if Path(NGINX).exists():
        return NGINX
    if os.environ.get("CI") == "true":
        pytest.fail("CI must install nginx (Debian's nginx package)")
    pytest.skip("nginx is not installed")


@dataclass
class Nginx:
    """Debian's nginx in the foreground, its configuration and files under ``directory``."""

    directory: Path
    nodes: tuple[int, int]
    https_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def configure(self, cert: Path, key: Path) -> Path:
        server = TEMPLATE.read_text(encoding="utf-8")
        for name, value in {
            "HUB_NODE_1": f"127.0.0.1:{self.nodes[0]}",
            "HUB_NODE_2": f"127.0.0.1:{self.nodes[1]}",
            "NGINX_HTTPS_PORT": f"127.0.0.1:{self.https_port}",
            "NGINX_HTTP_PORT": f"127.0.0.1:{self.http_port}",
            "NGINX_TLS_CERT": str(cert),
            "NGINX_TLS_KEY": str(key),
        }.items():
            server = server.replace("${" + name + "}", value)
        assert "${" not in server, "the template names a variable the test does not set"
        (self.directory / "hub.conf").write_text(server, encoding="utf-8")
        temp = self.directory / "temp"
        temp.mkdir(exist_ok=True)
        # As root, nginx's workers would drop to "nobody", who cannot read
        # the test's private directory; elsewhere the directive is ignored.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = (
            f"{user}daemon off;\nworker_processes 1;\npid {self.directory / 'nginx.pid'};\n"
            f"error_log {self.directory / 'error.log'} warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "  access_log off;\n"
            f"  client_body_temp_path {temp / 'body'};\n"
            f"  proxy_temp_path {temp / 'proxy'};\n"
            f"  fastcgi_temp_path {temp / 'fastcgi'};\n"
            f"  uwsgi_temp_path {temp / 'uwsgi'};\n"
            f"  scgi_temp_path {temp / 'scgi'};\n"
            f"  include {self.directory / 'hub.conf'};\n"
            "}\n"
        )
        path = self.directory / "nginx.conf"
        path.write_text(main, encoding="utf-8")
        return path

    def start(self, conf: Path, ca: Path) -> None:
        check = subprocess.run(
            [NGINX, "-t", "-q", "-p", str(self.directory), "-e", "stderr", "-c", str(conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        with (self.directory / "nginx.out").open("ab") as out:
            self.process = subprocess.Popen(
                [NGINX, "-p", str(self.directory), "-e", "stderr", "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=out,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.errors()
            try:
                if requests.get(f"{self.url}/healthz", verify=str(ca), timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("nginx did not start: " + self.errors())

    def errors(self) -> str:
        out = self.directory / "nginx.out"
        return out.read_text(encoding="utf-8", errors="replace")[-2000:] if out.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class Node(HubProcess):
    """A hub node: the public URL is nginx's, forwarded headers trusted from loopback."""

    public_url: str = ""

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        env.update({"HUB_PUBLIC_URL": self.public_url, "HUB_TRUSTED_PROXIES": "127.0.0.1"})
        return env


@dataclass
class Load:
    ok: list[str] = field(default_factory=list)
    ok_after_kill: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    killed: threading.Event = field(default_factory=threading.Event)
    enough: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _body(sandbox: Any, n: int) -> dict[str, Any]:
    citizen = sandbox.population.citizen(n % 500)
    return {
        "citizen": {"afm": citizen.afm},
        "evidence_type": EVIDENCE_TYPES[n % len(EVIDENCE_TYPES)],
        "purpose": "social-benefit-eligibility",
    }


def _client(url: str, token: str, ca: Path, sandbox: Any, worker: int, load: Load) -> None:
    with requests.Session() as session:
        session.verify = str(ca)
        for i in range(PER_THREAD):
            request_id = f"lb-{worker}-{i}"
            after_kill = load.killed.is_set()
            try:
                response = session.post(
                    f"{url}/v1/evidence",
                    json=_body(sandbox, worker * PER_THREAD + i),
                    headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
                    timeout=30,
                )
            except requests.RequestException as exc:
                with load.lock:
                    load.failed[exc.__class__.__name__] += 1
                continue
            with load.lock:
                if response.status_code == 200:
                    assert response.headers["x-client-request-id"] == request_id
                    load.ok.append(response.headers["x-request-id"])
                    load.ok_after_kill += after_kill
                    if len(load.ok) >= KILL_AFTER:
                        load.enough.set()
                else:
                    load.failed[str(response.status_code)] += 1


def test_a_node_killed_behind_nginx_loses_no_answered_request(
    settings: Settings,
    database_url: str,
    sandbox: Any,
    keys_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nginx_binary = _nginx_or_skip()
    assert nginx_binary
    db = Database(database_url)
    migrate.upgrade(db)
    cert, key = self_signed(tmp_path, "127.0.0.1", "hub")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    nodes = [Node(settings, tmp_path / "node-a.log"), Node(settings, tmp_path / "node-b.log")]
    proxy = Nginx(tmp_path, (nodes[0].port, nodes[1].port))
    for node in nodes:
        node.public_url = proxy.url
    try:
        for node in nodes:
            node.start()
        proxy.start(proxy.configure(cert, key), cert)
        token = agency_token(proxy.url, keys_dir, "opeka")
        load = Load()
        threads = [
            threading.Thread(
                target=_client, args=(proxy.url, token, cert, sandbox, n, load), daemon=True
            )
            for n in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        assert load.enough.wait(120), f"only {len(load.ok)} answers in 120 s"
        nodes[0].kill()
        load.killed.set()
        for thread in threads:
            thread.join(120)
        assert not any(t.is_alive() for t in threads), "a client hangs"
        # The numbers of the run, shown with pytest -s.
        print(
            f"answered {len(load.ok)} ({load.ok_after_kill} after the kill),"
            f" failed {dict(load.failed)}"
        )
        # Requests sent after the kill were answered by the other node.
        assert load.ok_after_kill >= THREADS, (load.ok_after_kill, load.failed)
        # Only a request in flight on the killed node may have failed: a 502
        # when the node died before its answer began, or an answer cut short
        # when nginx had already passed on its head (nginx cannot retry a
        # response it has started to send).
        assert sum(load.failed.values()) <= THREADS, load.failed
        assert set(load.failed) <= {"502", "ChunkedEncodingError"}, load.failed

        with db.session() as session:
            rows = session.execute(select(AuditEntryRow.idx, AuditEntryRow.entry)).all()
        indices = sorted(int(idx) for idx, _ in rows)
        assert indices == list(range(len(indices))), "the log's indices repeat or leave gaps"
        logged = Counter(json.loads(entry).get("request_id") for _, entry in rows)
        missing = [rid for rid in load.ok if logged[rid] == 0]
        assert not missing, f"{len(missing)} answered requests are not in the log: {missing[:5]}"
        twice = [rid for rid in load.ok if logged[rid] > 1]
        assert not twice, f"requests logged twice: {twice[:5]}"

        verified = nodes[1].cli("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr

        # The survivor keeps serving through nginx, auditors included.
        services = build_services(replace(settings, public_url=proxy.url))
        try:
            auditor = services.tokens.issue_auditor("lb-suite").access_token
        finally:
            services.close()
        for i in range(4):
            again = requests.post(
                f"{proxy.url}/v1/evidence",
                json=_body(sandbox, 900 + i),
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert again.status_code == 200, again.text
        newest = requests.get(
            f"{proxy.url}/v1/audit/entries",
            params={"action": "evidence.request", "limit": 1},
            headers={"Authorization": f"Bearer {auditor}"},
            timeout=30,
        )
        assert newest.status_code == 200, newest.text
        assert newest.json()["items"][0]["entry"]["request_id"] == again.headers["x-request-id"]
    finally:
        proxy.stop()
        for node in nodes:
            node.stop()
        db.dispose()
