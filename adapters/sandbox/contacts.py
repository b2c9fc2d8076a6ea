"""The sandbox contact registry: verified contacts for the synthetic population.

Greece keeps a national registry of citizens' verified contact details that
every agency reuses; the sandbox plays it for the synthetic population. Each
living citizen's email address, mobile number and language are a pure
function of (seed, index), like everything else of the population, so the
same AFM always has the same contacts. The addresses carry no name and no
identifier (a message's ``to`` never tells who the citizen is).
"""

from __future__ import annotations

from adapters.sandbox._rng import Stream
from adapters.sandbox.population import Citizen, Population
from hub.notifications.models import ContactPoints

__all__ = ["MAIL_DOMAIN", "SandboxContactRegistry"]

#: The sandbox mailboxes' domain (reserved for examples; nothing leaves the machine).
MAIL_DOMAIN = "mail.example.gr"
_TOPIC = 0xC0_47AC7


class SandboxContactRegistry:
    """:class:`hub.notifications.ports.ContactDirectory` for the sandbox population."""

    def __init__(self, population: Population) -> None:
        self.population = population

    def contacts_of(self, citizen: Citizen) -> ContactPoints | None:
        if not citizen.alive:
            return None
        rng = Stream(self.population.seed, _TOPIC, citizen.index)
        mailbox = f"{rng.next64() & 0xFFFFFFFFFF:010x}"
        mobile = f"+3069{rng.below(10**8):08d}"
        language = "en" if rng.chance(10) else "el"
        # Young children have no phone of their own.
        return ContactPoints(
            email=f"c{mailbox}@{MAIL_DOMAIN}",
            mobile=mobile if citizen.age >= 12 else None,
            language=language,
        )

    def lookup(self, subject: str) -> ContactPoints | None:
        kind, _, value = subject.partition(":")
        if kind == "afm":
            citizen = self.population.by_afm(value)
        elif kind == "amka":
            citizen = self.population.by_amka(value)
        else:
            return None
        return None if citizen is None else self.contacts_of(citizen)
