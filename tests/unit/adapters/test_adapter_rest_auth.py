"""Authenticated REST registries, query strings, body templates and JSON Pointers (``responses``).

The token endpoint and the registry are canned; the clock of the OAuth2
client is the test's, so expiry is tested without waiting.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from responses import matchers

from adapters._auth import Access, ApiKey, Basic, ClientCredentials, request_auth
from adapters.resilience import Policy, Resilient
from adapters.rest import RestRegistryClient, fill, pointer
from hub.errors import ConfigError, RegistryError

BASE = "http://vehicles.test"
TOKEN_URL = f"{BASE}/oauth/token"
SEARCH = f"{BASE}/v2/vehicles/search"
AFM = "090000045"
OPERATIONS: dict[str, dict[str, Any]] = {
    "VehiclesByOwner": {
        "method": "POST",
        "path": "/v2/vehicles/search",
        "idempotent": True,
        "query": {"country": "GR", "owner": "{afm}"},
        "body": {"owner": {"taxId": "{afm}", "note": "tax id {afm}"}, "include": ["plates", 2]},
        "answer": {"as_of": "/result/asOf", "vehicles": "/result/vehicles", "none": "/x/y"},
    }
}
ANSWER = {"result": {"asOf": "2026-01-01", "vehicles": [{"plate": "ABC-1234"}]}}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def token_answer(token: str, expires_in: int = 300) -> dict[str, Any]:
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}


def client(auth: Any = None, **kwargs: Any) -> RestRegistryClient:
    policy = Policy(timeout=5.0, retries=1, failure_threshold=100)
    resilient = Resilient("vehicles", policy, sleep=lambda _: None)
    return RestRegistryClient(
        "vehicles", BASE, OPERATIONS, policy, resilient=resilient, auth=auth, **kwargs
    )


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def test_fill_substitutes_placeholders_and_evaluates_nothing() -> None:
    template = {"a": "{afm}", "b": ["x{afm}y", 3, None, True], "c": "{__class__}"}
    assert fill({"a": "{afm}", "b": ["x{afm}y", 3, None, True]}, {"afm": "1"}) == {
        "a": "1",
        "b": ["x1y", 3, None, True],
    }
    with pytest.raises(KeyError):
        fill(template, {"afm": "1"})
    # Attribute or index syntax is no placeholder: it stays text.
    assert fill("{afm.__class__}{afm[0]}", {"afm": "1"}) == "{afm.__class__}{afm[0]}"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("", {"foo": ["bar", "baz"], "": 0, "a/b": 1, "m~n": 8, "k": {"0": 5}}),
        ("/foo", ["bar", "baz"]),
        ("/foo/0", "bar"),
        ("/foo/1", "baz"),
        ("/", 0),
        ("/a~1b", 1),
        ("/m~0n", 8),
        ("/k/0", 5),
        ("/foo/2", None),
        ("/foo/01", None),
        ("/foo/-", None),
        ("/nothing/here", None),
    ],
)
def test_json_pointers_follow_rfc_6901(where: str, expected: Any) -> None:
    document = {"foo": ["bar", "baz"], "": 0, "a/b": 1, "m~n": 8, "k": {"0": 5}}
    assert pointer(document, where) == expected


def test_a_pointer_without_a_leading_slash_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON Pointer"):
        pointer({}, "foo")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"path": "/v2/search?country=GR"}, "query"),
        ({"method": "GET"}, "body"),
        ({"method": "DELETE"}, "GET or POST"),
        ({"answer": {"x": "result/asOf"}}, "JSON Pointer"),
        ({"query": {"x": {"nested": 1}}}, "query"),
    ],
)
def test_operations_that_could_never_work_are_refused_at_start(
    change: dict[str, Any], message: str
) -> None:
    operations = {"Op": {**OPERATIONS["VehiclesByOwner"], **change}}
    with pytest.raises(ConfigError, match=message):
        RestRegistryClient("vehicles", BASE, operations, Policy(timeout=1.0))


def test_oauth2_token_is_fetched_once_and_sent_with_query_and_body(
    mock: responses.RequestsMock,
) -> None:
    token = mock.post(
        TOKEN_URL,
        json=token_answer("t-1"),
        match=[
            matchers.header_matcher(
                {"Authorization": "Basic " + base64.b64encode(b"hub:s3cret").decode()}
            ),
        ],
    )
    search = mock.post(
        SEARCH,
        json=ANSWER,
        match=[
            matchers.header_matcher({"Authorization": "Bearer t-1"}),
            matchers.query_param_matcher({"country": "GR", "owner": AFM}),
            matchers.json_params_matcher(
                {"owner": {"taxId": AFM, "note": f"tax id {AFM}"}, "include": ["plates", 2]}
            ),
        ],
    )
    auth = ClientCredentials("vehicles", TOKEN_URL, "hub", secret="s3cret", scope="vehicles.read")
    registry = client(auth)
    for _ in range(3):
        answer = registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
        assert answer == {
            "as_of": "2026-01-01",
            "vehicles": [{"plate": "ABC-1234"}],
            "none": None,
        }
    assert token.call_count == 1
    assert parse_qs(token.calls[0].request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["vehicles.read"],
    }
    assert search.call_count == 3


def test_a_token_is_renewed_shortly_before_it_expires(mock: responses.RequestsMock) -> None:
    token = mock.post(TOKEN_URL, json=token_answer("t", expires_in=100))
    mock.post(SEARCH, json=ANSWER)
    clock = Clock()
    auth = ClientCredentials("vehicles", TOKEN_URL, "hub", secret="s", clock=clock)
    registry = client(auth)
    registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    clock.now += 89  # Inside its life less the margin (a tenth of 100 s).
    registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert token.call_count == 1
    clock.now += 2  # Past 90 s: renewed before the registry could refuse it.
    registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert token.call_count == 2


def test_a_refused_token_is_replaced_once(mock: responses.RequestsMock) -> None:
    tokens = iter(["old", "new"])
    mock.add_callback(
        responses.POST,
        TOKEN_URL,
        callback=lambda _: (200, {}, json.dumps(token_answer(next(tokens)))),
    )
    refused = mock.post(
        SEARCH, status=401, match=[matchers.header_matcher({"Authorization": "Bearer old"})]
    )
    accepted = mock.post(
        SEARCH, json=ANSWER, match=[matchers.header_matcher({"Authorization": "Bearer new"})]
    )
    registry = client(ClientCredentials("vehicles", TOKEN_URL, "hub", secret="s"))
    assert registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")["as_of"] == "2026-01-01"
    assert (refused.call_count, accepted.call_count) == (1, 1)


def test_a_registry_that_keeps_refusing_fresh_tokens_is_an_error(
    mock: responses.RequestsMock,
) -> None:
    token = mock.post(TOKEN_URL, json=token_answer("t"))
    mock.post(SEARCH, status=401)
    registry = client(ClientCredentials("vehicles", TOKEN_URL, "hub", secret="s"))
    with pytest.raises(RegistryError, match="refused the hub's credentials") as caught:
        registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert not caught.value.transient
    assert token.call_count == 2


@pytest.mark.parametrize("status", [400, 401])
def test_a_wrong_client_secret_is_a_registry_error(
    mock: responses.RequestsMock, status: int
) -> None:
    mock.post(TOKEN_URL, status=status, json={"error": "invalid_client"})
    search = mock.post(SEARCH, json=ANSWER)
    registry = client(ClientCredentials("vehicles", TOKEN_URL, "hub", secret="wrong"))
    with pytest.raises(RegistryError, match="client credentials") as caught:
        registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert not caught.value.transient
    assert search.call_count == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"token_type": "Bearer"}',
        b'{"access_token": "", "token_type": "Bearer"}',
        b'{"access_token": "t", "token_type": "mac"}',
    ],
)
def test_a_malformed_token_answer_is_a_registry_error(
    mock: responses.RequestsMock, body: bytes
) -> None:
    mock.post(TOKEN_URL, body=body, content_type="application/json")
    registry = client(ClientCredentials("vehicles", TOKEN_URL, "hub", secret="s"))
    with pytest.raises(RegistryError, match="token"):
        registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")


def test_private_key_jwt_signs_a_short_single_use_assertion(
    mock: responses.RequestsMock, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "client.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    forms: list[dict[str, list[str]]] = []

    def issue(request: Any) -> tuple[int, dict[str, str], str]:
        assert "Authorization" not in request.headers
        forms.append(parse_qs(request.body.decode()))
        return 200, {}, json.dumps(token_answer("t", expires_in=0))

    mock.add_callback(responses.POST, TOKEN_URL, callback=issue)
    mock.post(SEARCH, json=ANSWER)
    auth = request_auth(
        "vehicles",
        BASE,
        {
            "kind": "oauth2_client_credentials",
            "token_url": "/oauth/token",
            "client_auth": "private_key_jwt",
        },
        Access(credentials=("hub-client", ""), signing_key=key_file),
    )
    registry = client(auth)
    registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert len(forms) == 2  # A token that lives no time is renewed on every call.
    jtis = set()
    for form in forms:
        assert form["client_assertion_type"] == [
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ]
        assert form["client_id"] == ["hub-client"]
        claims = jwt.decode(
            form["client_assertion"][0], key.public_key(), algorithms=["ES256"], audience=TOKEN_URL
        )
        assert claims["iss"] == claims["sub"] == "hub-client"
        assert claims["exp"] - claims["iat"] <= 60
        jtis.add(claims["jti"])
    assert len(jtis) == 2


def test_concurrent_calls_share_one_token_fetch(mock: responses.RequestsMock) -> None:
    token = mock.post(TOKEN_URL, json=token_answer("t"))
    mock.post(SEARCH, json=ANSWER)
    registry = client(ClientCredentials("vehicles", TOKEN_URL, "hub", secret="s"))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            registry.call("VehiclesByOwner", {"afm": AFM}, request_id="r")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert token.call_count == 1


def test_api_key_and_basic_headers(mock: responses.RequestsMock) -> None:
    keyed = mock.post(SEARCH, json=ANSWER, match=[matchers.header_matcher({"X-Key": "k-123"})])
    client(ApiKey("X-Key", "k-123")).call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert keyed.call_count == 1
    mock.reset()
    basic = mock.post(
        SEARCH,
        json=ANSWER,
        match=[
            matchers.header_matcher(
                {"Authorization": "Basic " + base64.b64encode(b"u:p w").decode()}
            )
        ],
    )
    client(Basic("u", "p w")).call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert basic.call_count == 1


@pytest.mark.parametrize(
    ("auth", "access", "named"),
    [
        ({"kind": "api_key"}, Access(), "HUB_REGISTRY_SECRET_"),
        ({"kind": "basic"}, Access(), "HUB_REGISTRY_CREDENTIALS_"),
        ({"kind": "oauth2_client_credentials"}, Access(credentials=("a", "b")), "token_url"),
        (
            {
                "kind": "oauth2_client_credentials",
                "token_url": "/t",
                "client_auth": "private_key_jwt",
            },
            Access(credentials=("a", "")),
            "HUB_REGISTRY_SIGNING_KEY_",
        ),
        (
            {"kind": "oauth2_client_credentials", "token_url": "/t", "client_auth": "tls"},
            Access(credentials=("a", "b")),
            "client_auth",
        ),
    ],
)
def test_missing_secrets_stop_the_start(auth: dict[str, Any], access: Access, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        request_auth("vehicles", BASE, auth, access)


def test_mutual_tls_needs_both_files_and_sets_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_REGISTRY_CLIENT_CERT_"):
        client(mutual_tls=True, access=Access())
    cert, key, ca = tmp_path / "c.pem", tmp_path / "c.key", tmp_path / "ca.pem"
    registry = client(mutual_tls=True, access=Access(client_cert=cert, client_key=key, ca_file=ca))
    assert registry.session.cert == (str(cert), str(key))
    assert registry.session.verify == str(ca)


def test_answers_are_still_checked_against_the_registrys_openapi(
    mock: responses.RequestsMock,
) -> None:
    description = (
        Path(__file__).resolve().parents[2]
        / "fixtures"
        / "catalog_onboarding"
        / "registries"
        / "vehicles.yaml"
    )
    mock.post(SEARCH, json={"result": {"asOf": "2026-01-01", "vehicles": [{"plate": 7}]}})
    with pytest.raises(RegistryError, match="outside its description"):
        client(description=description).call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    mock.replace(
        responses.POST, SEARCH, json=ANSWER | {"result": {**ANSWER["result"], "vehicles": []}}
    )
    answer = client(description=description).call("VehiclesByOwner", {"afm": AFM}, request_id="r")
    assert answer["vehicles"] == []
