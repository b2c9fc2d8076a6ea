"""The state that gates access must agree with the access log.

A real hub's services (real sandbox registries, a real database) grant,
use and revoke consents and issue and revoke certificates. Then the
consent and certificate rows are changed behind the hub's back, the way an
insider with database access could: a consent inserted, a revocation
undone, a use count reset, a revocation entry removed with the whole tree
rebuilt. ``verify_store`` (what ``hub audit verify`` runs) must report each
one and name the row or the index.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.audit.service import DEFAULT_ORIGIN
from hub.config import Settings
from hub.consent.service import ConsentService
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.auditlog.verify import Fault, LogVerificationReport
from hub.domain.identity import CitizenRef
from hub.evidence.models import EvidenceRequest
from hub.persistence import migrate
from hub.persistence.audit_queries import verify_store
from hub.persistence.auditlog import SqlAccessLog
from hub.persistence.db import Database
from tests.common.consent import BANK, grant_consent, property_owner
from tests.common.database import Rows, fresh_database, restore_rows, snapshot_rows
from tests.conftest import SANDBOX_SEED, SANDBOX_SIZE


@dataclass
class World:
    services: Any
    lasting: str  # used once, then revoked by the citizen
    once: str  # a one-time consent, spent
    unused: str  # granted, never used
    revoked_code: str  # a certificate revoked by its holder
    valid_code: str

    @property
    def db(self) -> Database:
        db: Database = self.services.db
        return db

    def index_of(self, action: str, **fields: object) -> int:
        with self.db.session() as session:
            rows = session.execute(
                sa.text("SELECT idx, entry FROM audit_entries ORDER BY idx")
            ).all()
        for idx, text in rows:
            found = json.loads(text)
            if found["action"] == action and all(found.get(k) == v for k, v in fields.items()):
                return int(idx)
        raise AssertionError(f"no {action} entry with {fields}")


@dataclass(frozen=True)
class Built:
    """The world's rows and names, built once for the module (sealing is slow)."""

    rows: Rows
    lasting: str
    once: str
    unused: str
    revoked_code: str
    valid_code: str


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
    keys_dir: Path,
    sandbox: Any,
    citizens: list[dict[str, Any]],
) -> Iterator[Built]:
    from hub.app import build_services  # noqa: PLC0415

    work = tmp_path_factory.mktemp("gating-world")
    with fresh_database(work) as url:
        settings = Settings.for_tests(
            work,
            database_url=url,
            keys_dir=keys_dir,
            registry_urls=dict(sandbox.urls),
            sandbox_population=SANDBOX_SIZE,
            sandbox_seed=SANDBOX_SEED,
        )
        services = build_services(settings)
        try:
            migrate.upgrade(services.db)
            consents: ConsentService = services.consents
            alice = property_owner(citizens)
            ask = EvidenceRequest(
                citizen=CitizenRef("amka", alice.amka or ""),
                evidence_type="property-ownership",
                purpose="mortgage-application",
            )
            lasting = grant_consent(consents, alice)
            assert services.evidence.request(BANK, ask).consent_id == lasting
            consents.revoke(alice, lasting)
            once = grant_consent(consents, alice, once=True)
            assert services.evidence.request(BANK, ask).consent_id == once
            unused = grant_consent(consents, alice)
            revoked = services.certificates.issue(alice, "property-ownership").record.code
            valid = services.certificates.issue(alice, "property-ownership").record.code
            services.certificates.revoke_by_holder(alice, revoked, "lost it")
            services.audit.make_checkpoint()
            rows = snapshot_rows(url)
        finally:
            services.close()
        yield Built(rows, lasting, once, unused, revoked, valid)


@pytest.fixture
def world(settings: Settings, built: Built) -> Iterator[World]:
    """The built world in a database and a hub of the test's own."""
    from hub.app import build_services  # noqa: PLC0415

    services = build_services(settings)
    migrate.upgrade(services.db)
    restore_rows(settings.database_url, built.rows)
    yield World(
        services, built.lasting, built.once, built.unused, built.revoked_code, built.valid_code
    )
    services.close()


def check(world: World) -> LogVerificationReport:
    return verify_store(
        world.db, verifier=world.services.audit.verifier, origin=DEFAULT_ORIGIN, batch=5
    )


def run(world: World, statement: str, **params: object) -> None:
    with world.db.session() as session:
        session.execute(sa.text(statement), params)


def described(report: LogVerificationReport) -> list[str]:
    assert not report.ok
    return [finding.describe() for finding in report.findings]


def test_an_honest_hub_verifies(world: World) -> None:
    report = check(world)
    assert report.ok, [f.describe() for f in report.findings]


def test_a_consent_inserted_behind_the_hubs_back_is_reported(world: World) -> None:
    columns = (
        "request_id, agency_id, purpose, evidence_types, subject, citizen_afm, citizen_amka, "
        "granted_at, valid_until, once, revoked_at, used_at, use_count, last_used_at"
    )
    run(
        world,
        f"INSERT INTO consents (id, {columns}) "  # noqa: S608  # constant column list
        f"SELECT 'forged0000000000', {columns} FROM consents WHERE id = :id",
        id=world.unused,
    )
    assert described(check(world)) == [
        "consent forged0000000000: the consents table holds it, the log never granted it"
    ]
    assert check(world).fault is Fault.STATE_MISMATCH


def test_an_undone_consent_revocation_is_reported(world: World) -> None:
    at = world.index_of("consent.revoke", consent_id=world.lasting)
    run(world, "UPDATE consents SET revoked_at = NULL WHERE id = :id", id=world.lasting)
    assert described(check(world)) == [
        f"consent {world.lasting}: the log revokes it at index {at}, its revoked_at is empty"
    ]


def test_a_revocation_time_moved_is_reported(world: World) -> None:
    at = world.index_of("consent.revoke", consent_id=world.lasting)
    run(
        world,
        "UPDATE consents SET revoked_at = valid_until WHERE id = :id",
        id=world.lasting,
    )
    assert described(check(world)) == [
        f"consent {world.lasting}: column revoked_at differs from its revocation at index {at}"
    ]


def test_a_revocation_without_its_entry_is_reported(world: World) -> None:
    run(world, "UPDATE consents SET revoked_at = granted_at WHERE id = :id", id=world.unused)
    assert described(check(world)) == [
        f"consent {world.unused}: column revoked_at is set, the log has no revocation"
    ]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE consents SET use_count = 0", "column use_count is 0, the log records 1 uses"),
        ("UPDATE consents SET used_at = NULL", "column used_at is empty, the one-time consent"),
        ("UPDATE consents SET purpose = 'x'", "column purpose differs from its grant"),
        ("UPDATE consents SET agency_id = 'x'", "column agency_id differs from the agency"),
        ("UPDATE consents SET subject = 'afm:0'", "column subject differs from its grant"),
        ("UPDATE consents SET granted_at = valid_until", "column granted_at differs"),
        ("UPDATE consents SET evidence_types = '[]'", "column evidence_types differs"),
    ],
)
def test_a_changed_consent_row_is_reported(world: World, statement: str, message: str) -> None:
    run(world, statement + " WHERE id = :id", id=world.once)
    findings = described(check(world))
    assert all(f.startswith(f"consent {world.once}: ") for f in findings), findings
    assert any(f.startswith(f"consent {world.once}: {message}") for f in findings), findings


def test_a_deleted_consent_row_is_reported(world: World) -> None:
    at = world.index_of("consent.grant", consent_id=world.unused)
    run(world, "DELETE FROM consents WHERE id = :id", id=world.unused)
    assert described(check(world)) == [
        f"index {at}: consent {world.unused} granted here has no row in the consents table"
    ]


def test_an_undone_certificate_revocation_is_reported(world: World) -> None:
    at = world.index_of("certificate.revoke")
    run(
        world,
        "UPDATE certificates SET status = 'valid', revoked_at = NULL, revoked_by = NULL, "
        "revocation_reason = NULL WHERE code = :code",
        code=world.revoked_code,
    )
    assert described(check(world)) == [
        f"certificate {world.revoked_code}: the log revokes it at index {at}, its status is valid"
    ]


def test_a_certificate_revoked_without_an_entry_is_reported(world: World) -> None:
    run(
        world,
        "UPDATE certificates SET status = 'revoked', revoked_at = issued_at, "
        "revoked_by = 'operator' WHERE code = :code",
        code=world.valid_code,
    )
    assert described(check(world)) == [
        f"certificate {world.valid_code}: the row is revoked, the log has no revocation"
    ]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE certificates SET revoked_by = 'operator'", "column revoked_by differs"),
        ("UPDATE certificates SET revoked_at = issued_at", "column revoked_at differs"),
        ("UPDATE certificates SET subject = 'afm:0'", "column subject differs from its issue"),
        ("UPDATE certificates SET issued_at = revoked_at", "column issued_at differs"),
        ("UPDATE certificates SET evidence_type = 'x'", "column evidence_type differs"),
        ("UPDATE certificates SET status = 'x'", "column status holds an unknown value"),
        (
            "UPDATE certificates SET pdf_sha256 = 'ab'",
            "the certificates table holds it, the log never issued it",
        ),
    ],
)
def test_a_changed_certificate_row_is_reported(world: World, statement: str, message: str) -> None:
    run(world, statement + " WHERE code = :code", code=world.revoked_code)
    findings = described(check(world))
    assert findings[0].startswith(f"certificate {world.revoked_code}: {message}")


def rebuild_log_without(world: World, drop: int) -> None:
    """Remove entry ``drop`` and rebuild the tree, as a forger without the log key would.

    The signed checkpoints cannot be re-signed, so they go too: only the
    state that gates access is left to give the forgery away.
    """
    with world.db.session() as session:
        texts = session.scalars(sa.text("SELECT entry FROM audit_entries ORDER BY idx")).all()
        for table in ("audit_entries", "audit_nodes", "audit_checkpoints"):
            session.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608  # constant names
        session.execute(sa.text("UPDATE audit_head SET size = 0"))
    kept = [AccessEntry.from_json_obj(json.loads(t)) for i, t in enumerate(texts) if i != drop]
    with world.db.session() as session:
        SqlAccessLog(world.db).append_in(session, kept)


def test_a_deleted_consent_revocation_entry_is_reported(world: World) -> None:
    rebuild_log_without(world, world.index_of("consent.revoke", consent_id=world.lasting))
    assert described(check(world)) == [
        f"consent {world.lasting}: column revoked_at is set, the log has no revocation"
    ]


def test_a_deleted_certificate_revocation_entry_is_reported(world: World) -> None:
    rebuild_log_without(world, world.index_of("certificate.revoke"))
    assert described(check(world)) == [
        f"certificate {world.revoked_code}: the row is revoked, the log has no revocation"
    ]


def test_an_access_without_its_grant_is_reported(world: World) -> None:
    grant = world.index_of("consent.grant", consent_id=world.once)
    use = world.index_of("evidence.request", consent_id=world.once, outcome="granted")
    rebuild_log_without(world, grant)
    findings = described(check(world))
    assert findings[0] == (
        f"index {use - 1}: the access relied on consent {world.once}, "
        "which the log does not grant before it"
    )
    assert f"consent {world.once}: the consents table holds it, the log never granted it" in (
        findings
    )


def test_a_deleted_revocation_entry_without_rebuilding_is_located(world: World) -> None:
    at = world.index_of("consent.revoke", consent_id=world.lasting)
    run(world, "DELETE FROM audit_entries WHERE idx = :idx", idx=at)
    report = check(world)
    assert (report.ok, report.fault, report.first_bad_index) == (False, Fault.MISSING, at)


def test_verify_while_the_hub_keeps_changing_state(
    world: World, citizens: list[dict[str, Any]]
) -> None:
    # Consents granted, used and revoked while verify reads: their rows and
    # entries appear between verify's reads, and must never look forged.
    alice = property_owner(citizens)
    consents: ConsentService = world.services.consents
    ask = EvidenceRequest(
        citizen=CitizenRef("amka", alice.amka or ""),
        evidence_type="property-ownership",
        purpose="mortgage-application",
    )
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            while not stop.is_set():
                consent_id = grant_consent(consents, alice)
                world.services.evidence.request(BANK, ask)
                consents.revoke(alice, consent_id)
        except BaseException as exc:  # the test reports it below
            errors.append(exc)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        reports = [check(world) for _ in range(3)]
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not errors
    for report in reports:
        assert report.ok, [f.describe() for f in report.findings]
    assert reports[-1].entries > reports[0].entries or reports[0].entries > 0
