"""The safety check's pure parts: who gets which check when, and the buttons it carries."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from jobs.safety_check import SIGNS, check_buttons, check_kind, sign_buttons
from messages.catalog import load_catalog

SUNDAY = date(2026, 1, 11)  # weekday() == 6
MONDAY = date(2026, 1, 12)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


@pytest.mark.parametrize(
    ("local_now", "weekly_day", "quiet", "open_tier", "episodes", "expected"),
    [
        # The weekly check: its weekday, from 11:00 until 20:00.
        (at(SUNDAY, 11), 6, None, None, (), "weekly"),
        (at(SUNDAY, 19, 59), 6, None, None, (), "weekly"),
        (at(SUNDAY, 10, 59), 6, None, None, (), None),
        (at(SUNDAY, 20), 6, None, None, (), None),
        (at(MONDAY, 11), 6, None, None, (), None),
        (at(MONDAY, 11), 0, None, None, (), "weekly"),  # the person's own weekday
        # Quiet hours hold it until they end (later the same day).
        (at(SUNDAY, 11), 6, (time(10), time(13)), None, (), None),
        (at(SUNDAY, 13), 6, (time(10), time(13)), None, (), "weekly"),
        (at(SUNDAY, 12), 6, (time(22), time(7)), None, (), "weekly"),
        # An open emergency or crisis episode holds it; urgent and see-soon ones do not.
        (at(SUNDAY, 12), 6, None, "emergency", (), None),
        (at(SUNDAY, 12), 6, None, "crisis", (), None),
        (at(SUNDAY, 12), 6, None, "urgent", (), "weekly"),
        (at(SUNDAY, 12), 6, None, "soon", (), "weekly"),
        # Daily on days 1..7 after an urgent or see-soon episode opened, whatever the weekday.
        (at(MONDAY, 11), 6, None, None, (date(2026, 1, 11),), "daily"),
        (at(MONDAY, 11), 6, None, "urgent", (date(2026, 1, 5),), "daily"),
        (at(MONDAY, 11), 6, None, None, (date(2026, 1, 12),), None),  # not the same day
        (at(MONDAY, 11), 6, None, None, (date(2026, 1, 4),), None),  # day 8: over
        (at(SUNDAY, 11), 6, None, None, (date(2026, 1, 10),), "daily"),  # replaces the weekly
        (at(MONDAY, 9), 6, None, None, (date(2026, 1, 11),), None),  # still its slot
        (at(MONDAY, 11), 6, None, "emergency", (date(2026, 1, 11),), None),
    ],
)
def test_who_gets_which_check_when(
    local_now: datetime,
    weekly_day: int,
    quiet: tuple[time, time] | None,
    open_tier: str | None,
    episodes: tuple[date, ...],
    expected: str | None,
) -> None:
    quiet_start, quiet_end = quiet or (None, None)
    assert (
        check_kind(
            local_now,
            weekly_day=weekly_day,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            open_tier=open_tier,
            episode_dates=episodes,
        )
        == expected
    )


@pytest.mark.parametrize("lang", ["en", "de"])
def test_buttons_are_short_and_carry_the_check(lang: str) -> None:
    catalog = load_catalog()
    answers = [b for row in check_buttons(catalog, lang, 41) for b in row]
    signs = [b for row in sign_buttons(catalog, lang, 41) for b in row]
    assert [data for _, data in answers] == ["sc:41:n", "sc:41:y", "sc:41:u"]
    assert [data for _, data in signs] == [f"sc:41:w:{code}" for code in SIGNS]
    assert all(0 < len(label) <= 24 for label, _ in answers + signs)
    assert all(len(data.encode()) <= 64 for _, data in answers + signs)  # Telegram's limit


def test_the_signs_raise_the_cauda_equina_flags() -> None:
    assert {flag for _, flag in SIGNS.values()} == {"E1", "E2", "E3", "E5"}
