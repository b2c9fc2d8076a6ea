"""The registry I/O rows: the call's CPU in the server is the variant less the no-op hub."""

from __future__ import annotations

import pytest

from bench._load import LoadResult
from bench.evidence import CPU_RATIO_TARGET, registry_io_figures
from bench.stats import LatencySummary


def _load(requests: int, cpu_seconds: float | None, seconds: float = 2.0) -> LoadResult:
    return LoadResult(
        requests=requests,
        errors=0,
        seconds=seconds,
        latency=LatencySummary(requests, 1.0, 1.0, 2.0, 3.0),
        statuses={"200": requests},
        cpu_seconds={} if cpu_seconds is None else {"hub": cpu_seconds},
    )


def test_each_row_is_read_against_its_own_floor() -> None:
    load = _load(1000, 2.0)  # 2 ms a request, 500 req/s
    noop = _load(2000, 1.5)  # 0.75 ms a request
    bare = _load(4000, 2.0)  # 0.5 ms a request, 2,000 req/s
    whole, call, throughput = registry_io_figures(
        "SQLite", 16, how="loop", load=load, noop=noop, bare=bare
    )
    assert whole.value == pytest.approx(2.0)
    assert whole.ratio == pytest.approx(4.0)
    assert whole.target == CPU_RATIO_TARGET
    assert call.value == pytest.approx(1.25)
    assert call.ratio == pytest.approx(2.5)
    assert throughput.ratio == pytest.approx(0.25)
    assert "aiohttp" in whole.note
    assert all(f.section == "evidence registry I/O SQLite c=16" for f in (whole, call, throughput))


def test_a_load_without_cpu_figures_leaves_the_call_unmeasured() -> None:
    _, call, _ = registry_io_figures(
        "SQLite", 64, how="thread", load=_load(10, None), noop=_load(10, 0.01), bare=_load(10, 0.01)
    )
    assert call.value is None
