"""The arithmetic of the benchmark: percentiles, rates, ratios and timed loops.

Every figure the benchmark prints is a ratio of a measurement to a floor
taken in the same run, so the few helpers that turn raw samples into those
numbers live here, free of I/O, where unit tests can pin them down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "LatencySummary",
    "Rate",
    "log_growth",
    "per_second",
    "percentile",
    "ratio",
    "summarise",
    "timed_rate",
]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of ``values`` by linear interpolation.

    The same definition as numpy's default (``method="linear"``): rank
    ``(n - 1) * q / 100`` in the sorted values, interpolated between its two
    neighbours. ``values`` need not be sorted. An empty sequence or a ``q``
    outside [0, 100] is a ``ValueError``.
    """
    if not values:
        raise ValueError("the percentile of no values is undefined")
    if not 0.0 <= q <= 100.0 or math.isnan(q):
        raise ValueError(f"a percentile is between 0 and 100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def ratio(measured: float | None, floor: float | None) -> float | None:
    """``measured / floor``, or ``None`` when either is missing or the floor is not positive.

    A floor of zero (nothing completed) makes a ratio meaningless rather than
    infinite, so the report shows a dash instead of a number.
    """
    if measured is None or floor is None or floor <= 0.0 or math.isnan(floor):
        return None
    if math.isnan(measured):
        return None
    return measured / floor


def per_second(count: int, seconds: float) -> float:
    """``count`` events over ``seconds`` as a rate; zero when no time passed."""
    if count < 0:
        raise ValueError("an event count cannot be negative")
    return count / seconds if seconds > 0.0 else 0.0


def log_growth(small: int, large: int) -> float:
    """How much a cost proportional to ``log2(n)`` grows from ``small`` to ``large``.

    An inclusion proof at ``n`` leaves has ``ceil(log2 n)`` hashes at most,
    so a logarithmic cost should grow by about this factor.
    """
    if small < 2 or large < small:
        raise ValueError("sizes must satisfy 2 <= small <= large")
    return math.log2(large) / math.log2(small)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latencies of one run, in milliseconds."""

    count: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float


def summarise(latencies_s: Sequence[float]) -> LatencySummary:
    """Summarise latencies given in seconds; an empty run is all zeros."""
    if not latencies_s:
        return LatencySummary(0, 0.0, 0.0, 0.0, 0.0)
    ms = [value * 1000.0 for value in latencies_s]
    return LatencySummary(
        count=len(ms),
        mean_ms=sum(ms) / len(ms),
        p50_ms=percentile(ms, 50.0),
        p99_ms=percentile(ms, 99.0),
        max_ms=max(ms),
    )


@dataclass(frozen=True, slots=True)
class Rate:
    """How many calls of a function completed in how long."""

    calls: int
    seconds: float

    @property
    def per_second(self) -> float:
        return per_second(self.calls, self.seconds)

    @property
    def seconds_per_call(self) -> float:
        return self.seconds / self.calls if self.calls else math.inf


def timed_rate(
    action: Callable[[], object],
    *,
    seconds: float,
    min_calls: int = 1,
    max_calls: int = 10_000_000,
    batch: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> Rate:
    """Call ``action`` repeatedly for about ``seconds`` and report the rate.

    The clock is read once per ``batch`` calls, so very cheap actions are not
    dominated by reading it; at least ``min_calls`` and at most ``max_calls``
    calls are made, which bounds the run whatever the machine.
    """
    if batch < 1 or min_calls < 0 or max_calls < 1:
        raise ValueError("batch and max_calls must be positive, min_calls not negative")
    calls = 0
    start = clock()
    deadline = start + seconds
    now = start
    while calls < max_calls and (calls < min_calls or now < deadline):
        step = min(batch, max_calls - calls)
        for _ in range(step):
            action()
        calls += step
        now = clock()
    return Rate(calls, now - start)
