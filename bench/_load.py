"""Child process: a closed-loop HTTP load on one loopback URL, bounded in time and count.

The parent writes a JSON :class:`LoadSpec` to stdin; this process keeps
``concurrency`` requests in flight (each of as many keep-alive connections
sends its next request when the previous one is answered), discards a
warm-up, measures for ``duration`` seconds, and writes a JSON
:class:`LoadResult` to stdout. It also reads the CPU time of the processes
named in ``cpu_pids`` at the start and end of the measured window, so the
CPU figures cover exactly the requests counted.

The client runs in its own process so its CPU is not the hub's or the
registry's, and speaks HTTP/1.1 itself over asyncio streams (on uvloop when
installed) with prebuilt request bytes: on a two-core machine aiohttp spent
about 0.2 ms of CPU per request here, enough to cap the floors it measures,
while this costs a fraction of that. It talks to our own servers only, so
it needs no more of the protocol than they use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench._procs import LOOPBACK, cpu_seconds
from bench.stats import LatencySummary, per_second, summarise

__all__ = ["LoadResult", "LoadSpec", "run_load"]

#: No run may last longer than its warm-up plus its duration plus this.
_GRACE = 30.0
#: No single request may take longer than this.
_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What to send, how hard and for how long."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    bodies: list[str] = field(default_factory=list)
    concurrency: int = 16
    warmup: float = 1.0
    duration: float = 5.0
    max_requests: int = 1_000_000
    expect_status: int = 200
    cpu_pids: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        if urlsplit(self.url).hostname != LOOPBACK:
            raise ValueError(f"the load goes to {LOOPBACK} only, not {self.url}")
        if not 1 <= self.concurrency <= 1024:
            raise ValueError("concurrency must be between 1 and 1024")
        if self.duration <= 0 or self.warmup < 0 or self.max_requests < 1:
            raise ValueError("duration and max_requests must be positive")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What the measured window saw."""

    requests: int
    errors: int
    seconds: float
    latency: LatencySummary
    statuses: dict[str, int]
    cpu_seconds: dict[str, float]
    first_error: str | None = None

    @property
    def throughput(self) -> float:
        return per_second(self.requests, self.seconds)

    def cpu_ms_per_request(self, name: str) -> float | None:
        spent = self.cpu_seconds.get(name)
        if spent is None or not self.requests:
            return None
        return spent * 1000.0 / self.requests

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadResult:
        return cls(
            requests=int(data["requests"]),
            errors=int(data["errors"]),
            seconds=float(data["seconds"]),
            latency=LatencySummary(**data["latency"]),
            statuses={str(k): int(v) for k, v in data["statuses"].items()},
            cpu_seconds={str(k): float(v) for k, v in data["cpu_seconds"].items()},
            first_error=data.get("first_error"),
        )


class _Window:
    """The measured window, opened after the warm-up and closed after the duration."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.open_at = float("inf")
        self.close_at = float("inf")
        self.cpu_start: dict[str, float] = {}
        self.cpu_end: dict[str, float] = {}

    def _cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()} | {
            "client": time.process_time()
        }

    def open(self) -> None:
        self.cpu_start = self._cpu()
        self.open_at = time.perf_counter()

    def close(self) -> None:
        self.close_at = time.perf_counter()
        self.cpu_end = self._cpu()

    def cpu_spent(self) -> dict[str, float]:
        return {k: self.cpu_end[k] - self.cpu_start[k] for k in self.cpu_end if k in self.cpu_start}


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol.

    Requests are prebuilt bytes; an answer is read by its ``Content-Length``
    or its chunks. A closed or broken connection is reopened by the caller.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = -1
        chunked = close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length >= 0:
            await reader.readexactly(length)
        else:
            await reader.read()
            close = True
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def build_request(spec: LoadSpec, body: bytes | None) -> bytes:
    """The bytes of one HTTP/1.1 request of ``spec`` carrying ``body``."""
    parts = urlsplit(spec.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{spec.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in spec.headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


class _Tally:
    """What the workers saw inside the measured window."""

    def __init__(self, window: _Window, expect_status: int) -> None:
        self.window = window
        self.expect = expect_status
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors = 0
        self.first_error: str | None = None
        self.sent = 0

    def add(self, began: float, ended: float, status: int) -> None:
        if began < self.window.open_at or ended > self.window.close_at:
            return
        key = str(status)
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if status == self.expect:
            self.latencies.append(ended - began)
        else:
            self.errors += 1

    def result(self) -> LoadResult:
        return LoadResult(
            requests=len(self.latencies),
            errors=self.errors,
            seconds=self.window.close_at - self.window.open_at,
            latency=summarise(self.latencies),
            statuses=self.statuses,
            cpu_seconds=self.window.cpu_spent(),
            first_error=self.first_error,
        )


async def _run(spec: LoadSpec) -> LoadResult:
    window = _Window(spec.cpu_pids)
    tally = _Tally(window, spec.expect_status)
    stop = asyncio.Event()
    bodies: list[bytes | None] = [b.encode("utf-8") for b in spec.bodies] or [None]
    requests = [build_request(spec, body) for body in bodies]
    parts = urlsplit(spec.url)
    host, port = parts.hostname or LOOPBACK, parts.port or 80
    clock = time.perf_counter

    async def worker(number: int) -> None:
        connection = _Connection(host, port)
        turn = number
        try:
            while not stop.is_set() and tally.sent < spec.max_requests:
                tally.sent += 1
                request = requests[turn % len(requests)]
                turn += spec.concurrency
                began = clock()
                status = 0
                try:
                    async with asyncio.timeout(_TIMEOUT):
                        status = await connection.exchange(request)
                except (OSError, asyncio.IncompleteReadError, ValueError, TimeoutError) as exc:
                    connection.close()
                    tally.first_error = tally.first_error or f"{type(exc).__name__}: {exc}"
                    await asyncio.sleep(0.01)
                tally.add(began, clock(), status)
        finally:
            connection.close()

    tasks = [asyncio.create_task(worker(n)) for n in range(spec.concurrency)]
    await asyncio.sleep(spec.warmup)
    window.open()
    await asyncio.sleep(spec.duration)
    window.close()
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=_GRACE)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return tally.result()


def run_load(spec: LoadSpec) -> LoadResult:
    """Run the load in this process (the parent calls it through a child)."""
    spec.check()
    try:
        import uvloop  # noqa: PLC0415 - optional, cheaper event loop
    except ImportError:
        return asyncio.run(_run(spec))
    return uvloop.run(_run(spec))


def main() -> int:
    spec = LoadSpec(**json.loads(sys.stdin.read()))
    result = run_load(spec)
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
