"""The synthetic population: valid identifiers, consistent families, every kind of case."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from fractions import Fraction

import pytest

from adapters.sandbox.population import (
    MAX_SIZE,
    REFERENCE_DATE,
    TAGS,
    Citizen,
    Population,
    Property,
)
from adapters.sandbox.runner import sample_citizens
from hub.domain.identity import amka_birth_date, is_valid_afm, is_valid_amka


@pytest.fixture(scope="module")
def population() -> Population:
    return Population(10_000, 2026)


@pytest.fixture(scope="module")
def citizens(population: Population) -> list[Citizen]:
    return list(population)


def _digest(people: list[Citizen]) -> str:
    return hashlib.sha256("\n".join(map(repr, people)).encode()).hexdigest()


def test_the_same_seed_gives_the_same_people(citizens: list[Citizen]) -> None:
    again = list(Population(10_000, 2026))
    assert _digest(again) == _digest(citizens)


def test_another_seed_gives_other_people(citizens: list[Citizen]) -> None:
    other = list(Population(10_000, 7))
    assert _digest(other) != _digest(citizens)
    assert {c.afm for c in other[:100]}.isdisjoint({c.afm for c in citizens[:100]})


def test_a_citizen_does_not_depend_on_the_population_size(citizens: list[Citizen]) -> None:
    small = Population(1_000, 2026)
    # The last family of a population may be cut short; every other is the same.
    assert list(small)[:995] == citizens[:995]


def test_every_identifier_is_valid_and_unique(citizens: list[Citizen]) -> None:
    assert all(is_valid_afm(c.afm) for c in citizens)
    assert all(is_valid_amka(c.amka) for c in citizens)
    assert all(amka_birth_date(c.amka) == c.birth_date for c in citizens)
    assert len({c.afm for c in citizens}) == len(citizens)
    assert len({c.amka for c in citizens}) == len(citizens)


def test_identifiers_lead_back_to_their_citizen(
    population: Population, citizens: list[Citizen]
) -> None:
    for citizen in citizens:
        assert population.by_afm(citizen.afm) == citizen
        assert population.by_amka(citizen.amka) == citizen


def test_unknown_and_invalid_identifiers_find_nobody(population: Population) -> None:
    outside = Population(20_000, 2026).citizen(15_000)
    assert population.by_afm(outside.afm) is None
    assert population.by_amka(outside.amka) is None
    assert population.by_afm("123456789") is None  # Wrong check digit.
    assert population.by_amka("31023012345") is None  # 31 February.
    assert population.by_afm("abc") is None


def test_a_million_citizens_are_looked_up_without_building_them() -> None:
    big = Population(1_000_000, 2026)
    last = big.citizen(999_999)
    assert big.by_afm(last.afm) == last
    assert big.by_amka(last.amka) == last
    assert is_valid_afm(last.afm)
    assert is_valid_amka(last.amka)
    # Only the one family holding index 999,999 was ever built.
    assert big._family.cache_info().currsize == 1


def test_sizes_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="between"):
        Population(0)
    with pytest.raises(ValueError, match="between"):
        Population(MAX_SIZE + 1)
    with pytest.raises(IndexError):
        Population(10).citizen(10)


def test_dates_are_plausible(citizens: list[Citizen]) -> None:
    for c in citizens:
        assert c.birth_date < REFERENCE_DATE
        if c.death_date is not None:
            assert c.birth_date < c.death_date < REFERENCE_DATE


def test_families_are_consistent(population: Population, citizens: list[Citizen]) -> None:
    for c in citizens:
        if c.marital_status == "married" and c.spouse is not None:
            spouse = population.citizen(c.spouse)
            assert spouse.spouse == c.index
            assert spouse.sex != c.sex
            assert spouse.marital_status == "married" or (
                spouse.marital_status == "widowed" and c.death_date is not None
            )
        if c.marital_status == "widowed" and c.spouse is not None:
            assert population.citizen(c.spouse).death_date is not None
        if c.father is not None and c.mother is not None:
            father, mother = population.citizen(c.father), population.citizen(c.mother)
            assert c.index in father.children
            assert c.index in mother.children
            assert c.father_name == father.first_name
            assert c.mother_name == mother.first_name
            assert c.mother_surname == mother.surname
            assert c.father_surname == father.surname
            assert mother.birth_date.year + 19 <= c.birth_date.year
            if father.death_date is not None:
                assert c.birth_date < father.death_date
        for child in c.children:
            assert c.index in (population.citizen(child).father, population.citizen(child).mother)


def test_every_kind_of_case_is_present(population: Population, citizens: list[Citizen]) -> None:
    tags = Counter(tag for c in citizens for tag in population.tags(c))
    assert set(tags) == set(TAGS)
    # Minors and the dead are a real share of the population, not a token one.
    assert tags["minor"] > 300
    assert tags["deceased"] > 300
    assert tags["uninsured"] > 300


def test_namesakes_share_the_full_name_and_parents_names(citizens: list[Citizen]) -> None:
    groups: dict[tuple[str, str, str, str], list[Citizen]] = defaultdict(list)
    for c in citizens:
        groups[(c.first_name, c.surname, c.father_name, c.mother_name)].append(c)
    planted = [c for c in citizens if c.namesake]
    assert len(planted) >= 2
    key = (
        planted[0].first_name,
        planted[0].surname,
        planted[0].father_name,
        planted[0].mother_name,
    )
    assert len(groups[key]) >= len(planted)
    assert len({c.birth_date for c in planted}) > 1


def test_names_come_in_greek_and_latin(citizens: list[Citizen]) -> None:
    for c in citizens[:500]:
        assert c.first_name_latin.isascii()
        assert c.surname_latin.isascii()
        assert c.full_name_latin == f"{c.first_name_latin} {c.surname_latin}"


def test_spouses_co_own_their_home(population: Population, citizens: list[Citizen]) -> None:
    shared = 0
    for c in citizens:
        for holding in population.holdings(c):
            others = holding.co_owners
            if c.spouse is not None and any(o.owner == c.spouse for o in others):
                shared += 1
                assert holding.ownership.right == "full_ownership"
    assert shared > 100


def test_property_rights_add_up(population: Population, citizens: list[Citizen]) -> None:
    seen: dict[str, Property] = {}
    for c in citizens:
        for holding in population.holdings(c):
            prop = holding.asset
            seen[prop.kaek] = prop
    assert seen
    for kaek, prop in seen.items():
        assert len(kaek) == 12
        assert kaek.isdigit()
        assert population.property_by_kaek(kaek) == prop
        per_right: dict[str, Fraction] = defaultdict(Fraction)
        for o in prop.ownerships:
            per_right[o.right] += Fraction(o.share_numerator, o.share_denominator)
        if "usufruct" in per_right:
            assert per_right == {"usufruct": 1, "bare_ownership": 1}
        else:
            assert per_right == {"full_ownership": 1}
    assert population.property_by_kaek("000000000000") is None
    assert population.property_by_kaek("12345") is None


def test_a_citizen_without_property_has_no_holdings(
    population: Population, citizens: list[Citizen]
) -> None:
    minors = [c for c in citizens if c.is_minor]
    assert all(population.holdings(c) == () for c in minors)


def test_insurance_follows_the_life_stage(population: Population, citizens: list[Citizen]) -> None:
    employers = {e.afm for e in population.employers}
    assert all(is_valid_afm(afm) for afm in employers)
    assert employers.isdisjoint(c.afm for c in citizens)
    for c in citizens:
        insurance = population.insurance(c)
        assert [year for year, _ in insurance.insured_days] == list(range(2021, 2026))
        if not c.alive:
            assert not insurance.insured
        if c.is_minor:
            assert insurance.category == "dependent"
        if insurance.employer is not None:
            assert insurance.employer.afm in employers
            assert insurance.category in ("employee", "civil_servant")
        if insurance.insured:
            assert insurance.valid_until is not None
            assert insurance.fund_code is not None


def test_a_sample_covers_every_tag(population: Population) -> None:
    sample = population.sample(40)
    assert len(sample) == 40
    assert len({c.index for c in sample}) == 40
    assert set().union(*(population.tags(c) for c in sample)) == set(TAGS)
    assert population.sample(40) == sample


def test_a_sample_of_a_tiny_population_is_all_of_it() -> None:
    tiny = Population(3, 1)
    assert sorted(c.index for c in tiny.sample(10)) == [0, 1, 2]


def test_sample_citizens_is_json_ready() -> None:
    rows = sample_citizens(2_000, 2026, 30)
    assert len(rows) == 30
    for row in rows:
        assert is_valid_afm(row["afm"])
        assert is_valid_amka(row["amka"])
        assert row["name_latin"].isascii()
        for flag in ("minor", "deceased", "owns_property", "insured", "married"):
            assert isinstance(row[flag], bool)
    assert any(row["minor"] for row in rows)
    assert any(row["deceased"] for row in rows)
    assert any(row["owns_property"] for row in rows)
