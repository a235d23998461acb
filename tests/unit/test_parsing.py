"""Tests for bot.parsing: every accepted form, the range edges, and hostile input."""

from __future__ import annotations

import contextlib
import time as clock
from datetime import date, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.parsing import (
    ParseError,
    parse_answer,
    parse_delay,
    parse_log,
    parse_meals,
    parse_minutes,
    parse_pain,
    parse_pause,
    parse_quiet,
    parse_reminder_args,
    parse_time,
    parse_utc_offset,
    parse_weekdays,
)

WORKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
# 2026-06-03 is a Wednesday
TODAY = date(2026, 6, 3)


def test_parse_error_carries_the_catalogue_key_and_the_text() -> None:
    with pytest.raises(ParseError) as caught:
        parse_time("25:00")
    assert caught.value.key == "ui.err.time"
    assert caught.value.text == "25:00"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:30", time(7, 30)),
        ("07.30", time(7, 30)),
        ("7h30", time(7, 30)),
        ("730", time(7, 30)),
        ("0730", time(7, 30)),
        ("1930", time(19, 30)),
        ("7:30pm", time(19, 30)),
        ("7:30 PM", time(19, 30)),
        ("7 pm", time(19, 0)),
        ("7pm", time(19, 0)),
        ("19h", time(19, 0)),
        ("19", time(19, 0)),
        ("7", time(7, 0)),
        ("0", time(0, 0)),
        ("7 am", time(7, 0)),
        ("7.30 p.m.", time(19, 30)),
        ("7.30 a.m.", time(7, 30)),
        ("12am", time(0, 0)),
        ("12:30 am", time(0, 30)),
        ("12pm", time(12, 0)),
        ("12:15 pm", time(12, 15)),
        ("11:59pm", time(23, 59)),
        ("19 Uhr", time(19, 0)),
        ("7:30 Uhr", time(7, 30)),
        ("23:59", time(23, 59)),
        ("00:00", time(0, 0)),
        ("  7:30  ", time(7, 30)),
        ("\uff10\uff17\uff1a\uff13\uff10", time(7, 30)),  # full-width digits and colon
        ("7:30\u200f", time(7, 30)),  # a trailing right-to-left mark
    ],
)
def test_parse_time_accepts_common_clock_forms(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "24:00",
        "25:00",
        "7:61",
        "13pm",
        "0am",
        "0 pm",
        "",
        "   ",
        "7:3",
        "12345",
        "2400",
        "7:30:15",
        "seven",
        "-7",
        "7::30",
        "7:30 am pm",
        "7 " * 100,
    ],
)
def test_parse_time_rejects_impossible_or_garbled_times(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_time(text)
    assert caught.value.key == "ui.err.time"


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("daily", "en", None),
        ("every day", "en", None),
        ("Every Day", "de", None),
        ("weekdays", "en", WORKDAYS),
        ("weekends", "en", WEEKEND),
        ("weekend", "en", WEEKEND),
        ("mon,wed,fri", "en", frozenset({0, 2, 4})),
        ("mon wed fri", "en", frozenset({0, 2, 4})),
        ("mon, wed and fri", "en", frozenset({0, 2, 4})),
        ("mo-fr", "en", WORKDAYS),
        ("mon - fri", "en", WORKDAYS),
        ("mon to fri", "en", WORKDAYS),
        ("mon\u2013fri", "en", WORKDAYS),
        ("tue-thu", "en", frozenset({1, 2, 3})),
        ("fri-mon", "en", frozenset({4, 5, 6, 0})),
        ("sun-sat", "en", None),
        ("monday", "en", frozenset({0})),
        ("Mondays", "en", frozenset({0})),
        ("every monday", "en", frozenset({0})),
        ("sat, sun", "en", WEEKEND),
        ("weekdays, sat", "en", frozenset(range(6))),
        ("täglich", "de", None),
        ("Täglich", "en", None),
        ("jeden Tag", "de", None),
        ("werktags", "de", WORKDAYS),
        ("wochentags", "de", WORKDAYS),
        ("wochenende", "de", WEEKEND),
        ("am Wochenende", "de", WEEKEND),
        ("mo,mi,fr", "de", frozenset({0, 2, 4})),
        ("mo,mi,fr", "en", frozenset({0, 2, 4})),
        ("mo-fr", "de", WORKDAYS),
        ("Mo bis Fr", "de", WORKDAYS),
        ("di-do", "de", frozenset({1, 2, 3})),
        ("di-do", "en", frozenset({1, 2, 3})),
        ("fr-mo", "de", frozenset({4, 5, 6, 0})),
        ("montag", "de", frozenset({0})),
        ("montags", "de", frozenset({0})),
        ("Mi", "de", frozenset({2})),
        ("Mi", "en", frozenset({2})),
        ("Mi.", "de", frozenset({2})),
        ("so", "de", frozenset({6})),
        ("Sonntag", "en", frozenset({6})),
        ("mo-so", "de", None),
        ("mon, tue, wed, thu, fri, sat, sun", "en", None),
    ],
)
def test_parse_weekdays_reads_english_and_german_day_choices(
    text: str, lang: str, expected: frozenset[int] | None
) -> None:
    assert parse_weekdays(text, lang) == expected


@pytest.mark.parametrize(
    "text", ["", "xyz", "mon-", "-fri", "mon-xyz", "mon-tue-wed", "monday please", "1-5", "and"]
)
def test_parse_weekdays_rejects_what_is_not_a_day(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_weekdays(text)
    assert caught.value.key == "ui.err.weekdays"


@pytest.mark.parametrize(
    ("args", "lang", "expected"),
    [
        (["off"], "en", None),
        (["aus"], "de", None),
        (["OFF"], "de", None),
        (["7:30"], "en", (time(7, 30), None)),
        (["7:30", "mo-fr"], "en", (time(7, 30), WORKDAYS)),
        (["7:30", "mon,", "wed"], "en", (time(7, 30), frozenset({0, 2}))),
        (["7", "pm"], "en", (time(19, 0), None)),
        (["7", "pm", "weekends"], "en", (time(19, 0), WEEKEND)),
        (["19", "Uhr", "werktags"], "de", (time(19, 0), WORKDAYS)),
        (["8", "am", "Wochenende"], "de", (time(8, 0), WEEKEND)),
        (["19", "am", "Wochenende"], "de", (time(19, 0), WEEKEND)),
        (["21:00", "daily"], "en", (time(21, 0), None)),
    ],
)
def test_parse_reminder_args_reads_off_or_a_time_and_optional_days(
    args: list[str], lang: str, expected: tuple[time, frozenset[int] | None] | None
) -> None:
    assert parse_reminder_args(args, lang) == expected


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ([], "ui.err.time"),
        ([""], "ui.err.time"),
        (["25:00"], "ui.err.time"),
        (["mo-fr"], "ui.err.time"),
        (["7:30", "someday"], "ui.err.weekdays"),
        (["7:30"] * 9, "ui.err.time"),
        (["7:30", "x" * 10_000], "ui.err.time"),
    ],
)
def test_parse_reminder_args_names_the_part_that_was_wrong(args: list[str], key: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_reminder_args(args)
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["08:00", "13:00", "19:00"],
            (("breakfast", time(8)), ("lunch", time(13)), ("dinner", time(19))),
        ),
        (
            ["19:00", "08:00", "13:00"],
            (("breakfast", time(8)), ("lunch", time(13)), ("dinner", time(19))),
        ),
        # three times are named by position, even when the clock suggests otherwise
        (
            ["6:00", "7:00", "8:00"],
            (("breakfast", time(6)), ("lunch", time(7)), ("dinner", time(8))),
        ),
        (
            ["08:00,13:00,19:00"],
            (("breakfast", time(8)), ("lunch", time(13)), ("dinner", time(19))),
        ),
        (["8", "am", "1", "pm"], (("breakfast", time(8)), ("lunch", time(13)))),
        (["off"], None),
        (["aus"], None),
        (["7:30"], (("breakfast", time(7, 30)),)),
        (["10:59"], (("breakfast", time(10, 59)),)),
        (["11:00"], (("lunch", time(11)),)),
        (["15:59"], (("lunch", time(15, 59)),)),
        (["16:00"], (("dinner", time(16)),)),
        (["19:00"], (("dinner", time(19)),)),
        (["8:00", "18:00"], (("breakfast", time(8)), ("dinner", time(18)))),
        (["12:30", "19:00"], (("lunch", time(12, 30)), ("dinner", time(19)))),
        # two in one window: never two with one name, the nearer neighbour gives way
        (["7:00", "10:00"], (("breakfast", time(7)), ("lunch", time(10)))),
        (["17:00", "20:00"], (("lunch", time(17)), ("dinner", time(20)))),
        (["11:00", "12:00"], (("breakfast", time(11)), ("lunch", time(12)))),
        (["12:00", "15:00"], (("lunch", time(12)), ("dinner", time(15)))),
    ],
)
def test_parse_meals_sorts_and_names_one_to_three_meals(
    args: list[str], expected: tuple[tuple[str, time], ...] | None
) -> None:
    assert parse_meals(args) == expected


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["8:00", "8:00"],
        ["8:00", "08.00", "12:00"],
        ["7", "8", "12", "19"],
        ["25:00"],
        ["breakfast"],
        ["8:00", "lunch"],
    ],
)
def test_parse_meals_rejects_duplicates_too_many_and_bad_times(args: list[str]) -> None:
    with pytest.raises(ParseError) as caught:
        parse_meals(args)
    assert caught.value.key == "ui.err.meals"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20", 20),
        ("20min", 20),
        ("20 m", 20),
        ("20 min.", 20),
        ("20 Minuten", 20),
        ("0", 0),
        ("180", 180),
        ("1h", 60),
        ("2h", 120),
        ("1h30", 90),
        ("3h", 180),
    ],
)
def test_parse_delay_reads_minutes_up_to_three_hours(text: str, expected: int) -> None:
    assert parse_delay(text) == expected


@pytest.mark.parametrize("text", ["181", "-5", "", "twenty", "20 sec", "3h1", "4h", "1h60", "2.5"])
def test_parse_delay_rejects_out_of_range_and_unknown_units(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_delay(text)
    assert caught.value.key == "ui.err.delay"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15", 15),
        ("15min", 15),
        ("15m", 15),
        ("15 minutes", 15),
        ("15'", 15),
        ("1h", 60),
        ("1h30", 90),
        ("1 h 30 min", 90),
        ("1 Stunde", 60),
        ("1", 1),
        ("300", 300),
        ("5h", 300),
    ],
)
def test_parse_minutes_reads_walk_lengths(text: str, expected: int) -> None:
    assert parse_minutes(text) == expected


@pytest.mark.parametrize("text", ["0", "301", "5h1", "6h", "", "abc", "15 km", "1h75", "-3"])
def test_parse_minutes_rejects_lengths_outside_one_to_three_hundred(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_minutes(text)
    assert caught.value.key == "ui.err.minutes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), ("7/10", 7), ("7 / 10", 7), ("0", 0), ("10", 10), ("10/10", 10), ("3 von 10", 3)],
)
def test_parse_pain_reads_scores_from_zero_to_ten(text: str, expected: int) -> None:
    assert parse_pain(text) == expected


@pytest.mark.parametrize("text", ["11", "-1", "7/9", "7.5", "", "seven", "100", "7/100"])
def test_parse_pain_rejects_anything_outside_the_scale(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_pain(text)
    assert caught.value.key == "ui.err.pain"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["20"], (20, None)),
        (["20", "3"], (20, 3)),
        (["20min", "3/10"], (20, 3)),
        (["20", "min", "3"], (20, 3)),
        (["20", "3", "/", "10"], (20, 3)),
        (["1h", "30", "4/10"], (90, 4)),
        (["1h", "30"], (90, None)),
        (["1h", "5"], (60, 5)),
        (["300", "0"], (300, 0)),
    ],
)
def test_parse_log_reads_minutes_and_an_optional_pain_score(
    args: list[str], expected: tuple[int, int | None]
) -> None:
    assert parse_log(args) == expected


@pytest.mark.parametrize(
    "args", [[], ["0"], ["301"], ["20", "11"], ["20", "3", "4"], ["walked"], ["20", "x"]]
)
def test_parse_log_rejects_missing_or_out_of_range_values(args: list[str]) -> None:
    with pytest.raises(ParseError) as caught:
        parse_log(args)
    assert caught.value.key == "ui.err.log"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-07:00", (time(22), time(7))),
        ("22-7", (time(22), time(7))),
        ("22:00 07:00", (time(22), time(7))),
        ("10pm-7am", (time(22), time(7))),
        ("10 pm - 7 am", (time(22), time(7))),
        ("10 pm 7 am", (time(22), time(7))),
        ("22 Uhr bis 7 Uhr", (time(22), time(7))),
        ("22:00 to 06:30", (time(22), time(6, 30))),
        ("13-15", (time(13), time(15))),
        ("23:00\u201306:00", (time(23), time(6))),
        ("off", None),
        ("aus", None),
        ("Off", None),
    ],
)
def test_parse_quiet_reads_a_start_and_end(text: str, expected: tuple[time, time] | None) -> None:
    assert parse_quiet(text) == expected


@pytest.mark.parametrize("text", ["22-22", "22:00-22:00", "22", "", "22-25", "night", "1-2-3"])
def test_parse_quiet_rejects_equal_ends_and_incomplete_windows(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_quiet(text)
    assert caught.value.key == "ui.err.quiet"


@pytest.mark.parametrize(
    ("args", "today", "expected"),
    [
        ([], TODAY, TODAY),
        (["1"], TODAY, TODAY),
        (["3"], TODAY, date(2026, 6, 5)),
        (["3", "days"], TODAY, date(2026, 6, 5)),
        (["3d"], TODAY, date(2026, 6, 5)),
        (["3", "Tage"], TODAY, date(2026, 6, 5)),
        (["for", "3", "days"], TODAY, date(2026, 6, 5)),
        (["1", "week"], TODAY, date(2026, 6, 9)),
        (["2", "Wochen"], TODAY, date(2026, 6, 16)),
        (["90"], TODAY, date(2026, 8, 31)),
        (["until", "2026-06-20"], TODAY, date(2026, 6, 20)),
        (["until", "2026-12-01"], date(2026, 11, 2), date(2026, 12, 1)),
        (["until", "1.12."], date(2026, 11, 2), date(2026, 12, 1)),
        (["until", "1.12.2026"], date(2026, 11, 2), date(2026, 12, 1)),
        (["until", "dec", "1"], date(2026, 11, 2), date(2026, 12, 1)),
        (["until", "1", "December"], date(2026, 11, 2), date(2026, 12, 1)),
        (["bis", "zum", "1.", "Dezember"], date(2026, 11, 2), date(2026, 12, 1)),
        (["until", "5.1."], date(2026, 12, 20), date(2027, 1, 5)),
        (["until", "today"], TODAY, TODAY),
        (["until", "3.6."], TODAY, TODAY),
        (["until", "tomorrow"], TODAY, date(2026, 6, 4)),
        (["bis", "morgen"], TODAY, date(2026, 6, 4)),
        (["until", "friday"], TODAY, date(2026, 6, 5)),
        (["bis", "freitag"], TODAY, date(2026, 6, 5)),
        (["until", "fri"], TODAY, date(2026, 6, 5)),
        # naming today's weekday means the next one, a week on
        (["until", "wednesday"], TODAY, date(2026, 6, 10)),
        (["until", "monday"], TODAY, date(2026, 6, 8)),
    ],
)
def test_parse_pause_returns_the_last_paused_day(
    args: list[str], today: date, expected: date
) -> None:
    assert parse_pause(args, today) == expected


@pytest.mark.parametrize(
    ("args", "today"),
    [
        (["0"], TODAY),
        (["91"], TODAY),
        (["13", "weeks"], TODAY),
        (["until", "2026-06-02"], TODAY),
        (["until", "2026-12-01"], TODAY),
        (["until", "1.12."], TODAY),
        (["until", "31.2."], TODAY),
        (["until", "2026-13-01"], TODAY),
        (["until", "someday"], TODAY),
        (["until"], TODAY),
        (["forever"], TODAY),
        (["-3"], TODAY),
    ],
)
def test_parse_pause_rejects_past_dates_and_pauses_over_ninety_days(
    args: list[str], today: date
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_pause(args, today)
    assert caught.value.key == "ui.err.pause"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((t, "yes") for t in ["yes", "y", "yeah", "yep", "yes please", "ok", "\U0001f44d"]),
        *((t, "yes") for t in ["ja", "j", "jo", "jep", "Yes!", "  OK.  ", "\U0001f44d\U0001f3fd"]),
        *((t, "no") for t in ["no", "n", "nope", "nah", "nein", "ne", "nö", "NEIN!", "No."]),
        *((t, "unsure") for t in ["not sure", "unsure", "idk", "dunno", "maybe", "Maybe?"]),
        *(
            (t, "unsure")
            for t in ["weiß nicht", "weiss nicht", "keine Ahnung", "vielleicht", "unsicher"]
        ),
        *(
            (t, None)
            for t in ["", "hello", "yes no", "my back hurts", "nothing", "y" * 5000, "\u202e"]
        ),
    ],
)
def test_parse_answer_understands_typed_yes_no_and_not_sure(
    text: str, expected: str | None
) -> None:
    assert parse_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+2", timedelta(hours=2)),
        ("-5", timedelta(hours=-5)),
        ("UTC+2", timedelta(hours=2)),
        ("utc-5", timedelta(hours=-5)),
        ("UTC + 2", timedelta(hours=2)),
        ("GMT+5:30", timedelta(hours=5, minutes=30)),
        ("+05:45", timedelta(hours=5, minutes=45)),
        ("+0545", timedelta(hours=5, minutes=45)),
        ("UTC+14", timedelta(hours=14)),
        ("UTC-12", timedelta(hours=-12)),
        ("UTC\u22123", timedelta(hours=-3)),  # a real minus sign
        ("-3:30", -timedelta(hours=3, minutes=30)),
        ("UTC", timedelta(0)),
        ("+0", timedelta(0)),
    ],
)
def test_parse_utc_offset_reads_signed_offsets(text: str, expected: timedelta) -> None:
    assert parse_utc_offset(text) == expected


@pytest.mark.parametrize(
    "text", ["UTC+15", "+14:30", "-13", "-12:30", "2", "", "+5:75", "CET", "UTC+2+3", "+" * 9999]
)
def test_parse_utc_offset_returns_none_outside_minus_twelve_to_plus_fourteen(text: str) -> None:
    assert parse_utc_offset(text) is None


# --- hostile input ---------------------------------------------------------------------------

STRING_PARSERS = [
    parse_time,
    parse_weekdays,
    parse_delay,
    parse_minutes,
    parse_pain,
    parse_quiet,
    parse_answer,
    parse_utc_offset,
]
ARGS_PARSERS = [
    parse_reminder_args,
    parse_meals,
    parse_log,
    lambda args: parse_pause(args, TODAY),
]
nasty_text = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from("0123456789:.-/ hmpaUhr"),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(text=nasty_text)
def test_random_text_never_raises_anything_but_parse_error(text: str) -> None:
    for parser in STRING_PARSERS:
        with contextlib.suppress(ParseError):
            parser(text)  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(args=st.lists(nasty_text, max_size=10))
def test_random_arguments_never_raise_anything_but_parse_error(args: list[str]) -> None:
    original = list(args)
    for parser in ARGS_PARSERS:
        with contextlib.suppress(ParseError):
            parser(args)
    assert args == original


HUGE = "7:30 " + "\U0001f600\u202e\u0000" * 300_000


@pytest.mark.parametrize("parser", STRING_PARSERS[:6])
def test_a_megabyte_of_emoji_and_control_characters_is_rejected_quickly(parser: object) -> None:
    started = clock.perf_counter()
    with pytest.raises(ParseError) as caught:
        parser(HUGE)  # type: ignore[operator]
    assert len(caught.value.text) <= 64
    assert clock.perf_counter() - started < 0.05


@pytest.mark.parametrize("parser", [parse_answer, parse_utc_offset])
def test_a_megabyte_of_emoji_is_no_answer_and_no_offset(parser: object) -> None:
    started = clock.perf_counter()
    assert parser(HUGE) is None  # type: ignore[operator]
    assert clock.perf_counter() - started < 0.05


@pytest.mark.parametrize("parser", ARGS_PARSERS)
def test_many_huge_arguments_are_rejected_quickly(parser: object) -> None:
    started = clock.perf_counter()
    with pytest.raises(ParseError):
        parser([HUGE] * 10_000)  # type: ignore[operator]
    with pytest.raises(ParseError):
        parser(["7:30", HUGE])  # type: ignore[operator]
    assert clock.perf_counter() - started < 0.05
