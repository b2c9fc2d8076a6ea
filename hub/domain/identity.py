"""Identifiers: AFM (tax number), AMKA (social-security number) and those the catalogue declares.

AFM and AMKA carry check digits, so a typing error is caught before any
registry is asked. AFM is nine digits whose last is a mod-11 check over the
first eight weighted by powers of two. AMKA is eleven digits: the birth date
as DDMMYY, four serial digits and a Luhn check digit. A KAEK (the cadastre's
property code) is twelve digits: two for the prefecture's code, three for
the municipality, the rest for the parcel and the property in it.

The catalogue (``identifiers.yaml``) declares every kind a request may name
a citizen by — the ID card number (ΑΔΤ), a company's AFM… — each with its
check: one of the :data:`CHECKS` here (check digits are code, written once)
or a pattern, and, where a registry can, how to resolve it into the others
(:class:`IdentifierSpec`). AFM and AMKA are always known, with their checks
and messages, whatever the catalogue says.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from hub.errors import ConfigError, InvalidIdentifier

__all__ = [
    "BUILTIN_IDENTIFIERS",
    "CHECKS",
    "CitizenRef",
    "IdentifierSpec",
    "Resolution",
    "afm_check_digit",
    "amka_birth_date",
    "is_valid_afm",
    "is_valid_amka",
    "is_valid_kaek",
    "luhn_check_digit",
    "parse_citizen_ref",
]

#: The name of an identifier kind: ``afm``, ``amka``, or one the catalogue declares.
IdentifierKind = str


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


def is_valid_kaek(value: str) -> bool:
    """Twelve digits, none of the three codes (prefecture, municipality, parcel) all zero."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    return value[:2] != "00" and value[2:5] != "000" and value[5:10] != "00000"


#: The checks an identifier of the catalogue may name: those that are arithmetic.
CHECKS: Final[Mapping[str, Callable[[str], bool]]] = {
    "afm": is_valid_afm,
    "amka": is_valid_amka,
    "kaek": is_valid_kaek,
}


@dataclass(frozen=True, slots=True)
class Resolution:
    """How to learn other identifiers from this one: a registry operation and its fields."""

    registry: str
    operation: str
    #: Identifier kind -> dotted path of its value in the operation's answer.
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class IdentifierSpec:
    """A kind of identifier the catalogue declares, and how a value of it is checked."""

    kind: IdentifierKind
    labels: tuple[str, str]
    check: str | None = None
    pattern: str | None = None
    #: Who it names: a person, a company, a property.
    subject: str = "person"
    resolve: Resolution | None = None
    message: str = ""
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        kind: str,
        labels: tuple[str, str],
        *,
        check: str | None = None,
        pattern: str | None = None,
        subject: str = "person",
        resolve: Resolution | None = None,
    ) -> IdentifierSpec:
        """A spec, its pattern compiled once; :class:`ConfigError` if it cannot be checked."""
        where = f"identifier {kind}"
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", kind):
            raise ConfigError(f"{where}: a kind is a lower-case name")
        if check is None and pattern is None:
            raise ConfigError(f"{where}: give a check ({', '.join(CHECKS)}) or a pattern")
        if check is not None and check not in CHECKS:
            raise ConfigError(f"{where}: check is one of {', '.join(CHECKS)}")
        regex = None
        if pattern is not None:
            if len(pattern) > 200:
                raise ConfigError(f"{where}: a pattern is at most 200 characters")
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"{where}: the pattern does not compile: {exc}") from exc
        message = f"The {labels[1]} is not well formed."
        return cls(kind, labels, check, pattern, subject, resolve, message, regex)

    def is_valid(self, value: str) -> bool:
        if len(value) > 32 or not value.isprintable() or value != value.strip():
            return False
        if self.check is not None and not CHECKS[self.check](value):
            return False
        return self._regex is None or self._regex.fullmatch(value) is not None


#: AFM and AMKA as the hub has always checked them.
BUILTIN_IDENTIFIERS: Final[Mapping[str, IdentifierSpec]] = {
    "afm": IdentifierSpec.build("afm", ("ΑΦΜ", "AFM"), check="afm"),
    "amka": IdentifierSpec.build("amka", ("ΑΜΚΑ", "AMKA"), check="amka"),
}


@dataclass(frozen=True, slots=True)
class CitizenRef:
    """How a request names a citizen: by AFM or by AMKA, already validated."""

    kind: IdentifierKind
    value: str

    def masked(self) -> str:
        """A form safe for application logs: kind and the last two digits."""
        return f"{self.kind}:…{self.value[-2:]}"


def parse_citizen_ref(
    data: Mapping[str, object], identifiers: Mapping[str, IdentifierSpec] | None = None
) -> CitizenRef:
    """Validate ``{"afm": ...}``, ``{"amka": ...}`` or another declared kind into a CitizenRef.

    Exactly one identifier must be given; a wrong check digit is an error.
    Without ``identifiers`` only AFM and AMKA are accepted (consents and
    certificates name citizens by those).
    """
    declared = {k: v for k, v in (identifiers or {}).items() if k not in BUILTIN_IDENTIFIERS}
    if len(data) == 1 and next(iter(data)) in declared:
        kind, value = next(iter(data.items()))
        spec = declared[kind]
        if not isinstance(value, str) or not spec.is_valid(value):
            raise InvalidIdentifier(spec.message)
        return CitizenRef(kind, value)
    if set(data) - {"afm", "amka"}:
        kinds = ", ".join(repr(k) for k in ("afm", "amka", *sorted(declared)))
        raise InvalidIdentifier(f"Name the citizen by exactly one of {kinds}.")
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
