"""The benchmark's arithmetic: percentiles, ratios, rates and targets.

No timing is asserted here: the clock of ``timed_rate`` is a fake, so each
test checks the arithmetic, not the machine.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from bench.report import Figure, Target, render_table
from bench.stats import (
    Rate,
    log_growth,
    per_second,
    percentile,
    ratio,
    summarise,
    timed_rate,
)

# -- percentiles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0, 1.0), (25, 1.75), (50, 2.5), (75, 3.25), (100, 4.0)],
)
def test_percentile_interpolates_linearly_like_numpy(q: float, expected: float) -> None:
    # numpy.percentile([1, 2, 3, 4], q) with the default "linear" method.
    assert percentile([4.0, 1.0, 3.0, 2.0], q) == pytest.approx(expected)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.5], 0) == 7.5
    assert percentile([7.5], 99) == 7.5


def test_p99_of_a_hundred_values_sits_between_the_top_two() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 50) == pytest.approx(50.5)


def test_percentile_does_not_reorder_its_input() -> None:
    values = [3.0, 1.0, 2.0]
    percentile(values, 50)
    assert values == [3.0, 1.0, 2.0]


@pytest.mark.parametrize("q", [-1.0, 100.5, math.nan])
def test_percentile_outside_0_to_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0, 2.0], q)


def test_percentile_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_summary_is_in_milliseconds() -> None:
    summary = summarise([0.001, 0.002, 0.003])
    assert summary.count == 3
    assert summary.mean_ms == pytest.approx(2.0)
    assert summary.p50_ms == pytest.approx(2.0)
    assert summary.p99_ms == pytest.approx(2.98)
    assert summary.max_ms == pytest.approx(3.0)


def test_summary_of_an_empty_run_is_zero() -> None:
    assert summarise([]).count == 0
    assert summarise([]).p99_ms == 0.0


# -- ratios and rates --------------------------------------------------------------


def test_ratio_is_measured_over_floor() -> None:
    assert ratio(30.0, 120.0) == pytest.approx(0.25)
    assert ratio(5.0, 2.0) == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("measured", "floor"),
    [(1.0, 0.0), (1.0, -3.0), (None, 2.0), (2.0, None), (1.0, math.nan), (math.nan, 1.0)],
)
def test_ratio_without_a_usable_floor_is_none(measured: float | None, floor: float | None) -> None:
    assert ratio(measured, floor) is None


def test_per_second_divides_and_survives_zero_time() -> None:
    assert per_second(500, 2.0) == 250.0
    assert per_second(10, 0.0) == 0.0
    with pytest.raises(ValueError, match="negative"):
        per_second(-1, 1.0)


def test_log_growth_is_the_ratio_of_logarithms() -> None:
    assert log_growth(2**10, 2**20) == pytest.approx(2.0)
    assert log_growth(10**4, 10**7) == pytest.approx(7 / 4)
    with pytest.raises(ValueError, match="sizes"):
        log_growth(1000, 10)


def test_rate_reports_calls_per_second_and_seconds_per_call() -> None:
    rate = Rate(calls=400, seconds=2.0)
    assert rate.per_second == 200.0
    assert rate.seconds_per_call == pytest.approx(0.005)
    assert Rate(0, 1.0).seconds_per_call == math.inf


def _fake_clock(step: float) -> tuple[list[int], object]:
    """A clock that advances ``step`` seconds per reading, and the readings made."""
    readings: list[int] = []

    def ticks() -> Iterator[float]:
        now = 0.0
        while True:
            readings.append(1)
            yield now
            now += step

    source = ticks()
    return readings, lambda: next(source)


def test_timed_rate_stops_at_the_deadline_and_counts_calls() -> None:
    calls: list[int] = []
    readings, clock = _fake_clock(0.5)
    rate = timed_rate(lambda: calls.append(1), seconds=2.0, batch=10, clock=clock)  # type: ignore[arg-type]
    # Clock readings at 0 (start), 0.5, 1.0, 1.5, 2.0: four batches of ten.
    assert len(calls) == 40
    assert rate.calls == 40
    assert rate.seconds == pytest.approx(2.0)
    assert rate.per_second == pytest.approx(20.0)
    assert len(readings) == 5


def test_timed_rate_honours_min_and_max_calls() -> None:
    calls: list[int] = []
    _, slow = _fake_clock(100.0)
    assert timed_rate(lambda: calls.append(1), seconds=1.0, min_calls=3, clock=slow).calls == 3  # type: ignore[arg-type]
    _, frozen = _fake_clock(0.0)
    bounded = timed_rate(lambda: None, seconds=1.0, max_calls=25, batch=10, clock=frozen)  # type: ignore[arg-type]
    assert bounded.calls == 25


def test_timed_rate_refuses_a_zero_batch() -> None:
    with pytest.raises(ValueError, match="batch"):
        timed_rate(lambda: None, seconds=1.0, batch=0)


# -- targets and the table ---------------------------------------------------------


def test_target_on_the_value() -> None:
    target = Target("< 1 ms", "<=", 1.0)
    assert target.met(0.8, None) is True
    assert target.met(1.2, 0.1) is False
    assert target.met(None, 0.1) is None


def test_target_on_the_ratio() -> None:
    target = Target(">= 0.4 x direct", ">=", 0.4, on="ratio")
    assert Figure("s", "throughput", 50.0, "req/s", "direct", 100.0, target=target).met is True
    assert Figure("s", "throughput", 30.0, "req/s", "direct", 100.0, target=target).met is False
    assert Figure("s", "throughput", 30.0, "req/s", "direct", 0.0, target=target).met is None


def test_figure_without_target_has_no_verdict() -> None:
    figure = Figure("s", "n", 3.0, "x", "floor", 1.5)
    assert figure.ratio == pytest.approx(2.0)
    assert figure.met is None
    assert figure.to_dict()["ratio"] == pytest.approx(2.0)


def test_table_shows_ratio_and_verdict() -> None:
    figures = [
        Figure(
            "evidence",
            "throughput",
            30.0,
            "req/s",
            "direct",
            100.0,
            Target("t", ">=", 0.4, "ratio"),
        ),
        Figure("log", "appends", 5000.0, "appends/s", "raw", None),
    ]
    text = render_table(figures)
    lines = text.splitlines()
    assert "MISS" in lines[2]
    assert "0.30" in lines[2]
    assert lines[3].split()[-1] == "-"  # no floor, no ratio
    markdown = render_table(figures, markdown=True)
    assert markdown.splitlines()[0].startswith("| section")
    assert "5,000" in markdown


def test_figure_survives_a_json_round_trip() -> None:
    figure = Figure("s", "n", 3.0, "x", "floor", 1.5, Target("t", "<=", 2.0), note="why")
    again = Figure.from_dict(figure.to_dict())
    assert again == figure
    assert again.met is False
