"""Starting and stopping the sandbox; what every registry does for every request."""

from __future__ import annotations

import logging
import random
import socket
import threading

import pytest
import requests

from adapters.sandbox.faults import Faults
from adapters.sandbox.runner import SandboxHandle, serve_sandbox, start_sandbox
from hub.errors import ConfigError


def _calls(sandbox: SandboxHandle) -> list[tuple[str, str, bytes | None]]:
    citizen = sandbox.population.citizen(1)
    soap = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        '<p:GetPersonRequest xmlns:p="urn:gr:sandbox:population:v1">'
        f"<p:amka>{citizen.amka}</p:amka></p:GetPersonRequest></soap:Body></soap:Envelope>"
    ).encode()
    return [
        ("POST", sandbox.urls["population"] + "/", soap),
        ("POST", sandbox.urls["population"] + "/", b"<broken"),
        ("GET", f"{sandbox.urls['land']}/v1/owners/{citizen.afm}/properties", None),
        ("GET", f"{sandbox.urls['land']}/v1/owners/123456789/properties", None),
        ("POST", sandbox.urls["social-security"] + "/", soap),
        ("GET", sandbox.urls["social-security"] + "/?wsdl", None),
    ]


def test_every_response_echoes_the_request_id(
    sandbox: SandboxHandle, http: requests.Session
) -> None:
    for n, (method, url, body) in enumerate(_calls(sandbox)):
        request_id = f"req-{n}-0f9e"
        response = http.request(
            method, url, data=body, headers={"X-Request-ID": request_id}, timeout=5
        )
        assert response.headers["X-Request-ID"] == request_id


def test_a_missing_or_unsafe_request_id_is_replaced(
    sandbox: SandboxHandle, http: requests.Session
) -> None:
    url = sandbox.urls["land"] + "/health"
    generated = http.get(url, timeout=5).headers["X-Request-ID"]
    assert len(generated) == 32
    unsafe = http.get(url, headers={"X-Request-ID": "a b\tc"}, timeout=5)
    assert unsafe.headers["X-Request-ID"] not in ("a b\tc", "")
    too_long = http.get(url, headers={"X-Request-ID": "x" * 500}, timeout=5)
    assert len(too_long.headers["X-Request-ID"]) == 32


def test_logs_never_name_a_person(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    faults = {"land": Faults(error_rate=0.5, seed=3)}
    with start_sandbox(base_port=0, size=100, faults=faults) as handle, requests.Session() as http:
        for _ in range(3):
            for method, url, body in _calls(handle):
                http.request(method, url, data=body, timeout=5)
        people = [handle.population.citizen(i) for i in range(100)]
    # Only the servers' own records: the client library (urllib3) logs URLs.
    server_records = [
        r for r in caplog.records if r.name.startswith(("adapters.sandbox", "uvicorn"))
    ]
    assert server_records
    text = "\n".join(r.getMessage() for r in server_records)
    for person in people:
        for secret in (person.afm, person.amka, person.surname, person.surname_latin):
            assert secret not in text


def _free_base_port() -> int:
    return random.randrange(20_000, 60_000)  # noqa: S311  # Picking a port, not a secret.


def test_fixed_ports_follow_the_base_port() -> None:
    for _ in range(10):
        base = _free_base_port()
        try:
            handle = start_sandbox(base_port=base, size=20)
        except ConfigError:
            continue  # Someone else holds one of the three ports; try others.
        with handle:
            assert handle.urls == {
                "population": f"http://127.0.0.1:{base}",
                "land": f"http://127.0.0.1:{base + 1}",
                "social-security": f"http://127.0.0.1:{base + 2}",
            }
            assert requests.get(handle.urls["land"] + "/health", timeout=5).ok
        return
    pytest.fail("no three free consecutive ports found")


def test_a_taken_port_is_a_configuration_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="cannot listen"):
            start_sandbox(base_port=port, size=20)


def test_faults_for_an_unknown_registry_are_refused() -> None:
    with pytest.raises(ConfigError, match="cadastre"):
        start_sandbox(base_port=0, size=20, faults={"cadastre": Faults()})


def test_serve_sandbox_runs_until_told_to_stop() -> None:
    stop = threading.Event()
    seen: list[str] = []

    def ready(handle: SandboxHandle) -> None:
        seen.append(requests.get(handle.urls["population"] + "/health", timeout=5).text)
        stop.set()

    worker = threading.Thread(
        target=serve_sandbox, kwargs={"base_port": 0, "size": 20, "ready": ready, "stop": stop}
    )
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    assert seen == ["ok"]
