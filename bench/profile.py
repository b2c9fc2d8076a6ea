"""Profile the hub under the evidence load: ``python -m bench.profile``.

It starts the sandbox and a hub whose every thread runs under its own
``cProfile`` profiler (the handlers run in a thread pool, which a plain
``python -m cProfile`` would not see), drives the same evidence load as the
benchmark, stops the hub, merges the per-thread profiles and prints the top
functions by own time and by cumulative time. The merged profile is kept as
``var/bench/profile/hub.prof`` for ``python -m pstats`` or snakeviz.

Run as ``python -m bench.profile --serve`` it is the profiled hub itself
(the child the parent starts), taking its settings from the environment as
``python -m hub serve`` does.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

__all__ = ["main"]

_PROFILERS: list[cProfile.Profile] = []
_LOCK = threading.Lock()


def _new_profiler() -> cProfile.Profile:
    """A profiler on CPU time (the default) or on wall time (``BENCH_PROFILE_WALL=1``)."""
    if os.environ.get("BENCH_PROFILE_WALL") == "1":
        return cProfile.Profile()
    return cProfile.Profile(time.thread_time)


def _start_thread_profiler(*_args: object) -> None:
    """Installed with ``threading.setprofile``: each new thread gets a profiler."""
    profiler = _new_profiler()
    with _LOCK:
        _PROFILERS.append(profiler)
    # enable() replaces this hook for the thread with the profiler itself.
    profiler.enable()


def _serve_profiled(output: Path) -> int:
    """Serve the hub with every thread profiled; write the merged stats on exit."""
    from hub.cli.main import main as hub_main  # noqa: PLC0415 - after profiling is set up

    threading.setprofile(_start_thread_profiler)
    main_profiler = _new_profiler()
    main_profiler.enable()
    try:
        return hub_main(["serve"])
    finally:
        main_profiler.disable()
        threading.setprofile(None)
        stats = pstats.Stats(main_profiler)
        with _LOCK:
            for profiler in _PROFILERS:
                profiler.disable()
                stats.add(profiler)
        stats.dump_stats(str(output))


def _print_top(path: Path, limit: int) -> str:
    buffer = io.StringIO()
    stats = pstats.Stats(str(path), stream=buffer)
    stats.strip_dirs()
    buffer.write("== by own time (tottime) ==\n")
    stats.sort_stats("tottime").print_stats(limit)
    buffer.write("== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(limit)
    return buffer.getvalue()


def _drive(args: argparse.Namespace) -> int:
    from bench.config import BenchConfig  # noqa: PLC0415
    from bench.evidence import one_hub, run_load  # noqa: PLC0415

    out_dir = BenchConfig.full().cache_dir / "profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / "hub.prof"
    output.unlink(missing_ok=True)
    env = {"BENCH_PROFILE_OUT": str(output), "BENCH_PROFILE_WALL": "1" if args.wall else "0"}
    prefix = ("-m", "bench.profile", "--serve")
    with one_hub(
        args.concurrency, args.seconds, name="hub-profiled", argv_prefix=prefix, env=env
    ) as (bench, hub, url, token):
        if args.healthz:
            spec = bench._spec(f"{url}/healthz", args.concurrency)
        else:
            spec = bench.evidence_spec(url, token, args.concurrency)
        result = run_load(replace(spec, cpu_pids={"hub": hub.pid}))
    what = "GET /healthz" if args.healthz else "evidence"
    print(
        f"profiled {result.requests} {what} requests "
        f"({result.throughput:.0f}/s under the profiler, {result.errors} errors)"
    )
    if not output.exists():
        print("the hub wrote no profile", file=sys.stderr)
        return 1
    print(f"profile: {output} (per request: divide cumulative times by {result.requests})")
    print(_print_top(output, args.limit))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--limit", type=int, default=40, help="rows of each listing")
    parser.add_argument("--healthz", action="store_true", help="profile GET /healthz instead")
    parser.add_argument(
        "--wall", action="store_true", help="profile wall time (waits included), not CPU time"
    )
    parser.add_argument("--serve", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        return _serve_profiled(Path(os.environ["BENCH_PROFILE_OUT"]))
    return _drive(args)


if __name__ == "__main__":
    raise SystemExit(main())
