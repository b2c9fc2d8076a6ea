"""StateAudit: consent and certificate rows reconciled with the log, in memory.

The SQL side and a real hub's flows are exercised in
tests/integration/audit/test_audit_gating.py; these cover the orderings a
database edit of the state tables alone cannot produce (an access after a
revocation, a second grant) on entries built as the hub builds them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.auditlog.gating import CertificateState, ConsentState, StateAudit
from hub.domain.auditlog.verify import Fault

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
CITIZEN = Actor("citizen", "afm:100000000")
BANK = Actor("agency", "bank-demo")


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def consent_entry(action: str, minutes: int, consent_id: str = "c1") -> AccessEntry:
    return AccessEntry(
        time=at(minutes),
        actor=CITIZEN,
        action=action,
        outcome="granted",
        subject="afm:100000000",
        purpose="mortgage-application",
        evidence_type="property-ownership",
        legal_basis="consent",
        consent_id=consent_id,
    )


def use(minutes: int, consent_id: str = "c1", outcome: str = "granted") -> AccessEntry:
    return AccessEntry(
        time=at(minutes),
        actor=BANK,
        action="evidence.request",
        outcome="granted" if outcome == "granted" else "denied",
        subject="amka:01010101010",
        purpose="mortgage-application",
        evidence_type="property-ownership",
        legal_basis="consent",
        consent_id=consent_id,
    )


def row(**changes: object) -> ConsentState:
    base = ConsentState(
        id="c1",
        agency_id="bank-demo",
        subject="afm:100000000",
        purpose="mortgage-application",
        evidence_types=("property-ownership",),
        granted_at=at(0),
        revoked_at=None,
        once=False,
        used_at=None,
        use_count=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def audit(*entries: AccessEntry) -> StateAudit:
    state = StateAudit()
    for index, entry in enumerate(entries):
        state.observe(index, entry.to_json_obj())
    return state


def described(state: StateAudit) -> list[str]:
    return [f.describe() for f in state.finish()]


def test_an_honest_history_agrees() -> None:
    state = audit(consent_entry("consent.grant", 0), use(1), consent_entry("consent.revoke", 2))
    state.consents([row(revoked_at=at(2))])
    state.certificates([])
    assert described(state) == []


def test_naive_times_from_sqlite_are_utc() -> None:
    state = audit(consent_entry("consent.grant", 0), use(1))
    state.consents([row(granted_at=at(0).replace(tzinfo=None))])
    assert described(state) == []


def test_an_access_after_the_revocation_is_reported() -> None:
    state = audit(consent_entry("consent.grant", 0), consent_entry("consent.revoke", 1), use(2))
    state.consents([row(revoked_at=at(1))])
    assert described(state) == [
        "index 2: the access relied on consent c1, revoked at index 1",
    ]
    assert all(f.fault is Fault.STATE_MISMATCH for f in state.findings)


def test_denied_attempts_are_not_uses() -> None:
    state = audit(consent_entry("consent.grant", 0), use(1, outcome="denied"))
    state.consents([row(use_count=0)])
    assert described(state) == []


def test_a_second_grant_and_a_second_revocation_are_reported() -> None:
    state = audit(
        consent_entry("consent.grant", 0),
        consent_entry("consent.grant", 1),
        consent_entry("consent.revoke", 2),
        consent_entry("consent.revoke", 3),
    )
    state.consents([row(revoked_at=at(2), use_count=0)])
    assert described(state) == [
        "index 1: consent c1 is granted again (first at 0)",
        "index 3: consent c1 is revoked again (first at 2)",
    ]


def test_a_revocation_of_a_consent_never_granted_is_reported() -> None:
    state = audit(consent_entry("consent.revoke", 0, "ghost"))
    assert described(state) == [
        "index 0: consent ghost is revoked, but the log never granted it",
    ]


def test_a_lasting_consent_marked_spent_is_reported() -> None:
    state = audit(consent_entry("consent.grant", 0), use(1))
    state.consents([row(used_at=at(1))])
    assert described(state) == [
        "consent c1: column used_at is set, the log records no use that spent it",
    ]


def certificate_entry(action: str, minutes: int, actor: Actor = CITIZEN) -> AccessEntry:
    return AccessEntry(
        time=at(minutes),
        actor=actor,
        action=action,
        outcome="granted",
        subject="afm:100000000",
        evidence_type="birth-certificate",
        response_digest="sha256:" + "ab" * 32,
    )


def certificate(**changes: object) -> CertificateState:
    base = CertificateState(
        code="ABCD-EFGH-JKLM-NPQR",
        subject="afm:100000000",
        evidence_type="birth-certificate",
        pdf_sha256="ab" * 32,
        issued_at=at(0),
        status="valid",
        revoked_at=None,
        revoked_by=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_certificates_follow_their_issue_and_revocation() -> None:
    state = audit(
        certificate_entry("certificate.issue", 0), certificate_entry("certificate.revoke", 1)
    )
    state.certificates([certificate(status="revoked", revoked_at=at(1), revoked_by="citizen")])
    assert described(state) == []


def test_a_certificate_issued_twice_or_revoked_unissued_is_reported() -> None:
    state = audit(
        certificate_entry("certificate.revoke", 0),
        certificate_entry("certificate.issue", 1),
        certificate_entry("certificate.issue", 2),
    )
    assert described(state) == [
        "index 0: the log revokes a certificate it never issued",
        "index 2: the certificate issued at 1 is issued again",
        "index 1: the certificate issued here has no row in the certificates table",
    ]


def test_uses_outside_the_consent_are_reported() -> None:
    other_purpose = replace(use(2), purpose="curiosity")
    state = audit(consent_entry("consent.grant", 0), use(1), other_purpose)
    state.consents(
        [row(agency_id="other-bank", evidence_types=("birth-certificate",), use_count=2)]
    )
    assert described(state) == [
        "index 2: the access relied on consent c1, granted for another purpose",
        "consent c1: column agency_id differs from the agency of its use at 1",
        "consent c1: column evidence_types lacks the type of its use at 1",
        "consent c1: column evidence_types differs from its grant at index 0",
    ]


def test_facts_logged_after_the_rows_were_read_may_be_missing_from_them() -> None:
    # Read on a running hub: the batch of rows was read once the log held 2
    # entries, and the log was then read on to the head.
    state = audit(consent_entry("consent.grant", 0), use(1))
    state.begin_rows(2)
    for index, entry in enumerate(
        [use(3), consent_entry("consent.revoke", 4), consent_entry("consent.grant", 5, "c3")],
        start=2,
    ):
        state.observe(index, entry.to_json_obj())
    state.consents([row()])  # one use seen, not yet revoked
    state.consents([])
    assert described(state) == []


def test_what_was_logged_before_the_rows_were_read_must_be_in_them() -> None:
    state = audit(consent_entry("consent.grant", 0), use(1), consent_entry("consent.revoke", 2))
    state.begin_rows(3)
    state.observe(3, use(4).to_json_obj())
    state.consents([row(use_count=0)])
    assert described(state) == [
        "index 3: the access relied on consent c1, revoked at index 2",
        "consent c1: the log revokes it at index 2, its revoked_at is empty",
        "consent c1: column use_count is 0, the log records 2 uses",
    ]
