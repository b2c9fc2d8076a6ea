"""bench.threads reads each thread's CPU from /proc and puts it in the right group."""

from __future__ import annotations

import os
import threading
import time

from bench.threads import ThreadTimes, thread_times


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_busy_worker_thread_counts_as_other_threads_not_the_main_one() -> None:
    before = thread_times(os.getpid())
    release = threading.Event()

    def work() -> None:
        _spin(0.3)
        release.wait(5)

    worker = threading.Thread(target=work)
    worker.start()
    # Read while the worker still lives: /proc lists live threads only.
    while worker.is_alive() and not release.is_set():
        time.sleep(0.05)
        during = thread_times(os.getpid())
        if (during["others"] - before["others"]).user + (
            during["others"] - before["others"]
        ).system >= 0.25:
            break
    release.set()
    worker.join()
    spent = during["others"] - before["others"]
    main = during["main"] - before["main"]
    assert spent.user + spent.system >= 0.25
    assert main.user + main.system < 0.25


def test_times_add_and_subtract_field_by_field() -> None:
    a = ThreadTimes(1.0, 0.5, 10, 2)
    b = ThreadTimes(0.25, 0.25, 4, 1)
    assert a - b == ThreadTimes(0.75, 0.25, 6, 1)
    assert (a - b) + b == a
