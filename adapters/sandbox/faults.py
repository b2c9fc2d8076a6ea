"""Fault injection for the sandbox registries: slow, failing, broken and hostile answers.

The hub's adapters promise timeouts, retries, circuit breakers and hardened
parsing. Those promises can only be tested against a registry that misbehaves
on demand, so each sandbox registry takes a ``Faults`` at start-up. Every rate
is a probability per request; 1.0 makes the fault certain, which is what tests
use. A ``Faults`` can be written as a compact string so that a CLI flag or an
environment variable can carry it::

    latency=200,error_rate=0.5,hostile=xxe,hang_rate=1

and several registries at once as ``population:error_rate=1;land:latency=50``.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Literal, get_args

from hub.errors import ConfigError

__all__ = [
    "HOSTILE_MODES",
    "REGISTRY_IDS",
    "FaultInjector",
    "Faults",
    "HostileMode",
    "Outcome",
    "parse_fault_map",
]

HostileMode = Literal["xxe", "billion_laughs", "dtd", "huge", "wrong_namespace", "deep_nesting"]
#: What the fault injector decided for one request.
Outcome = Literal["normal", "hang", "error", "malformed", "hostile"]

REGISTRY_IDS = ("population", "land", "social-security")

HOSTILE_MODES: tuple[str, ...] = get_args(HostileMode)
_RATES = ("error_rate", "malformed_rate", "hostile_rate", "hang_rate")


@dataclass(frozen=True, slots=True)
class Faults:
    """How a sandbox registry misbehaves; the default is not at all."""

    #: Added to every operation (not to the WSDL or the health check).
    latency_ms: int = 0
    #: HTTP 500 with a SOAP Server fault or a problem+json body.
    error_rate: float = 0.0
    #: A truncated XML or JSON body with status 200.
    malformed_rate: float = 0.0
    #: Which hostile body to send, and how often; no hostile body when None.
    hostile: HostileMode | None = None
    hostile_rate: float = 1.0
    #: No answer until ``hang_seconds`` pass or the sandbox stops.
    hang_rate: float = 0.0
    hang_seconds: float = 3600.0
    #: The size of the ``huge`` hostile body.
    huge_bytes: int = 50 * 1024 * 1024
    #: Seeds the per-registry random draws, so a run with rates below 1 repeats.
    seed: int = 0

    def __post_init__(self) -> None:
        for name in _RATES:
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"fault {name} must be between 0 and 1, not {rate}")
        if self.latency_ms < 0 or self.hang_seconds < 0 or self.huge_bytes < 0:
            raise ConfigError("fault latency, hang_seconds and huge_bytes cannot be negative")
        if self.hostile is not None and self.hostile not in HOSTILE_MODES:
            raise ConfigError(
                f"hostile mode must be one of {', '.join(HOSTILE_MODES)}, not {self.hostile!r}"
            )

    @property
    def active(self) -> bool:
        return bool(
            self.latency_ms
            or self.error_rate
            or self.malformed_rate
            or (self.hostile and self.hostile_rate)
            or self.hang_rate
        )

    @classmethod
    def parse(cls, text: str) -> Faults:
        """Read ``key=value,key=value``; ``latency`` is short for ``latency_ms``."""
        fields: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, value = item.partition("=")
            key, value = key.strip().replace("-", "_"), value.strip()
            if key == "latency":
                key = "latency_ms"
            if not sep or key not in cls.__dataclass_fields__:
                raise ConfigError(f"unknown fault setting {item!r}")
            try:
                if key == "hostile":
                    fields[key] = value or None
                elif key in ("latency_ms", "huge_bytes", "seed"):
                    fields[key] = int(value)
                else:
                    fields[key] = float(value)
            except ValueError as exc:
                raise ConfigError(f"fault setting {key} has a bad value {value!r}") from exc
        return cls(**fields)  # type: ignore[arg-type]  # Each value was converted above.

    def to_string(self) -> str:
        """The compact form ``parse`` reads, with only the non-default settings."""
        default = Faults()
        parts = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value != getattr(default, field.name):
                parts.append(f"{field.name}={value}")
        return ",".join(parts)


def parse_fault_map(text: str) -> dict[str, Faults]:
    """Read ``registry:faults;registry:faults`` into faults per registry id."""
    result: dict[str, Faults] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        registry, sep, spec = item.partition(":")
        registry = registry.strip()
        if not sep or registry not in REGISTRY_IDS:
            raise ConfigError(
                f"fault settings must start with one of {', '.join(REGISTRY_IDS)} and a colon"
            )
        result[registry] = Faults.parse(spec)
    return result


class FaultInjector:
    """Decides, request by request, which fault (if any) a registry commits."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)  # noqa: S311  # Simulation, not security.

    def _happens(self, rate: float) -> bool:
        if rate >= 1.0:
            return True
        if rate <= 0.0:
            return False
        return self._random.random() < rate

    def decide(self) -> Outcome:
        faults = self.faults
        if self._happens(faults.hang_rate):
            return "hang"
        if self._happens(faults.error_rate):
            return "error"
        if self._happens(faults.malformed_rate):
            return "malformed"
        if faults.hostile is not None and self._happens(faults.hostile_rate):
            return "hostile"
        return "normal"

    @property
    def hostile(self) -> HostileMode:
        return self.faults.hostile or "huge"
