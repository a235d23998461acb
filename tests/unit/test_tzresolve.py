"""Tests for bot/tzresolve.py: typed place names, offsets and locations to IANA zones."""

from __future__ import annotations

import time
from statistics import median

import pytest

from bot.tzresolve import (
    MAX_RESULTS,
    ZoneMatch,
    country_for_zone,
    is_valid_zone,
    resolve_timezone,
    timezone_for_location,
)


def best(text: str) -> ZoneMatch:
    """The top candidate for a text (fails the test if there is none)."""
    matches = resolve_timezone(text)
    assert matches, f"no zone for {text!r}"
    return matches[0]


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        pytest.param("europe/berlin", "Europe/Berlin", id="an IANA name in lower case"),
        pytest.param("Asia/Kathmandu", "Asia/Kathmandu", id="an IANA name as written"),
        pytest.param("  AMERICA/NEW_YORK ", "America/New_York", id="an IANA name shouted"),
        pytest.param("america/new york", "America/New_York", id="an IANA name with a space"),
        pytest.param("Asia/Calcutta", "Asia/Kolkata", id="an old IANA name becomes the current"),
        pytest.param("UTC", "Etc/UTC", id="UTC on its own"),
        pytest.param("gmt", "Etc/UTC", id="GMT on its own"),
        pytest.param("Hongkong", "Asia/Hong_Kong", id="an old zone name without a slash"),
    ],
)
def test_iana_names_are_recognised_in_any_case(text: str, zone: str) -> None:
    assert best(text).zone == zone


@pytest.mark.parametrize(
    ("text", "zones"),
    [
        pytest.param("CET", ["Europe/Berlin"], id="cet is central european time"),
        pytest.param("MEZ", ["Europe/Berlin"], id="mez is the german for cet"),
        pytest.param("pst", ["America/Los_Angeles"], id="pst is pacific time"),
        pytest.param(
            "IST", ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"], id="ist is ambiguous"
        ),
    ],
)
def test_common_abbreviations_offer_the_zones_people_mean(text: str, zones: list[str]) -> None:
    assert [m.zone for m in resolve_timezone(text)] == zones


@pytest.mark.parametrize(
    ("text", "zone", "label"),
    [
        pytest.param("+2", "Etc/GMT-2", "UTC+02:00", id="plus 2 is Etc GMT minus 2"),
        pytest.param("UTC-5", "Etc/GMT+5", "UTC-05:00", id="UTC minus 5 is Etc GMT plus 5"),
        pytest.param("utc +3", "Etc/GMT-3", "UTC+03:00", id="a space after UTC"),
        pytest.param("GMT+01:00", "Etc/GMT-1", "UTC+01:00", id="GMT with zero minutes"),
        pytest.param("-0800", "Etc/GMT+8", "UTC-08:00", id="four digits without a colon"),
        pytest.param("\u22123", "Etc/GMT+3", "UTC-03:00", id="a typographic minus sign"),
        pytest.param("UTC 4", "Etc/GMT-4", "UTC+04:00", id="UTC and a bare number"),
        pytest.param("+0", "Etc/UTC", "UTC", id="plus zero is UTC"),
        pytest.param("+14", "Etc/GMT-14", "UTC+14:00", id="the easternmost offset"),
        pytest.param("-12", "Etc/GMT+12", "UTC-12:00", id="the westernmost offset"),
    ],
)
def test_whole_hour_offsets_map_to_etc_zones_with_the_sign_inverted(
    text: str, zone: str, label: str
) -> None:
    assert resolve_timezone(text) == [ZoneMatch(zone, label, 1.0)]


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        pytest.param("GMT+5:30", "Asia/Kolkata", id="plus 5 30 is India"),
        pytest.param("+05:45", "Asia/Kathmandu", id="plus 5 45 is Nepal"),
        pytest.param("+0930", "Australia/Adelaide", id="plus 9 30 is Adelaide"),
        pytest.param("UTC-3:30", "America/St_Johns", id="minus 3 30 is Newfoundland"),
        pytest.param("+3:30", "Asia/Tehran", id="plus 3 30 is Iran"),
        pytest.param("+12:45", "Pacific/Chatham", id="plus 12 45 is the Chatham Islands"),
    ],
)
def test_half_and_three_quarter_hour_offsets_map_to_real_zones(text: str, zone: str) -> None:
    match = best(text)
    assert match.zone == zone
    assert "(UTC" in match.label


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("+15", id="an offset beyond plus 14"),
        pytest.param("-13", id="an offset beyond minus 12"),
        pytest.param("+5:17", id="an offset with odd minutes"),
        pytest.param("+2:30", id="a half hour offset no zone uses"),
        pytest.param("+5:75", id="more than 59 minutes"),
    ],
)
def test_impossible_offsets_give_nothing(text: str) -> None:
    assert resolve_timezone(text) == []


@pytest.mark.parametrize(
    ("text", "zone", "place"),
    [
        pytest.param("berlin", "Europe/Berlin", "Berlin, Germany", id="berlin"),
        pytest.param("new york", "America/New_York", "New York", id="new york"),
        pytest.param("nyc", "America/New_York", "New York", id="the nickname nyc"),
        pytest.param("sao paulo", "America/Sao_Paulo", "Brazil", id="sao paulo without accents"),
        pytest.param("São Paulo", "America/Sao_Paulo", "Brazil", id="sao paulo with accents"),
        pytest.param("Kathmandu", "Asia/Kathmandu", "Nepal", id="kathmandu"),
        pytest.param("münchen", "Europe/Berlin", "Munich, Germany", id="münchen"),
        pytest.param("muenchen", "Europe/Berlin", "Munich, Germany", id="muenchen spelled out"),
        pytest.param("Munich", "Europe/Berlin", "Munich, Germany", id="munich in English"),
        pytest.param("wien", "Europe/Vienna", "Austria", id="wien"),
        pytest.param("vienna", "Europe/Vienna", "Austria", id="vienna"),
        pytest.param("zurich", "Europe/Zurich", "Switzerland", id="zurich"),
        pytest.param("Zürich", "Europe/Zurich", "Switzerland", id="zürich"),
        pytest.param("zuerich", "Europe/Zurich", "Switzerland", id="zuerich spelled out"),
        pytest.param("los angeles", "America/Los_Angeles", "Los Angeles", id="los angeles"),
        pytest.param("LA", "America/Los_Angeles", "Los Angeles", id="the nickname LA"),
        pytest.param("sydney", "Australia/Sydney", "Australia", id="sydney"),
        pytest.param("paris", "Europe/Paris", "Paris, France", id="paris is the one in France"),
        pytest.param("Köln", "Europe/Berlin", "Germany", id="köln"),
        pytest.param("Ulm", "Europe/Berlin", "Germany", id="a three letter city"),
        pytest.param("Moskau", "Europe/Moscow", "Russia", id="a German exonym"),
    ],
)
def test_city_names_resolve_to_their_zone(text: str, zone: str, place: str) -> None:
    match = best(text)
    assert match.zone == zone
    assert place in match.label


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        pytest.param("berln", "Europe/Berlin", id="berln"),
        pytest.param("Hambrug", "Europe/Berlin", id="swapped letters in hamburg"),
        pytest.param("sydny", "Australia/Sydney", id="sydny"),
        pytest.param("kathmadu", "Asia/Kathmandu", id="kathmadu"),
        pytest.param("zurch", "Europe/Zurich", id="zurch"),
        pytest.param("losangeles", "America/Los_Angeles", id="losangeles run together"),
        pytest.param("Deutschlnd", "Europe/Berlin", id="a typo in a country name"),
    ],
)
def test_typos_still_find_the_place(text: str, zone: str) -> None:
    assert best(text).zone == zone


@pytest.mark.parametrize(
    ("text", "zone", "country"),
    [
        pytest.param("Germany", "Europe/Berlin", "Germany", id="germany"),
        pytest.param("Deutschland", "Europe/Berlin", "Germany", id="deutschland"),
        pytest.param("India", "Asia/Kolkata", "India", id="india"),
        pytest.param("Österreich", "Europe/Vienna", "Austria", id="österreich"),
        pytest.param("Schweiz", "Europe/Zurich", "Switzerland", id="schweiz"),
        pytest.param("UK", "Europe/London", "United Kingdom", id="uk"),
        pytest.param("USA", "America/New_York", "United States", id="usa"),
        pytest.param("Brasil", "America/Sao_Paulo", "Brazil", id="brasil"),
    ],
)
def test_countries_resolve_to_their_most_populous_citys_zone(
    text: str, zone: str, country: str
) -> None:
    match = best(text)
    assert match.zone == zone
    assert match.label.endswith(f", {country}")


@pytest.mark.parametrize(
    ("text", "zones"),
    [
        pytest.param(
            "USA", {"America/New_York", "America/Chicago", "America/Los_Angeles"}, id="usa"
        ),
        pytest.param("Russia", {"Europe/Moscow", "Asia/Novosibirsk"}, id="russia"),
        pytest.param("Australia", {"Australia/Sydney", "Australia/Perth"}, id="australia"),
        pytest.param("Brazil", {"America/Sao_Paulo", "America/Manaus"}, id="brazil"),
        pytest.param("Canada", {"America/Toronto", "America/Vancouver"}, id="canada"),
    ],
)
def test_countries_with_several_zones_offer_several(text: str, zones: set[str]) -> None:
    found = {m.zone for m in resolve_timezone(text)}
    assert zones <= found


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="only spaces"),
        pytest.param("\U0001f642", id="an emoji"),
        pytest.param("\U0001f1e9\U0001f1ea", id="a flag emoji"),
        pytest.param("!!!", id="punctuation"),
        pytest.param("12345", id="a number"),
        pytest.param("asdfgh", id="keyboard mash"),
        pytest.param("qwertzuiop", id="a keyboard row"),
        pytest.param("yes", id="a short word that is an obscure nickname"),
        pytest.param("x", id="a single letter"),
        pytest.param("berlin " * 15, id="more than 100 characters"),
        pytest.param("Mars/Olympus_Mons", id="a made-up IANA name"),
        pytest.param("\x00\x1b[31m", id="control characters"),
    ],
)
def test_garbage_gives_no_candidates(text: str) -> None:
    assert resolve_timezone(text) == []


@pytest.mark.parametrize(
    "text",
    ["berlin", "paris", "USA", "Russia", "springfield", "berln", "+5:30", "Portland"],
)
def test_candidates_are_few_distinct_valid_and_best_first(text: str) -> None:
    matches = resolve_timezone(text)
    zones = [m.zone for m in matches]
    scores = [m.score for m in matches]
    assert 1 <= len(matches) <= MAX_RESULTS
    assert len(set(zones)) == len(zones)
    assert all(is_valid_zone(z) for z in zones)
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < s <= 1.0 for s in scores)


@pytest.mark.parametrize(
    ("latitude", "longitude", "zone"),
    [
        pytest.param(52.52, 13.405, "Europe/Berlin", id="berlin"),
        pytest.param(48.2082, 16.3738, "Europe/Vienna", id="vienna"),
        pytest.param(40.7128, -74.006, "America/New_York", id="new york"),
        pytest.param(27.7172, 85.324, "Asia/Kathmandu", id="kathmandu"),
        pytest.param(-33.8688, 151.2093, "Australia/Sydney", id="sydney"),
        pytest.param(-23.5505, -46.6333, "America/Sao_Paulo", id="sao paulo"),
        pytest.param(0.0, -30.0, "Etc/GMT+2", id="the open Atlantic"),
        pytest.param(91.0, 0.0, None, id="a latitude beyond the pole"),
        pytest.param(0.0, 181.0, None, id="a longitude beyond 180"),
    ],
)
def test_shared_location_gives_the_local_zone(
    latitude: float, longitude: float, zone: str | None
) -> None:
    assert timezone_for_location(latitude, longitude) == zone


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        pytest.param("Europe/Berlin", "DE", id="berlin is germany"),
        pytest.param("Europe/Vienna", "AT", id="vienna is austria"),
        pytest.param("Europe/Zurich", "CH", id="zurich is switzerland"),
        pytest.param("Europe/Busingen", "DE", id="busingen is germany"),
        pytest.param("America/New_York", "US", id="new york is the united states"),
        pytest.param("US/Eastern", "US", id="an old alias follows its target"),
        pytest.param("Asia/Calcutta", "IN", id="calcutta is india"),
        pytest.param("Asia/Kathmandu", "NP", id="kathmandu is nepal"),
        pytest.param("Australia/Adelaide", "AU", id="adelaide is australia"),
        pytest.param("Etc/GMT-2", None, id="an offset zone has no country"),
        pytest.param("UTC", None, id="utc has no country"),
        pytest.param("Mars/Olympus_Mons", None, id="an unknown zone has no country"),
    ],
)
def test_zone_country_comes_from_tzdata(zone: str, country: str | None) -> None:
    assert country_for_zone(zone) == country


@pytest.mark.parametrize(
    ("zone", "valid"),
    [
        pytest.param("Europe/Berlin", True, id="a real zone"),
        pytest.param("Etc/GMT-2", True, id="an offset zone"),
        pytest.param("UTC", True, id="utc"),
        pytest.param("europe/berlin", False, id="wrong case"),
        pytest.param("", False, id="empty"),
        pytest.param("Mars/Olympus_Mons", False, id="made up"),
        pytest.param("../../etc/passwd", False, id="a path"),
        pytest.param("localtime", False, id="localtime"),
    ],
)
def test_zone_validity_needs_the_exact_iana_name(zone: str, valid: bool) -> None:
    assert is_valid_zone(zone) is valid


def test_warm_lookups_take_well_under_20_ms() -> None:
    queries = ["berln", "losangeles", "Deutschlnd", "asdfgh", "hamburg", "+5:30", "USA"]
    resolve_timezone("warm up")
    timings = []
    for query in queries * 3:
        started = time.perf_counter()
        resolve_timezone(query)
        timings.append(time.perf_counter() - started)
    assert median(timings) < 0.020
