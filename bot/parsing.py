"""Pure parsers for what people type: times, weekdays, meals, delays, quiet hours, pauses, logs.

English and German forms are accepted whatever the user's language, where that is unambiguous.
Every parser caps the input length before doing any work and only ever raises ParseError,
whose `key` names the catalogue text to show. Nothing here has side effects.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, time, timedelta
from itertools import combinations
from typing import Literal

__all__ = [
    "ParseError",
    "parse_answer",
    "parse_delay",
    "parse_log",
    "parse_meals",
    "parse_minutes",
    "parse_pain",
    "parse_pause",
    "parse_quiet",
    "parse_reminder_args",
    "parse_time",
    "parse_utc_offset",
    "parse_weekdays",
]

MAX_TEXT = 64  # longer than any valid input; longer text is rejected before any work
MAX_ARGS = 8
MAX_PAUSE_DAYS = 90
ALL_DAYS = frozenset(range(7))
WORKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})


class ParseError(ValueError):
    """Input that could not be understood; `key` names the catalogue error text to show."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__(key)
        self.key = key
        self.text = text[:MAX_TEXT]


# --- text clean-up ---------------------------------------------------------------------------

_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-", "\u2212": "-", "\uff0d": "-"})  # fmt: skip


def _clean(s: str, key: str, limit: int = MAX_TEXT) -> str:
    """Cap, normalise (NFKC, case-fold, dashes, spaces) and strip; ParseError if too long."""
    if not isinstance(s, str) or len(s) > limit:
        raise ParseError(key, s if isinstance(s, str) else "")
    text = unicodedata.normalize("NFKC", s)
    if len(text) > limit:
        raise ParseError(key, s)
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(text.translate(_DASHES).casefold().split())


def _join(args: Sequence[str], key: str) -> str:
    """Join command arguments into one string, capped in count and length."""
    limit = MAX_TEXT * 2
    if isinstance(args, str) or len(args) > MAX_ARGS:
        raise ParseError(key, "")
    if not all(isinstance(a, str) for a in args) or sum(len(a) + 1 for a in args) > limit:
        raise ParseError(key, "")
    return _clean(" ".join(args), key, limit=limit)


_OFF_WORDS = frozenset({"off", "aus", "stop", "none", "keine", "disable", "deaktivieren"})

# --- times -----------------------------------------------------------------------------------

_SUFFIX = re.compile(r"\s*(?:(?P<ap>[ap])\.?\s?m\.?|uhr|h|o'?clock)$")
_HM = re.compile(r"(?P<h>[0-9]{1,2})(?:\s?[:.h]\s?(?P<m>[0-9]{2}))?")
_COMPACT = re.compile(r"(?P<h>[0-9]{1,2})(?P<m>[0-9]{2})")
_TIME_SUFFIX_TOKENS = frozenset(
    {"am", "pm", "a.m.", "p.m.", "a.m", "p.m", "uhr", "h", "o'clock", "oclock"}
)


def _time_or_none(text: str) -> time | None:
    """Parse an already-cleaned time string, or return None."""
    suffix = _SUFFIX.search(text)
    ampm = None
    if suffix is not None:
        ampm = suffix.group("ap")
        text = text[: suffix.start()]
    match = _HM.fullmatch(text) or _COMPACT.fullmatch(text)
    if match is None:
        return None
    hour = int(match.group("h"))
    minute = int(match.group("m") or 0)
    if minute > 59:
        return None
    if ampm is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "p" else 0)
    elif hour > 23:
        return None
    return time(hour, minute)


def parse_time(s: str) -> time:
    """Parse a clock time such as "7:30", "0730", "7pm", "19h" or "19 Uhr"."""
    result = _time_or_none(_clean(s, "ui.err.time"))
    if result is None:
        raise ParseError("ui.err.time", s)
    return result


def _time_tokens(text: str) -> list[str]:
    """Split cleaned text into time tokens, gluing "pm", "Uhr" and the like to the number before."""
    tokens: list[str] = []
    for token in re.split(r"[\s,;/]+", text):
        if not token:
            continue
        if token in _TIME_SUFFIX_TOKENS and tokens:
            tokens[-1] = f"{tokens[-1]} {token}"
        else:
            tokens.append(token)
    return tokens


# --- weekdays --------------------------------------------------------------------------------

_DAY_NAMES = {
    "en": {
        "mon": 0, "monday": 0, "mo": 0,
        "tue": 1, "tues": 1, "tuesday": 1, "tu": 1,
        "wed": 2, "weds": 2, "wednesday": 2, "we": 2,
        "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "th": 3,
        "fri": 4, "friday": 4, "fr": 4,
        "sat": 5, "saturday": 5, "sa": 5,
        "sun": 6, "sunday": 6, "su": 6,
    },
    "de": {
        "mo": 0, "mon": 0, "montag": 0,
        "di": 1, "die": 1, "dienstag": 1,
        "mi": 2, "mit": 2, "mittwoch": 2,
        "do": 3, "don": 3, "donnerstag": 3,
        "fr": 4, "fre": 4, "freitag": 4,
        "sa": 5, "sam": 5, "samstag": 5, "sonnabend": 5,
        "so": 6, "son": 6, "sonntag": 6,
    },
}  # fmt: skip

_DAY_SETS: dict[str, frozenset[int] | None] = {
    "daily": None, "every day": None, "everyday": None, "each day": None, "all": None,
    "all days": None, "every": None, "täglich": None, "taeglich": None, "jeden tag": None,
    "alle tage": None, "alle": None,
    "weekdays": WORKDAYS, "weekday": WORKDAYS, "workdays": WORKDAYS, "work days": WORKDAYS,
    "werktags": WORKDAYS, "wochentags": WORKDAYS, "werktage": WORKDAYS, "wochentage": WORKDAYS,
    "weekends": WEEKEND, "weekend": WEEKEND, "at weekends": WEEKEND, "on weekends": WEEKEND,
    "wochenende": WEEKEND, "am wochenende": WEEKEND, "wochenenden": WEEKEND,
}  # fmt: skip

_FILLERS = frozenset({"and", "und", "&", "+", "on", "every", "each", "jeden", "jede", "am"})
_RANGE = re.compile(r"\s*(?:-|\bto\b|\bbis\b|\btill\b|\buntil\b)\s*")


def _day(token: str, lang: str) -> int | None:
    """Look up one weekday name, the user's language first, then the other."""
    token = token.rstrip(".")
    first = _DAY_NAMES.get(lang, _DAY_NAMES["en"])
    for table in (first, _DAY_NAMES["en"], _DAY_NAMES["de"]):
        for candidate in (token, token[:-1] if token.endswith("s") else token):
            if candidate in table:
                return table[candidate]
    return None


def _weekdays_or_error(text: str, lang: str, original: str) -> frozenset[int] | None:
    """Parse cleaned weekday text; ParseError("ui.err.weekdays") if it is not understood."""
    key = "ui.err.weekdays"
    if text in _DAY_SETS:
        return _DAY_SETS[text]
    text = _RANGE.sub("-", text)
    days: set[int] = set()
    for token in re.split(r"[\s,;/&+]+", text):
        if not token or token in _FILLERS:
            continue
        if token.count("-") == 1 and token not in _DAY_SETS:
            first_name, last_name = token.split("-")
            first, last = _day(first_name, lang), _day(last_name, lang)
            if first is None or last is None:
                raise ParseError(key, original)
            span = (last - first) % 7 + 1
            days.update((first + i) % 7 for i in range(span))
        elif token in _DAY_SETS:
            named = _DAY_SETS[token]
            days.update(ALL_DAYS if named is None else named)
        else:
            day = _day(token, lang)
            if day is None:
                raise ParseError(key, original)
            days.add(day)
    if not days:
        raise ParseError(key, original)
    return None if days == ALL_DAYS else frozenset(days)


def parse_weekdays(s: str, lang: str = "en") -> frozenset[int] | None:
    """Parse a weekday choice ("mo-fr", "mon,wed,fri", "weekends", "täglich"); None = every day."""
    return _weekdays_or_error(_clean(s, "ui.err.weekdays"), lang, s)


def parse_reminder_args(
    args: Sequence[str], lang: str = "en"
) -> tuple[time, frozenset[int] | None] | None:
    """Parse /morning or /evening arguments: "off", or a time and optional weekdays."""
    text = _join(args, "ui.err.time")
    if not text:
        raise ParseError("ui.err.time", "")
    if text in _OFF_WORDS:
        return None
    tokens = text.split(" ")
    # the time may be one token ("7:30pm") or two ("7 pm", "19 Uhr")
    for size in (2, 1):
        if len(tokens) < size:
            continue
        at = _time_or_none(" ".join(tokens[:size]))
        if at is not None:
            rest = " ".join(tokens[size:])
            if not rest:
                return at, None
            return at, _weekdays_or_error(rest, lang, " ".join(args))
    raise ParseError("ui.err.time", " ".join(args))


# --- meals -----------------------------------------------------------------------------------

_MEAL_NAMES = ("breakfast", "lunch", "dinner")
_MEAL_WINDOWS = ((0, 11 * 60), (11 * 60, 16 * 60), (16 * 60, 24 * 60))  # minutes, half-open


def _distance(minute: int, window: tuple[int, int]) -> int:
    start, end = window
    if minute < start:
        return start - minute
    if minute >= end:
        return minute - end + 1
    return 0


def parse_meals(args: Sequence[str]) -> tuple[tuple[str, time], ...] | None:
    """Parse /meals: 1-3 meal times, named breakfast/lunch/dinner in time order; "off" = None."""
    key = "ui.err.meals"
    text = _join(args, key)
    if text in _OFF_WORDS:
        return None
    tokens = _time_tokens(text)
    if not 1 <= len(tokens) <= 3:
        raise ParseError(key, " ".join(args))
    times = [_time_or_none(token) for token in tokens]
    parsed = sorted(t for t in times if t is not None)
    if len(parsed) != len(tokens) or len(set(parsed)) != len(parsed):
        raise ParseError(key, " ".join(args))
    minutes = [t.hour * 60 + t.minute for t in parsed]
    # names keep time order and are never repeated; choose the set that fits the clock best
    best = min(
        combinations(range(3), len(parsed)),
        key=lambda names: sum(
            _distance(m, _MEAL_WINDOWS[n]) for m, n in zip(minutes, names, strict=True)
        ),
    )
    return tuple((_MEAL_NAMES[n], t) for n, t in zip(best, parsed, strict=True))


def parse_walk_times(s: str) -> tuple[time, time]:
    """Two walk times, morning then evening ("7:30 19:00", "8h und 18 Uhr")."""
    key = "ui.err.walk_times"
    text = _clean(s, key)
    tokens = [t for t in _time_tokens(text) if t not in ("and", "und", "&", "+", "-")]
    times = [_time_or_none(token) for token in tokens]
    parsed = sorted(t for t in times if t is not None)
    if len(tokens) != 2 or len(parsed) != 2 or parsed[0] == parsed[1]:
        raise ParseError(key, s)
    return parsed[0], parsed[1]


# --- durations, delays, pain -----------------------------------------------------------------

_MIN_UNIT = r"(?:m|min|mins|minute|minutes|minuten|')"
_HOUR_UNIT = r"(?:h|hr|hrs|hour|hours|std|stunde|stunden)"
_DURATION = re.compile(
    rf"(?:(?P<h>[0-9]{{1,2}})\s?{_HOUR_UNIT}(?:\s?(?P<hm>[0-9]{{1,2}})\s?{_MIN_UNIT}?)?"
    rf"|(?P<m>[0-9]{{1,4}})\s?{_MIN_UNIT}?)"
)


def _minutes_or_none(text: str) -> int | None:
    """Parse a cleaned duration ("20", "20 min", "1h", "1h30") into minutes, or None."""
    match = _DURATION.fullmatch(text.rstrip("."))
    if match is None:
        return None
    if match.group("h") is not None:
        extra = int(match.group("hm") or 0)
        return None if extra > 59 else int(match.group("h")) * 60 + extra
    return int(match.group("m"))


def parse_delay(s: str) -> int:
    """Parse a reminder delay in minutes, 0..180 ("20", "20min", "20 m")."""
    minutes = _minutes_or_none(_clean(s, "ui.err.delay"))
    if minutes is None or not 0 <= minutes <= 180:
        raise ParseError("ui.err.delay", s)
    return minutes


def parse_minutes(s: str) -> int:
    """Parse a walk length in minutes, 1..300 ("15", "15min", "1h", "1h30")."""
    minutes = _minutes_or_none(_clean(s, "ui.err.minutes"))
    if minutes is None or not 1 <= minutes <= 300:
        raise ParseError("ui.err.minutes", s)
    return minutes


_PAIN = re.compile(r"(?P<p>[0-9]{1,2})(?:\s?(?:/|of|out of|von)\s?10)?")


def _pain_or_none(text: str) -> int | None:
    match = _PAIN.fullmatch(text)
    if match is None or int(match.group("p")) > 10:
        return None
    return int(match.group("p"))


def parse_pain(s: str) -> int:
    """Parse a pain score 0..10 ("7", "7/10", "7 / 10")."""
    pain = _pain_or_none(_clean(s, "ui.err.pain"))
    if pain is None:
        raise ParseError("ui.err.pain", s)
    return pain


def parse_log(args: Sequence[str]) -> tuple[int, int | None]:
    """Parse /log MINUTES [PAIN], e.g. ["20"], ["20", "3"], ["1h", "30", "4/10"]."""
    key = "ui.err.log"
    tokens = _join(args, key).split(" ")
    for split in range(1, len(tokens) + 1):  # shortest first: "1h 5" is 60 min, pain 5
        minutes = _minutes_or_none(" ".join(tokens[:split]))
        if minutes is None or not 1 <= minutes <= 300:
            continue
        rest = " ".join(tokens[split:])
        if not rest:
            return minutes, None
        pain = _pain_or_none(rest)
        if pain is not None:
            return minutes, pain
    raise ParseError(key, " ".join(args))


# --- quiet hours -----------------------------------------------------------------------------


def parse_quiet(s: str) -> tuple[time, time] | None:
    """Parse quiet hours ("22:00-07:00", "22-7", "10pm-7am"); "off"/"aus" = None."""
    key = "ui.err.quiet"
    text = _clean(s, key)
    if text in _OFF_WORDS:
        return None
    parts = _RANGE.split(text)
    if len(parts) != 2:
        parts = _time_tokens(text)
    if len(parts) != 2:
        raise ParseError(key, s)
    start, end = _time_or_none(parts[0].strip()), _time_or_none(parts[1].strip())
    if start is None or end is None or start == end:
        raise ParseError(key, s)
    return start, end


# --- pauses ----------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "january": 1, "januar": 1, "jän": 1, "jänner": 1,
    "feb": 2, "february": 2, "februar": 2,
    "mar": 3, "march": 3, "mär": 3, "märz": 3, "maerz": 3, "mrz": 3,
    "apr": 4, "april": 4,
    "may": 5, "mai": 5,
    "jun": 6, "june": 6, "juni": 6,
    "jul": 7, "july": 7, "juli": 7,
    "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "okt": 10, "oktober": 10,
    "nov": 11, "november": 11,
    "dec": 12, "december": 12, "dez": 12, "dezember": 12,
}  # fmt: skip
_MONTH_WORDS = "|".join(sorted(_MONTHS, key=len, reverse=True))
_UNTIL = re.compile(r"(?:until|till|til|to|through|bis(?: zum| zur| einschließlich)?|zum)\s")
_SPAN = re.compile(
    r"(?:for\s|für\s)?(?P<n>[0-9]{1,3})\s?"
    r"(?P<unit>d|day|days|tag|tage|tagen|w|wk|wks|week|weeks|woche|wochen)?"
)
_ISO = re.compile(r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})")
_DOTTED = re.compile(r"(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.?(?P<y>[0-9]{2}|[0-9]{4})?")
_DAY_MONTH = re.compile(
    rf"(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th|\.)?\s?(?:of\s)?(?P<mon>{_MONTH_WORDS})\.?(?:\s(?P<y>[0-9]{{4}}))?"
)
_MONTH_DAY = re.compile(
    rf"(?P<mon>{_MONTH_WORDS})\.?\s?(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th|\.)?(?:,?\s(?P<y>[0-9]{{4}}))?"
)
_RELATIVE = {"today": 0, "heute": 0, "tomorrow": 1, "morgen": 1, "übermorgen": 2}


def _date_or_none(text: str, today: date, lang: str = "en") -> date | None:
    """Parse a cleaned date (ISO, 1.12., 1.12.2026, dec 1, friday, tomorrow), or None."""
    if text in _RELATIVE:
        return today + timedelta(days=_RELATIVE[text])
    weekday = _day(text, lang) if " " not in text else None
    if weekday is not None:
        ahead = (weekday - today.weekday() - 1) % 7 + 1  # the next one, never today
        return today + timedelta(days=ahead)
    for pattern in (_ISO, _DOTTED, _DAY_MONTH, _MONTH_DAY):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        parts = match.groupdict()
        month = int(parts["m"]) if parts.get("m") else _MONTHS[parts["mon"]]
        day = int(parts["d"])
        year_text = parts.get("y")
        try:
            if year_text:
                year = int(year_text) + (2000 if len(year_text) == 2 else 0)
                return date(year, month, day)
            found = date(today.year, month, day)
            return found if found >= today else date(today.year + 1, month, day)
        except ValueError:
            return None
    return None


def parse_pause(args: Sequence[str], today: date) -> date:
    """Parse /pause arguments into the last paused local date (inclusive), at most 90 days ahead."""
    key = "ui.err.pause"
    text = _join(args, key)
    original = " ".join(args)
    if not text:
        return today
    last: date | None = None
    span = _SPAN.fullmatch(text)
    if span is not None:
        count = int(span.group("n"))
        if span.group("unit") and span.group("unit")[0] == "w":
            count *= 7
        if not 1 <= count <= MAX_PAUSE_DAYS:
            raise ParseError(key, original)
        last = today + timedelta(days=count - 1)
    else:
        until = _UNTIL.match(text)
        last = _date_or_none(text[until.end() :] if until else text, today)
    if last is None or last < today or (last - today).days > MAX_PAUSE_DAYS:
        raise ParseError(key, original)
    return last


# --- answers and offsets ---------------------------------------------------------------------

_ANSWERS: dict[str, Literal["yes", "no", "unsure"]] = {
    **dict.fromkeys(
        ["yes", "y", "yeah", "yep", "yup", "yes please", "ok", "okay", "sure", "👍",
         "ja", "j", "jo", "jep", "jawohl", "ja bitte", "klar"],
        "yes",
    ),
    **dict.fromkeys(
        ["no", "n", "nope", "nah", "no thanks", "nein", "ne", "nö", "noe", "nee",
         "nein danke", "👎"],
        "no",
    ),
    **dict.fromkeys(
        ["not sure", "unsure", "idk", "i don't know", "i dont know", "dunno", "don't know",
         "dont know", "maybe", "perhaps", "weiß nicht", "weiss nicht", "ich weiß nicht",
         "ich weiss nicht", "keine ahnung", "vielleicht", "unsicher", "nicht sicher", "🤷"],
        "unsure",
    ),
}  # fmt: skip
_ANSWER_TRIM = ".!?,;:… \u200d\ufe0f"
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\u2640\u2642]")


def parse_answer(text: str) -> Literal["yes", "no", "unsure"] | None:
    """Classify a typed yes / no / not-sure answer; anything else is None."""
    try:
        cleaned = _clean(text, "ui.err.answer")
    except ParseError:
        return None
    cleaned = _SKIN_TONES.sub("", cleaned.replace("’", "'")).strip(_ANSWER_TRIM)
    return _ANSWERS.get(cleaned)


_OFFSET = re.compile(
    r"(?:utc|gmt)?\s?(?:(?P<sign>[+-])\s?(?P<h>[0-9]{1,2})(?::?(?P<m>[0-9]{2}))?)?"
)


def parse_utc_offset(s: str) -> timedelta | None:
    """Parse a UTC offset ("+2", "UTC-5", "GMT+5:30", "+05:45"); None if invalid or outside -12..+14."""
    try:
        text = _clean(s, "ui.err.offset")
    except ParseError:
        return None
    match = _OFFSET.fullmatch(text)
    if match is None or not text:
        return None
    if match.group("sign") is None:
        return timedelta(0) if text in {"utc", "gmt"} else None
    hours, minutes = int(match.group("h")), int(match.group("m") or 0)
    if minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    if match.group("sign") == "-":
        offset = -offset
    if not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        return None
    return offset
