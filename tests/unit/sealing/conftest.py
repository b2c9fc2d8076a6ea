"""Key stores and documents shared by the sealing tests.

Key generation is fast (P-256), but several tests need the same material, so
the read-only stores are built once per session; tests that rotate or revoke
get their own directory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.domain.sealing import keystore
from hub.domain.sealing.keystore import FileKeyStore
from hub.domain.sealing.pdf import (
    CertificateContent,
    EvidenceField,
    RenderedCertificate,
    new_verification_code,
    render_certificate,
)

PUBLIC_URL = "https://oncehub.example.gr"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pki") / "keys"
    keystore.init(path, PASSPHRASE, public_url=PUBLIC_URL)
    return path


@pytest.fixture(scope="session")
def store(keys_dir: Path) -> FileKeyStore:
    return keystore.load(keys_dir, PASSPHRASE)


@pytest.fixture(scope="session")
def other_store(tmp_path_factory: pytest.TempPathFactory) -> FileKeyStore:
    """A second, independent PKI: its seals must not be trusted by the first."""
    path = tmp_path_factory.mktemp("other") / "keys"
    keystore.init(path, None)
    return keystore.load(path)


@pytest.fixture(scope="session")
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Path:
    path = tmp_path / "keys"
    keystore.init(path, None, public_url=PUBLIC_URL)
    return path


def make_content(code: str | None = None) -> CertificateContent:
    return CertificateContent(
        code=code or new_verification_code(),
        evidence_type="birth",
        title_el="Πιστοποιητικό Γέννησης",
        title_en="Birth Certificate",
        holder_name="Μαρία Παπαδοπούλου",
        holder_id="123456789",
        authority_el="Ληξιαρχείο Αθηνών",
        authority_en="Athens Civil Registry",
        # Now: the QR token's iat is the issue time, and the seal key must
        # already be valid then.
        issued_at=datetime.now(UTC).replace(microsecond=0),
        fields=(
            EvidenceField("birth_date", "Ημερομηνία γέννησης", "Date of birth", "12/03/1985"),
            EvidenceField("birth_place", "Τόπος γέννησης", "Place of birth", "Αθήνα / Athens"),
        ),
    )


@pytest.fixture
def content() -> Callable[[], CertificateContent]:
    return make_content


@pytest.fixture
def render() -> Callable[[FileKeyStore], RenderedCertificate]:
    def _render(ks: FileKeyStore) -> RenderedCertificate:
        return render_certificate(make_content(), ks, PUBLIC_URL)

    return _render


@pytest.fixture(scope="session")
def rendered(store: FileKeyStore) -> RenderedCertificate:
    return render_certificate(make_content(), store, PUBLIC_URL)
