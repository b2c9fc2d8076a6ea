"""REST registries over a pooled ``requests`` session.

Operations are configuration: the catalogue names each one's method and path
template (``/v1/owners/{afm}/properties``), its query parameters and, for a
POST, a JSON body template (``{owner: {taxId: "{afm}"}}``): placeholders are
filled from the call's parameters by substitution only, no code, no eval.
``answer:`` maps names to JSON Pointers (RFC 6901) into the answer, so an
evidence mapping reads ``vehicles.items`` however deep the registry nests it.
How the hub authenticates (OAuth2, API key, basic, mutual TLS) is
:mod:`adapters._auth`'s. Each exchange, from the TCP
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
import re
import ssl
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests
import yaml
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from requests.cookies import extract_cookies_to_jar

from adapters._auth import Access, NoAuth, RequestAuth, session_tls
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
    "fill",
    "pointer",
    "pooled_session",
    "prepared",
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


def _tls_failure(exc: BaseException) -> bool:
    """Whether a transport error was TLS refusing a certificate, at any depth."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        pending.extend((current.__cause__, current.__context__, *current.args))
    return False


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    name: str,
    budget: float,
    headers: dict[str, str],
    data: bytes | None = None,
    template: requests.PreparedRequest | None = None,
) -> tuple[requests.Response, bytes]:
    """One HTTP exchange with a registry within ``budget`` seconds, body read bounded.

    Shared by the REST and SOAP clients so that both map transport failures
    the same way: a timeout, or a socket the watchdog shut at the deadline,
    is RegistryTimeout; anything else is unreachable.

    ``template`` is the request ``session.prepare_request`` made once for
    this method (see :func:`prepared`): each call then copies it and adds
    its URL, ``headers`` and ``data``, instead of merging the session's
    settings into a new request again (about a fifth of the exchange's CPU).
    The copy goes straight to the session's transport adapter, as
    ``Session.send`` would pass it with redirects off; what ``Session.send``
    adds around that (response hooks, which the hub never sets, the elapsed
    time, redirect bookkeeping, and reading cookies from every answer) cost
    about 0.1 ms a call. An answer that sets a cookie is still read into the
    session's jar, and a session that holds cookies goes the long way,
    which sends them.
    """
    deadline = time.monotonic() + budget
    timeout = (min(budget, 2.0), budget)
    with WATCHDOG.watch(budget) as watch:
        try:
            if template is not None and not session.cookies:
                request = template.copy()
                if request.url != url:
                    request.prepare_url(url, None)
                for header in headers.items():
                    requests.utils.check_header_validity(header)
                request.headers.update(headers)
                request.prepare_body(data, None)
                response = session.get_adapter(url).send(
                    request,
                    stream=True,
                    timeout=timeout,
                    # None would turn certificate checks off; the session's default is on.
                    verify=True if session.verify is None else session.verify,
                    cert=session.cert,
                    proxies=session.proxies,
                )
                if "Set-Cookie" in response.headers:
                    # requests ships no annotations for its cookie helpers.
                    extract_cookies_to_jar(session.cookies, request, response.raw)  # type: ignore[no-untyped-call]
            else:
                response = session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    stream=True,
                    allow_redirects=False,
                )
        except requests.Timeout as exc:
            raise RegistryTimeout(f"registry {name} did not answer in time") from exc
        except requests.RequestException as exc:
            if watch.expired:
                raise RegistryTimeout(f"registry {name} did not answer in time") from exc
            if _tls_failure(exc):
                # A certificate refused either way (theirs by us, ours by them)
                # will be refused again: not worth a retry, and an operator's to fix.
                raise RegistryError(f"registry {name}: the TLS handshake failed") from exc
            raise RegistryUnavailable(f"registry {name} cannot be reached") from exc
        body = read_bounded(response, deadline, name, watch)
        if watch.expired:
            # A socket shut mid-headers can read as a short, complete answer.
            raise RegistryTimeout(f"registry {name} answered too slowly")
        return response, body


def prepared(
    session: requests.Session, method: str, url: str, headers: Mapping[str, str]
) -> requests.PreparedRequest:
    """The request ``session`` would send to ``url`` with ``headers``, to copy per call."""
    return session.prepare_request(requests.Request(method, url, headers=dict(headers)))


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(template: Any, params: Mapping[str, str]) -> Any:
    """A copy of a JSON template with ``{name}`` placeholders replaced by parameters.

    Plain substitution: a string that is one placeholder becomes the value,
    placeholders inside a longer string are replaced in it; nothing is
    evaluated. A placeholder without a parameter is a KeyError.
    """
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return params[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: params[m.group(1)], template)
    if isinstance(template, Mapping):
        return {str(k): fill(v, params) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, params) for v in template]
    return template


_MISSING = object()


def pointer(document: Any, where: str) -> Any:
    """The value at a JSON Pointer (RFC 6901) in ``document``; None where there is none."""
    if where == "":
        return document
    if not where.startswith("/"):
        raise ValueError(f"a JSON Pointer starts with '/': {where!r}")
    value: Any = document
    for raw in where[1:].split("/"):
        step = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, Mapping):
            value = value.get(step, _MISSING)
        elif isinstance(value, list) and step.isdigit() and (step == "0" or step[0] != "0"):
            index = int(step)
            value = value[index] if index < len(value) else _MISSING
        else:
            value = _MISSING
        if value is _MISSING:
            return None
    return value


def _check_operation(name: str, operation: str, spec: Mapping[str, Any]) -> None:
    """Refuse at start-up what could only fail on every call."""
    where = f"registry {name}, operation {operation}"
    method = str(spec.get("method", "GET")).upper()
    if method not in ("GET", "POST"):
        raise ConfigError(f"{where}: method must be GET or POST")
    path = spec.get("path")
    if not isinstance(path, str) or not path.startswith("/") or "?" in path:
        raise ConfigError(f"{where}: path must start with / and put its query under query:")
    query = spec.get("query", {})
    if not isinstance(query, Mapping) or not all(
        isinstance(v, str | int | float | bool) for v in query.values()
    ):
        raise ConfigError(f"{where}: query maps names to plain values or placeholders")
    if "body" in spec and method != "POST":
        raise ConfigError(f"{where}: only a POST carries a body")
    answer = spec.get("answer", {})
    if not isinstance(answer, Mapping) or not all(
        isinstance(p, str) and (p == "" or p.startswith("/")) for p in answer.values()
    ):
        raise ConfigError(f"{where}: answer maps names to JSON Pointers (/a/b)")


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
    """A :class:`hub.evidence.ports.RegistryClient` for a JSON REST registry."""

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
        auth: RequestAuth | None = None,
        access: Access | None = None,
        mutual_tls: bool = False,
    ) -> None:
        self.name = name
        for operation, spec in operations.items():
            _check_operation(name, operation, spec)
        self.answers = answer_validators(description, operations) if description else {}
        self.base_url = base_url.rstrip("/")
        self.operations = operations
        self.resilient = resilient or Resilient(name, policy)
        self.session = pooled_session(self.base_url, policy, session, ca_file=ca_file)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "oncehub"})
        session_tls(self.session, name, mutual_tls, access or Access())
        self.auth = auth or NoAuth()
        #: Method -> the request the session prepares, copied per call (see exchange).
        self._templates: dict[str, requests.PreparedRequest] = {}

    def call(self, operation: str, params: Mapping[str, str], *, request_id: str) -> Any:
        spec = self.operations.get(operation)
        if spec is None:
            raise RegistryError(f"registry {self.name} has no operation {operation}")
        method = str(spec.get("method", "GET")).upper()
        path = self._path(operation, str(spec["path"]), params)
        try:
            query = fill(dict(spec.get("query", {})), params)
            body = json.dumps(fill(spec["body"], params)).encode() if "body" in spec else None
        except KeyError as exc:
            raise RegistryError(
                f"registry {self.name}: operation {operation} needs parameter {exc}"
            ) from exc
        if query:
            path += "?" + urlencode({k: str(v) for k, v in query.items()})
        answer = self.resilient.call(
            lambda budget: self._once(method, path, body, budget, request_id),
            # A POST that only searches is as safe to repeat as a GET; the
            # catalogue says so with idempotent: true.
            idempotent=method in ("GET", "HEAD") or spec.get("idempotent") is True,
        )
        validator = self.answers.get(operation)
        if validator is not None and not validator.is_valid(answer):
            # Not transient: the same registry would answer the same way.
            raise RegistryError(f"registry {self.name} answered outside its description")
        shape = spec.get("answer")
        if shape:
            return {str(k): pointer(answer, str(v)) for k, v in shape.items()}
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

    def _send(
        self, method: str, url: str, budget: float, headers: dict[str, str], data: bytes | None
    ) -> tuple[int, bytes]:
        response, body = exchange(
            self.session, method, url, name=self.name, budget=budget, headers=headers, data=data
        )
        return response.status_code, body

    def _once(
        self, method: str, path: str, data: bytes | None, budget: float, request_id: str
    ) -> Any:
        deadline = time.monotonic() + budget
        for attempt in (1, 2):
            headers = {"X-Request-ID": request_id}
            headers.update(self.auth.headers(self._send, budget))
            if data is not None:
                headers["Content-Type"] = "application/json"
            left = deadline - time.monotonic()
            if left <= 0:
                raise RegistryTimeout(f"registry {self.name} did not answer in time")
            template = self._templates.get(method)
            if template is None:
                template = prepared(self.session, method, self.base_url + "/", {})
                self._templates[method] = template
            response, body = exchange(
                self.session,
                method,
                self.base_url + path,
                name=self.name,
                budget=left,
                headers=headers,
                data=data,
                template=template,
            )
            # A token the registry revoked or let lapse early: one fresh one, once.
            if response.status_code == 401 and attempt == 1 and self.auth.refused():
                budget = deadline - time.monotonic()
                continue
            break
        status = response.status_code
        if status == 404:
            raise CitizenNotFound("The registry holds no such citizen.")
        if status >= 500:
            raise RegistryError(f"registry {self.name} failed (HTTP {status})", transient=True)
        if status in (401, 403):
            raise RegistryError(
                f"registry {self.name} refused the hub's credentials (HTTP {status})"
            )
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
