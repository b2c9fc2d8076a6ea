"""The REST registry client against canned answers (``responses``; no sockets).

Canned bodies follow the sandbox land registry (``adapters/sandbox/land_registry.py``):
JSON on success, problem+json on errors. Retries run with a recording sleep, so
no test waits on a backoff.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
import responses

from adapters.resilience import Policy, Resilient
from adapters.rest import MAX_ANSWER_BYTES, RestRegistryClient
from hub.config import default_specs_dir
from hub.errors import (
    CitizenNotFound,
    ConfigError,
    RegistryError,
    RegistryTimeout,
    RegistryUnavailable,
)
from hub.evidence.ports import RegistryClient

BASE = "http://land.test"
AFM = "090000045"
URL = f"{BASE}/v1/owners/{AFM}/properties"
OPERATIONS = {
    "PropertiesByOwner": {"method": "GET", "path": "/v1/owners/{afm}/properties"},
    "RecordSale": {"method": "POST", "path": "/v1/owners/{afm}/sales"},
}
ANSWER = {
    "owner": {"afm": AFM},
    "as_of": "2025-01-01",
    "properties": [
        {
            "kaek": "050681726008",
            "use": "residential",
            "area_m2": 84,
            "address": {
                "street": "Ερμού 10",
                "postal_code": "10563",
                "municipality": "Αθηναίων",
                "municipality_latin": "Athinaion",
                "regional_unit": "Κεντρικού Τομέα Αθηνών",
            },
            "right": "full_ownership",
            "share": {"numerator": 1, "denominator": 1, "percent": 100},
            "acquisition": {
                "date": "2010-05-04",
                "title": "purchase_contract",
                "document_number": "1",
            },
            "co_owners": [],
        }
    ],
}
NOT_FOUND = {
    "type": "https://oncehub.gov.gr/problems/not-found",
    "title": "Owner not found",
    "status": 404,
    "detail": "No owner is registered under this AFM.",
    "code": "NOT_FOUND",
}
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE owner [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<owner><properties>&xxe;</properties></owner>"
)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps) -> Iterator[RestRegistryClient]:
    policy = Policy(timeout=5.0, retries=2, failure_threshold=100)
    rest = RestRegistryClient(
        "land", BASE + "/", OPERATIONS, policy, resilient=Resilient("land", policy, sleep=sleeps)
    )
    yield rest
    rest.close()


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def owners(client: RestRegistryClient, afm: str = AFM) -> object:
    return client.call("PropertiesByOwner", {"afm": afm}, request_id="req-1")


def test_the_client_implements_the_registry_port(client: RestRegistryClient) -> None:
    assert isinstance(client, RegistryClient)


def test_success_returns_the_json_answer(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.get(URL, json=ANSWER)
    assert owners(client) == ANSWER
    assert len(mock.calls) == 1


def test_the_request_id_and_accept_headers_are_sent(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.get(URL, json=ANSWER)
    client.call("PropertiesByOwner", {"afm": AFM}, request_id="0af7651916cd43dd")
    sent = mock.calls[0].request.headers
    assert sent["X-Request-ID"] == "0af7651916cd43dd"
    assert sent["Accept"] == "application/json"


def test_404_is_citizen_not_found_and_not_retried(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.get(URL, json=NOT_FOUND, status=404, content_type="application/problem+json")
    with pytest.raises(CitizenNotFound):
        owners(client)
    assert len(mock.calls) == 1


def test_500_twice_then_200_succeeds_after_retries(
    client: RestRegistryClient, mock: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mock.get(URL, body="upstream failed", status=500)
    mock.get(URL, body="upstream failed", status=500)
    mock.get(URL, json=ANSWER)
    assert owners(client) == ANSWER
    assert len(mock.calls) == 3
    assert len(sleeps) == 2


def test_500_always_is_a_registry_error_after_bounded_retries(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.get(URL, body="upstream failed", status=500)
    with pytest.raises(RegistryError, match="HTTP 500") as caught:
        owners(client)
    assert caught.value.transient
    assert len(mock.calls) == 3


def test_400_is_a_registry_error_and_not_retried(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.get(URL, json={"code": "INVALID_INPUT"}, status=400)
    with pytest.raises(RegistryError, match="HTTP 400") as caught:
        owners(client)
    assert type(caught.value) is RegistryError
    assert not caught.value.transient
    assert len(mock.calls) == 1


def test_a_redirect_is_not_followed(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.get(URL, status=302, headers={"Location": "http://evil.test/"})
    with pytest.raises(RegistryError, match="HTTP 302"):
        owners(client)
    assert len(mock.calls) == 1


def test_post_operations_are_not_retried(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.post(f"{BASE}/v1/owners/{AFM}/sales", body="upstream failed", status=503)
    with pytest.raises(RegistryError):
        client.call("RecordSale", {"afm": AFM}, request_id="req-1")
    assert len(mock.calls) == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>Maintenance</body></html>", "text/html; charset=utf-8"),
        (XXE, "application/xml"),
        (json.dumps(ANSWER).encode(), ""),
    ],
    ids=["html", "xml", "no-type"],
)
def test_a_non_json_answer_is_a_registry_error(
    client: RestRegistryClient, mock: responses.RequestsMock, body: bytes, content_type: str
) -> None:
    mock.get(URL, body=body, status=200, content_type=content_type)
    with pytest.raises(RegistryError, match="answered with") as caught:
        owners(client)
    assert type(caught.value) is RegistryError
    assert len(mock.calls) == 1


@pytest.mark.parametrize(
    "body",
    [b'{"properties": [', b"not json at all", b"\xff\xfe\x00garbage", b"[" * 100_000],
    ids=["truncated", "text", "bytes", "deep"],
)
def test_malformed_json_is_a_registry_error(
    client: RestRegistryClient, mock: responses.RequestsMock, body: bytes
) -> None:
    mock.get(URL, body=body, content_type="application/json")
    with pytest.raises(RegistryError, match="malformed JSON"):
        owners(client)


def test_an_oversized_answer_is_a_registry_error(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    padding = b"x" * (MAX_ANSWER_BYTES + 1)
    mock.get(URL, body=b'{"properties":[],"padding":"' + padding + b'"}')
    with pytest.raises(RegistryError, match="oversized"):
        owners(client)


def test_an_answer_just_under_the_limit_is_read(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    head, tail = b'{"padding":"', b'"}'
    body = head + b"x" * (MAX_ANSWER_BYTES - len(head) - len(tail)) + tail
    mock.get(URL, body=body, content_type="application/json")
    answer = owners(client)
    assert isinstance(answer, dict)
    assert len(answer["padding"]) == MAX_ANSWER_BYTES - len(head) - len(tail)


def test_connection_error_is_registry_unavailable(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    mock.get(URL, body=requests.ConnectionError("connection refused"))
    with pytest.raises(RegistryUnavailable, match="cannot be reached") as caught:
        owners(client)
    assert isinstance(caught.value.__cause__, requests.ConnectionError)
    assert len(mock.calls) == 3, "an unreachable registry is worth retrying"


@pytest.mark.parametrize("error", [requests.ConnectTimeout, requests.ReadTimeout])
def test_timeouts_are_registry_timeout(
    client: RestRegistryClient, mock: responses.RequestsMock, error: type[Exception]
) -> None:
    mock.get(URL, body=error("timed out"))
    with pytest.raises(RegistryTimeout, match="did not answer in time"):
        owners(client)


def test_an_unknown_operation_is_a_registry_error_without_a_call(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    with pytest.raises(RegistryError, match="no operation DeleteEverything"):
        client.call("DeleteEverything", {"afm": AFM}, request_id="req-1")
    assert len(mock.calls) == 0


def test_a_missing_path_parameter_is_a_registry_error(
    client: RestRegistryClient, mock: responses.RequestsMock
) -> None:
    with pytest.raises(RegistryError, match="afm"):
        client.call("PropertiesByOwner", {"amka": "01019012345"}, request_id="req-1")
    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    ("value", "sent_path"),
    [
        ("../x", "/v1/owners/..%2Fx/properties"),
        ("a/../../admin", "/v1/owners/a%2F..%2F..%2Fadmin/properties"),
        ("1?all=true#", "/v1/owners/1%3Fall%3Dtrue%23/properties"),
        ("a b", "/v1/owners/a%20b/properties"),
    ],
)
def test_path_parameters_are_url_quoted(
    client: RestRegistryClient, mock: responses.RequestsMock, value: str, sent_path: str
) -> None:
    mock.get(f"{BASE}{sent_path}", json=ANSWER)
    owners(client, value)
    assert mock.calls[0].request.path_url == sent_path


@pytest.mark.parametrize("value", ["..", ".", ""])
def test_dot_segments_and_empty_path_parameters_are_refused(
    client: RestRegistryClient, mock: responses.RequestsMock, value: str
) -> None:
    # "%2E%2E" would not help: requests unquotes it back to "..", and a URL
    # parser then climbs out of /v1/owners/.
    with pytest.raises(RegistryError, match="path parameter"):
        owners(client, value)
    assert len(mock.calls) == 0


# -- answers held to the registry's own description ------------------------------

DESCRIPTION = default_specs_dir() / "registries" / "land-registry.yaml"
DESCRIBED = {"PropertiesByOwner": OPERATIONS["PropertiesByOwner"]}


def described_client() -> RestRegistryClient:
    return RestRegistryClient(
        "land-registry", BASE, DESCRIBED, Policy(timeout=2.0, retries=0), description=DESCRIPTION
    )


@responses.activate
def test_an_answer_its_description_allows_is_returned() -> None:
    responses.get(URL, json=ANSWER)
    assert described_client().call("PropertiesByOwner", {"afm": AFM}, request_id="r") == ANSWER


@pytest.mark.parametrize(
    "answer",
    [
        {"apiVersion": "v9", "data": ANSWER},  # another version's envelope
        {k: v for k, v in ANSWER.items() if k != "properties"},  # the list left out
        {**ANSWER, "properties": "none"},
        [ANSWER],
    ],
    ids=["envelope", "missing-properties", "wrong-type", "array"],
)
@responses.activate
def test_an_answer_outside_its_description_is_refused_not_mapped(answer: object) -> None:
    responses.get(URL, json=answer)
    with pytest.raises(RegistryError, match="outside its description") as caught:
        described_client().call("PropertiesByOwner", {"afm": AFM}, request_id="r")
    assert not caught.value.transient
    assert len(responses.calls) == 1  # the same registry would answer the same way


def test_an_operation_its_description_lacks_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="no JSON 200 answer"):
        RestRegistryClient(
            "land-registry",
            BASE,
            OPERATIONS,
            Policy(timeout=2.0, retries=0),
            description=DESCRIPTION,
        )
