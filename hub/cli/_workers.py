"""``hub serve --workers N``: one listening socket, N forked hub processes.

One CPython process serves on one core at a time, whatever its thread count,
so a host with more cores runs more processes. The supervisor binds the
socket, forks the workers and does nothing else: no app, no database pool,
no thread exists in it before a fork, so each worker builds its own app,
pool and background threads from scratch (a fork copies only the thread that
called it, and a lock held by any other thread would stay locked forever in
the child). The kernel hands each new connection to one of the workers
waiting in ``accept``.

Everything the workers share lives in the database, which was built for
several writers (the access log serialises appends on its head row, SQLite
takes its write lock at ``BEGIN``; the checkpoint policy asks the store
whether another process signed one meanwhile; rate limits and the replay
cache are tables). A SQLite database held in memory is per process, so more
than one worker on it is refused.

Signals: SIGINT and SIGTERM reach every worker as SIGTERM, which finishes
its requests and stops (uvicorn's graceful shutdown); the supervisor returns
once all have exited. SIGTERM, because a Ctrl-C at a terminal already sends
SIGINT to every process of the group, and uvicorn takes a second SIGINT as
an order to stop at once. SIGHUP (``hub catalog reload``) reaches every
worker as SIGHUP, so all of them reload the catalogue: the supervisor is the
process the pid file names. A worker that dies on its own is started again, unless
workers keep dying right after starting, which means they cannot start at
all: the supervisor then stops the others and fails. Each worker asks the
kernel to end it if the supervisor dies, so a killed supervisor leaves no
orphan holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable
from types import FrameType

from hub.errors import ConfigError

__all__ = ["bind", "supervise"]

log = logging.getLogger("hub.serve")

#: A worker that exits sooner than this after starting is counted as unable to start.
_QUICK_EXIT = 5.0
#: Workers that may fail to start in a row before the supervisor gives up.
_QUICK_EXITS_ALLOWED = 3
_PR_SET_PDEATHSIG = 1


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket every worker accepts on (IPv4 or IPv6 by ``host``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGTERM this process when the supervisor dies."""
    name = ctypes.util.find_library("c")
    if name is None:  # pragma: no cover - not Linux
        return
    libc = ctypes.CDLL(name, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    # The supervisor may have died between the fork and the prctl.
    if os.getppid() != parent:
        os._exit(1)


def _start(index: int, run_worker: Callable[[int], int]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        # Until the worker sets its own reload handler, a SIGHUP must not end it.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        _die_with_parent(parent)
        code = run_worker(index)
    except BaseException:  # the child must never return into the supervisor's code
        traceback.print_exc()
    finally:
        os._exit(code)


def supervise(count: int, run_worker: Callable[[int], int]) -> int:
    """Run ``run_worker(index)`` in ``count`` forked processes until told to stop.

    Returns 0 after a requested stop, 1 when workers could not start.
    """
    workers: dict[int, tuple[int, float]] = {}
    stopping = False
    failed = False

    def forward(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def reload(_signum: int, _frame: FrameType | None) -> None:
        for pid in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, reload)
    try:
        for index in range(count):
            workers[_start(index, run_worker)] = (index, time.monotonic())
        log.info("serving with %d worker processes", count, extra={"workers": count})
        quick_exits = 0
        while workers:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid not in workers:
                continue
            index, started = workers.pop(pid)
            if stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            quick_exits = quick_exits + 1 if time.monotonic() - started < _QUICK_EXIT else 0
            if quick_exits >= _QUICK_EXITS_ALLOWED:
                log.error("hub workers exit as soon as they start; stopping", extra={"code": code})
                failed = True
                forward(signal.SIGTERM, None)
                continue
            log.warning("hub worker %d exited (%d); starting it again", index, code)
            workers[_start(index, run_worker)] = (index, time.monotonic())
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if failed else 0
