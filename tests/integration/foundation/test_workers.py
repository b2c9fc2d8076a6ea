"""``hub serve --workers 2``: two processes, one socket, one database, one log.

Both workers answer evidence requests at once on the same database (a file
of the test's own, or PostgreSQL with ``HUB_TEST_DATABASE_URL``); every
answered request is in the access log and ``hub audit verify`` passes, so two
processes appending never fork, repeat or skip an index. The supervisor's
SIGTERM stops every worker; ``hub catalog reload`` (SIGHUP to the pid the
supervisor recorded) reloads the catalogue in every worker; a supervisor
killed with SIGKILL leaves no worker behind holding the port; a database that
lives in one process's memory is refused for several workers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.config import Settings
from hub.persistence import migrate
from hub.persistence.db import Database
from tests.common.clients import agency_token
from tests.common.hubs import ROOT, HubProcess

THREADS = 8
PER_THREAD = 6


class WorkersHub(HubProcess):
    """Two workers, with a catalogue and a var directory of the test's own."""

    @property
    def env(self) -> dict[str, str]:
        var = self.log_path.parent
        return {
            **super().env,
            "HUB_WORKERS": "2",
            "HUB_SPECS_DIR": str(var / "specs"),
            "HUB_VAR_DIR": str(var / "var"),
        }


def _workers(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(child) for child in children]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.fixture
def hub(settings: Settings, database_url: str, tmp_path: Path) -> Any:
    db = Database(database_url)
    migrate.upgrade(db)
    db.dispose()
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    hub = WorkersHub(settings, tmp_path / "hub.log")
    hub.start()
    yield hub
    hub.stop()
    for worker in _wait_gone(_workers(hub.process.pid) if hub.process else [], 10):
        os.kill(worker, signal.SIGKILL)


def test_two_workers_share_one_log(hub: WorkersHub, sandbox: Any, keys_dir: Path) -> None:
    assert hub.process is not None
    assert len(_workers(hub.process.pid)) == 2
    token = agency_token(hub.url, keys_dir, "opeka")
    answered: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with requests.Session() as session:
            for i in range(PER_THREAD):
                citizen = sandbox.population.citizen((n * PER_THREAD + i) % 500)
                response = session.post(
                    f"{hub.url}/v1/evidence",
                    json={
                        "citizen": {"afm": citizen.afm},
                        "evidence_type": "family-status",
                        "purpose": "social-benefit-eligibility",
                    },
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                with lock:
                    answered.append(response.status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert answered == [200] * (THREADS * PER_THREAD)
    verified = hub.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_sigterm_stops_every_worker(hub: WorkersHub) -> None:
    assert hub.process is not None
    workers = _workers(hub.process.pid)
    hub.process.send_signal(signal.SIGTERM)
    assert hub.process.wait(20) == 0
    assert _wait_gone(workers, 5) == []


def test_catalog_reload_reaches_every_worker(hub: WorkersHub, tmp_path: Path) -> None:
    assert hub.process is not None
    assert (tmp_path / "var" / "hub.pid").read_text().strip() == str(hub.process.pid)
    workers = _workers(hub.process.pid)
    extension = ROOT / "tests" / "fixtures" / "catalog_extension" / "evidence"
    for path in extension.iterdir():
        shutil.copy(path, tmp_path / "specs" / "catalog" / "evidence" / path.name)
    reload = hub.cli("catalog", "reload")
    assert reload.returncode == 0, reload.stdout + reload.stderr
    url = f"{hub.url}/v1/catalog/evidence-types"
    # A new connection each time, so the kernel hands them to both workers;
    # each answer names the worker's pid-independent catalogue version.
    deadline = time.monotonic() + 20
    while True:
        answers = [requests.get(url, timeout=5).json() for _ in range(24)]
        kinds = [{k["id"] for k in a["evidence_types"]} for a in answers]
        if all("identity-summary" in k for k in kinds) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all("identity-summary" in k for k in kinds)
    assert len({a["version"] for a in answers}) == 1
    # The reload neither ended nor replaced a worker.
    assert _workers(hub.process.pid) == workers


def test_a_killed_supervisor_leaves_no_worker(hub: WorkersHub) -> None:
    assert hub.process is not None
    workers = _workers(hub.process.pid)
    assert len(workers) == 2
    hub.kill()
    assert _wait_gone(workers, 10) == []


def test_an_in_memory_database_is_refused_for_several_workers(
    settings: Settings, tmp_path: Path
) -> None:
    env = {**HubProcess(settings, tmp_path / "log").env, "HUB_DATABASE_URL": "sqlite://"}
    done = subprocess.run(  # our own interpreter and module
        [sys.executable, "-m", "hub", "serve", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "in-memory SQLite" in done.stderr
