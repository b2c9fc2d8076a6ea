"""The processes of a run: sandbox registries and the hub, each on its own.

The hub, the registries and the load generator run as separate processes so
that none of them shares a GIL with another and each one's CPU time can be
read from ``/proc/<pid>/stat``. Everything binds to 127.0.0.1 only, and every
process started here is stopped here, by its own pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = [
    "LOOPBACK",
    "Process",
    "cpu_seconds",
    "free_port",
    "hub_process",
    "sandbox_process",
]

LOOPBACK = "127.0.0.1"
_TICKS = os.sysconf("SC_CLK_TCK")
_START_TIMEOUT = 60.0


def _own_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            stat = handle.read()
    except FileNotFoundError:
        return 0.0
    # The command name (field 2) may hold spaces; the fields after it do not.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / _TICKS


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` and its live children, in seconds.

    The children are the worker processes of ``hub serve --workers N``; a
    single-process hub or registry has none.
    """
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            children = [int(child) for child in handle.read().split()]
    except FileNotFoundError:
        children = []
    return _own_cpu_seconds(pid) + sum(_own_cpu_seconds(child) for child in children)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A child process this run started, with where its output went."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT (uvicorn's graceful stop), then SIGKILL if it lingers."""
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _spawn(
    name: str, argv: list[str], env: Mapping[str, str], log_path: Path, stdout: int | IO[bytes]
) -> Process:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        popen = subprocess.Popen(  # our own interpreter, a fixed argument list
            argv,
            env=dict(env),
            stdout=stdout,
            stderr=log,
            cwd=Path(__file__).resolve().parent.parent,
        )
    return Process(name, popen, log_path)


@contextlib.contextmanager
def sandbox_process(
    work: Path, *, size: int, seed: int, env: Mapping[str, str] | None = None
) -> Iterator[tuple[Process, dict[str, str]]]:
    """The three sandbox registries in one child process; yields it and their URLs."""
    argv = [sys.executable, "-m", "bench._sandbox", "--size", str(size), "--seed", str(seed)]
    proc = _spawn("sandbox", argv, env or os.environ, work / "sandbox.log", subprocess.PIPE)
    try:
        if proc.popen.stdout is None:
            raise RuntimeError("the sandbox's output is not piped")
        line = proc.popen.stdout.readline()
        if not line:
            raise RuntimeError(f"the sandbox did not start:\n{proc.tail()}")
        urls: dict[str, str] = json.loads(line)
        yield proc, urls
    finally:
        proc.stop()
        if proc.popen.stdout is not None:
            proc.popen.stdout.close()


def _wait_healthy(url: str, proc: Process) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"the {proc.name} exited at start:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310 - loopback URL built here
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the {proc.name} did not answer /healthz:\n{proc.tail()}")


@contextlib.contextmanager
def hub_process(
    work: Path,
    env: Mapping[str, str],
    *,
    name: str = "hub",
    argv_prefix: tuple[str, ...] = ("-m", "hub"),
) -> Iterator[tuple[Process, str]]:
    """``python -m hub serve`` on a free loopback port; yields it and its base URL.

    ``argv_prefix`` lets the profiler start the same command under its own
    wrapper module.
    """
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    child_env = {**env, "HUB_HOST": LOOPBACK, "HUB_PORT": str(port), "HUB_PUBLIC_URL": url}
    argv = [sys.executable, *argv_prefix, "serve"]
    proc = _spawn(name, argv, child_env, work / f"{name}.log", subprocess.DEVNULL)
    try:
        _wait_healthy(url, proc)
        yield proc, url
    finally:
        proc.stop()
