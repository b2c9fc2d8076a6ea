"""Races on the real database: revocation against concurrent evidence requests.

Threads play agencies' evidence requests (the gate's check, then the
release recorded with the consent re-checked) while the citizen revokes.
The access log orders everything: no release may follow the revocation, and
every request that starts after the revocation returned is refused. A
one-time consent raced by many requests is spent by exactly one.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.auth.models import AgencyPrincipal, CitizenPrincipal
from hub.catalog.files import load_catalog
from hub.consent.service import ConsentService, StoredConsentGate
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.identity import CitizenRef
from hub.errors import ConsentRequired
from hub.persistence import migrate
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.consents import SqlConsentStore
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow
from tests.common.consent import SPECS

CITIZEN = CitizenPrincipal(afm="090000045", amka="01019012345", name=None)
BANK = AgencyPrincipal("bank-demo", ("mortgage-application",), "tok")
THREADS = 4


class Race:
    def __init__(self, database_url: str) -> None:
        self.db = Database(database_url)
        migrate.upgrade(self.db)
        log = SqlAccessLog(self.db)
        self.store = SqlConsentStore(self.db, log)
        self.catalog = load_catalog(SPECS / "catalog").catalog
        self.service = ConsentService(
            catalog=self.catalog, store=self.store, access_log=log, log_reader=self.store
        )
        self.gate = StoredConsentGate(self.store)

    def grant(self, *, once: bool = False) -> str:
        request = self.service.open_request(
            BANK,
            citizen=CitizenRef("afm", CITIZEN.afm),
            purpose="mortgage-application",
            evidence_types=["property-ownership"],
        )
        _, consent = self.service.decide(CITIZEN, request.id, approve=True, once=once)
        assert consent is not None
        return consent.id

    def request(self) -> int | None:
        """One evidence request: the check, then the release. Its log index, or None."""
        try:
            consent_id = self.gate.authorise(
                agency_id="bank-demo",
                purpose=self.catalog.purposes["mortgage-application"],
                evidence_type="property-ownership",
                citizen=CitizenRef("afm", CITIZEN.afm),
                consent_id=None,
            )
            time.sleep(0.002)  # the registries answer meanwhile
            entry = AccessEntry(
                time=dt.datetime.now(dt.UTC),
                actor=Actor("agency", "bank-demo"),
                action="evidence.request",
                outcome="granted",
                subject=f"afm:{CITIZEN.afm}",
                purpose="mortgage-application",
                evidence_type="property-ownership",
                legal_basis="consent",
                consent_id=consent_id,
            )
            return self.gate.record_use(consent_id, entry)
        except ConsentRequired:
            return None

    def log(self) -> list[tuple[int, dict[str, object]]]:
        with self.db.session() as session:
            rows = session.execute(
                select(AuditEntryRow.idx, AuditEntryRow.entry).order_by(AuditEntryRow.idx)
            )
            return [(int(idx), json.loads(entry)) for idx, entry in rows]


@pytest.fixture
def race(database_url: str) -> Iterator[Race]:
    r = Race(database_url)
    yield r
    r.db.dispose()


def test_no_release_follows_a_committed_revocation(race: Race, tmp_path: Path) -> None:
    consent_id = race.grant()
    stop = threading.Event()
    revoked = threading.Event()
    granted: list[int] = []
    after_revoke: list[int | None] = []
    lock = threading.Lock()

    def agency() -> None:
        while not stop.is_set():
            started_after = revoked.is_set()
            index = race.request()
            with lock:
                if index is not None:
                    granted.append(index)
                if started_after:
                    after_revoke.append(index)

    threads = [threading.Thread(target=agency) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(granted) < 5 and time.monotonic() < deadline:
        time.sleep(0.005)
    race.service.revoke(CITIZEN, consent_id)
    revoked.set()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    assert len(granted) >= 5, "the agencies never got going"
    assert after_revoke, "no request started after the revocation"
    assert all(index is None for index in after_revoke)
    log = race.log()
    (revoke_index,) = [i for i, e in log if e["action"] == "consent.revoke"]
    releases = [i for i, e in log if e["action"] == "evidence.request"]
    assert sorted(granted) == releases
    assert all(index < revoke_index for index in releases)


def test_a_one_time_consent_is_spent_by_exactly_one_of_many(race: Race) -> None:
    race.grant(once=True)
    barrier = threading.Barrier(THREADS * 2)
    results: list[int | None] = []
    lock = threading.Lock()

    def agency() -> None:
        barrier.wait()
        index = race.request()
        with lock:
            results.append(index)

    threads = [threading.Thread(target=agency) for _ in range(THREADS * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == THREADS * 2
    assert len([r for r in results if r is not None]) == 1
    assert len([e for _, e in race.log() if e["action"] == "evidence.request"]) == 1
