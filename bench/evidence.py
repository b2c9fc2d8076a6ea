"""Evidence requests through the hub against the registry called directly.

The hub runs as ``python -m hub serve`` in its own process, the sandbox
registries in another, the load generator in a third. For each concurrency
three loads run back to back, all closed-loop from the same client:

* the *direct* floor: the population registry's ``GetFamilyStatus`` SOAP
  call, posted straight to the sandbox with the very envelope zeep builds
  for the hub (prebuilt, so the client does no XML work);
* the *bare* floor: ``GET /healthz`` on the same hub server, which is the
  cost of the web stack alone;
* the measured load: ``POST /v1/evidence`` for a family-status certificate
  with a real agency token, which makes the hub authenticate, check the
  purpose, call that same registry operation, map, minimise, seal (JWS)
  and durably log the access before answering.

The hub's CPU per request is read from ``/proc`` over exactly the measured
window; the registry runs in another process, so its CPU is not in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import requests
import zeep
from lxml import etree

from adapters.sandbox.runner import sample_citizens
from bench._load import LoadResult, LoadSpec
from bench._procs import Process, hub_process
from bench.config import BenchConfig
from bench.databases import BenchDatabase
from bench.report import Figure, Target
from hub.auth.agency_keys import load_agency_private_key
from hub.cli.token import client_assertion
from hub.config import default_specs_dir

__all__ = ["EvidenceBench", "hub_env"]

AGENCY = "opeka"
PURPOSE = "social-benefit-eligibility"
EVIDENCE_TYPE = "family-status"
OPERATION = "GetFamilyStatus"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

THROUGHPUT_TARGET = Target("≥ 0.40 × direct", ">=", 0.40, on="ratio")
CPU_TARGET = Target("< 1 ms", "<=", 1.0)
# Issue 18: the evidence path at the cost of the stack beneath it.
CPU_RATIO_TARGET = Target("≤ 2.5 × /healthz", "<=", 2.5, on="ratio")
HEALTHZ_SHARE_TARGETS = {
    16: Target("≥ 0.35 × /healthz", ">=", 0.35, on="ratio"),
    64: Target("≥ 0.30 × /healthz", ">=", 0.30, on="ratio"),
}
P99_TARGET = Target("p99 ≤ 3 × p50", "<=", 3.0, on="ratio")


def hub_env(
    database_url: str, keys_dir: Path, registry_urls: Mapping[str, str], workers: int = 1
) -> dict[str, str]:
    """The environment of a hub child: this run's database, keys and registries only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_ENV": "development",
            "HUB_DATABASE_URL": database_url,
            "HUB_KEYS_DIR": str(keys_dir),
            "HUB_LOG_LEVEL": "INFO",
            "HUB_ACCESS_TOKEN_TTL": "3600",
            "HUB_WORKERS": str(workers),
        }
    )
    for registry, url in registry_urls.items():
        env[f"HUB_REGISTRY_URL_{registry.upper().replace('-', '_')}"] = url
    return env


def run_load(spec: LoadSpec) -> LoadResult:
    """Run one load in a child process and read its result."""
    done = subprocess.run(  # our own interpreter and module, input on stdin
        [sys.executable, "-m", "bench._load"],
        input=json.dumps(asdict(spec)).encode(),
        capture_output=True,
        timeout=spec.warmup + spec.duration + 120,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr.decode(errors='replace')}")
    return LoadResult.from_json(json.loads(done.stdout))


def agency_token(hub_url: str, keys_dir: Path, agency_id: str = AGENCY) -> str:
    """An access token obtained as an agency would: a signed client assertion."""
    kid, key = load_agency_private_key(keys_dir, agency_id)
    endpoint = f"{hub_url}/oauth2/token"
    answer = requests.post(
        endpoint,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(agency_id, endpoint, kid, key),
        },
        timeout=10,
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def _citizens(size: int, seed: int, count: int = 64) -> list[str]:
    """AFMs of living citizens of the sandbox population, to spread the load."""
    found = [c["afm"] for c in sample_citizens(size, seed, count * 2) if not c["deceased"]]
    if not found:
        raise RuntimeError("the sandbox population has no living sample citizens")
    return found[:count]


def soap_envelopes(afms: list[str]) -> tuple[dict[str, str], list[str]]:
    """The headers and the bodies zeep builds for ``GetFamilyStatus``, one per AFM."""
    wsdl = default_specs_dir() / "registries" / "population.wsdl"
    client = zeep.Client(str(wsdl))  # type: ignore[no-untyped-call]
    binding = client.service._binding
    bodies: list[str] = []
    headers: dict[str, str] = {}
    for afm in afms:
        envelope, headers = binding._create(OPERATION, (), {"afm": afm}, client=client)
        bodies.append(etree.tostring(envelope, xml_declaration=True, encoding="utf-8").decode())
    return dict(headers), bodies


@dataclass(frozen=True, slots=True)
class _Floors:
    """The direct registry figures for one concurrency."""

    direct: LoadResult


class EvidenceBench:
    """The HTTP figures; the sandbox runs for the whole of it, hubs come and go."""

    def __init__(
        self,
        config: BenchConfig,
        work: Path,
        keys_dir: Path,
        sandbox: Process,
        registry_urls: Mapping[str, str],
    ) -> None:
        self.config = config
        self.work = work
        self.keys_dir = keys_dir
        self.sandbox = sandbox
        self.registry_urls = dict(registry_urls)
        self.afms = _citizens(config.sandbox_size, config.sandbox_seed)
        self._floors: dict[int, _Floors] = {}
        #: Per concurrency: the no-op hub's (evidence, /healthz) loads of :meth:`measure_floor`.
        self._noop: dict[int, tuple[LoadResult, LoadResult]] = {}
        #: Per database label and concurrency: the 1-worker (evidence, /healthz) loads.
        self._single: dict[str, dict[int, tuple[LoadResult, LoadResult]]] = {}
        self.raw: list[dict[str, Any]] = []

    def _spec(self, url: str, concurrency: int, **kwargs: Any) -> LoadSpec:
        return LoadSpec(
            url=url,
            concurrency=concurrency,
            warmup=self.config.http_warmup,
            duration=self.config.http_duration,
            max_requests=self.config.http_max_requests,
            **kwargs,
        )

    def _record(self, label: str, concurrency: int, result: LoadResult) -> LoadResult:
        self.raw.append({"load": label, "concurrency": concurrency, **asdict(result)})
        if result.errors:
            print(
                f"  {label} c={concurrency}: {result.errors} errors {result.statuses} "
                f"{result.first_error or ''}",
                flush=True,
            )
        return result

    def direct(self, concurrency: int) -> LoadResult:
        """The registry called directly: measured once per concurrency, reused."""
        if concurrency not in self._floors:
            headers, bodies = soap_envelopes(self.afms)
            spec = self._spec(
                self.registry_urls["population"].rstrip("/") + "/",
                concurrency,
                method="POST",
                headers=headers,
                bodies=bodies,
                cpu_pids={"registry": self.sandbox.pid},
            )
            self._floors[concurrency] = _Floors(self._record("direct", concurrency, run_load(spec)))
        return self._floors[concurrency].direct

    @contextmanager
    def hub(self, database: BenchDatabase, workers: int = 1) -> Iterator[tuple[Process, str]]:
        env = hub_env(database.url, self.keys_dir, self.registry_urls, workers)
        name = f"hub-{database.label.lower()}-{workers}w"
        with hub_process(self.work, env, name=name) as running:
            yield running

    def evidence_bodies(self) -> list[str]:
        return [
            json.dumps(
                {
                    "citizen": {"afm": afm},
                    "evidence_type": EVIDENCE_TYPE,
                    "purpose": PURPOSE,
                    "official": "bench.runner",
                    "case_reference": f"BENCH-{uuid.uuid4().hex[:8]}",
                }
            )
            for afm in self.afms
        ]

    def evidence_spec(self, url: str, token: str, concurrency: int, **kwargs: Any) -> LoadSpec:
        """The evidence load on the hub at ``url``, as agency ``token``."""
        return self._spec(
            f"{url}/v1/evidence",
            concurrency,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            bodies=self.evidence_bodies(),
            **kwargs,
        )

    def _evidence_load(
        self, url: str, token: str, concurrency: int, pids: dict[str, int], label: str
    ) -> LoadResult:
        spec = self.evidence_spec(url, token, concurrency, cpu_pids=pids)
        return self._record(label, concurrency, run_load(spec))

    def measure(self, database: BenchDatabase) -> list[Figure]:
        """Every HTTP figure on one database: one worker in full, then two workers."""
        figures: list[Figure] = []
        label = database.label
        single: dict[int, tuple[LoadResult, LoadResult]] = {}
        with self.hub(database) as (hub, url):
            token = agency_token(url, self.keys_dir)
            pids = {"hub": hub.pid, "registry": self.sandbox.pid}
            for concurrency in self.config.concurrencies:
                direct = self.direct(concurrency)
                bare = self._record(
                    f"healthz-{label}",
                    concurrency,
                    run_load(self._spec(f"{url}/healthz", concurrency, cpu_pids=pids)),
                )
                evidence = self._evidence_load(url, token, concurrency, pids, f"evidence-{label}")
                single[concurrency] = (evidence, bare)
                figures += _figures(label, concurrency, evidence, direct, bare)
        self._single[label] = single
        # The same loads with two worker processes (CPU read over the
        # supervisor and its workers), against one worker of the same run.
        with self.hub(database, workers=2) as (hub, url):
            token = agency_token(url, self.keys_dir)
            pids = {"hub": hub.pid, "registry": self.sandbox.pid}
            for concurrency in self.config.concurrencies:
                bare = self._record(
                    f"healthz-{label}-2w",
                    concurrency,
                    run_load(self._spec(f"{url}/healthz", concurrency, cpu_pids=pids)),
                )
                evidence = self._evidence_load(
                    url, token, concurrency, pids, f"evidence-{label}-2w"
                )
                evidence_1w, bare_1w = single[concurrency]
                figures += _worker_figures(
                    label,
                    concurrency,
                    evidence=evidence,
                    bare=bare,
                    evidence_1w=evidence_1w,
                    bare_1w=bare_1w,
                )
        return figures

    def measure_floor(self, database: BenchDatabase) -> list[Figure]:
        """The evidence endpoint with a no-op evidence service (``bench._floor_hub``).

        Run after :meth:`measure` on the same database: the hub's own app, its
        validation and security, answering a canned real answer; once with
        response validation as the hub has it, once without.
        """
        env = hub_env(database.url, self.keys_dir, self.registry_urls)
        label = database.label
        loads: dict[bool, dict[int, tuple[LoadResult, LoadResult | None]]] = {}
        for validated in (True, False):
            prefix: tuple[str, ...] = ("-m", "bench._floor_hub")
            if not validated:
                prefix += ("--no-response-validation",)
            name = f"floor-hub-{label.lower()}{'' if validated else '-unvalidated'}"
            with hub_process(self.work, env, name=name, argv_prefix=prefix) as (hub, url):
                token = agency_token(url, self.keys_dir)
                pids = {"hub": hub.pid}
                loads[validated] = {}
                for concurrency in self.config.concurrencies:
                    bare = None
                    if validated:
                        bare = self._record(
                            f"healthz-{name}",
                            concurrency,
                            run_load(self._spec(f"{url}/healthz", concurrency, cpu_pids=pids)),
                        )
                    noop = self._evidence_load(url, token, concurrency, pids, f"noop-{name}")
                    loads[validated][concurrency] = (noop, bare)
        figures: list[Figure] = []
        for concurrency in self.config.concurrencies:
            noop, bare = loads[True][concurrency]
            unvalidated, _ = loads[False][concurrency]
            evidence, _ = self._single[label][concurrency]
            if bare is None:  # pragma: no cover - measured above whenever validated
                raise RuntimeError("the floor hub's /healthz was not measured")
            self._noop[concurrency] = (noop, bare)
            figures += floor_figures(
                label, concurrency, noop=noop, unvalidated=unvalidated, bare=bare, evidence=evidence
            )
        return figures

    def measure_registry_io(self, database: BenchDatabase) -> list[Figure]:
        """The no-op hub plus one real registry call per request, made four ways.

        Run after :meth:`measure_floor`, against its no-op loads and
        ``/healthz``: the call by the hub's own client in the worker thread
        (as the hub makes it), by a plain ``requests.Session`` and by
        ``http.client`` in the same thread, and by aiohttp on the event loop
        with no worker thread (``bench._floor_hub --registry``, :data:`REGISTRY_IO`).
        """
        env = hub_env(database.url, self.keys_dir, self.registry_urls)
        figures: list[Figure] = []
        for how in REGISTRY_IO:
            prefix = ("-m", "bench._floor_hub", "--registry", how)
            name = f"floor-hub-registry-{how}"
            with hub_process(self.work, env, name=name, argv_prefix=prefix) as (hub, url):
                token = agency_token(url, self.keys_dir)
                for concurrency in self.config.concurrencies:
                    noop, bare = self._noop[concurrency]
                    load = self._evidence_load(
                        url, token, concurrency, {"hub": hub.pid}, f"noop-{name}"
                    )
                    figures += registry_io_figures(
                        database.label, concurrency, how=how, load=load, noop=noop, bare=bare
                    )
        return figures


def _cpu_per_healthz(
    section: str, measure: str, value: float | None, bare: LoadResult, **kwargs: Any
) -> Figure:
    """A CPU figure (ms per request) read against the hub's CPU per ``/healthz``."""
    return Figure(
        section,
        measure,
        value,
        "ms",
        "hub CPU per /healthz",
        bare.cpu_ms_per_request("hub"),
        **kwargs,
    )


#: How the registry call of ``bench._floor_hub --registry`` is made, and what the bench calls it.
REGISTRY_IO = {
    "thread": "the hub's client (requests) in the worker thread",
    "requests": "a plain requests.Session in the worker thread",
    "plain": "http.client in the worker thread",
    "loop": "aiohttp on the event loop, no worker thread",
}


def registry_io_figures(
    label: str,
    concurrency: int,
    *,
    how: str,
    load: LoadResult,
    noop: LoadResult,
    bare: LoadResult,
) -> list[Figure]:
    """The no-op hub with one registry call made ``how``, against ``/healthz`` and the no-op."""
    section = f"evidence registry I/O {label} c={concurrency}"
    cpu, floor = load.cpu_ms_per_request("hub"), noop.cpu_ms_per_request("hub")
    call = None if cpu is None or floor is None else cpu - floor
    note = f"errors: {load.errors}; the registry call by {REGISTRY_IO[how]}"
    return [
        _cpu_per_healthz(
            section,
            f"hub CPU per no-op evidence + registry call ({how})",
            cpu,
            bare,
            target=CPU_RATIO_TARGET,
            note=note,
        ),
        _cpu_per_healthz(
            section,
            f"hub CPU of the registry call in the server ({how})",
            call,
            bare,
            note="the no-op hub with the call, less the no-op hub without it",
        ),
        Figure(
            section,
            f"no-op evidence + registry call throughput ({how})",
            load.throughput,
            "req/s",
            "hub GET /healthz",
            bare.throughput,
            target=HEALTHZ_SHARE_TARGETS.get(concurrency),
        ),
    ]


def floor_figures(
    label: str,
    concurrency: int,
    *,
    noop: LoadResult,
    unvalidated: LoadResult,
    bare: LoadResult,
    evidence: LoadResult,
) -> list[Figure]:
    """The evidence endpoint's floor against /healthz and against the real request."""
    section = f"evidence floor {label} c={concurrency}"
    note = (
        f"errors: no-op {noop.errors}, unvalidated {unvalidated.errors}, "
        f"healthz {bare.errors}; /healthz of the no-op hub's own process"
    )
    return [
        _cpu_per_healthz(
            section,
            "hub CPU per no-op evidence",
            noop.cpu_ms_per_request("hub"),
            bare,
            target=CPU_RATIO_TARGET,
            note=note,
        ),
        Figure(
            section,
            "hub CPU per evidence request",
            evidence.cpu_ms_per_request("hub"),
            "ms",
            "hub CPU per no-op evidence",
            noop.cpu_ms_per_request("hub"),
            note="the real request (1 worker, same database) over its floor",
        ),
        Figure(
            section,
            "hub CPU per no-op evidence",
            noop.cpu_ms_per_request("hub"),
            "ms",
            "same, responses unvalidated",
            unvalidated.cpu_ms_per_request("hub"),
            note="what connexion's response validation adds (the hub keeps it on)",
        ),
        _cpu_per_healthz(
            section,
            "hub CPU per no-op evidence, responses unvalidated",
            unvalidated.cpu_ms_per_request("hub"),
            bare,
        ),
        Figure(
            section,
            "no-op evidence throughput",
            noop.throughput,
            "req/s",
            "hub GET /healthz",
            bare.throughput,
            target=HEALTHZ_SHARE_TARGETS.get(concurrency),
        ),
        Figure(
            section,
            "evidence throughput",
            evidence.throughput,
            "req/s",
            "no-op evidence throughput",
            noop.throughput,
        ),
        Figure(
            section,
            "no-op evidence throughput, responses unvalidated",
            unvalidated.throughput,
            "req/s",
            "hub GET /healthz",
            bare.throughput,
        ),
    ]


def _worker_figures(
    label: str,
    concurrency: int,
    *,
    evidence: LoadResult,
    bare: LoadResult,
    evidence_1w: LoadResult,
    bare_1w: LoadResult,
) -> list[Figure]:
    section = f"evidence {label} c={concurrency}, 2 workers"
    return [
        Figure(
            section,
            "evidence throughput, 2 workers",
            evidence.throughput,
            "req/s",
            "evidence throughput, 1 worker",
            evidence_1w.throughput,
            note=f"errors: evidence {evidence.errors}, healthz {bare.errors}",
        ),
        Figure(
            section,
            "evidence throughput, 2 workers",
            evidence.throughput,
            "req/s",
            "hub GET /healthz, 2 workers",
            bare.throughput,
            target=HEALTHZ_SHARE_TARGETS.get(concurrency),
        ),
        Figure(
            section,
            "GET /healthz, 2 workers",
            bare.throughput,
            "req/s",
            "GET /healthz, 1 worker",
            bare_1w.throughput,
        ),
        Figure(
            section,
            "evidence p99, 2 workers",
            evidence.latency.p99_ms,
            "ms",
            "evidence p50, 2 workers",
            evidence.latency.p50_ms,
            target=P99_TARGET if concurrency >= 64 else None,
        ),
        Figure(
            section,
            "hub CPU per evidence request, 2 workers",
            evidence.cpu_ms_per_request("hub"),
            "ms",
            "hub CPU per /healthz, 2 workers",
            bare.cpu_ms_per_request("hub"),
            target=CPU_RATIO_TARGET,
            note="supervisor and workers; the registry runs in another process",
        ),
    ]


def _figures(
    label: str, concurrency: int, evidence: LoadResult, direct: LoadResult, bare: LoadResult
) -> list[Figure]:
    section = f"evidence {label} c={concurrency}"
    note = f"errors: evidence {evidence.errors}, direct {direct.errors}, healthz {bare.errors}"
    return [
        Figure(
            section,
            "evidence throughput",
            evidence.throughput,
            "req/s",
            "registry direct",
            direct.throughput,
            target=THROUGHPUT_TARGET,
            note=note,
        ),
        Figure(
            section,
            "evidence throughput",
            evidence.throughput,
            "req/s",
            "hub GET /healthz",
            bare.throughput,
            target=HEALTHZ_SHARE_TARGETS.get(concurrency),
        ),
        Figure(
            section,
            "evidence p50",
            evidence.latency.p50_ms,
            "ms",
            "registry direct p50",
            direct.latency.p50_ms,
        ),
        Figure(
            section,
            "evidence p99",
            evidence.latency.p99_ms,
            "ms",
            "registry direct p99",
            direct.latency.p99_ms,
        ),
        Figure(
            section,
            "evidence p50",
            evidence.latency.p50_ms,
            "ms",
            "hub /healthz p50",
            bare.latency.p50_ms,
        ),
        Figure(
            section,
            "evidence p99",
            evidence.latency.p99_ms,
            "ms",
            "evidence p50",
            evidence.latency.p50_ms,
            target=P99_TARGET if concurrency >= 64 else None,
        ),
        _cpu_per_healthz(
            section,
            "hub CPU per evidence request",
            evidence.cpu_ms_per_request("hub"),
            bare,
            target=CPU_RATIO_TARGET,
            note="hub process only; the registry runs in another process",
        ),
        Figure(
            section,
            "hub CPU per evidence request",
            evidence.cpu_ms_per_request("hub"),
            "ms",
            "",
            None,
            target=CPU_TARGET,
        ),
        Figure(
            section,
            "registry CPU per evidence request",
            evidence.cpu_ms_per_request("registry"),
            "ms",
            "registry CPU per direct call",
            direct.cpu_ms_per_request("registry"),
        ),
    ]


@contextmanager
def one_hub(
    concurrency: int,
    seconds: float,
    *,
    name: str = "hub",
    argv_prefix: tuple[str, ...] = ("-m", "hub"),
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[EvidenceBench, Process, str, str]]:
    """One hub on a fresh SQLite database beside the sandbox, for a single load.

    Yields the bench (its loads last ``seconds`` after a one-second warm-up),
    the hub's process, its URL and an agency's access token. The profiler
    and ``bench.threads`` use it; ``argv_prefix`` starts another wrapper of
    ``serve`` (the profiled hub, the no-op floor hub) and ``env`` adds to
    the hub's environment.
    """
    from bench._procs import sandbox_process  # noqa: PLC0415 - with its callers
    from bench.databases import migrated, sqlite_database  # noqa: PLC0415
    from hub.cli.keys import ensure_keys  # noqa: PLC0415
    from hub.config import Settings  # noqa: PLC0415

    config = replace(
        BenchConfig.full(),
        concurrencies=(concurrency,),
        http_warmup=1.0,
        http_duration=seconds,
    )
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
        work = Path(tmp)
        keys = work / "keys"
        ensure_keys(Settings.for_tests(work, keys_dir=keys))
        database = sqlite_database(work)
        migrated(database)
        with sandbox_process(work, size=config.sandbox_size, seed=config.sandbox_seed) as (
            sandbox,
            urls,
        ):
            bench = EvidenceBench(config, work, keys, sandbox, urls)
            hub_environment = hub_env(database.url, keys, urls) | dict(env or {})
            with hub_process(work, hub_environment, name=name, argv_prefix=argv_prefix) as (
                hub,
                url,
            ):
                yield bench, hub, url, agency_token(url, keys)
