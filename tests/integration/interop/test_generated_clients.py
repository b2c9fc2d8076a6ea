"""Clients generated from the served spec reach every operation an integrator needs.

openapi-python-client generates a Python package from ``/openapi.json`` of a
running hub at test time, and that package (not ``requests``) fetches a token,
asks for evidence, opens a consent request, issues and downloads a
certificate and verifies it by upload (multipart and octet-stream).
openapi-typescript turns the same document into types that ``tsc --strict``
compiles. The npm tools are pinned by specs/lint/package-lock.json; without
them the TypeScript test skips, except under CI, where it fails.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
import requests

from hub.auth.agency_keys import load_agency_private_key
from hub.auth.service import TokenService
from hub.auth.token_keys import KeyStoreTokenKeys
from hub.config import Settings
from hub.domain.sealing import keystore as keystore_files
from tests.common.npm import npm_tool
from tests.common.server import serve_hub

pytestmark = [pytest.mark.db, pytest.mark.slow]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def hub(settings: Settings) -> Iterator[str]:
    with serve_hub(settings) as (url, _, _):
        yield url


@pytest.fixture
def generated(hub: str, tmp_path: Path) -> Iterator[ModuleType]:
    """The Python client openapi-python-client generates from the served spec."""
    generator = Path(sys.executable).with_name("openapi-python-client")
    out = tmp_path / "generated"
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--url",
            f"{hub}/openapi.json",
            "--meta",
            "none",
            "--output-path",
            str(out / "hubclient"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("hubclient")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == "hubclient" or m.startswith("hubclient.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"hubclient.{name}")


def _assertion(hub_url: str, keys_dir: Path, agency_id: str) -> str:
    kid, key = load_agency_private_key(keys_dir, agency_id)
    now = int(time.time())
    claims = {
        "iss": agency_id,
        "sub": agency_id,
        "aud": f"{hub_url}/oauth2/token",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def _agency_client(stack: ExitStack, hub_url: str, keys_dir: Path, agency_id: str) -> Any:
    """An AuthenticatedClient holding a token from the generated requestToken call."""
    client = _module("client")
    request_token = _module("api.auth.request_token")
    body = _module("models.request_token_body").RequestTokenBody(
        grant_type="client_credentials",
        client_assertion_type=JWT_BEARER,
        client_assertion=_assertion(hub_url, keys_dir, agency_id),
    )
    anonymous = stack.enter_context(client.Client(base_url=hub_url))
    answer = request_token.sync(client=anonymous, body=body)
    assert hasattr(answer, "access_token"), answer
    return stack.enter_context(
        client.AuthenticatedClient(base_url=hub_url, token=answer.access_token)
    )


def _citizen_client(stack: ExitStack, hub_url: str, keys_dir: Path, citizen: dict[str, Any]) -> Any:
    tokens = TokenService(
        issuer=hub_url,
        token_endpoint=f"{hub_url}/oauth2/token",
        agency_keys=lambda _agency: {},
        agency_purposes=lambda _agency: (),
        keys=KeyStoreTokenKeys(keystore_files.load(keys_dir)),
        replay=_NoReplay(),
    )
    token = tokens.issue_citizen(citizen["afm"], citizen["amka"], citizen["name"]).access_token
    return stack.enter_context(_module("client").AuthenticatedClient(base_url=hub_url, token=token))


class _NoReplay:
    def remember(self, issuer: str, jti: str, expires_at: Any) -> bool:
        return True


def test_a_generated_python_client_reaches_every_kind_of_operation(
    generated: ModuleType, hub: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    with ExitStack() as stack:
        _every_kind_of_operation(stack, hub, keys_dir, citizens)


def _every_kind_of_operation(
    stack: ExitStack, hub: str, keys_dir: Path, citizens: list[dict[str, Any]]
) -> None:
    citizen = next(c for c in citizens if not c.get("deceased"))
    models = _module("models")

    # Evidence, with a token the generated client fetched itself.
    opeka = _agency_client(stack, hub, keys_dir, "opeka")
    evidence = _module("api.evidence.request_evidence").sync(
        client=opeka,
        body=models.EvidenceRequest(
            citizen=models.CitizenIdentifier(afm=citizen["afm"]),
            evidence_type="family-status",
            purpose="social-benefit-eligibility",
        ),
    )
    assert isinstance(evidence, models.EvidenceResponse), evidence
    assert evidence.seal

    # A consent request by the bank.
    bank = _agency_client(stack, hub, keys_dir, "bank-demo")
    opened = _module("api.consent.create_consent_request").sync(
        client=bank,
        body=models.ConsentRequestCreate(
            citizen=models.CitizenIdentifier(afm=citizen["afm"]),
            purpose="mortgage-application",
            evidence_types=["property-ownership"],
        ),
    )
    assert isinstance(opened, models.ConsentRequest), opened

    # The citizen's certificate: issued, downloaded again, verified twice.
    me = _citizen_client(stack, hub, keys_dir, citizen)
    issued = _module("api.certificates.issue_certificate").sync_detailed(
        client=me,
        body=models.CertificateRequest(type_="birth-certificate"),
    )
    assert issued.status_code == 201
    code = issued.headers["X-Verification-Code"]
    downloaded = _module("api.certificates.download_my_certificate").sync(client=me, code=code)
    pdf = downloaded.payload.read()
    assert pdf.startswith(b"%PDF-")

    types = importlib.import_module("hubclient.types")
    verify = _module("api.verification.verify_document")
    anonymous = stack.enter_context(_module("client").Client(base_url=hub))
    uploads = [
        types.File(payload=pdf, file_name="certificate.pdf", mime_type="application/pdf"),
        models.VerifyDocumentFilesBody(
            file=types.File(payload=pdf, file_name="c.pdf", mime_type="application/pdf")
        ),
    ]
    for upload in uploads:
        report = verify.sync(client=anonymous, body=upload, verifier="generated-client")
        assert isinstance(report, models.VerificationReport), report
        assert report.status == "valid", report
        assert report.code == code

    # The trust material a verifier fetches comes back as bytes too.
    crl = _module("api.trust.get_crl").sync(client=anonymous)
    assert crl.payload.read()[:1] == b"\x30"  # a DER SEQUENCE
    chain = _module("api.trust.get_ca_chain").sync(client=anonymous)
    assert chain.payload.read().startswith(b"-----BEGIN CERTIFICATE-----")


def test_typescript_types_of_the_served_spec_compile_strictly(hub: str, tmp_path: Path) -> None:
    openapi_typescript = npm_tool("openapi-typescript")
    tsc = npm_tool("tsc")
    spec = tmp_path / "openapi.json"
    spec.write_bytes(requests.get(f"{hub}/openapi.json", timeout=10).content)
    types = tmp_path / "hub.d.ts"
    generate = subprocess.run(
        [str(openapi_typescript), str(spec), "--output", str(types)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generate.returncode == 0, generate.stdout + generate.stderr
    # A use of the types, so that a wrong shape fails to compile, not only to parse.
    usage = tmp_path / "use.ts"
    usage.write_text(
        'import type { components, paths } from "./hub";\n'
        'type Report = components["schemas"]["VerificationReport"];\n'
        'type Evidence = paths["/v1/evidence"]["post"]["responses"]["200"]'
        '["content"]["application/json"];\n'
        "export const status = (r: Report): string => r.status;\n"
        "export const fields = (e: Evidence): string[] => Object.keys(e.evidence);\n",
        encoding="utf-8",
    )
    compile_ = subprocess.run(
        [
            str(tsc),
            "--strict",
            "--noEmit",
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--moduleResolution",
            "bundler",
            str(types),
            str(usage),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert compile_.returncode == 0, compile_.stdout + compile_.stderr
