"""Tests for bot/numbers.py and messages/numbers.toml."""

from __future__ import annotations

import pytest

from bot.numbers import URGENT_FALLBACK_KEY, Numbers, countries, numbers_for

EU = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]
OTHERS = ["GB", "US", "CA", "AU", "NZ", "IN", "RU", "BR", "CH", "NO", "IS"]


def test_the_table_covers_the_eu_and_the_other_required_countries() -> None:
    assert set(EU) | set(OTHERS) <= countries()


@pytest.mark.parametrize("country", EU)
def test_every_eu_country_uses_112(country: str) -> None:
    assert numbers_for(country, "999").emergency == "112"


@pytest.mark.parametrize(
    ("country", "emergency", "urgent", "crisis"),
    [
        ("GB", "999", "111", "116123"),
        ("IE", "112", URGENT_FALLBACK_KEY, "116123"),
        ("US", "911", URGENT_FALLBACK_KEY, "988"),
        ("CA", "911", "811", "988"),
        ("AU", "000", "1800022222", "131114"),
        ("NZ", "111", "0800611116", "1737"),
        ("IN", "112", URGENT_FALLBACK_KEY, "14416"),
        ("RU", "112", URGENT_FALLBACK_KEY, None),
        ("BR", "192", URGENT_FALLBACK_KEY, "188"),
        ("DE", "112", "116117", "08001110111"),
        ("CH", "144", URGENT_FALLBACK_KEY, "143"),
        ("NO", "113", "116117", "116123"),
    ],
)
def test_known_countries_get_their_numbers(
    country: str, emergency: str, urgent: str, crisis: str | None
) -> None:
    assert numbers_for(country, "000") == Numbers(emergency, urgent, crisis)


@pytest.mark.parametrize(
    ("alias", "code"), [("UK", "GB"), ("uk", "GB"), ("EL", "GR"), (" de ", "DE")]
)
def test_aliases_case_and_spaces_are_accepted(alias: str, code: str) -> None:
    assert numbers_for(alias, "000") == numbers_for(code, "000")


@pytest.mark.parametrize("country", [None, "", "XX", "Narnia"])
def test_an_unknown_country_gets_the_default_number_and_the_fallback_phrases(
    country: str | None,
) -> None:
    result = numbers_for(country, "112")
    assert result == Numbers("112", URGENT_FALLBACK_KEY, None, known=False)
    assert result.urgent_is_phrase


@pytest.mark.parametrize("country", sorted(countries()))
def test_numbers_are_plain_digits_and_urgent_is_a_number_or_the_phrase_key(country: str) -> None:
    result = numbers_for(country, "000")
    assert result.emergency.isdigit()
    assert result.urgent is not None
    assert result.urgent.isdigit() or result.urgent == URGENT_FALLBACK_KEY
    assert result.urgent_is_phrase is (result.urgent == URGENT_FALLBACK_KEY)
    assert result.crisis is None or result.crisis.isdigit()
