"""A hub killed with SIGKILL in the middle of a load loses no answered request.

A hub process serves evidence requests from 16 client threads, each sending
its own ``X-Request-ID``. While they run, the process is killed with SIGKILL:
no shutdown handler, no flush. A new process starts on the same database and
serves a few more requests. Then ``hub audit verify`` must pass (the Merkle
tree, the stored nodes and every checkpoint agree), and every request the
clients saw answered 200 — before the kill or after the restart — must be in
the access log, found through the auditor's search over HTTP.

On SQLite the database is a file of the test's own; with
``HUB_TEST_DATABASE_URL`` set the same test runs on PostgreSQL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.app import build_services
from hub.config import Settings
from hub.persistence import migrate
from hub.persistence.db import Database
from tests.common.clients import agency_token
from tests.common.hubs import HubProcess

pytestmark = pytest.mark.slow

THREADS = 16
#: Requests answered before the kill; the kill comes while the rest are in flight.
KILL_AFTER = 60
#: Per-thread ceiling, so the load is bounded even if the kill never comes.
PER_THREAD = 40
AFTER_RESTART = 8
EVIDENCE_TYPES = ("family-status", "insurance-status", "property-ownership")


@dataclass
class Load:
    """What the clients saw: request ids answered 200, and how the others ended."""

    ok: list[str] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    broken: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)


def _body(sandbox: Any, n: int) -> dict[str, Any]:
    citizen = sandbox.population.citizen(n % 500)
    return {
        "citizen": {"afm": citizen.afm},
        "evidence_type": EVIDENCE_TYPES[n % len(EVIDENCE_TYPES)],
        "purpose": "social-benefit-eligibility",
    }


def _client(url: str, token: str, sandbox: Any, worker: int, load: Load) -> None:
    with requests.Session() as session:
        for i in range(PER_THREAD):
            request_id = f"crash-{worker}-{i}"
            try:
                response = session.post(
                    f"{url}/v1/evidence",
                    json=_body(sandbox, worker * PER_THREAD + i),
                    headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
                    timeout=15,
                )
            except requests.RequestException:
                # The hub died under this request; the client never saw an answer.
                with load.lock:
                    load.broken += 1
                return
            with load.lock:
                if response.status_code == 200:
                    # The client's id is echoed; the log knows the hub's own.
                    assert response.headers["x-client-request-id"] == request_id
                    load.ok.append(response.headers["x-request-id"])
                    if len(load.ok) >= KILL_AFTER:
                        load.enough.set()
                else:
                    load.refused.append(response.status_code)


def _logged_request_ids(url: str, auditor: str) -> set[str]:
    """Every evidence request id in the access log, page by page via the auditor API."""
    found: set[str] = set()
    cursor: str | None = None
    headers = {"Authorization": f"Bearer {auditor}"}
    for _ in range(100):
        params: dict[str, Any] = {"action": "evidence.request", "limit": 200}
        if cursor:
            params["cursor"] = cursor
        response = requests.get(
            f"{url}/v1/audit/entries", params=params, headers=headers, timeout=30
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found.update(item["entry"].get("request_id") for item in page["items"])
        cursor = page["next"]
        if cursor is None:
            return found
    raise AssertionError("the access log did not end after 100 pages")


def test_sigkill_mid_load_loses_no_answered_request(
    settings: Settings, database_url: str, sandbox: Any, keys_dir: Path, tmp_path: Path
) -> None:
    db = Database(database_url)
    migrate.upgrade(db)
    db.dispose()
    hub = HubProcess(settings, tmp_path / "hub.log")
    hub.start()
    try:
        token = agency_token(hub.url, keys_dir, "opeka")
        load = Load()
        threads = [
            threading.Thread(target=_client, args=(hub.url, token, sandbox, n, load), daemon=True)
            for n in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        assert load.enough.wait(60), f"only {len(load.ok)} requests answered in 60 s"
        hub.kill()
        for thread in threads:
            thread.join(30)
        assert not any(t.is_alive() for t in threads), "a client still hangs on a dead hub"
        before = list(load.ok)
        # The kill came in the middle of the load, not after it.
        assert load.broken > 0, "no request was in flight when the hub was killed"
        assert not load.refused, f"the hub refused requests under load: {load.refused}"

        hub.start()
        token = agency_token(hub.url, keys_dir, "opeka")
        after = []
        for i in range(AFTER_RESTART):
            request_id = f"after-{i}"
            response = requests.post(
                f"{hub.url}/v1/evidence",
                json=_body(sandbox, 1000 + i),
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
                timeout=15,
            )
            assert response.status_code == 200, response.text
            after.append(response.headers["x-request-id"])

        verified = hub.cli("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr

        services = build_services(replace(settings, public_url=hub.url, port=hub.port))
        try:
            auditor = services.tokens.issue_auditor("crash-suite").access_token
        finally:
            services.close()
        logged = _logged_request_ids(hub.url, auditor)
        missing = sorted(set(before + after) - logged)
        assert not missing, f"{len(missing)} answered requests are not in the log: {missing[:5]}"
    finally:
        hub.stop()
