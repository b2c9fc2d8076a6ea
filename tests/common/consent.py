"""Consent test helpers: a clock that tests move by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

#: The project's specs directory, for tests that load the real catalogue.
SPECS = Path(__file__).resolve().parents[2] / "specs"


class Clock:
    """A clock tests move by hand: time travel for expiry and ``hidden_until``."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def travel(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
