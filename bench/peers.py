"""The hub while one registry dribbles its headers, against the same with it healthy.

A registry that sends ``HTTP/1.1 200 OK`` and then one header byte every
half second once froze the whole hub: its calls held every worker thread,
so ``/healthz`` and the healthy registries waited behind it. This line shows
that it no longer does, as ratios taken in one run.

The land registry is reached through a relay on 127.0.0.1
(:class:`tests.common.peers.HostilePeer`) in front of the sandbox's. Two
phases run the same three loads at once, each in its own load process:

* ``GET /healthz`` (2 in flight): the hub's liveness;
* family-status evidence (16 in flight): a request served by the healthy
  population registry;
* property-ownership evidence (40 in flight): a request to the land
  registry.

In the first phase the relay passes bytes through (land is healthy); in the
second it dribbles headers on every new connection. The figures are the
second phase's ``/healthz`` latency and healthy-registry throughput, each
against the first's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._load import LoadResult, LoadSpec
from bench._procs import hub_process, sandbox_process
from bench.config import BenchConfig
from bench.databases import BenchDatabase
from bench.evidence import PURPOSE, _citizens, agency_token, hub_env, run_load
from bench.report import Figure, Target
from tests.common.peers import HostilePeer, Mode

__all__ = ["measure_dribbling_registry"]

HEALTHZ_CONCURRENCY = 2
HEALTHY_CONCURRENCY = 16
BAD_CONCURRENCY = 40

HEALTHZ_TARGET = Target("< 1000 ms", "<=", 1000.0)
THROUGHPUT_TARGET = Target("≥ 0.5 × land healthy", ">=", 0.5, on="ratio")


def _bodies(afms: list[str], evidence_type: str) -> list[str]:
    return [
        json.dumps({"citizen": {"afm": afm}, "evidence_type": evidence_type, "purpose": PURPOSE})
        for afm in afms
    ]


def _phase(
    config: BenchConfig, url: str, token: str, afms: list[str]
) -> tuple[LoadResult, LoadResult, LoadResult]:
    """The three loads at once; their results in order: healthz, healthy, bad."""
    post = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def spec(path: str, concurrency: int, evidence_type: str | None = None) -> LoadSpec:
        return LoadSpec(
            url=url + path,
            method="POST" if evidence_type else "GET",
            headers=post if evidence_type else {},
            bodies=_bodies(afms, evidence_type) if evidence_type else [],
            concurrency=concurrency,
            warmup=config.http_warmup,
            duration=config.http_duration,
            max_requests=config.http_max_requests,
        )

    specs = (
        spec("/healthz", HEALTHZ_CONCURRENCY),
        spec("/v1/evidence", HEALTHY_CONCURRENCY, "family-status"),
        spec("/v1/evidence", BAD_CONCURRENCY, "property-ownership"),
    )
    with ThreadPoolExecutor(len(specs)) as pool:
        healthz, healthy, bad = pool.map(run_load, specs)
    return healthz, healthy, bad


def measure_dribbling_registry(
    config: BenchConfig, work: Path, keys_dir: Path, database: BenchDatabase
) -> list[Figure]:
    """Both phases on one hub; the figures of the second against the first."""
    afms = _citizens(config.sandbox_size, config.sandbox_seed)
    results: dict[Mode, tuple[LoadResult, LoadResult, LoadResult]] = {}
    with (
        sandbox_process(work, size=config.sandbox_size, seed=config.sandbox_seed) as (_, urls),
        HostilePeer("proxy", upstream=urls["land"]) as peer,
    ):
        registries: Mapping[str, str] = {**urls, "land": peer.url}
        with hub_process(work, hub_env(database.url, keys_dir, registries), name="hub-peers") as (
            _,
            url,
        ):
            token = agency_token(url, keys_dir)
            for mode in ("proxy", "dribble-headers"):
                peer.set_mode(mode)
                results[mode] = _phase(config, url, token, afms)
    return _figures(results["proxy"], results["dribble-headers"])


def _figures(
    calm: tuple[LoadResult, LoadResult, LoadResult],
    dribbling: tuple[LoadResult, LoadResult, LoadResult],
) -> list[Figure]:
    section = f"land dribbles c={BAD_CONCURRENCY}+{HEALTHY_CONCURRENCY}"
    (healthz0, healthy0, bad0), (healthz1, healthy1, bad1) = calm, dribbling
    note = (
        f"land answers while healthy {bad0.statuses}, while dribbling {bad1.statuses}; "
        f"healthy-registry errors {healthy0.errors} → {healthy1.errors}"
    )
    return [
        Figure(
            section,
            "/healthz p50",
            healthz1.latency.p50_ms,
            "ms",
            "/healthz p50, land healthy",
            healthz0.latency.p50_ms,
        ),
        Figure(
            section,
            "/healthz p99",
            healthz1.latency.p99_ms,
            "ms",
            "/healthz p99, land healthy",
            healthz0.latency.p99_ms,
        ),
        Figure(
            section,
            "/healthz max",
            healthz1.latency.max_ms,
            "ms",
            "/healthz max, land healthy",
            healthz0.latency.max_ms,
            target=HEALTHZ_TARGET,
        ),
        Figure(
            section,
            "healthy-registry evidence throughput",
            healthy1.throughput,
            "req/s",
            "same, land healthy",
            healthy0.throughput,
            target=THROUGHPUT_TARGET,
            note=note,
        ),
        Figure(
            section,
            "healthy-registry evidence p99",
            healthy1.latency.p99_ms,
            "ms",
            "same, land healthy",
            healthy0.latency.p99_ms,
        ),
    ]
