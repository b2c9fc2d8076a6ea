"""Where the hub's CPU goes, thread by thread: ``python -m bench.threads``.

It starts the sandbox and a hub (``python -m hub serve``, or with
``--no-op`` the floor hub of ``bench._floor_hub``), drives ``GET /healthz``
and then the evidence load of the benchmark, and reads every thread's user
and system time and context switches from ``/proc/<pid>/task`` before and
after each load. It prints CPU per request for the event-loop thread (the
process's main thread, where uvicorn, the middleware and connexion's
validation run) and for all other threads together (the worker threads that
run the synchronous handlers, the evidence work among them), with voluntary
and involuntary context switches per request.

Unlike ``bench.profile`` nothing is instrumented, so the figures are the
hub's own; the windows include the load's one-second warm-up, so read them
as ratios between the two loads of one run.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

__all__ = ["ThreadTimes", "main", "thread_times"]

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ThreadTimes:
    """CPU seconds and context switches of one group of threads."""

    user: float = 0.0
    system: float = 0.0
    voluntary: int = 0
    involuntary: int = 0

    def __add__(self, other: ThreadTimes) -> ThreadTimes:
        return ThreadTimes(
            self.user + other.user,
            self.system + other.system,
            self.voluntary + other.voluntary,
            self.involuntary + other.involuntary,
        )

    def __sub__(self, other: ThreadTimes) -> ThreadTimes:
        return ThreadTimes(
            self.user - other.user,
            self.system - other.system,
            self.voluntary - other.voluntary,
            self.involuntary - other.involuntary,
        )


def _task(pid: int, tid: str) -> ThreadTimes:
    base = f"/proc/{pid}/task/{tid}"
    with open(f"{base}/stat", encoding="ascii") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    switches = {"voluntary_ctxt_switches": 0, "nonvoluntary_ctxt_switches": 0}
    with open(f"{base}/status", encoding="ascii") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name in switches:
                switches[name] = int(value)
    return ThreadTimes(
        int(fields[11]) / _TICKS,
        int(fields[12]) / _TICKS,
        switches["voluntary_ctxt_switches"],
        switches["nonvoluntary_ctxt_switches"],
    )


def thread_times(pid: int) -> dict[str, ThreadTimes]:
    """``main`` (the process's first thread) and ``others`` (all other live threads)."""
    groups = {"main": ThreadTimes(), "others": ThreadTimes()}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            times = _task(pid, tid)
        except FileNotFoundError:  # the thread ended between listing and reading
            continue
        key = "main" if tid == str(pid) else "others"
        groups[key] = groups[key] + times
    return groups


def _report(
    what: str, requests: int, before: dict[str, ThreadTimes], after: dict[str, ThreadTimes]
) -> str:
    lines = [f"{what}: {requests} requests"]
    for group in ("main", "others"):
        spent = after[group] - before[group]
        lines.append(
            f"  {'event loop' if group == 'main' else 'other threads':13s}"
            f"  user {spent.user * 1000 / requests:5.2f} ms"
            f"  system {spent.system * 1000 / requests:5.2f} ms"
            f"  voluntary switches {spent.voluntary / requests:5.1f}"
            f"  involuntary {spent.involuntary / requests:5.2f}  per request"
        )
    return "\n".join(lines)


def _drive(args: argparse.Namespace) -> int:
    from bench.evidence import one_hub, run_load  # noqa: PLC0415

    prefix = (
        ("-m", "bench._floor_hub", "--registry", args.registry) if args.no_op else ("-m", "hub")
    )
    with one_hub(args.concurrency, args.seconds, name="hub-threads", argv_prefix=prefix) as (
        bench,
        hub,
        url,
        token,
    ):
        loads = {
            "GET /healthz": bench._spec(f"{url}/healthz", args.concurrency),
            "POST /v1/evidence": bench.evidence_spec(url, token, args.concurrency),
        }
        for what, spec in loads.items():
            before = thread_times(hub.pid)
            result = run_load(spec)
            after = thread_times(hub.pid)
            # The window includes the warm-up: count its requests too.
            seen = round(result.throughput * (spec.warmup + spec.duration))
            print(_report(f"{what}, c={args.concurrency}", max(1, seen), before, after))
    return 0


def main(argv: list[str] | None = None) -> int:
    from bench.evidence import REGISTRY_IO  # noqa: PLC0415 - with its caller

    parser = argparse.ArgumentParser(prog="python -m bench.threads", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--no-op", action="store_true", help="the floor hub (bench._floor_hub) instead of the hub"
    )
    parser.add_argument(
        "--registry",
        choices=("none", *REGISTRY_IO),
        default="none",
        help="with --no-op: one real registry call per request, in the worker thread "
        "(the hub's client, plain requests or http.client) or on the event loop (aiohttp)",
    )
    return _drive(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
