"""Consent test helpers: a clock that tests move by hand, a bank and its consent.

Tests against real services ask the sandbox land registry on behalf of the
demo bank; the citizen who owns property and the consent she grants the
bank are made the same way wherever they are needed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hub.auth.models import AgencyPrincipal, CitizenPrincipal
from hub.consent.service import ConsentService
from hub.domain.identity import CitizenRef

#: The demo bank, asking for a mortgage application.
BANK = AgencyPrincipal("bank-demo", ("mortgage-application",), "tok")

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


def property_owner(citizens: list[dict[str, Any]]) -> CitizenPrincipal:
    """A living sandbox citizen who owns property: the land registry has her."""
    found = next(c for c in citizens if c["owns_property"] and not c["deceased"])
    return CitizenPrincipal(afm=found["afm"], amka=found["amka"], name=None)


def grant_consent(consents: ConsentService, alice: CitizenPrincipal, *, once: bool = False) -> str:
    """The id of a consent ``alice`` gives :data:`BANK` for her property ownership."""
    request = consents.open_request(
        BANK,
        citizen=CitizenRef("afm", alice.afm),
        purpose="mortgage-application",
        evidence_types=["property-ownership"],
    )
    _, consent = consents.decide(alice, request.id, approve=True, once=once)
    assert consent is not None
    return consent.id
