"""Greek citizen identifiers: AFM (tax number) and AMKA (social-security number).

Both carry check digits, so a typing error is caught before any registry is
asked. AFM is nine digits whose last is a mod-11 check over the first eight
weighted by powers of two. AMKA is eleven digits: the birth date as DDMMYY,
four serial digits and a Luhn check digit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from hub.errors import InvalidIdentifier

__all__ = [
    "CitizenRef",
    "afm_check_digit",
    "amka_birth_date",
    "is_valid_afm",
    "is_valid_amka",
    "luhn_check_digit",
    "parse_citizen_ref",
]

IdentifierKind = Literal["afm", "amka"]


def afm_check_digit(first_eight: str) -> int:
    """The ninth digit of an AFM whose first eight digits are given."""
    total = sum(int(d) << (8 - i) for i, d in enumerate(first_eight))
    return (total % 11) % 10


def is_valid_afm(value: str) -> bool:
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        return False
    if value == "000000000":
        return False
    return afm_check_digit(value[:8]) == int(value[8])


def luhn_check_digit(payload: str) -> int:
    """The Luhn digit that makes ``payload + digit`` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def amka_birth_date(value: str, *, today: dt.date | None = None) -> dt.date | None:
    """The birth date encoded in an AMKA, or None if the prefix is no date.

    The two-digit year is read as the most recent year not in the future.
    """
    try:
        day, month, yy = int(value[0:2]), int(value[2:4]), int(value[4:6])
    except ValueError:
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    century = today.year - today.year % 100
    year = century + yy
    if year > today.year:
        year -= 100
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def is_valid_amka(value: str) -> bool:
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        return False
    if amka_birth_date(value) is None:
        return False
    return luhn_check_digit(value[:10]) == int(value[10])


@dataclass(frozen=True, slots=True)
class CitizenRef:
    """How a request names a citizen: by AFM or by AMKA, already validated."""

    kind: IdentifierKind
    value: str

    def masked(self) -> str:
        """A form safe for application logs: kind and the last two digits."""
        return f"{self.kind}:…{self.value[-2:]}"


def parse_citizen_ref(data: dict[str, object]) -> CitizenRef:
    """Validate ``{"afm": ...}`` or ``{"amka": ...}`` into a CitizenRef.

    Exactly one identifier must be given; a wrong check digit is an error.
    """
    afm, amka = data.get("afm"), data.get("amka")
    if (afm is None) == (amka is None):
        raise InvalidIdentifier("Name the citizen by exactly one of 'afm' or 'amka'.")
    if afm is not None:
        if not isinstance(afm, str) or not is_valid_afm(afm):
            raise InvalidIdentifier("The AFM is not nine digits with a valid check digit.")
        return CitizenRef("afm", afm)
    if not isinstance(amka, str) or not is_valid_amka(amka):
        raise InvalidIdentifier(
            "The AMKA is not eleven digits with a birth-date prefix and a valid check digit."
        )
    return CitizenRef("amka", amka)
