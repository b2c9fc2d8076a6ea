"""``python -m bench``: run the benchmark, print the table, optionally write JSON.

    python -m bench                  the full run (at most ~5 minutes on 2 cores)
    python -m bench --quick          a short smoke run for CI (well under a minute)
    python -m bench --json out.json  also write every figure as JSON
    python -m bench --only peers     only /healthz and a healthy registry while
                                     another registry dribbles its headers
    python -m bench --only evidence,sealing,floors
                                     issue 18's figures with their floors: the
                                     hub with a no-op evidence service, and
                                     fpdf2, zxing-cpp and pyhanko without the hub
    python -m bench --postgres postgresql://postgres@127.0.0.1:5432/test
                                     also measure on PostgreSQL, in a schema
                                     created for the run and dropped after it

All load goes to 127.0.0.1, is bounded in time and in count, and stops by
itself. Missed targets are reported in the table; they never fail the run.
The exit status is non-zero only when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench._procs import sandbox_process
from bench.accesslog import measure_access_log
from bench.config import BenchConfig
from bench.databases import BenchDatabase, migrated, postgres_schema, sqlite_database
from bench.evidence import EvidenceBench
from bench.evidence_parts import evidence_floor_figures, measure_parts, parts_figures
from bench.notifications import measure_notifications
from bench.peers import measure_dribbling_registry
from bench.proofs import measure_proofs
from bench.report import Figure, machine, render_table, write_json
from bench.sealing import measure_sealing
from hub import _patches
from hub.cli.keys import ensure_keys
from hub.config import Settings

SECTIONS = ("evidence", "peers", "log", "proofs", "sealing", "notifications", "floors")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the hub against floors taken in the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run (< 60 s)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures as JSON")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure the database figures on this PostgreSQL server (loopback only)",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="where large trees are cached (default var/bench)"
    )
    return parser


class _Run:
    """One benchmark run: its work directory, keys and the figures gathered."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.work = config.cache_dir / "run-last"
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.keys = self.work / "keys"
        ensure_keys(Settings.for_tests(self.work, keys_dir=self.keys))
        self.figures: list[Figure] = []
        self.started = time.monotonic()

    def step(self, title: str, action: Callable[[], list[Figure]]) -> None:
        began = time.monotonic()
        print(f"[{began - self.started:5.0f} s] {title} …", flush=True)
        self.figures += action()
        print(f"        done in {time.monotonic() - began:.0f} s", flush=True)


def _evidence(run: _Run, databases: list[BenchDatabase], floors: bool) -> list[Figure]:
    config = run.config
    figures: list[Figure] = []
    with sandbox_process(run.work, size=config.sandbox_size, seed=config.sandbox_seed) as (
        sandbox,
        urls,
    ):
        bench = EvidenceBench(config, run.work, run.keys, sandbox, urls)
        for database in databases:
            figures += bench.measure(database)
        if floors:
            # The floor is the web stack's, not the database's: one is enough.
            stack = bench.measure_floor(databases[0])
            # One real registry call added to the no-op hub, made four ways.
            stack_io = bench.measure_registry_io(databases[0])
            # The evidence work's own floors, with the sandbox still running.
            parts = measure_parts(
                run.work, run.keys, urls, bench.afms, count=100 if config.name == "quick" else 600
            )
            figures += stack + stack_io + parts_figures(parts)
            figures += evidence_floor_figures(parts, stack, databases[0].label)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The hub installs its guarded library patches at start-up (create_app and
    # the CLI); the in-process figures (sealing) must measure the same code.
    _patches.apply()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        print(f"unknown sections: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    config = (BenchConfig.quick if args.quick else BenchConfig.full)(args.cache_dir)
    run = _Run(config)
    about = machine()
    print(
        f"bench ({config.name}) on {about['cores']} cores, {about['cpu']}, "
        f"Python {about['python']}",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        hub_databases = [sqlite_database(run.work, "hub")]
        log_databases = [sqlite_database(run.work, "log")]
        # Its own database: the evidence loads leave thousands of access
        # notifications in the hub database's outbox, which draining the
        # bench's 300 messages would deliver too.
        notify_database = sqlite_database(run.work, "notifications")
        if args.postgres:
            postgres = stack.enter_context(postgres_schema(args.postgres))
            hub_databases.append(postgres)
            log_databases.append(postgres)
        every = [*hub_databases, *log_databases]
        if "notifications" in sections:
            every.append(notify_database)
        for database in {d.url: d for d in every}.values():
            migrated(database)
        if "evidence" in sections:
            run.step(
                "evidence requests", lambda: _evidence(run, hub_databases, "floors" in sections)
            )
        if "peers" in sections:
            run.step(
                "a registry that dribbles its headers",
                lambda: measure_dribbling_registry(config, run.work, run.keys, hub_databases[0]),
            )
        if "log" in sections:
            for database in log_databases:
                run.step(
                    f"access-log appends on {database.label}",
                    lambda d=database: measure_access_log(config, d),  # type: ignore[misc]
                )
        if "notifications" in sections:
            run.step(
                "notifications through the outbox to SMTP",
                lambda: measure_notifications(config, run.work, run.keys, notify_database),
            )
    if "proofs" in sections:
        run.step("inclusion proofs", lambda: measure_proofs(config))
    if "sealing" in sections:
        run.step(
            "certificates and seals",
            lambda: measure_sealing(config, run.keys, floors="floors" in sections),
        )
    elapsed = time.monotonic() - run.started
    print()
    print(render_table(run.figures))
    print(f"\n{len(run.figures)} figures in {elapsed:.0f} s; targets are reported, never enforced")
    if args.json:
        words = argv if argv is not None else sys.argv[1:]
        # A password in a database URL must not end up in a results file.
        command = re.sub(
            r"://([^:/@]+):[^@]*@", r"://\1:***@", " ".join(["python -m bench", *words])
        )
        write_json(
            args.json, run.figures, config=config.name, command=command, seconds=round(elapsed, 1)
        )
        print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
