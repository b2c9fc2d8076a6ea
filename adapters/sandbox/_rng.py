"""Counter-based randomness, so that any citizen can be rebuilt from (seed, index) alone.

A sequential generator would force the sandbox to create citizens 0..i-1 before
citizen i. Here every draw is a pure function of a key (seed, topic, index), so a
lookup at index 999,999 costs the same as one at index 0, and the population
never has to exist in memory as a whole. The permutations are bijections with
cheap inverses, which is what lets an AFM or an AMKA be decoded back to an index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["AffinePermutation", "Stream"]

T = TypeVar("T")

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(value: int) -> int:
    """The SplitMix64 finaliser: a fast 64-bit mixing function."""
    value = (value + _GOLDEN) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


class Stream:
    """A stream of pseudo-random draws keyed by a tuple of integers."""

    __slots__ = ("_state",)

    def __init__(self, *key: int) -> None:
        state = 0
        for part in key:
            state = _mix(state ^ (part & _MASK))
        self._state = state

    def next64(self) -> int:
        self._state = (self._state + _GOLDEN) & _MASK
        return _mix(self._state)

    def below(self, bound: int) -> int:
        """A draw in ``range(bound)``; the modulo bias is below 2**-40 here."""
        return self.next64() % bound

    def between(self, low: int, high: int) -> int:
        """A draw in the closed interval ``[low, high]``."""
        return low + self.below(high - low + 1)

    def chance(self, percent: int) -> bool:
        """True with the given probability in percent."""
        return self.below(100) < percent

    def choice(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]


class AffinePermutation:
    """A bijection of ``range(size)``: ``x -> (a*x + b) mod size``, with its inverse."""

    __slots__ = ("_a", "_a_inverse", "_b", "size")

    def __init__(self, size: int, *key: int) -> None:
        stream = Stream(*key)
        while True:
            # A multiplier far from 0 and from size scatters neighbouring indices.
            a = stream.between(size // 5, size - size // 5)
            if math.gcd(a, size) == 1:
                break
        self.size = size
        self._a = a
        self._b = stream.below(size)
        self._a_inverse = pow(a, -1, size)

    def forward(self, value: int) -> int:
        return (self._a * value + self._b) % self.size

    def inverse(self, value: int) -> int:
        return ((value - self._b) * self._a_inverse) % self.size
