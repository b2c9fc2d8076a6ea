"""Webhook signatures, the URL policy and the retry schedule, without a network.

Signatures are checked against the independent ``standardwebhooks``
implementation; the policy is given a resolver, so that rebinding answers
and private addresses are replayed without DNS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hub.config import Settings
from hub.errors import WebhookUrlRefused
from hub.webhooks.policy import Resolver, UrlPolicy
from hub.webhooks.signing import headers, new_secret, sign
from hub.webhooks.worker import retry_delay


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


def test_the_signature_verifies_with_an_independent_implementation() -> None:
    secret = new_secret()
    body = '{"type":"case.updated","data":{"status":"Παραλήφθηκε"}}'.encode()
    now = int(time.time())
    signed = headers(secret, "msg_1", now, body)
    assert Webhook(secret).verify(body, signed)["type"] == "case.updated"
    # Another secret, another id, another body: each refused.
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**signed, "webhook-id": "msg_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", signed)


def test_a_known_vector() -> None:
    # Computed by hand from the specification: HMAC-SHA256 over "id.ts.body".
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()

    expected = base64.b64encode(
        hmac.new(b"k" * 32, b"msg_x.1700000000.{}", hashlib.sha256).digest()
    ).decode()
    assert sign(secret, "msg_x", 1700000000, b"{}") == "v1," + expected


def _resolver(addresses: Sequence[str]) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def _production(tmp_path: Path, **overrides: object) -> Settings:
    return Settings.for_tests(tmp_path, env="production", **overrides)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_production_refuses_internal_addresses(tmp_path: Path, address: str) -> None:
    policy = UrlPolicy.for_settings(_production(tmp_path), resolver=_resolver([address]))
    with pytest.raises(WebhookUrlRefused):
        policy.check("https://hooks.example.org/in")


def test_production_accepts_a_public_https_url(tmp_path: Path) -> None:
    policy = UrlPolicy.for_settings(_production(tmp_path), resolver=_resolver(["93.184.215.14"]))
    target = policy.check("https://Hooks.Example.org:8443/in?x=1")
    assert (target.host, target.port, target.path) == ("hooks.example.org", 8443, "/in?x=1")
    assert target.addresses == ("93.184.215.14",)


def test_one_internal_address_among_public_ones_is_enough_to_refuse(tmp_path: Path) -> None:
    resolver = _resolver(["93.184.215.14", "127.0.0.1"])
    with pytest.raises(WebhookUrlRefused):
        UrlPolicy.for_settings(_production(tmp_path), resolver=resolver).check("https://a.example/")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/",
        "ftp://hooks.example.org/",
        "https://user:pw@hooks.example.org/",
        "https://hooks.example.org/#frag",
        "https:///nohost",
        "https://hooks.example.org:99999/",
        "https://" + "a" * 2100 + ".example/",
    ],
)
def test_production_refuses_malformed_or_plain_urls(tmp_path: Path, url: str) -> None:
    policy = UrlPolicy.for_settings(_production(tmp_path), resolver=_resolver(["93.184.215.14"]))
    with pytest.raises(WebhookUrlRefused):
        policy.check(url)


def test_operators_allow_hosts_and_private_networks(tmp_path: Path) -> None:
    listed = _production(tmp_path, webhook_allowed_hosts=("*.gov.gr", "hooks.bank.example"))
    public = _resolver(["93.184.215.14"])
    UrlPolicy.for_settings(listed, resolver=public).check("https://a.opeka.gov.gr/x")
    UrlPolicy.for_settings(listed, resolver=public).check("https://hooks.bank.example/x")
    for url in ("https://gov.gr.evil.example/x", "https://evilgov.gr/x"):
        with pytest.raises(WebhookUrlRefused):
            UrlPolicy.for_settings(listed, resolver=public).check(url)
    private = _production(tmp_path, webhook_private_networks=("10.20.0.0/16",))
    UrlPolicy.for_settings(private, resolver=_resolver(["10.20.3.4"])).check("https://a.internal/")
    with pytest.raises(WebhookUrlRefused):
        UrlPolicy.for_settings(private, resolver=_resolver(["10.21.3.4"])).check(
            "https://a.internal/"
        )


def test_development_allows_loopback_over_http(tmp_path: Path) -> None:
    settings = Settings.for_tests(tmp_path)
    UrlPolicy.for_settings(settings, resolver=_resolver(["127.0.0.1"])).check(
        "http://localhost:9/x"
    )


def test_retries_back_off_exponentially_with_jitter() -> None:
    rng = random.Random(7)  # noqa: S311 - seeded jitter, no secret
    delays = [retry_delay(n, 30.0, rng) for n in range(1, 8)]
    for number, delay in enumerate(delays, start=1):
        full = min(30.0 * 2 ** (number - 1), 6 * 3600)
        assert full / 2 <= delay <= full
    assert retry_delay(40, 30.0, rng) <= 6 * 3600
    seeded = [random.Random(seed) for seed in range(20)]  # noqa: S311 - jitter, no secret
    spread = {round(retry_delay(3, 30.0, rng), 3) for rng in seeded}
    assert len(spread) > 10
