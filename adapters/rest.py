"""REST registries over a pooled ``requests`` session.

Operations are configuration: the catalogue names each one's method and path
template (``/v1/owners/{afm}/properties``). Each exchange, from the TCP
connect through TLS and the headers to the last byte of the body, runs under
one hard deadline (:mod:`adapters._deadline`), and answers are read in
bounded chunks, so a registry that drips bytes or sends a huge body cannot
hold a worker past its budget or exhaust memory. A successful answer must
match the response schema the registry's own OpenAPI description declares
for the operation: an answer of another shape would otherwise be mapped as if
the citizen had nothing, a wrong answer rather than a refusal. Every failure
leaves as a typed :class:`hub.errors.RegistryError` (or
:class:`CitizenNotFound`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import yaml
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from adapters._deadline import WATCHDOG, DeadlineAdapter, Watch
from adapters.resilience import Policy, Resilient
from hub.errors import (
    CitizenNotFound,
    ConfigError,
    RegistryError,
    RegistryTimeout,
    RegistryUnavailable,
)

__all__ = [
    "MAX_ANSWER_BYTES",
    "RestRegistryClient",
    "answer_validators",
    "exchange",
    "pooled_session",
    "read_bounded",
]

MAX_ANSWER_BYTES = 5 * 1024 * 1024
_CHUNK = 64 * 1024


def read_bounded(
    response: requests.Response, deadline: float, name: str, watch: Watch | None = None
) -> bytes:
    """The body, or a typed error if it is too large or arrives too slowly."""
    body = bytearray()
    try:
        for chunk in response.iter_content(_CHUNK):
            body.extend(chunk)
            if len(body) > MAX_ANSWER_BYTES:
                raise RegistryError(f"registry {name} sent an oversized answer")
            if time.monotonic() > deadline:
                raise RegistryTimeout(f"registry {name} answered too slowly")
    except requests.RequestException as exc:
        if watch is not None and watch.expired:
            raise RegistryTimeout(f"registry {name} answered too slowly") from exc
        raise RegistryUnavailable(f"registry {name} broke off its answer") from exc
    finally:
        response.close()
    return bytes(body)


def pooled_session(
    url: str,
    policy: Policy,
    session: requests.Session | None = None,
    *,
    ca_file: Path | None = None,
) -> requests.Session:
    """A session with one connection pool for a registry, sized to its concurrency.

    The environment's proxy and CA-bundle settings are read once here: left
    to ``requests``, they are looked up again on every call, which cost about
    a tenth of an evidence request. ``ca_file`` (``HUB_REGISTRY_CA_FILE``)
    names the certificates that https registries are checked against.
    """
    session = session or requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_file is not None:
        session.verify = str(ca_file)
    elif bundle:
        session.verify = bundle
    adapter = DeadlineAdapter(
        pool_connections=1, pool_maxsize=policy.max_concurrency, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    name: str,
    budget: float,
    headers: dict[str, str],
    data: bytes | None = None,
) -> tuple[requests.Response, bytes]:
    """One HTTP exchange with a registry within ``budget`` seconds, body read bounded.

    Shared by the REST and SOAP clients so that both map transport failures
    the same way: a timeout, or a socket the watchdog shut at the deadline,
    is RegistryTimeout; anything else is unreachable.
    """
    deadline = time.monotonic() + budget
    with WATCHDOG.watch(budget) as watch:
        try:
            response = session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=(min(budget, 2.0), budget),
                stream=True,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise RegistryTimeout(f"registry {name} did not answer in time") from exc
        except requests.RequestException as exc:
            if watch.expired:
                raise RegistryTimeout(f"registry {name} did not answer in time") from exc
            raise RegistryUnavailable(f"registry {name} cannot be reached") from exc
        body = read_bounded(response, deadline, name, watch)
        if watch.expired:
            # A socket shut mid-headers can read as a short, complete answer.
            raise RegistryTimeout(f"registry {name} answered too slowly")
        return response, body


def _pointer(*parts: str) -> str:
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return "#/" + "/".join(quote(part, safe="~") for part in escaped)


def answer_validators(
    description: Path, operations: Mapping[str, Mapping[str, Any]]
) -> dict[str, Validator]:
    """A validator per operation for its 200 JSON answer, from the registry's OpenAPI file.

    The description is read from disk, never fetched; an operation it does
    not describe is a configuration error, found at start-up.
    """
    try:
        document = yaml.safe_load(description.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the registry description {description}") from exc
    base = f"urn:registry:{description.name}"
    registry: Registry[Any] = Registry().with_resource(
        base, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    validators: dict[str, Validator] = {}
    for name, spec in operations.items():
        path, method = str(spec["path"]), str(spec.get("method", "GET")).lower()
        try:
            content = document["paths"][path][method]["responses"]["200"]["content"]
            content["application/json"]["schema"]
        except (KeyError, TypeError) as exc:
            raise ConfigError(
                f"{description.name} declares no JSON 200 answer for {method.upper()} {path}"
            ) from exc
        pointer = _pointer(
            "paths", path, method, "responses", "200", "content", "application/json", "schema"
        )
        validators[name] = Draft202012Validator({"$ref": base + pointer}, registry=registry)
    return validators


class RestRegistryClient:
    """A :class:`hub.domain.ports.RegistryClient` for a JSON REST registry."""

    def __init__(
        self,
        name: str,
        base_url: str,
        operations: Mapping[str, Mapping[str, Any]],
        policy: Policy,
        *,
        resilient: Resilient | None = None,
        session: requests.Session | None = None,
        description: Path | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.name = name
        self.answers = answer_validators(description, operations) if description else {}
        self.base_url = base_url.rstrip("/")
        self.operations = operations
        self.resilient = resilient or Resilient(name, policy)
        self.session = pooled_session(self.base_url, policy, session, ca_file=ca_file)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "oncehub"})

    def call(self, operation: str, params: Mapping[str, str], *, request_id: str) -> Any:
        spec = self.operations.get(operation)
        if spec is None:
            raise RegistryError(f"registry {self.name} has no operation {operation}")
        method = str(spec.get("method", "GET")).upper()
        path = self._path(operation, str(spec["path"]), params)
        answer = self.resilient.call(
            lambda budget: self._once(method, path, budget, request_id),
            idempotent=method in ("GET", "HEAD"),
        )
        validator = self.answers.get(operation)
        if validator is not None and not validator.is_valid(answer):
            # Not transient: the same registry would answer the same way.
            raise RegistryError(f"registry {self.name} answered outside its description")
        return answer

    def _path(self, operation: str, template: str, params: Mapping[str, str]) -> str:
        """The template filled with quoted parameters; never a way out of it."""
        for value in params.values():
            # Quoting leaves "." and ".." as they are, and a URL parser would
            # then resolve them: /v1/owners/../properties is /v1/properties.
            if value in ("", ".", ".."):
                raise RegistryError(f"registry {self.name}: refused path parameter {value!r}")
        try:
            return template.format(**{k: quote(v, safe="") for k, v in params.items()})
        except (KeyError, IndexError, ValueError) as exc:
            raise RegistryError(
                f"registry {self.name}: operation {operation} needs path parameter {exc}"
            ) from exc

    def _once(self, method: str, path: str, budget: float, request_id: str) -> Any:
        response, body = exchange(
            self.session,
            method,
            self.base_url + path,
            name=self.name,
            budget=budget,
            headers={"X-Request-ID": request_id},
        )
        status = response.status_code
        if status == 404:
            raise CitizenNotFound("The registry holds no such citizen.")
        if status >= 500:
            raise RegistryError(f"registry {self.name} failed (HTTP {status})", transient=True)
        if status != 200:
            raise RegistryError(f"registry {self.name} refused the call (HTTP {status})")
        content_type = response.headers.get("Content-Type", "")
        if "json" not in content_type:
            raise RegistryError(f"registry {self.name} answered with {content_type or 'no type'}")
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise RegistryError(f"registry {self.name} sent malformed JSON") from exc

    def close(self) -> None:
        self.session.close()
