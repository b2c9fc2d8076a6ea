"""No personal identifier reaches the application log, whoever logs it.

A real ``hub serve`` process logs at DEBUG (the most its own loggers say)
while it is driven through every way a registry can fail — server faults,
truncated bodies, hangs past the deadline, hostile XML and JSON, and an
answer with malformed headers sent over a real socket, on which urllib3 logs
``Failed to parse headers (url=…)`` with the citizen's AFM in the URL — and
while citizens have certificates issued (fontTools would log glyph lists).
Then its whole log output (stderr, and stdout with it) is scanned for the
AFM, the AMKA and the name of every sandbox citizen the run used.

The scan is shown to see what it must: the urllib3 warning is in the log,
with the land registry URL's AFM replaced by ``[redacted]``.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.sandbox.faults import Faults
from adapters.sandbox.runner import start_sandbox
from hub.app import build_services
from hub.catalog.files import load_catalog
from hub.config import Settings
from hub.logs import JsonFormatter, RedactingFilter, redact
from tests.common.clients import agency_token
from tests.conftest import SANDBOX_SEED
from tests.security._process import ConfiguredHub, hub_process

pytestmark = pytest.mark.slow

SIZE = 300
EVIDENCE = {
    "population": "family-status",
    "land": "property-ownership",
    "social-security": "insurance-status",
}
#: Each registry failure mode, as the sandbox injects it.
FAULTS: dict[str, Faults | None] = {
    "normal": None,
    "server-error": Faults(error_rate=1.0),
    "truncated": Faults(malformed_rate=1.0),
    "hang": Faults(hang_rate=1.0, hang_seconds=3.0),
    "xxe": Faults(hostile="xxe"),
    "deep-nesting": Faults(hostile="deep_nesting"),
    "wrong-namespace": Faults(hostile="wrong_namespace"),
}
#: A line that is no header: http.client records a defect, urllib3 logs the URL.
NOT_A_HEADER = b"this line is not a header\r\n"

# The certificate types of the shipped catalogue (specs/catalog/certificates.yaml).
CERTIFICATE_TYPES = tuple(
    load_catalog(
        Path(__file__).resolve().parents[2] / "specs" / "catalog"
    ).catalog.certificate_types
)


class MalformingProxy:
    """Relays HTTP to a registry; when ``malform`` is set, breaks the answer's headers.

    Every answer is relayed whole with ``Connection: close``; a malformed one
    gets a line without a colon at the end of its header block, so the body
    still arrives and the client reads it — after logging its complaint.
    """

    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.path = parts.path.rstrip("/")
        self.malform = False
        self.server = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}{self.path}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    @staticmethod
    def _read_request(client: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        lines = [
            line
            for line in head.split(b"\r\n")
            if not line.lower().startswith((b"connection:", b"keep-alive:"))
        ]
        return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body

    def _relay(self, client: socket.socket) -> None:
        with client:
            client.settimeout(30)
            request = self._read_request(client)
            if not request:
                return
            try:
                with socket.create_connection(self.upstream, timeout=30) as upstream:
                    upstream.sendall(request)
                    answer = b""
                    while chunk := upstream.recv(65536):
                        answer += chunk
                head, _, body = answer.partition(b"\r\n\r\n")
                lines = [
                    line
                    for line in head.split(b"\r\n")
                    if not line.lower().startswith(b"connection:")
                ]
                head = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n"
                if self.malform:
                    head += NOT_A_HEADER
                client.sendall(head + b"\r\n" + body)
            except OSError:
                return

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def registries() -> Iterator[Any]:
    handle = start_sandbox(base_port=0, size=SIZE, seed=SANDBOX_SEED)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def proxies(registries: Any) -> Iterator[dict[str, MalformingProxy]]:
    relays = {name: MalformingProxy(url) for name, url in registries.urls.items()}
    yield relays
    for relay in relays.values():
        relay.close()


@pytest.fixture
def hub(
    tmp_path: Path, keys_dir: Path, proxies: dict[str, MalformingProxy]
) -> Iterator[ConfiguredHub]:
    settings = Settings.for_tests(
        tmp_path,
        keys_dir=keys_dir,
        registry_urls={name: proxy.url for name, proxy in proxies.items()},
        registry_timeout=1.5,
        sandbox_population=SIZE,
        sandbox_seed=SANDBOX_SEED,
    )
    with hub_process(tmp_path, settings, {"HUB_LOG_LEVEL": "DEBUG"}) as process:
        yield process


def _personal_strings(person: Any) -> set[str]:
    values = {person.afm, person.amka, person.full_name, person.full_name_latin}
    for name in (person.first_name, person.surname, person.first_name_latin, person.surname_latin):
        if len(name) >= 4:
            values.update({name, urllib.parse.quote(name)})
    return values


def test_the_redaction_rules() -> None:
    # The filter's own rules, as a unit: identifiers, queries, encoded segments.
    line = (
        "Failed to parse headers (url=http://10.0.0.1:81/v1/owners/188217980/properties"
        "?amka=01019012345&surname=%CE%A0): 12 defects; AMKA 01019012345, port 8101"
    )
    redacted = redact(line)
    assert "188217980" not in redacted
    assert "01019012345" not in redacted
    assert "%CE" not in redacted
    assert "port 8101" in redacted
    assert "12 defects" in redacted
    assert redact("http://h/v1/people/%CE%9C%CE%B1/x") == "http://h/v1/people/[redacted]/x"


def test_no_identifier_reaches_the_log(
    hub: ConfiguredHub,
    registries: Any,
    proxies: dict[str, MalformingProxy],
    keys_dir: Path,
) -> None:
    used: list[Any] = []
    token = agency_token(hub.url, keys_dir, "opeka")
    index = 20
    with requests.Session() as session:
        for registry, evidence in EVIDENCE.items():
            cases: list[tuple[str, Faults | None, bool]] = [("malformed-headers", None, True)]
            for name, faults in FAULTS.items():
                # A healthy answer after each failure closes the registry's
                # circuit again, so that the next failure reaches the registry.
                cases += [(name, faults, False), ("recovery", None, False)]
            for name, faults, malform in cases:
                index += 1
                person = registries.population.citizen(index)
                used.append(person)
                registries.set_faults(registry, faults)
                proxies[registry].malform = malform
                try:
                    response = session.post(
                        f"{hub.url}/v1/evidence",
                        json={
                            "citizen": {"afm": person.afm},
                            "evidence_type": evidence,
                            "purpose": "social-benefit-eligibility",
                        },
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=30,
                    )
                finally:
                    registries.set_faults(registry, None)
                    proxies[registry].malform = False
                assert response.status_code < 600, (registry, name)

        services = build_services(replace(hub.settings, port=hub.port, public_url=hub.url))
        try:
            for offset in (1, 2):
                person = registries.population.citizen(index + offset)
                used.append(person)
                citizen = services.tokens.issue_citizen(person.afm, person.amka, person.full_name)
                # One certificate with malformed registry headers, the rest plain.
                proxies["population"].malform = offset == 1
                for kind in CERTIFICATE_TYPES:
                    issued = session.post(
                        f"{hub.url}/v1/me/certificates",
                        json={"type": kind},
                        headers={"Authorization": f"Bearer {citizen.access_token}"},
                        timeout=60,
                    )
                    assert issued.status_code in (201, 404, 502, 503, 504), issued.text
                proxies["population"].malform = False
        finally:
            services.close()
        assert session.get(f"{hub.url}/healthz", timeout=5).status_code == 200

    hub.stop()
    log = hub.log_path.read_text(encoding="utf-8", errors="replace")
    assert '"logger": "hub.access"' in log, log[-2000:]
    malformed = [line for line in log.splitlines() if "Failed to parse headers" in line]
    assert malformed, "urllib3 never complained: the malformed-header case did not run"
    # The land registry's URLs carry the AFM (/v1/owners/{afm}/properties).
    owners = [line for line in malformed if "/v1/owners/" in line]
    assert owners, malformed[:2]
    assert all("/v1/owners/[redacted]/" in line for line in owners), owners[:2]
    assert "fontTools" not in log
    leaks = sorted(
        {value for person in used for value in _personal_strings(person) if value in log}
    )
    assert not leaks, leaks


def test_the_filter_rewrites_every_part_of_a_record() -> None:
    try:
        raise ValueError("no owner 188217980")
    except ValueError:
        record = logging.LogRecord(
            "urllib3.connection",
            logging.WARNING,
            __file__,
            1,
            "Failed to parse headers (url=%s)",
            ("http://r/v1/owners/188217980/properties?surname=%CE%A0",),
            sys.exc_info(),
        )
    record.citizen = {"amka": "01019012345", "count": 3}
    record.afm_number = 188217980
    assert RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    formatted = logging.Formatter().format(record)
    for text in (line, formatted):
        assert "188217980" not in text
        assert "01019012345" not in text
        assert "%CE" not in text
    assert '"count": 3' in line
    assert "ValueError" in formatted
