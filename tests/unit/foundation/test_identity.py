from __future__ import annotations

import datetime as dt

import pytest

from hub.domain.identity import (
    CitizenRef,
    afm_check_digit,
    amka_birth_date,
    is_valid_afm,
    is_valid_amka,
    luhn_check_digit,
    parse_citizen_ref,
)
from hub.errors import InvalidIdentifier


@pytest.mark.parametrize("afm", ["090000045", "094019245", "099999999"])
def test_known_valid_afms(afm: str) -> None:
    assert is_valid_afm(afm)


@pytest.mark.parametrize(
    "afm", ["090000046", "09000004", "0900000455", "09000004a", "000000000", "٠٩٠٠٠٠٠٤٥"]
)
def test_invalid_afms(afm: str) -> None:
    assert not is_valid_afm(afm)


def test_afm_check_digit_detects_every_single_digit_error() -> None:
    base = "09000004"
    good = base + str(afm_check_digit(base))
    for position in range(8):
        for digit in "0123456789":
            if digit == good[position]:
                continue
            typo = good[:position] + digit + good[position + 1 :]
            # mod 11 reduced mod 10 misses only the errors that shift the sum by 10.
            if afm_check_digit(typo[:8]) == int(typo[8]):
                continue
            assert not is_valid_afm(typo)


def test_amka_needs_a_date_prefix_and_a_luhn_digit() -> None:
    payload = "1503851234"
    amka = payload + str(luhn_check_digit(payload))
    assert is_valid_amka(amka)
    assert amka_birth_date(amka, today=dt.date(2026, 1, 1)) == dt.date(1985, 3, 15)
    wrong = payload + str((luhn_check_digit(payload) + 1) % 10)
    assert not is_valid_amka(wrong)
    bad_date = "3102851234"
    assert not is_valid_amka(bad_date + str(luhn_check_digit(bad_date)))


def test_two_digit_years_never_land_in_the_future() -> None:
    assert amka_birth_date("01012500000", today=dt.date(2026, 6, 1)) == dt.date(2025, 1, 1)
    assert amka_birth_date("01013000000", today=dt.date(2026, 6, 1)) == dt.date(1930, 1, 1)


def test_parse_citizen_ref() -> None:
    assert parse_citizen_ref({"afm": "090000045"}) == CitizenRef("afm", "090000045")
    with pytest.raises(InvalidIdentifier):
        parse_citizen_ref({"afm": "090000046"})
    with pytest.raises(InvalidIdentifier):
        parse_citizen_ref({})
    with pytest.raises(InvalidIdentifier):
        parse_citizen_ref({"afm": "090000045", "amka": "01019012341"})
    with pytest.raises(InvalidIdentifier):
        parse_citizen_ref({"amka": 1019012341})


def test_masked_reference_hides_the_identifier() -> None:
    masked = CitizenRef("afm", "090000045").masked()
    assert "090000045" not in masked
    assert masked.startswith("afm:")
