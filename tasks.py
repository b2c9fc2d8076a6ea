#!/usr/bin/env python3
"""The one task runner: every target here is exactly what CI runs.

Needs only Python 3.11+. The first run creates ``.venv`` and installs every
dependency from the hashed lock file ``requirements/dev.txt``, then the hub
itself without dependencies; later runs reinstall only when pyproject.toml or
the lock changes. ``requirements/runtime.txt`` is the Dockerfile's lock.

    python3 tasks.py demo        start the hub with its sandbox registries
    python3 tasks.py test        run the test suite (SQLite)
    python3 tasks.py test-postgres   the database tests against HUB_TEST_DATABASE_URL
    python3 tasks.py lint        ruff lint and format check
    python3 tasks.py typecheck   mypy strict on hub and adapters
    python3 tasks.py hadolint    lint the Dockerfile
    python3 tasks.py ci          all of the above that CI runs
    python3 tasks.py bench       the benchmark (python -m bench; --quick, --json FILE,
                                 --postgres URL), bounded load on 127.0.0.1 only
    python3 tasks.py lock        re-solve the lock files after editing pyproject.toml;
                                 versions already locked are kept (--upgrade-package
                                 NAME moves one, --upgrade moves all)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"


def _run(*cmd: str | Path, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)  # noqa: S603 - our own tools


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be started by an older python3
        sys.exit("Python 3.11 or newer is needed.")
    digest = hashlib.sha256()
    for source in (ROOT / "pyproject.toml", DEV_LOCK):
        digest.update(source.read_bytes())
    wanted = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    py = BIN / "python"
    quiet = ["--quiet", "--disable-pip-version-check"]
    # Every distribution, pip and setuptools included, is checked against the
    # lock's hashes, so CI and the container run exactly the versions tested.
    if _run(py, "-m", "pip", "install", *quiet, "--require-hashes", "-r", DEV_LOCK) != 0:
        sys.exit(f"could not install the locked dependencies from {DEV_LOCK.name}")
    # The hub itself, built with the locked setuptools rather than whatever
    # version an isolated build would download.
    editable = ("--no-deps", "--no-build-isolation", "-e", ".")
    if _run(py, "-m", "pip", "install", *quiet, *editable) != 0:
        sys.exit("could not install the hub")
    STAMP.write_text(wanted)


def demo(args: list[str]) -> int:
    return _run(BIN / "hub", "demo", *args)


#: Worker processes of the parallel pass; HUB_TEST_WORKERS=0 runs everything in one process.
#: Most tests wait on sockets, subprocesses and servers, so on two cores three
#: workers finish far sooner than one.
DEFAULT_WORKERS = "3"
#: pytest's exit status when a selection holds no test.
NO_TESTS = 5


def _with_marks(args: list[str], marks: str) -> list[str]:
    """``args`` with ``marks`` and-ed to the caller's own ``-m`` expression, if any."""
    args = list(args)
    for i, arg in enumerate(args[:-1]):
        if arg == "-m":
            args[i + 1] = f"({args[i + 1]}) and ({marks})"
            return args
    return ["-m", marks, *args]


def _pytest(args: list[str], marks: str | None = None) -> int:
    """pytest over ``args``: a parallel pass, then the suites marked ``serial`` alone.

    The serial suites measure a loaded hub (latency, memory, deadlines), kill
    and restart hub processes or drive a browser against timeouts; other
    workers' load on the same cores would make them fail by chance, so they
    run after the parallel pass, one at a time (tests/conftest.py lists them).
    ``-n`` among ``args``, or HUB_TEST_WORKERS=0, runs one plain pytest.
    """
    workers = os.environ.get("HUB_TEST_WORKERS", DEFAULT_WORKERS)
    if workers == "0" or "no:xdist" in args or any(a.startswith("-n") for a in args):
        return _run(BIN / "pytest", *(_with_marks(args, marks) if marks else args))

    def only(which: str) -> list[str]:
        return _with_marks(args, f"({marks}) and {which}" if marks else which)

    parallel = _run(
        BIN / "pytest",
        "-n",
        workers,
        # A file's tests stay on one worker: module fixtures (hubs, sandboxes,
        # built worlds) are set up once, and a file's order is kept.
        "--dist",
        "loadfile",
        *only("not serial"),
    )
    serial = _run(BIN / "pytest", *only("serial"))
    if parallel == NO_TESTS and serial == NO_TESTS:
        return NO_TESTS
    return max(code for code in (parallel, serial) if code != NO_TESTS)


def test(args: list[str]) -> int:
    return _pytest(args)


#: The PostgreSQL pass: every test that touches a database (marked db by
#: tests/conftest.py), and those that need PostgreSQL itself (marked postgres:
#: two nodes behind nginx, the cluster singleton, two delivering processes,
#: concurrent appends), except the following, which already ran on SQLite
#: and whose outcome does not depend on the database engine:
#: - the process-level suites marked slow (hostile sockets, abuse, log scans,
#:   schemathesis): they test the server, not the database;
#: - the browser journeys (tests/e2e): they check pages, keyboard paths and
#:   accessibility in Chromium; every write they make goes through the same
#:   HTTP handlers the integration tests drive on PostgreSQL here;
#: - tests/security/test_json_depth.py: nesting is measured and refused
#:   before a body is parsed, so no handler and no query runs.
POSTGRES_SELECTION = "(db and not slow) or postgres"
POSTGRES_LEFT_TO_SQLITE = ("tests/e2e", "tests/security/test_json_depth.py")


def test_postgres(args: list[str]) -> int:
    url = os.environ.get("HUB_TEST_DATABASE_URL")
    if not url:
        print("HUB_TEST_DATABASE_URL is not set; nothing to run against PostgreSQL")
        return 1
    ignored = [f"--ignore={path}" for path in POSTGRES_LEFT_TO_SQLITE]
    return _pytest([*ignored, *args], POSTGRES_SELECTION)


def lint(_args: list[str]) -> int:
    return _run(BIN / "ruff", "check", ".") or _run(BIN / "ruff", "format", "--check", ".")


def typecheck(_args: list[str]) -> int:
    return _run(BIN / "mypy")


def hadolint(_args: list[str]) -> int:
    return _run(BIN / "hadolint", "Dockerfile")


def ci(_args: list[str]) -> int:
    failed = [
        name
        for name, target in (("lint", lint), ("typecheck", typecheck), ("hadolint", hadolint))
        if target([]) != 0
    ]
    if test([]) != 0:
        failed.append("test")
    if os.environ.get("HUB_TEST_DATABASE_URL") and test_postgres([]) != 0:
        failed.append("test-postgres")
    if failed:
        print("failed:", ", ".join(failed))
        return 1
    return 0


def bench(args: list[str]) -> int:
    return _run(BIN / "python", "-m", "bench", *args)


def lock(args: list[str]) -> int:
    """Re-solve both lock files from pyproject.toml with pip-compile.

    The runtime lock is solved first; the development lock is constrained by it,
    so the two agree on every package they share.
    """
    common = (
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--no-emit-index-url",
        "--no-emit-find-links",
        *args,
    )
    compile_ = BIN / "pip-compile"
    # Paths relative to the checkout: pip-compile copies its command line into
    # the lock's header, and no one's home directory belongs there.
    runtime_lock = str(RUNTIME_LOCK.relative_to(ROOT))
    dev_lock = str(DEV_LOCK.relative_to(ROOT))
    runtime = (*common, "--extra", "postgres", "-o", runtime_lock, "pyproject.toml")
    dev = (
        *common,
        "--extra",
        "postgres",
        "--extra",
        "dev",
        "-c",
        runtime_lock,
        "-o",
        dev_lock,
        "pyproject.toml",
    )
    # The lock's header then tells a reader the command to run, not pip-compile's.
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "python3 tasks.py lock"}
    return _run(compile_, *runtime, env=env) or _run(compile_, *dev, env=env)


TARGETS = {
    "demo": demo,
    "test": test,
    "test-postgres": test_postgres,
    "lint": lint,
    "typecheck": typecheck,
    "hadolint": hadolint,
    "ci": ci,
    "bench": bench,
    "lock": lock,
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        print(__doc__)
        return 2
    ensure_env()
    return TARGETS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
