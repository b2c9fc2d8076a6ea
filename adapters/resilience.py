"""How every registry call is bounded: deadline, retries, circuit, concurrency.

A registry that is slow, failing or flapping must never make the hub hang or
answer 500. Each call gets a total deadline; idempotent reads are retried a
bounded number of times with jittered exponential backoff while the deadline
allows; a circuit breaker stops calling a registry that keeps failing and
lets one probe through after a pause; a semaphore caps the calls in flight to
each registry so a slow one cannot take every worker.

The circuit's state is per hub process on purpose: it is each node's own
view of a registry's health, and needs no coordination to be correct.
"""

from __future__ import annotations

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
    max_concurrency: int = 32
    queue_timeout: float = 1.0

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
        self._on_outcome = on_outcome or (lambda _registry, _outcome: None)
        # Jitter only spreads retries; it is no secret.
        self._random = random.Random()  # noqa: S311

    def call(self, attempt: Callable[[float], T], *, idempotent: bool = True) -> T:
        """Run ``attempt(timeout)`` until it succeeds or the budget is spent.

        ``attempt`` receives the seconds it may take and raises
        :class:`RegistryError` subclasses (never library errors) on failure.
        """
        start = self._clock()
        if not self._slots.acquire(timeout=self.policy.queue_timeout):
            self._on_outcome(self.name, "saturated")
            raise RegistryUnavailable(f"registry {self.name} is saturated; try again shortly")
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
                self._on_outcome(self.name, "circuit-open")
                raise RegistryUnavailable(
                    f"registry {self.name} is failing; its circuit is open", retry_after=5
                )
            try:
                result = attempt(remaining)
            except CitizenNotFound as exc:
                # "No such citizen" is a correct answer from a healthy registry.
                self.breaker.record_success()
                self._on_outcome(self.name, exc.slug)
                raise
            except RegistryError as exc:
                if not is_transient(exc):
                    # The registry answered, wrongly: a hostile or malformed
                    # reply counts against its health but is not retried.
                    if exc.status >= 500:
                        self.breaker.record_failure()
                    else:
                        self.breaker.record_success()
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
            self.breaker.record_success()
            self._on_outcome(self.name, "ok")
            return result
        self._on_outcome(self.name, last.slug if last else "registry-timeout")
        if last is None:
            raise RegistryTimeout(f"registry {self.name} did not answer in time")
        raise last

    def _backoff(self, number: int, start: float) -> float:
        ceiling = self.policy.backoff * (2**number)
        remaining = self.policy.deadline - (self._clock() - start)
        return max(0.0, min(self._random.uniform(0, ceiling), remaining - 0.05))
