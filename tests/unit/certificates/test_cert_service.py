"""The certificate service with real keys and seals, and in-memory ports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from hub.auth.models import CitizenPrincipal
from hub.certificates.models import CertificateRecord, CertificateStatus
from hub.certificates.ports import CertificateStore, HolderEvidence, HolderNames
from hub.certificates.service import CertificateService, format_value, mask_name, normalise_code
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.catalog import Catalog
from hub.domain.identity import CitizenRef
from hub.domain.sealing import keystore as keystore_files
from hub.domain.sealing.keystore import FileKeyStore
from hub.domain.sealing.pades import PdfSealer
from hub.domain.sealing.pdf import CertificateContent, qr_token
from hub.errors import BadRequest, Conflict, NotFound, RegistryUnavailable

HOLDER = CitizenPrincipal(afm="090000045", amka="01019012345", name="Ιωάννης Παπαδόπουλος")
OTHER = CitizenPrincipal(afm="123456783", amka=None, name="Άλλος Πολίτης")
BIRTH = {
    "given_name": "Ιωάννης",
    "surname": "Παπαδόπουλος",
    "birth_date": "1990-01-01",
    "adult": True,
}


def catalog() -> Catalog:
    return Catalog.from_documents(
        registries={
            "population": {
                "name": "p",
                "description": "d",
                "endpoint": "http://p.test",
                "protocol": "soap",
            }
        },
        evidence_types={
            "birth-certificate": {
                "title_el": "Πιστοποιητικό γέννησης",
                "title_en": "Birth certificate",
                "sources": [
                    {
                        "as": "birth",
                        "registry": "population",
                        "operation": "GetBirthRecord",
                        "identifier": "afm",
                    }
                ],
                "schema": {"type": "object"},
                "mapping": {"given_name": "birth.firstName"},
                "labels": {
                    "given_name": ["Όνομα", "Given name"],
                    "surname": ["Επώνυμο", "Surname"],
                },
            }
        },
        purposes={},
        agencies={},
        certificates={
            "birth-certificate": {
                "title": ["Πιστοποιητικό γέννησης", "Birth certificate"],
                "evidence": "birth-certificate",
            }
        },
    )


class FakeEvidence:
    def __init__(self) -> None:
        self.fail: Exception | None = None

    def fetch_for_holder(
        self, evidence_type: str, citizen: CitizenRef, request_id: str
    ) -> dict[str, Any]:
        if self.fail is not None:
            raise self.fail
        return dict(BIRTH)


class FakeNames:
    def holder_name(self, citizen: CitizenRef, request_id: str) -> str | None:
        return "Ιωάννης Παπαδόπουλος / Ioannis Papadopoulos"


class MemoryLog:
    def __init__(self) -> None:
        self.entries: list[AccessEntry] = []

    def record(self, entry: AccessEntry) -> int:
        self.entries.append(entry)
        return len(self.entries) - 1


class MemoryStore:
    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.rows: dict[str, tuple[CertificateRecord, bytes]] = {}

    def add(self, record: CertificateRecord, pdf: bytes, entries: Sequence[AccessEntry]) -> None:
        self.rows[record.code] = (record, pdf)
        for entry in entries:
            self.log.record(entry)

    def get(self, code: str) -> CertificateRecord | None:
        found = self.rows.get(code)
        return found[0] if found else None

    def pdf(self, code: str) -> bytes | None:
        found = self.rows.get(code)
        return found[1] if found else None

    def for_holder(self, subjects: Sequence[str]) -> list[CertificateRecord]:
        return [r for r, _ in self.rows.values() if set(r.subjects) & set(subjects)]

    def revoke(
        self, code: str, *, at: dt.datetime, reason: str, by: str, entries: Sequence[AccessEntry]
    ) -> CertificateRecord:
        record, pdf = self.rows[code]
        if record.status is CertificateStatus.REVOKED:
            raise Conflict("already")
        record = replace(
            record,
            status=CertificateStatus.REVOKED,
            revoked_at=at,
            revocation_reason=reason,
            revoked_by=by,
        )
        self.rows[code] = (record, pdf)
        for entry in entries:
            self.log.record(entry)
        return record


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> FileKeyStore:
    directory = tmp_path_factory.mktemp("cert-keys")
    keystore_files.init(directory, None, public_url="http://hub.test")
    return keystore_files.load(directory)


@pytest.fixture
def parts(keys: FileKeyStore) -> tuple[CertificateService, MemoryStore, MemoryLog, FakeEvidence]:
    log = MemoryLog()
    store = MemoryStore(log)
    evidence = FakeEvidence()
    service = CertificateService(
        catalog=catalog(),
        evidence=evidence,
        names=FakeNames(),
        store=store,
        access_log=log,
        keystore=keys,
        sealer=PdfSealer(keys),
        trust=keys.trust,
        public_url="http://hub.test",
    )
    return service, store, log, evidence


def test_fakes_satisfy_the_ports() -> None:
    log = MemoryLog()
    assert isinstance(MemoryStore(log), CertificateStore)
    assert isinstance(FakeEvidence(), HolderEvidence)
    assert isinstance(FakeNames(), HolderNames)


def test_issue_seals_records_and_logs(parts: Any) -> None:
    service, store, log, _ = parts
    issued = service.issue(HOLDER, "birth-certificate", "req-1")
    assert issued.pdf.startswith(b"%PDF-")
    record = store.get(issued.record.code)
    assert record is not None
    assert record.subjects == ("afm:090000045", "amka:01019012345")
    assert record.holder_masked == "Ι*** Π***"
    entry = log.entries[-1]
    assert entry.action == "certificate.issue"
    assert entry.actor.kind == "citizen"
    assert entry.outcome == "granted"
    assert entry.legal_basis == "holder-request"
    assert entry.subject == "afm:090000045"
    report = service.verify_document(issued.pdf, "application/pdf")
    assert report.status.value == "valid", report
    assert report.code == issued.record.code
    assert report.matches_issued is True
    assert report.registered is True


def test_the_issued_qr_token_verifies_with_joserfc(parts: Any, keys: FileKeyStore) -> None:
    service, _store, _log, _ = parts
    issued = service.issue(HOLDER, "birth-certificate")
    token = issued.token
    keyset = KeySet.import_key_set(keys.jwks())
    kid = jws.extract_compact(token.encode()).protected["kid"]
    claims = json.loads(
        jws.deserialize_compact(token, keyset.get_by_kid(kid), algorithms=["ES256"]).payload
    )
    assert claims == {
        "iss": "http://hub.test",
        "code": issued.record.code,
        "type": "birth-certificate",
        "iat": int(issued.record.issued_at.timestamp()),
        "holder": issued.record.holder_masked,
    }
    report = service.verify_document(token.encode(), "application/jose")
    assert report.status.value == "valid"
    assert report.matches_issued is True


def test_unknown_type_is_refused_and_logged(parts: Any) -> None:
    service, _store, log, _ = parts
    with pytest.raises(BadRequest):
        service.issue(HOLDER, "criminal-record")
    assert log.entries[-1].outcome == "denied"


def test_registry_failure_is_logged_as_error(parts: Any) -> None:
    service, store, log, evidence = parts
    evidence.fail = RegistryUnavailable("down")
    with pytest.raises(RegistryUnavailable):
        service.issue(HOLDER, "birth-certificate")
    assert log.entries[-1].outcome == "error"
    assert store.rows == {}


def test_holder_sees_only_their_own(parts: Any) -> None:
    service, _store, _log, _ = parts
    issued = service.issue(HOLDER, "birth-certificate")
    code = issued.record.code
    assert [r.code for r in service.list_for(HOLDER)] == [code]
    assert service.list_for(OTHER) == []
    record, pdf = service.pdf_for(HOLDER, code.lower().replace("-", ""))
    assert pdf == issued.pdf
    assert record.code == code
    with pytest.raises(NotFound):
        service.pdf_for(OTHER, code)
    with pytest.raises(NotFound):
        service.revoke_by_holder(OTHER, code, "no")


def test_verify_by_code_is_minimal_and_logged(parts: Any) -> None:
    service, _store, log, _ = parts
    issued = service.issue(HOLDER, "birth-certificate")
    check = service.verify_code(issued.record.code, "Bank")
    assert check.to_dict()["holder"] == "Ι*** Π***"
    assert check.status == "valid"
    entry = log.entries[-1]
    assert entry.action == "certificate.verify"
    assert entry.actor.kind == "verifier"
    assert entry.actor.id == "Bank"
    assert entry.subject == "afm:090000045"
    before = len(log.entries)
    assert service.verify_code("0000-0000-0000-0000").status == "unknown"
    assert service.verify_code("junk").status == "unknown"
    assert len(log.entries) == before


def test_revocation_by_holder_and_operator(parts: Any) -> None:
    service, _store, log, _ = parts
    first = service.issue(HOLDER, "birth-certificate")
    revoked = service.revoke_by_holder(HOLDER, first.record.code, "  lost   it ")
    assert revoked.status is CertificateStatus.REVOKED
    assert revoked.revocation_reason == "lost it"
    assert log.entries[-1].action == "certificate.revoke"
    assert log.entries[-1].reason == "revoked-by-citizen"
    report = service.verify_document(first.pdf)
    assert report.status.value == "revoked"
    assert report.revocation_reason == "lost it"
    with pytest.raises(Conflict):
        service.revoke_by_holder(HOLDER, first.record.code, "again")
    second = service.issue(HOLDER, "birth-certificate")
    service.revoke_by_operator(second.record.code, "issued in error", "ops-1")
    assert log.entries[-1].actor.kind == "operator"
    assert service.verify_code(second.record.code).status == "revoked"
    with pytest.raises(BadRequest):
        service.revoke_by_operator(service.issue(HOLDER, "birth-certificate").record.code, " ")
    with pytest.raises(NotFound):
        service.revoke_by_operator("0000-0000-0000-0000", "x")


def test_a_changed_pdf_keeps_its_verdict_and_says_it_differs(parts: Any) -> None:
    service, _store, _log, _ = parts
    issued = service.issue(HOLDER, "birth-certificate")
    # An extra incremental update after the seal (a harmless trailing comment).
    report = service.verify_document(issued.pdf + b"\n% appended\n")
    assert report.matches_issued is False
    assert any("byte for byte" in r for r in report.reasons)


def test_garbage_is_a_report_not_an_exception(parts: Any) -> None:
    service, _store, _log, _ = parts
    for data, media in [
        (b"\x00\x01", None),
        (b"%PDF-1.7 junk", "application/pdf"),
        (b"a.b.c", None),
    ]:
        report = service.verify_document(data, media)
        assert report.status.value == "invalid"


def test_helpers() -> None:
    assert mask_name("Ιωάννης Παπαδόπουλος / Ioannis Papadopoulos") == "Ι*** Π***"
    assert mask_name("") is None
    assert normalise_code("7kq2 m9xd 4tzb p0hc") == "7KQ2-M9XD-4TZB-P0HC"
    assert normalise_code("7KQ2-M9XD-4TZB-P0HU") is None  # U is not in the alphabet
    assert format_value(True, {}) == "Ναι / Yes"
    assert format_value(None, {}) == "—"
    assert format_value(100.0, {}) == "100"
    assert format_value([{"given_name": "Α"}], {}) == "Όνομα / Given name: Α"
    assert format_value([], {}) == "—"


def test_a_token_signed_by_another_key_names_no_certificate(
    parts: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Anyone can sign a token naming a real code; it must neither borrow that
    # certificate's record nor log a check in its holder's history.
    service, _store, log, _ = parts
    issued = service.issue(HOLDER, "birth-certificate")
    directory = tmp_path_factory.mktemp("stranger-keys")
    keystore_files.init(directory, None)
    stranger = keystore_files.load(directory)
    content = CertificateContent(
        code=issued.record.code,
        evidence_type="birth-certificate",
        title_el="Πιστοποιητικό",
        title_en="Certificate",
        holder_name="Κάποιος",
        authority_el="Κόμβος",
        authority_en="Hub",
        issued_at=dt.datetime.now(dt.UTC),
    )
    forged = qr_token(content, stranger, "http://hub.test")
    before = len(log.entries)
    report = service.verify_document(forged.encode(), "application/jose")
    assert report.status.value == "unknown"
    assert report.code is None
    assert report.registered is None
    assert len(log.entries) == before


def test_the_qr_claims_are_matched_with_the_record(parts: Any, keys: FileKeyStore) -> None:
    service, _store, _log, _ = parts
    issued = service.issue(HOLDER, "birth-certificate")
    record = issued.record
    content = CertificateContent(
        code=record.code,
        evidence_type="birth-certificate",
        title_el="Πιστοποιητικό",
        title_en="Certificate",
        holder_name="Άλλος Άνθρωπος",
        holder_masked="Ά*** Ά***",
        authority_el="Κόμβος",
        authority_en="Hub",
        issued_at=record.issued_at,
    )
    # Signed by the hub's key, but naming another holder than the record's.
    other = qr_token(content, keys, "http://hub.test")
    report = service.verify_document(other.encode(), "application/jose")
    assert report.registered is True
    assert report.matches_issued is False
