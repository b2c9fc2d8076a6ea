"""A deterministic synthetic population shared by the three sandbox registries.

The hub must run end to end on a fresh machine, so its registries need people
to serve: people with valid identifiers, families, homes, jobs, and the awkward
cases real registries hold (minors, the dead, namesakes, shared property).

Nothing is stored. Citizens live in families of five slots (index // 5 is the
family), and every field is a pure function of (seed, index), so a population
of a million costs no more memory than one of ten. The identifiers encode the
index reversibly:

* AFM: the eight payload digits are ``10_000_000 + P(index)`` for a seeded
  bijection ``P`` of ``range(10**7)``, followed by the mod-11 check digit;
* AMKA: ``Q(index) = serial * 365 + day`` for a seeded bijection ``Q`` of
  ``range(MAX_SIZE)``; the birth date is ``day`` days into the birth year the
  family chose, and the four serial digits are ``serial``; then the Luhn digit.

Decoding an identifier therefore gives the index directly, and ``by_afm`` and
``by_amka`` rebuild one family to answer. Everything is dated as of
``REFERENCE_DATE``, never the clock, so the data never changes under a test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from adapters.sandbox import _data
from adapters.sandbox._rng import AffinePermutation, Stream
from adapters.sandbox.translit import elot743
from hub.domain.identity import afm_check_digit, is_valid_afm, is_valid_amka, luhn_check_digit

__all__ = [
    "FIRST_BIRTH_YEAR",
    "LAST_BIRTH_YEAR",
    "MAX_SIZE",
    "REFERENCE_DATE",
    "TAGS",
    "BirthRegistration",
    "Citizen",
    "Employer",
    "Holding",
    "Insurance",
    "InsuranceCategory",
    "MaritalStatus",
    "Municipality",
    "Ownership",
    "Population",
    "Property",
    "PropertyUse",
    "Right",
    "Sex",
    "Title",
]

#: The sandbox's "today": ages, minors and validity dates are computed against it.
REFERENCE_DATE = dt.date(2026, 1, 1)
#: 365 birth days times 10,000 AMKA serials.
MAX_SIZE = 3_650_000
FIRST_BIRTH_YEAR = 1935
LAST_BIRTH_YEAR = 2025
#: How many consecutive indices form one family.
FAMILY_SLOTS = 5
#: Every tag that ``Population.tags`` can return.
TAGS = (
    "minor",
    "deceased",
    "owns_property",
    "co_owner",
    "usufruct",
    "insured",
    "uninsured",
    "single",
    "married",
    "divorced",
    "widowed",
    "namesake",
)

Sex = Literal["M", "F"]
MaritalStatus = Literal["single", "married", "divorced", "widowed"]
PropertyUse = Literal["residential", "commercial", "agricultural", "plot"]
Right = Literal["full_ownership", "bare_ownership", "usufruct"]
Title = Literal["purchase_contract", "inheritance", "donation"]
InsuranceCategory = Literal[
    "employee", "self_employed", "farmer", "civil_servant", "pensioner", "dependent", "none"
]
_FamilyKind = Literal["married", "divorced", "widowed", "unrelated"]

# Separate topics keep the draws for different purposes independent of each other.
_T_AFM, _T_AMKA, _T_KAEK, _T_FAMILY, _T_PERSON, _T_LAND, _T_INSURANCE, _T_EMPLOYERS = range(1, 9)
_AFM_SPACE = 10**7
_KAEK_SPACE = 10**7
_PROPERTIES_PER_FAMILY = 8

# Every full namesake is this man, so namesakes exist in any population of 25+ people.
_NAMESAKE = ("Γεώργιος", ("Παπαδόπουλος", "Παπαδοπούλου"), "Ιωάννης", "Μαρία")

_FUNDS: dict[str, tuple[str, str]] = {
    "employee": ("IKA-ETAM", "e-ΕΦΚΑ (πρώην ΙΚΑ-ΕΤΑΜ)"),
    "self_employed": ("OAEE", "e-ΕΦΚΑ (πρώην ΟΑΕΕ)"),
    "farmer": ("OGA", "e-ΕΦΚΑ (πρώην ΟΓΑ)"),
    "civil_servant": ("DIMOSIO", "e-ΕΦΚΑ (πρώην Δημόσιο)"),
}


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _date_between(rng: Stream, first: dt.date, last: dt.date) -> dt.date:
    if last <= first:
        return first
    return first + dt.timedelta(days=rng.below((last - first).days + 1))


@dataclass(frozen=True, slots=True)
class Municipality:
    name: str
    regional_unit: str
    postal_code: str
    code: str

    @property
    def name_latin(self) -> str:
        return elot743(self.name)


_MUNICIPALITIES = tuple(Municipality(*row) for row in _data.MUNICIPALITIES)


@dataclass(frozen=True, slots=True)
class BirthRegistration:
    """Where and under which act number a birth was registered."""

    office: Municipality
    act_number: int
    volume: int
    year: int

    @property
    def number(self) -> str:
        return f"{self.act_number}/{self.year}"


@dataclass(frozen=True, slots=True)
class Citizen:
    """One person as all three registries know them; relations are indices."""

    index: int
    afm: str
    amka: str
    first_name: str
    surname: str
    sex: Sex
    birth_date: dt.date
    birth_place: Municipality
    registration: BirthRegistration
    father_name: str
    father_surname: str
    mother_name: str
    #: The mother's own (maiden) surname.
    mother_surname: str
    marital_status: MaritalStatus = "single"
    spouse: int | None = None
    father: int | None = None
    mother: int | None = None
    children: tuple[int, ...] = ()
    death_date: dt.date | None = None
    #: True for the planted full namesakes (same name, father's and mother's name).
    namesake: bool = False

    @property
    def first_name_latin(self) -> str:
        return elot743(self.first_name)

    @property
    def surname_latin(self) -> str:
        return elot743(self.surname)

    @property
    def father_name_latin(self) -> str:
        return elot743(self.father_name)

    @property
    def mother_name_latin(self) -> str:
        return elot743(self.mother_name)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.surname}"

    @property
    def full_name_latin(self) -> str:
        return elot743(self.full_name)

    @property
    def alive(self) -> bool:
        return self.death_date is None

    @property
    def age(self) -> int:
        """Age on the reference date, or at death."""
        return _age(self.birth_date, self.death_date or REFERENCE_DATE)

    @property
    def is_minor(self) -> bool:
        return self.alive and self.age < 18


@dataclass(frozen=True, slots=True)
class Ownership:
    """One owner's right in a property and how they acquired it."""

    owner: int
    share_numerator: int
    share_denominator: int
    right: Right
    acquired: dt.date
    title: Title
    document_number: str

    @property
    def share_percent(self) -> float:
        return round(100 * self.share_numerator / self.share_denominator, 2)


@dataclass(frozen=True, slots=True)
class Property:
    kaek: str
    municipality: Municipality
    address: str
    use: PropertyUse
    area_m2: int
    ownerships: tuple[Ownership, ...]


@dataclass(frozen=True, slots=True)
class Holding:
    """A property seen from one of its owners."""

    asset: Property
    ownership: Ownership

    @property
    def co_owners(self) -> tuple[Ownership, ...]:
        """The other rights in the same property (co-owners, bare owners, usufructuaries)."""
        return tuple(o for o in self.asset.ownerships if o.owner != self.ownership.owner)


@dataclass(frozen=True, slots=True)
class Employer:
    name: str
    afm: str


@dataclass(frozen=True, slots=True)
class Insurance:
    insured: bool
    category: InsuranceCategory
    fund_code: str | None
    fund_name: str | None
    valid_until: dt.date | None
    #: (year, insured days) for the five calendar years before the reference date.
    insured_days: tuple[tuple[int, int], ...]
    employer: Employer | None


@dataclass(frozen=True, slots=True)
class _Family:
    members: tuple[Citizen, ...]
    properties: tuple[Property, ...]
    kind: _FamilyKind


class Population:
    """``size`` citizens derived from ``seed``; any one of them in O(1)."""

    def __init__(self, size: int = 10_000, seed: int = 2026) -> None:
        if not 1 <= size <= MAX_SIZE:
            raise ValueError(f"population size must be between 1 and {MAX_SIZE}")
        self.size = size
        self.seed = seed
        self._afm_code = AffinePermutation(_AFM_SPACE, seed, _T_AFM)
        self._amka_code = AffinePermutation(MAX_SIZE, seed, _T_AMKA)
        self._kaek_code = AffinePermutation(_KAEK_SPACE, seed, _T_KAEK)
        self._private_employers, self._public_employers = self._make_employers()
        self._family = functools.lru_cache(maxsize=4096)(self._build_family)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[Citizen]:
        for index in range(self.size):
            yield self.citizen(index)

    # Lookups.

    def citizen(self, index: int) -> Citizen:
        if not 0 <= index < self.size:
            raise IndexError(index)
        family = self._family(index // FAMILY_SLOTS)
        return family.members[index % FAMILY_SLOTS]

    def by_afm(self, afm: str) -> Citizen | None:
        """The citizen with this AFM, or None (also for an invalid AFM)."""
        if not is_valid_afm(afm):
            return None
        code = int(afm[:8]) - _AFM_SPACE
        if not 0 <= code < _AFM_SPACE:
            return None
        index = self._afm_code.inverse(code)
        return self.citizen(index) if index < self.size else None

    def by_amka(self, amka: str) -> Citizen | None:
        """The citizen with this AMKA, or None (also for an invalid AMKA)."""
        if not is_valid_amka(amka):
            return None
        yy = int(amka[4:6])
        year = (2000 if yy <= LAST_BIRTH_YEAR % 100 else 1900) + yy
        try:
            born = dt.date(year, int(amka[2:4]), int(amka[0:2]))
        except ValueError:
            return None
        day = (born - dt.date(year, 1, 1)).days
        if day >= 365:
            return None
        index = self._amka_code.inverse(int(amka[6:10]) * 365 + day)
        if index >= self.size:
            return None
        citizen = self.citizen(index)
        return citizen if citizen.amka == amka else None

    def holdings(self, citizen: Citizen) -> tuple[Holding, ...]:
        """The properties ``citizen`` holds a right in, with that right."""
        family = self._family(citizen.index // FAMILY_SLOTS)
        return tuple(
            Holding(prop, ownership)
            for prop in family.properties
            for ownership in prop.ownerships
            if ownership.owner == citizen.index
        )

    def property_by_kaek(self, kaek: str) -> Property | None:
        if len(kaek) != 12 or not kaek.isascii() or not kaek.isdigit():
            return None
        number = self._kaek_code.inverse(int(kaek[5:]))
        family = number // _PROPERTIES_PER_FAMILY
        if family * FAMILY_SLOTS >= self.size:
            return None
        for prop in self._family(family).properties:
            if prop.kaek == kaek:
                return prop
        return None

    def insurance(self, citizen: Citizen) -> Insurance:
        return self._insurance(citizen)

    @property
    def employers(self) -> tuple[Employer, ...]:
        return self._private_employers + self._public_employers

    def tags(self, citizen: Citizen) -> frozenset[str]:
        """Labels that help a tester pick an interesting citizen."""
        tags: set[str] = {citizen.marital_status}
        if citizen.is_minor:
            tags.add("minor")
        if not citizen.alive:
            tags.add("deceased")
        holdings = self.holdings(citizen)
        if holdings:
            tags.add("owns_property")
        if any(h.co_owners for h in holdings):
            tags.add("co_owner")
        if any(h.ownership.right != "full_ownership" for h in holdings):
            tags.add("usufruct")
        tags.add("insured" if self._insurance(citizen).insured else "uninsured")
        if citizen.namesake:
            tags.add("namesake")
        return frozenset(tags)

    def sample(self, limit: int = 20) -> list[Citizen]:
        """A deterministic, varied selection: every tag first, then a spread.

        Only the first few thousand citizens are scanned for tags, so this is
        cheap at any population size.
        """
        limit = max(0, min(limit, self.size))
        picked: dict[int, Citizen] = {}
        quota = max(1, limit // (2 * len(TAGS)))
        covered = dict.fromkeys(TAGS, 0)
        for index in range(min(self.size, 50 * limit + 2000)):
            if len(picked) >= limit or all(n >= quota for n in covered.values()):
                break
            citizen = self.citizen(index)
            tags = self.tags(citizen)
            if any(covered[tag] < quota for tag in tags):
                picked[index] = citizen
                for tag in tags:
                    covered[tag] += 1
        step = max(1, self.size // max(1, limit))
        for index in itertools.chain(range(0, self.size, step), range(self.size)):
            if len(picked) >= limit:
                break
            if index not in picked:
                picked[index] = self.citizen(index)
        return list(picked.values())

    # Construction.

    def _make_employers(self) -> tuple[tuple[Employer, ...], tuple[Employer, ...]]:
        names = list(_data.company_names())
        rng = Stream(self.seed, _T_EMPLOYERS)
        for i in range(len(names) - 1, 0, -1):
            j = rng.below(i + 1)
            names[i], names[j] = names[j], names[i]
        employers = [
            Employer(name, self._employer_afm(k))
            for k, name in enumerate(names + list(_data.PUBLIC_EMPLOYERS))
        ]
        return tuple(employers[: len(names)]), tuple(employers[len(names) :])

    @staticmethod
    def _employer_afm(k: int) -> str:
        # Legal entities get AFMs starting 099, apart from the citizens' 1xxxxxxxx.
        payload = f"099{(k * 7919 + 12345) % 100_000:05d}"
        return payload + str(afm_check_digit(payload))

    def _birth(self, index: int, year: int) -> tuple[dt.date, str, int, int]:
        """Birth date, AMKA, day-of-year and serial for ``index`` born in ``year``."""
        code = self._amka_code.forward(index)
        day, serial = code % 365, code // 365
        born = dt.date(year, 1, 1) + dt.timedelta(days=day)
        payload = f"{born:%d%m%y}{serial:04d}"
        return born, payload + str(luhn_check_digit(payload)), day, serial

    def _person(
        self,
        index: int,
        sex: Sex,
        year: int,
        surnames: tuple[str, str],
        *,
        place: Municipality | None = None,
        namesake: bool = False,
    ) -> Citizen:
        rng = Stream(self.seed, _T_PERSON, index)
        first = rng.choice(_data.MALE_NAMES if sex == "M" else _data.FEMALE_NAMES)
        father_name = rng.choice(_data.MALE_NAMES)
        mother_name = rng.choice(_data.FEMALE_NAMES)
        mother_surname = rng.choice(_data.SURNAMES)[1]
        born_in = rng.choice(_MUNICIPALITIES)
        if namesake:
            first, surnames, father_name, mother_name = _NAMESAKE
        born, amka, day, serial = self._birth(index, year)
        place = place or born_in
        registration = BirthRegistration(
            office=place,
            act_number=1 + (serial * 37 + day) % 3000,
            volume=1 + day // 92,
            year=year,
        )
        afm = f"{_AFM_SPACE + self._afm_code.forward(index):08d}"
        return Citizen(
            index=index,
            afm=afm + str(afm_check_digit(afm)),
            amka=amka,
            first_name=first,
            surname=surnames[0] if sex == "M" else surnames[1],
            sex=sex,
            birth_date=born,
            birth_place=place,
            registration=registration,
            father_name=father_name,
            father_surname=surnames[0],
            mother_name=mother_name,
            mother_surname=mother_surname,
            namesake=namesake,
        )

    def _death(self, rng: Stream, born: dt.date, earliest_year: int) -> dt.date:
        year = min(max(earliest_year, born.year + 1), LAST_BIRTH_YEAR)
        first = max(dt.date(year, 1, 1), born + dt.timedelta(days=1))
        return _date_between(rng, first, REFERENCE_DATE - dt.timedelta(days=1))

    def _unrelated(self, index: int, *, namesake: bool) -> Citizen:
        rng = Stream(self.seed, _T_FAMILY, index, 1)
        sex: Sex = "M" if namesake or rng.chance(50) else "F"
        year = rng.between(FIRST_BIRTH_YEAR, 2006)
        person = self._person(index, sex, year, rng.choice(_data.SURNAMES), namesake=namesake)
        status: MaritalStatus = "single"
        death: dt.date | None = None
        if year < 1956:
            roll = rng.below(100)
            status = "widowed" if roll < 35 else "divorced" if roll < 40 else "single"
            if rng.chance(35):
                death = self._death(rng, person.birth_date, year + 60)
        else:
            status = "divorced" if rng.chance(12) else "single"
            if rng.chance(3):
                death = self._death(rng, person.birth_date, year + 18)
        return dataclasses.replace(person, marital_status=status, death_date=death)

    def _build_family(self, family: int) -> _Family:
        rng = Stream(self.seed, _T_FAMILY, family)
        base = family * FAMILY_SLOTS
        roll = rng.below(100)
        kind: _FamilyKind = (
            "unrelated"
            if base + FAMILY_SLOTS > self.size
            else "married"
            if roll < 52
            else "divorced"
            if roll < 62
            else "widowed"
            if roll < 74
            else "unrelated"
        )
        namesake = family % 37 in (3, 4)
        members: list[Citizen] = []
        if kind != "unrelated":
            members, kind = self._couple(rng, base, kind, namesake=namesake)
        while len(members) < FAMILY_SLOTS and base + len(members) < self.size:
            index = base + len(members)
            members.append(self._unrelated(index, namesake=namesake and index == base))
        people = tuple(members)
        return _Family(people, self._properties(family, kind, people), kind)

    def _home(self, family: int) -> Municipality:
        """Where a family lives: its children are born and its home is there."""
        return Stream(self.seed, _T_FAMILY, family, 2).choice(_MUNICIPALITIES)

    def _couple(
        self, rng: Stream, base: int, kind: _FamilyKind, *, namesake: bool
    ) -> tuple[list[Citizen], _FamilyKind]:
        husband_year = rng.between(FIRST_BIRTH_YEAR, 1998)
        wife_year = min(max(husband_year + rng.between(-3, 7), FIRST_BIRTH_YEAR), 2000)
        surnames = rng.choice(_data.SURNAMES)
        home = self._home(base // FAMILY_SLOTS)
        husband = self._person(base, "M", husband_year, surnames, namesake=namesake)
        surnames = _NAMESAKE[1] if namesake else surnames
        wife = self._person(base + 1, "F", wife_year, rng.choice(_data.SURNAMES))

        first_year, last_year = wife_year + 20, min(wife_year + 42, LAST_BIRTH_YEAR)
        wanted = (0, 1, 1, 2, 2, 2, 2, 3, 3, 3)[rng.below(10)] if first_year <= last_year else 0
        years: list[int] = []
        year = rng.between(first_year, min(last_year, first_year + 12)) if wanted else 0
        while len(years) < wanted and year <= last_year:
            years.append(year)
            year += rng.between(1, 5)

        children: list[Citizen] = []
        named_son = named_daughter = False
        for k, year in enumerate(years):
            sex: Sex = "M" if rng.chance(51) else "F"
            child = self._person(base + 2 + k, sex, year, surnames, place=home)
            # Greek families often name the first son and daughter after the
            # paternal grandparents, which makes cousins namesakes too.
            first = child.first_name
            if sex == "M" and not named_son and rng.chance(70):
                first, named_son = husband.father_name, True
            elif sex == "F" and not named_daughter and rng.chance(70):
                first, named_daughter = husband.mother_name, True
            children.append(
                dataclasses.replace(
                    child,
                    first_name=first,
                    father_name=husband.first_name,
                    father_surname=husband.surname,
                    mother_name=wife.first_name,
                    mother_surname=wife.surname,
                    father=base,
                    mother=base + 1,
                )
            )
        kids = tuple(c.index for c in children)
        husband = dataclasses.replace(husband, children=kids)
        wife = dataclasses.replace(wife, children=kids)

        if kind == "widowed":
            husband_dies = rng.chance(70)
            dying = husband if husband_dies else wife
            earliest = max(dying.birth_date.year + 35, (years[-1] + 1) if years else 0, 1990)
            if earliest > LAST_BIRTH_YEAR:
                kind = "married"
            else:
                death = self._death(rng, dying.birth_date, earliest)
                husband = dataclasses.replace(
                    husband,
                    marital_status="married" if husband_dies else "widowed",
                    spouse=base + 1,
                    death_date=death if husband_dies else None,
                )
                wife = dataclasses.replace(
                    wife,
                    marital_status="widowed" if husband_dies else "married",
                    spouse=base,
                    death_date=None if husband_dies else death,
                )
        if kind == "married":
            husband = dataclasses.replace(husband, marital_status="married", spouse=base + 1)
            wife = dataclasses.replace(wife, marital_status="married", spouse=base)
        elif kind == "divorced":
            husband = dataclasses.replace(husband, marital_status="divorced")
            wife = dataclasses.replace(wife, marital_status="divorced")
        return [husband, wife, *children], kind

    def _properties(
        self, family: int, kind: _FamilyKind, members: tuple[Citizen, ...]
    ) -> tuple[Property, ...]:
        rng = Stream(self.seed, _T_LAND, family)
        found: list[Property] = []

        def own(
            owner: Citizen, share: tuple[int, int], right: Right, title: Title, when: dt.date
        ) -> Ownership:
            return Ownership(
                owner.index,
                share[0],
                share[1],
                right,
                when,
                title,
                f"{rng.between(1000, 48000)}/{when.year}",
            )

        def add(use: PropertyUse, where: Municipality, *ownerships: Ownership) -> None:
            number = self._kaek_code.forward(family * _PROPERTIES_PER_FAMILY + len(found))
            if use == "agricultural":
                address = f"Θέση {rng.choice(_data.LOCALITIES)}"
            else:
                address = f"{rng.choice(_data.STREETS)} {rng.between(1, 180)}"
            low, high = {
                "residential": (45, 180),
                "commercial": (30, 400),
                "agricultural": (1500, 40000),
                "plot": (250, 1500),
            }[use]
            found.append(
                Property(
                    f"{where.code}{number:07d}",
                    where,
                    address,
                    use,
                    rng.between(low, high),
                    ownerships,
                )
            )

        def adult_from(person: Citizen, years: int = 25) -> dt.date:
            start = person.birth_date.replace(month=1, day=1)
            return start.replace(year=min(start.year + years, REFERENCE_DATE.year - 1))

        last_day = REFERENCE_DATE - dt.timedelta(days=1)
        home = self._home(family)
        slots_used = 0
        if kind in ("married", "widowed", "divorced"):
            husband, wife = members[0], members[1]
            slots_used = 2 + len(husband.children)
            if kind == "married" and rng.chance(75):
                bought = _date_between(rng, adult_from(max(husband, wife, key=_born)), last_day)
                add(
                    "residential",
                    home,
                    own(husband, (1, 2), "full_ownership", "purchase_contract", bought),
                    own(wife, (1, 2), "full_ownership", "purchase_contract", bought),
                )
            if kind == "married" and rng.chance(25):
                inherited = _date_between(rng, adult_from(husband, 18), last_day)
                add(
                    "agricultural",
                    rng.choice(_MUNICIPALITIES),
                    own(husband, (1, 1), "full_ownership", "inheritance", inherited),
                )
            if kind == "married" and rng.chance(15):
                given = _date_between(rng, adult_from(wife, 18), last_day)
                add("plot", home, own(wife, (1, 1), "full_ownership", "donation", given))
            if kind == "divorced":
                for person, percent in ((husband, 50), (wife, 40)):
                    if rng.chance(percent):
                        bought = _date_between(rng, adult_from(person), last_day)
                        add(
                            "residential",
                            rng.choice(_MUNICIPALITIES),
                            own(person, (1, 1), "full_ownership", "purchase_contract", bought),
                        )
            if kind == "widowed":
                survivor = wife if husband.death_date else husband
                died = husband.death_date or wife.death_date or last_day
                add(
                    "residential",
                    home,
                    own(survivor, (1, 1), "full_ownership", "inheritance", died),
                )
                heirs = [c for c in members[2:slots_used] if c.age >= 18]
                if heirs and rng.chance(60):
                    heir = heirs[0]
                    given = _date_between(rng, adult_from(heir, 18), last_day)
                    add(
                        "residential",
                        rng.choice(_MUNICIPALITIES),
                        own(survivor, (1, 1), "usufruct", "donation", given),
                        own(heir, (1, 1), "bare_ownership", "donation", given),
                    )
        for person in members[slots_used:]:
            if person.alive and rng.chance(30):
                use: PropertyUse = rng.choice(("residential", "residential", "commercial", "plot"))
                when = _date_between(rng, adult_from(person), last_day)
                title: Title = "inheritance" if rng.chance(30) else "purchase_contract"
                add(
                    use,
                    rng.choice(_MUNICIPALITIES),
                    own(person, (1, 1), "full_ownership", title, when),
                )
        return tuple(found)

    def _insurance(self, citizen: Citizen) -> Insurance:
        rng = Stream(self.seed, _T_INSURANCE, citizen.index)
        years = range(REFERENCE_DATE.year - 5, REFERENCE_DATE.year)
        age = citizen.age
        category: InsuranceCategory
        if not citizen.alive or (age >= 18 and age < 67 and rng.chance(14)):
            category = "none"
        elif age < 18:
            category = "dependent"
        elif age >= 67:
            category = "pensioner"
        elif age < 25 and rng.chance(40):
            category = "dependent"
        else:
            roll = rng.below(100)
            category = (
                "employee"
                if roll < 62
                else "self_employed"
                if roll < 74
                else "farmer"
                if roll < 80
                else "civil_servant"
            )

        def days_in(year: int) -> int:
            worked_age = year - citizen.birth_date.year
            if worked_age < 18 or (citizen.death_date and year >= citizen.death_date.year):
                return 0
            if category == "employee":
                return rng.between(20, 300)
            if category in ("self_employed", "farmer", "civil_servant"):
                return 300
            if category == "pensioner":
                return 300 if worked_age < 67 else 0
            if category == "none" and year < years[-1] and rng.chance(25):
                return rng.between(10, 60)
            return 0

        insured_days = tuple((year, days_in(year)) for year in years)
        if category == "none":
            return Insurance(False, "none", None, None, None, insured_days, None)
        fund_key: str = category
        if category == "pensioner":
            fund_key = rng.choice(tuple(_FUNDS))
        elif category == "dependent":
            fund_key = "employee"
        fund_code, fund_name = _FUNDS[fund_key]
        valid_until = dt.date(REFERENCE_DATE.year, 12, 31)
        if category == "employee" and insured_days[-1][1] < 50:
            valid_until = dt.date(REFERENCE_DATE.year, 6, 30)
        employer: Employer | None = None
        if category == "employee":
            employer = rng.choice(self._private_employers)
        elif category == "civil_servant":
            employer = rng.choice(self._public_employers)
        return Insurance(True, category, fund_code, fund_name, valid_until, insured_days, employer)


def _born(person: Citizen) -> dt.date:
    return person.birth_date
