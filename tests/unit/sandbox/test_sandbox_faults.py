"""Fault settings: the compact string form and the per-request decisions."""

from __future__ import annotations

import pytest

from adapters.sandbox.faults import FaultInjector, Faults, parse_fault_map
from hub.errors import ConfigError


def test_the_compact_form_is_parsed() -> None:
    faults = Faults.parse("latency=200, error_rate=0.5,hostile=xxe,hang_rate=1")
    assert faults == Faults(latency_ms=200, error_rate=0.5, hostile="xxe", hang_rate=1.0)
    assert faults.active


def test_the_compact_form_round_trips() -> None:
    faults = Faults(latency_ms=5, malformed_rate=0.25, hostile="huge", huge_bytes=1000, seed=3)
    assert Faults.parse(faults.to_string()) == faults
    assert Faults.parse("") == Faults()
    assert not Faults().active


@pytest.mark.parametrize(
    "text",
    ["latency=x", "error_rate=2", "hostile=nasty", "colour=red", "latency", "hang_seconds=-1"],
)
def test_bad_settings_are_configuration_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        Faults.parse(text)


def test_faults_per_registry() -> None:
    faults = parse_fault_map("population:error_rate=1; land:latency=50;social-security:")
    assert faults == {
        "population": Faults(error_rate=1.0),
        "land": Faults(latency_ms=50),
        "social-security": Faults(),
    }
    with pytest.raises(ConfigError):
        parse_fault_map("cadastre:error_rate=1")


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        (Faults(hang_rate=1), "hang"),
        (Faults(error_rate=1), "error"),
        (Faults(malformed_rate=1), "malformed"),
        (Faults(hostile="dtd"), "hostile"),
        (Faults(hostile="dtd", hostile_rate=0), "normal"),
        (Faults(latency_ms=10), "normal"),
    ],
)
def test_a_rate_of_one_always_happens(faults: Faults, outcome: str) -> None:
    injector = FaultInjector(faults)
    assert {injector.decide() for _ in range(50)} == {outcome}


def test_rates_in_between_are_mixed_and_repeatable() -> None:
    injector = FaultInjector(Faults(error_rate=0.5, seed=9))
    decisions = [injector.decide() for _ in range(200)]
    assert set(decisions) == {"error", "normal"}
    again = FaultInjector(Faults(error_rate=0.5, seed=9))
    assert [again.decide() for _ in range(200)] == decisions
