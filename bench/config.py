"""How long and how hard each part of the benchmark runs: a full run or a quick one.

The full run is sized to finish within five minutes on two cores, PostgreSQL
included; the quick run is a smoke test for CI (well under a minute) whose
figures are noisy and only show that every part still runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["BenchConfig", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``var/bench`` of the source checkout: kept between runs, ignored by git."""
    return Path(__file__).resolve().parent.parent / "var" / "bench"


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """The knobs of one run; build it with :meth:`full` or :meth:`quick`."""

    name: str
    #: In-flight requests of the HTTP load, one run per value.
    concurrencies: tuple[int, ...]
    #: Seconds of each HTTP load discarded before measuring, and measured.
    http_warmup: float
    http_duration: float
    #: No HTTP run sends more requests than this.
    http_max_requests: int
    #: Seconds each access-log and sealing measurement runs.
    db_seconds: float
    crypto_seconds: float
    #: Threads appending at once in the concurrent access-log figure.
    append_threads: int
    append_crowd: int
    #: Tree sizes of the inclusion-proof figures; sizes in ``cached_sizes``
    #: are built once and kept under ``cache_dir``.
    proof_sizes: tuple[int, ...]
    cached_sizes: tuple[int, ...]
    proof_samples: int
    #: Whether a missing cached tree is built (a full run) or skipped (quick).
    build_cached: bool
    sandbox_size: int
    sandbox_seed: int = 2026
    cache_dir: Path = Path("var/bench")

    @classmethod
    def full(cls, cache_dir: Path | None = None) -> BenchConfig:
        return cls(
            name="full",
            concurrencies=(16, 64),
            http_warmup=1.5,
            http_duration=5.0,
            http_max_requests=500_000,
            db_seconds=2.0,
            crypto_seconds=2.0,
            append_threads=8,
            append_crowd=64,
            proof_sizes=(10**4, 10**6, 10**7),
            cached_sizes=(10**7,),
            proof_samples=2000,
            build_cached=True,
            sandbox_size=10_000,
            cache_dir=cache_dir or default_cache_dir(),
        )

    @classmethod
    def quick(cls, cache_dir: Path | None = None) -> BenchConfig:
        """Every part, briefly; the largest tree only if a full run cached it."""
        return cls(
            name="quick",
            concurrencies=(16,),
            http_warmup=0.3,
            http_duration=1.5,
            http_max_requests=50_000,
            db_seconds=0.4,
            crypto_seconds=0.4,
            append_threads=4,
            append_crowd=16,
            proof_sizes=(10**4, 10**5, 10**7),
            cached_sizes=(10**7,),
            proof_samples=300,
            build_cached=False,
            sandbox_size=2_000,
            cache_dir=cache_dir or default_cache_dir(),
        )
