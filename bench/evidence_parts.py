"""The evidence request's own work, part by part, against the libraries doing it alone.

``bench._floor_hub`` measures the web stack under the evidence endpoint (the
hub's app answering a canned answer). This measures the rest, the work of
the evidence service itself, in the bench process on one thread (thread CPU,
best of three rounds), with the sandbox registries running in their own
process as for the HTTP figures:

* the hub's :class:`~hub.evidence.service.EvidenceService` as the hub builds
  it (``hub.app.build_services``: real registry clients, access log with its
  notification outbox, ES256 seal), each part metered by wrapping it: the
  registry calls, the access-log entry (one commit per request here: the
  load has one caller), the mapping, the evidence schema check, the seal;
* beside each part, the library doing the same work with no hub code:
  the same SOAP envelope posted by ``http.client`` on a kept-alive
  connection and by a plain ``requests.Session``, the reply parsed by lxml
  with entities and the network off; the same rows (entry, two tree nodes,
  outbox row, head) written by SQLAlchemy Core in a transaction of the
  hub's engine setup, one entry per commit and four per commit; the same
  expressions run by ``cel`` on a context built once; the same schema
  checked by a compiled ``jsonschema_rs`` validator (which decides the hub's
  checks, :mod:`hub.domain.schemas`); the same payload signed
  as a compact ES256 JWS by ``cryptography`` alone.

The lowest floor of each part, summed, is what the evidence work costs at
the least with these libraries; :func:`evidence_floor_figures` adds it to
the web stack's measured floor and compares the sum with ``/healthz``.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import cel
import jsonschema_rs
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from sqlalchemy import Table, insert, select, update

from bench.databases import BenchDatabase, migrated, sqlite_database
from bench.evidence import AGENCY, EVIDENCE_TYPE, PURPOSE, hub_env, soap_envelopes
from bench.report import Figure, Target
from hub.app import build_services
from hub.auth.models import AgencyPrincipal
from hub.config import Settings
from hub.domain.expressions import Expression
from hub.domain.identity import CitizenRef
from hub.domain.mapping import lookup
from hub.evidence import service as evidence_module
from hub.evidence.models import EvidenceRequest
from hub.persistence.db import Database
from hub.persistence.models import AuditEntryRow, AuditHead, AuditNode
from hub.persistence.notification_models import OutboxRow
from hub.services import Services

__all__ = ["PartsResult", "evidence_floor_figures", "measure_parts", "parts_figures"]

SECTION = "evidence parts (1 thread)"
#: The web stack floor plus the work's floors, against 2.5 x /healthz (issue 18).
FLOOR_RATIO_TARGET = Target("≤ 2.5 × /healthz", "<=", 2.5, on="ratio")
#: Entries per commit for the grouped floor of the access log.
GROUP = 4


@dataclass(frozen=True, slots=True)
class PartsResult:
    """CPU per evidence request (ms) of the hub's parts and of their floors."""

    whole: float
    parts: dict[str, float]
    registry_calls: float
    floors: dict[str, float]

    def floor(self, client: str) -> float:
        """The least the evidence work costs per request with ``client`` for the registry calls.

        The access log's floor is the cheaper of one entry per commit and
        four per commit: under load the hub's group commit shares commits.
        """
        return (
            self.floors[client] * self.registry_calls
            + min(self.floors["log, one commit"], self.floors[f"log, {GROUP} per commit"])
            + self.floors["cel"]
            + self.floors["jsonschema"]
            + self.floors["jws"]
        )


#: The HTTP clients of the registry floors: the library the adapters use, and the least one.
FLOOR_CLIENTS = ("requests", "http.client")


def _best(action: Callable[[int], object], count: int, rounds: int = 3) -> float:
    """The least thread CPU per call (ms) over ``rounds`` rounds of ``count`` calls."""
    best = float("inf")
    for _ in range(rounds):
        began = time.thread_time()
        for number in range(count):
            action(number)
        best = min(best, (time.thread_time() - began) * 1000 / count)
    return best


class _Meter:
    """Thread CPU spent in wrapped callables during the current round."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.seen: dict[str, tuple[Any, ...]] = {}

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def metered(*args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.thread_time() - began
                self.calls[name] = self.calls.get(name, 0) + 1
                self.seen[name] = args

        return metered

    def reset(self) -> None:
        self.spent.clear()
        self.calls.clear()


@contextmanager
def _metered(services: Services, meter: _Meter) -> Iterator[None]:
    """The evidence service's parts wrapped by ``meter``, put back afterwards."""
    evidence = services.evidence
    wrapped: list[tuple[object, str]] = []
    for client in evidence.registries.values():
        setattr(client, "call", meter.wrap("registry", client.call))  # noqa: B010
        wrapped.append((client, "call"))
    for owner, name, label in (
        (evidence.access_log, "record", "access log"),
        (evidence, "_check_schema", "schema check"),
        (evidence.sealer, "seal", "seal"),
    ):
        setattr(owner, name, meter.wrap(label, getattr(owner, name)))
        wrapped.append((owner, name))
    original = evidence_module.apply_mapping
    evidence_module.apply_mapping = meter.wrap("mapping", original)  # type: ignore[assignment]
    try:
        yield
    finally:
        evidence_module.apply_mapping = original
        for owner, name in wrapped:
            delattr(owner, name)


def _request(afm: str) -> EvidenceRequest:
    return EvidenceRequest(
        citizen=CitizenRef("afm", afm),
        evidence_type=EVIDENCE_TYPE,
        purpose=PURPOSE,
        official="bench.runner",
        case_reference="BENCH-PARTS",
    )


def _hub_parts(
    services: Services, afms: list[str], count: int
) -> tuple[float, dict[str, float], float, _Meter]:
    principal = AgencyPrincipal(agency_id=AGENCY, purposes=(PURPOSE,), token_id="bench")  # noqa: S106 - an id
    evidence = services.evidence

    def one(number: int) -> object:
        return evidence.request(principal, _request(afms[number % len(afms)]))

    meter = _Meter()
    with _metered(services, meter):
        for number in range(min(count, 50)):
            one(number)
        best: tuple[float, dict[str, float], float] | None = None
        for _ in range(3):
            meter.reset()
            whole = _best(one, count, rounds=1)
            if best is None or whole < best[0]:
                parts = {name: spent * 1000 / count for name, spent in meter.spent.items()}
                best = (whole, parts, meter.calls.get("registry", 0) / count)
    if best is None:  # pragma: no cover - three rounds always run
        raise RuntimeError("no round ran")
    return (*best, meter)


def _registry_floors(endpoint: str, afms: list[str], count: int) -> dict[str, float]:
    headers, bodies = soap_envelopes(afms[:16])
    payloads = [body.encode() for body in bodies]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    target = urlsplit(endpoint)
    connection = http.client.HTTPConnection(target.hostname or "", target.port)
    path = target.path or "/"

    def stdlib(number: int) -> object:
        connection.request("POST", path, body=payloads[number % len(payloads)], headers=headers)
        return etree.fromstring(connection.getresponse().read(), parser)

    session = requests.Session()

    def plain_requests(number: int) -> object:
        answer = session.post(endpoint, data=payloads[number % len(payloads)], headers=headers)
        return etree.fromstring(answer.content, parser)

    try:
        return {
            "http.client": _best(stdlib, count),
            "requests": _best(plain_requests, count),
        }
    finally:
        connection.close()
        session.close()


def _log_floors(database: BenchDatabase, hub_db: Database, count: int) -> dict[str, float]:
    """The rows of one access-log entry written by SQLAlchemy Core alone."""
    entries = cast(Table, AuditEntryRow.__table__)
    nodes = cast(Table, AuditNode.__table__)
    head = cast(Table, AuditHead.__table__)
    outbox = cast(Table, OutboxRow.__table__)
    with hub_db.engine.connect() as connection:
        entry = dict(
            connection.execute(select(entries).order_by(entries.c.idx.desc())).mappings().first()
            or {}
        )
        message = dict(
            connection.execute(select(outbox).order_by(outbox.c.id.desc())).mappings().first() or {}
        )
    if not entry or not message:
        raise RuntimeError("the hub's run left no access-log entry or outbox row to copy")
    message.pop("id", None)
    migrated(database)
    db = Database(database.url)
    size = select(head.c.size).where(head.c.id == 1)
    set_size = update(head).where(head.c.id == 1)
    add_entries, add_nodes, add_messages = insert(entries), insert(nodes), insert(outbox)
    counter = iter(range(10**9))

    def append(entries_per_commit: int) -> Callable[[int], object]:
        def one(_number: int) -> object:
            with db.engine.begin() as connection:
                start = connection.scalar(size) or 0
                rows, tree, messages = [], [], []
                for _ in range(entries_per_commit):
                    index = next(counter)
                    rows.append({**entry, "idx": index})
                    tree += [
                        {"level": 0, "idx": index, "hash": entry["leaf_hash"]},
                        {"level": 1, "idx": index, "hash": entry["leaf_hash"]},
                    ]
                    messages.append({**message, "dedupe_key": f"bench-{index}"})
                connection.execute(add_entries, rows)
                connection.execute(add_nodes, tree)
                connection.execute(add_messages, messages)
                connection.execute(set_size, {"size": start + entries_per_commit})
            return start

        return one

    try:
        return {
            "log, one commit": _best(append(1), count),
            f"log, {GROUP} per commit": _best(append(GROUP), max(1, count // GROUP)) / GROUP,
        }
    finally:
        db.dispose()


def _expressions(rules: Mapping[str, Any]) -> Iterator[tuple[Any, Expression]]:
    """Each compiled expression of a mapping, with the rule it sits in."""
    for rule in rules.values():
        if isinstance(rule, Mapping):
            if isinstance(rule.get("expr"), Expression):
                yield rule, rule["expr"]
            if isinstance(rule.get("each"), Mapping):
                yield from _expressions(rule["each"])


def _library_floors(services: Services, meter: _Meter, count: int) -> dict[str, float]:
    evidence = services.evidence
    evidence_type = evidence.catalog.evidence_types[EVIDENCE_TYPE]
    mapping_args = meter.seen["mapping"]
    answers = mapping_args[1]
    # Each expression on a context built once, with the answers as the hub gives them.
    programs = []
    for rule, expression in _expressions(evidence_type.mapping):
        value = lookup(answers, str(rule["from"])) if "from" in rule else None
        context = cel.Context(
            {"value": value, "answers": dict(answers), "params": {}, "today": "2026-12-02"}
        )
        for name, function in _cel_functions().items():
            context.add_function(name, function)
        programs.append((expression._program, context))

    def cel_only(_number: int) -> object:
        return [program.execute(context) for program, context in programs]

    validator = jsonschema_rs.Draft202012Validator(dict(evidence_type.schema))
    shared = meter.seen["schema check"][1]

    payload = meter.seen["seal"][0]
    key = ec.generate_private_key(ec.SECP256R1())
    header = _b64(json.dumps({"alg": "ES256", "kid": "bench"}).encode())

    def jws(_number: int) -> object:
        body = header + b"." + _b64(json.dumps(payload, ensure_ascii=False).encode())
        r, s = decode_dss_signature(key.sign(body, ec.ECDSA(hashes.SHA256())))
        return body + b"." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    return {
        "cel": _best(cel_only, count) if programs else 0.0,
        "jsonschema": _best(lambda _n: validator.is_valid(shared), count),
        "jws": _best(jws, count),
    }


def _cel_functions() -> dict[str, Callable[..., Any]]:
    from hub.domain import expressions  # noqa: PLC0415 - the hub's own four functions

    return dict(expressions._FUNCTIONS)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def measure_parts(
    work: Path,
    keys_dir: Path,
    registry_urls: Mapping[str, str],
    afms: list[str],
    *,
    count: int,
) -> PartsResult:
    """The hub's evidence service and its library floors, in this process."""
    folder = work / "parts"
    folder.mkdir(parents=True, exist_ok=True)
    database = sqlite_database(folder, "hub")
    migrated(database)
    settings = Settings.from_env(hub_env(database.url, keys_dir, registry_urls))
    services = build_services(settings)
    try:
        whole, parts, calls, meter = _hub_parts(services, afms, count)
        floors = _registry_floors(registry_urls["population"], afms, count)
        floors |= _log_floors(sqlite_database(folder, "floor"), services.db, count)
        floors |= _library_floors(services, meter, count)
    finally:
        services.close()
    return PartsResult(whole=whole, parts=parts, registry_calls=calls, floors=floors)


def parts_figures(result: PartsResult) -> list[Figure]:
    """Each part of the hub's evidence work against the library doing it alone."""
    floors, parts = result.floors, result.parts
    calls = result.registry_calls
    registry = f"registry calls ({calls:.0f} per request)"
    rows = [
        (
            "evidence service, whole",
            result.whole,
            "library floors summed, requests",
            result.floor("requests"),
        ),
        (
            "evidence service, whole",
            result.whole,
            "library floors summed, http.client",
            result.floor("http.client"),
        ),
        (
            registry,
            parts.get("registry"),
            "same POST + lxml parse, http.client",
            floors["http.client"] * calls,
        ),
        (
            registry,
            parts.get("registry"),
            "same POST + lxml parse, plain requests.Session",
            floors["requests"] * calls,
        ),
        (
            "access-log entry, one commit",
            parts.get("access log"),
            "same rows, SQLAlchemy Core, one commit",
            floors["log, one commit"],
        ),
        (
            "access-log entry, one commit",
            parts.get("access log"),
            f"same rows, SQLAlchemy Core, {GROUP} per commit",
            floors[f"log, {GROUP} per commit"],
        ),
        ("mapping", parts.get("mapping"), "same CEL programs, context built once", floors["cel"]),
        (
            "schema check",
            parts.get("schema check"),
            "compiled jsonschema_rs validator alone",
            floors["jsonschema"],
        ),
        (
            "seal (ES256 JWS)",
            parts.get("seal"),
            "same payload, cryptography ES256 alone",
            floors["jws"],
        ),
    ]
    return [
        Figure(SECTION, name, value, "ms", floor_name, floor)
        for name, value, floor_name, floor in rows
        if value is not None
    ]


def evidence_floor_figures(
    result: PartsResult, floor_figures: list[Figure], label: str
) -> list[Figure]:
    """The web stack's floor plus the work's floors, against ``/healthz``, per concurrency.

    Once with registry calls at the floor of ``requests`` (the library the
    adapters are built on) and once at the floor of ``http.client``.
    """
    figures: list[Figure] = []
    for figure in floor_figures:
        if (
            figure.name != "hub CPU per no-op evidence"
            or figure.floor_name != "hub CPU per /healthz"
        ):
            continue
        if figure.value is None or figure.floor is None:
            continue
        concurrency = figure.section.rsplit("c=", 1)[-1]
        for client in FLOOR_CLIENTS:
            work = result.floor(client)
            figures.append(
                replace(
                    figure,
                    section=f"evidence floor {label} c={concurrency}",
                    name=f"no-op hub + floors of the evidence work ({client})",
                    value=figure.value + work,
                    target=FLOOR_RATIO_TARGET,
                    note=(
                        f"no-op hub {figure.value:.2f} ms (c={concurrency}) + the work's floors "
                        f"{work:.2f} ms (one thread, registry calls by {client})"
                    ),
                )
            )
    return figures
