"""The limits every registry call runs under: breaker, retries, deadline, slots.

Time is faked throughout: a clock the tests move by hand and a sleep that
only records what it was asked to wait. Tests count attempts and read the
breaker's state; none of them measures how long anything took.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from adapters.resilience import CircuitBreaker, Policy, Resilient, is_transient
from hub.errors import CitizenNotFound, RegistryError, RegistryTimeout, RegistryUnavailable


class FakeClock:
    """A monotonic clock that moves only when told to (or when slept on)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """An attempt function that plays a list of outcomes, one per call."""

    def __init__(
        self,
        *outcomes: object,
        clock: FakeClock | None = None,
        cost: float = 0.0,
    ) -> None:
        self.outcomes = list(outcomes)
        self.budgets: list[float] = []
        self.clock = clock
        self.cost = cost

    @property
    def calls(self) -> int:
        return len(self.budgets)

    def __call__(self, budget: float) -> object:
        self.budgets.append(budget)
        if self.clock is not None:
            # A real attempt is cut off by its timeout, so it never costs more.
            self.clock.advance(min(self.cost, budget))
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def transient() -> RegistryError:
    return RegistryError("registry failed (HTTP 503)", transient=True)


def resilient(
    clock: FakeClock, outcomes: list[tuple[str, str]] | None = None, **limits: float
) -> Resilient:
    policy = Policy(**limits)  # type: ignore[arg-type]
    record: Callable[[str, str], None] | None = None
    if outcomes is not None:
        record = lambda registry, outcome: outcomes.append((registry, outcome))  # noqa: E731
    return Resilient("land", policy, clock=clock, sleep=clock.sleep, on_outcome=record)


# -- the circuit breaker on its own --------------------------------------------------


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, reset_after=10.0, clock=clock)
    for _ in range(2):
        breaker.record_failure()
        assert breaker.state == "closed"
        assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()


def test_breaker_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=10.0, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_breaker_half_open_lets_exactly_one_probe_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, reset_after=10.0, clock=clock)
    breaker.record_failure()
    clock.advance(9.9)
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state == "half-open"
    assert breaker.allow()
    assert not breaker.allow(), "a second caller must wait for the probe's verdict"


def test_breaker_probe_success_closes_the_circuit() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, reset_after=10.0, clock=clock)
    breaker.record_failure()
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()
    assert breaker.allow()


def test_breaker_probe_failure_opens_the_circuit_again_for_a_full_pause() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=5, reset_after=10.0, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.advance(10.0)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.advance(9.0)
    assert not breaker.allow()
    clock.advance(1.0)
    assert breaker.allow()


# -- the breaker inside Resilient ------------------------------------------------------


def test_resilient_opens_the_circuit_and_stops_calling_the_registry() -> None:
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    runner = resilient(clock, outcomes, retries=0, failure_threshold=3, reset_after=30.0)
    attempt = Script(transient())
    for _ in range(3):
        with pytest.raises(RegistryError):
            runner.call(attempt)
    assert runner.breaker.state == "open"

    with pytest.raises(RegistryUnavailable, match="circuit is open") as caught:
        runner.call(attempt)
    assert attempt.calls == 3, "an open circuit must not reach the registry"
    # Retry-After is what is left of the pause.
    assert caught.value.extensions.get("retry_after") == 30
    assert outcomes[-1] == ("land", "circuit-open")


def test_resilient_half_open_probe_success_closes_the_circuit() -> None:
    clock = FakeClock()
    runner = resilient(clock, retries=0, failure_threshold=1, reset_after=30.0)
    with pytest.raises(RegistryError):
        runner.call(Script(transient()))
    clock.advance(30.0)
    probe = Script({"ok": True})
    assert runner.call(probe) == {"ok": True}
    assert probe.calls == 1
    assert runner.breaker.state == "closed"


def test_resilient_half_open_probe_failure_opens_the_circuit_again() -> None:
    clock = FakeClock()
    runner = resilient(clock, retries=2, failure_threshold=1, reset_after=30.0)
    with pytest.raises(RegistryError):
        runner.call(Script(transient()))
    clock.advance(30.0)
    probe = Script(transient(), {"ok": True})
    # The probe fails; the retry that follows finds the circuit open again.
    with pytest.raises(RegistryUnavailable, match="circuit is open"):
        runner.call(probe)
    assert probe.calls == 1
    assert runner.breaker.state == "open"


def test_citizen_not_found_during_the_probe_does_not_wedge_the_circuit() -> None:
    # "No such citizen" is a correct answer from a healthy registry: the probe
    # succeeded, so the circuit must close (and never stay half-open forever).
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    runner = resilient(clock, outcomes, retries=0, failure_threshold=1, reset_after=30.0)
    with pytest.raises(RegistryError):
        runner.call(Script(transient()))
    clock.advance(30.0)
    with pytest.raises(CitizenNotFound):
        runner.call(Script(CitizenNotFound()))
    assert runner.breaker.state == "closed"
    assert outcomes[-1] == ("land", "citizen-not-found")
    assert runner.call(Script("next")) == "next"


def test_an_unexpected_exception_in_the_probe_does_not_wedge_the_circuit() -> None:
    clock = FakeClock()
    runner = resilient(clock, retries=0, failure_threshold=1, reset_after=30.0)
    with pytest.raises(RegistryError):
        runner.call(Script(transient()))
    clock.advance(30.0)
    with pytest.raises(ZeroDivisionError):
        runner.call(Script(ZeroDivisionError()))
    clock.advance(30.0)
    assert runner.call(Script("recovered")) == "recovered"


# -- retries -------------------------------------------------------------------------


def test_idempotent_call_is_retried_on_transient_errors_until_it_succeeds() -> None:
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    runner = resilient(clock, outcomes, retries=2, backoff=0.05)
    attempt = Script(transient(), RegistryTimeout("slow"), {"ok": 1})
    assert runner.call(attempt) == {"ok": 1}
    assert attempt.calls == 3
    assert len(clock.sleeps) == 2
    assert all(0 <= pause <= 0.1 for pause in clock.sleeps)
    assert outcomes == [("land", "ok")]


def test_retries_are_bounded() -> None:
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    runner = resilient(clock, outcomes, retries=2, failure_threshold=100)
    attempt = Script(RegistryUnavailable("connection refused"))
    with pytest.raises(RegistryUnavailable, match="connection refused"):
        runner.call(attempt)
    assert attempt.calls == 3
    assert len(clock.sleeps) == 2, "no pause after the last attempt"
    assert outcomes == [("land", "registry-unavailable")]


def test_non_idempotent_call_is_never_retried() -> None:
    clock = FakeClock()
    runner = resilient(clock, retries=5, failure_threshold=100)
    attempt = Script(transient(), "would have succeeded")
    with pytest.raises(RegistryError):
        runner.call(attempt, idempotent=False)
    assert attempt.calls == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        RegistryError("malformed answer"),
        RegistryError("client fault", transient=False),
    ],
)
def test_non_transient_errors_are_not_retried(error: RegistryError) -> None:
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    runner = resilient(clock, outcomes, retries=3)
    attempt = Script(error, "would have succeeded")
    with pytest.raises(RegistryError) as caught:
        runner.call(attempt)
    assert caught.value is error
    assert attempt.calls == 1
    assert outcomes == [("land", "registry-error")]


def test_citizen_not_found_is_not_retried() -> None:
    clock = FakeClock()
    runner = resilient(clock, retries=3)
    attempt = Script(CitizenNotFound(), "would have succeeded")
    with pytest.raises(CitizenNotFound):
        runner.call(attempt)
    assert attempt.calls == 1


def test_non_transient_server_failures_count_against_the_breaker() -> None:
    clock = FakeClock()
    runner = resilient(clock, retries=0, failure_threshold=2)
    for _ in range(2):
        with pytest.raises(RegistryError):
            runner.call(Script(RegistryError("hostile XML")))
    assert runner.breaker.state == "open"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RegistryError("bad"), False),
        (RegistryError("5xx", transient=True), True),
        (RegistryTimeout("slow"), True),
        (RegistryUnavailable("down"), True),
    ],
)
def test_is_transient(error: RegistryError, expected: bool) -> None:
    assert is_transient(error) is expected


# -- the total deadline ----------------------------------------------------------------


def test_each_attempt_gets_only_what_is_left_of_the_deadline() -> None:
    clock = FakeClock()
    runner = resilient(clock, timeout=5.0, retries=5, backoff=0.0, failure_threshold=100)
    attempt = Script(transient(), transient(), "done", clock=clock, cost=1.5)
    assert runner.call(attempt) == "done"
    assert attempt.budgets == pytest.approx([5.0, 3.5, 2.0])


def test_the_deadline_stops_retries_before_the_retry_budget_is_spent() -> None:
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    runner = resilient(clock, outcomes, timeout=5.0, retries=10, backoff=0.0, failure_threshold=100)
    attempt = Script(RegistryTimeout("slow"), clock=clock, cost=2.0)
    with pytest.raises(RegistryTimeout):
        runner.call(attempt)
    # Attempts start at 0, 2 and 4 s; the third is cut off at 5 s; no fourth.
    assert attempt.calls == 3
    assert attempt.budgets[-1] == pytest.approx(1.0)
    assert clock.now - 1000.0 == pytest.approx(5.0)
    assert outcomes == [("land", "registry-timeout")]


def test_backoff_never_sleeps_past_the_deadline() -> None:
    clock = FakeClock()
    runner = resilient(clock, timeout=1.0, retries=3, backoff=100.0, failure_threshold=100)
    attempt = Script(transient(), clock=clock, cost=0.2)
    with pytest.raises(RegistryError):
        runner.call(attempt)
    assert clock.sleeps, "a retry was expected"
    assert max(clock.sleeps) < 1.0
    assert clock.now - 1000.0 <= 1.0 + 1e-9


def test_a_spent_deadline_raises_timeout_without_calling() -> None:
    clock = FakeClock()
    outcomes: list[tuple[str, str]] = []
    runner = resilient(clock, outcomes, timeout=0.005)
    attempt = Script("never")
    with pytest.raises(RegistryTimeout, match="did not answer in time"):
        runner.call(attempt)
    assert attempt.calls == 0
    assert outcomes == [("land", "registry-timeout")]


# -- concurrency -------------------------------------------------------------------------


def test_saturation_refuses_quickly_instead_of_queueing() -> None:
    outcomes: list[tuple[str, str]] = []
    runner = Resilient(
        "land",
        Policy(max_concurrency=1, queue_timeout=0.01, timeout=60.0),
        on_outcome=lambda registry, outcome: outcomes.append((registry, outcome)),
    )
    entered, release = threading.Event(), threading.Event()

    def blocked(_budget: float) -> str:
        entered.set()
        release.wait(10)
        return "late"

    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(runner.call(blocked)))
    worker.start()
    try:
        assert entered.wait(10)
        second = Script("never")
        with pytest.raises(RegistryUnavailable, match="saturated"):
            runner.call(second)
        assert second.calls == 0
        assert ("land", "saturated") in outcomes
    finally:
        release.set()
        worker.join(10)
    assert results == ["late"]
    # The slot was given back: the next call goes through.
    assert runner.call(Script("again")) == "again"


def test_a_failed_call_gives_its_slot_back() -> None:
    clock = FakeClock()
    runner = resilient(clock, max_concurrency=1, queue_timeout=0.01, retries=0)
    with pytest.raises(RegistryError):
        runner.call(Script(RegistryError("bad")))
    assert runner.call(Script("ok")) == "ok"


@contextmanager
def _every_slot_held(runner: Resilient) -> Iterator[None]:
    """One call takes the only slot and keeps it for the block."""
    entered, release = threading.Event(), threading.Event()

    def blocked(_budget: float) -> str:
        entered.set()
        release.wait(10)
        return "late"

    worker = threading.Thread(target=lambda: runner.call(blocked))
    worker.start()
    assert entered.wait(10)
    try:
        yield
    finally:
        release.set()
        worker.join(10)


def _refused_as_saturated(runner: Resilient, times: int) -> list[RegistryUnavailable]:
    refusals = []
    for _ in range(times):
        with pytest.raises(RegistryUnavailable, match="saturated") as caught:
            runner.call(Script("never"))
        refusals.append(caught.value)
    return refusals


def test_saturation_opens_the_circuit_of_a_registry_that_stopped_answering() -> None:
    clock = FakeClock()
    runner = resilient(
        clock, max_concurrency=1, queue_timeout=0.01, timeout=60.0, failure_threshold=3
    )
    with _every_slot_held(runner):
        clock.advance(30.5)  # Nothing has come back for over half the deadline.
        for refusal in _refused_as_saturated(runner, 3):
            assert refusal.extensions["retry_after"] == 60
        assert runner.breaker.state == "open"
        # An open circuit refuses before waiting for a slot.
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="circuit is open"):
            runner.call(Script("never"))
        assert time.monotonic() - started < 0.01 + 0.5


def test_a_full_registry_whose_answers_are_only_spaced_out_trips_nothing() -> None:
    # Under load the hub's threads wait for the processor, so a healthy
    # registry's answers can come back further apart than the queue wait;
    # only half a deadline without any answer counts as a stuck registry.
    clock = FakeClock()
    runner = resilient(
        clock, max_concurrency=1, queue_timeout=0.01, timeout=2.0, failure_threshold=2
    )
    with _every_slot_held(runner):
        clock.advance(0.9)
        _refused_as_saturated(runner, 5)
        assert runner.breaker.state == "closed"
        clock.advance(0.2)
        _refused_as_saturated(runner, 2)
        assert runner.breaker.state == "open"


def test_saturation_of_a_registry_that_keeps_answering_trips_nothing() -> None:
    clock = FakeClock()
    runner = resilient(clock, max_concurrency=1, queue_timeout=0.01, failure_threshold=2)
    with _every_slot_held(runner):
        # The fake clock stands still: the last answer is always recent.
        _refused_as_saturated(runner, 5)
        assert runner.breaker.state == "closed"


def test_saturation_leaves_a_half_open_probe_to_decide() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, reset_after=5.0, clock=clock)
    breaker.record_failure()
    clock.now += 5.0
    assert breaker.allow()  # The probe is out.
    breaker.record_saturation()
    breaker.record_success()  # The probe's verdict.
    assert breaker.state == "closed"
