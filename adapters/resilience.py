"""How every registry call is bounded: deadline, retries, circuit, concurrency.

A registry that is slow, failing or flapping must never make the hub hang or
answer 500. Each call gets a total deadline (enforced on the socket by
:mod:`adapters._deadline`); idempotent reads are retried a bounded number of
times with jittered exponential backoff while the deadline allows.

A *bulkhead* caps the calls in flight to each registry. A call that finds it
full waits at most ``queue_timeout`` (a few tens of milliseconds) and is then
refused with a 503 and ``Retry-After``: the hub runs registry calls on the
worker threads it shares with every other request (``/healthz`` included), so
queueing behind a dead registry would starve everything else. Keep the sum of
the registries' bulkheads below the server's worker threads (anyio's default
limiter has 40) and a stuck registry can hold at most its own share.

A circuit breaker stops calling a registry that keeps failing and lets one
probe through after a pause. Timeouts and refusals for saturation count as
failures as they happen, so a registry that holds every slot trips its
circuit within a few refused calls instead of after each stuck call ends.

The circuit's state is per hub process on purpose: it is each node's own
view of a registry's health, and needs no coordination to be correct.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from hub.errors import CitizenNotFound, RegistryError, RegistryTimeout, RegistryUnavailable

__all__ = ["CircuitBreaker", "Policy", "Resilient", "is_transient"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Policy:
    """The limits of calls to one registry; every duration in seconds."""

    timeout: float = 5.0
    retries: int = 2
    backoff: float = 0.05
    failure_threshold: int = 5
    reset_after: float = 10.0
    max_concurrency: int = 8
    queue_timeout: float = 0.05

    @property
    def deadline(self) -> float:
        """The whole budget of one logical call, retries included."""
        return self.timeout


def is_transient(error: RegistryError) -> bool:
    """Whether trying again may help: timeouts, unreachable, server faults."""
    return error.transient or isinstance(error, RegistryTimeout | RegistryUnavailable)


class CircuitBreaker:
    """Closed → open after N consecutive failures → half-open after a pause."""

    def __init__(
        self, threshold: int, reset_after: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_after:
            return "half-open"
        return "open"

    def is_open(self) -> bool:
        """Open and still pausing: no call, not even a probe, may go through."""
        with self._lock:
            return self._state() == "open"

    def retry_after(self) -> int:
        """Whole seconds until the circuit lets a probe through (at least 1)."""
        with self._lock:
            if self._opened_at is None:
                return 1
            left = self.reset_after - (self._clock() - self._opened_at)
            return max(1, math.ceil(left))

    def allow(self) -> bool:
        """May a call go through now? In half-open, exactly one probe may."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.threshold:
                self._opened_at = self._clock()
            self._probing = False

    def record_saturation(self) -> None:
        """A call refused because every slot is taken: a failure no call will report.

        Unlike :meth:`record_failure` it leaves a probe in flight alone: the
        probe's own verdict decides the half-open circuit.
        """
        with self._lock:
            self._failures += 1
            if self._opened_at is None and self._failures >= self.threshold:
                self._opened_at = self._clock()


class Resilient:
    """Runs calls to one registry under its :class:`Policy`."""

    def __init__(
        self,
        name: str,
        policy: Policy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.breaker = CircuitBreaker(policy.failure_threshold, policy.reset_after, clock)
        self._slots = threading.BoundedSemaphore(policy.max_concurrency)
        self._clock = clock
        self._sleep = sleep
        #: When a call last came back with an answer: a full bulkhead whose
        #: calls keep completing is busy, not stuck, and trips no circuit.
        self._last_answer = clock()
        #: How long no call may come back before a full bulkhead counts as a
        #: stuck registry: half its deadline. A shorter window (the queue
        #: wait) tripped the circuit of a healthy registry whose answers were
        #: only spaced out because the hub's own threads were busy.
        self._stalled_after = max(policy.queue_timeout, policy.deadline / 2)
        self._on_outcome = on_outcome or (lambda _registry, _outcome: None)
        # Jitter only spreads retries; it is no secret.
        self._random = random.Random()  # noqa: S311

    def call(self, attempt: Callable[[float], T], *, idempotent: bool = True) -> T:
        """Run ``attempt(timeout)`` until it succeeds or the budget is spent.

        ``attempt`` receives the seconds it may take and raises
        :class:`RegistryError` subclasses (never library errors) on failure.
        """
        start = self._clock()
        if self.breaker.is_open():
            raise self._circuit_open()
        if not self._slots.acquire(timeout=self.policy.queue_timeout):
            if self._clock() - self._last_answer > self._stalled_after:
                self.breaker.record_saturation()
            self._on_outcome(self.name, "saturated")
            raise RegistryUnavailable(
                f"registry {self.name} is saturated; try again shortly",
                retry_after=max(1, math.ceil(self.policy.deadline)),
            )
        try:
            return self._attempts(attempt, start, idempotent)
        finally:
            self._slots.release()

    def _attempts(self, attempt: Callable[[float], T], start: float, idempotent: bool) -> T:
        tries = 1 + (self.policy.retries if idempotent else 0)
        last: RegistryError | None = None
        for number in range(tries):
            remaining = self.policy.deadline - (self._clock() - start)
            if remaining <= 0.01:
                break
            if not self.breaker.allow():
                raise self._circuit_open()
            try:
                result = attempt(remaining)
            except CitizenNotFound as exc:
                # "No such citizen" is a correct answer from a healthy registry.
                self._answered()
                self._on_outcome(self.name, exc.slug)
                raise
            except RegistryError as exc:
                if not is_transient(exc):
                    # The registry answered, wrongly: a hostile or malformed
                    # reply counts against its health but is not retried.
                    if exc.status >= 500:
                        self.breaker.record_failure()
                    else:
                        self._answered()
                    self._on_outcome(self.name, exc.slug)
                    raise
                self.breaker.record_failure()
                last = exc
                if number + 1 < tries:
                    self._sleep(self._backoff(number, start))
                continue
            except Exception:
                # A bug in the attempt must not leave a half-open circuit
                # waiting for ever for its probe's verdict.
                self.breaker.record_failure()
                raise
            self._answered()
            self._on_outcome(self.name, "ok")
            return result
        self._on_outcome(self.name, last.slug if last else "registry-timeout")
        if last is None:
            raise RegistryTimeout(f"registry {self.name} did not answer in time")
        raise last

    def _answered(self) -> None:
        self._last_answer = self._clock()
        self.breaker.record_success()

    def _circuit_open(self) -> RegistryUnavailable:
        self._on_outcome(self.name, "circuit-open")
        return RegistryUnavailable(
            f"registry {self.name} is failing; its circuit is open",
            retry_after=self.breaker.retry_after(),
        )

    def _backoff(self, number: int, start: float) -> float:
        ceiling = self.policy.backoff * (2**number)
        remaining = self.policy.deadline - (self._clock() - start)
        return max(0.0, min(self._random.uniform(0, ceiling), remaining - 0.05))
