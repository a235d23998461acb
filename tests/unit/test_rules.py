"""After a zone change: at most one reminder per rule per local day (jobs.rules.due_after_move)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from jobs.rules import ALL_DAYS_MASK, due_after_move

WINDOW = timedelta(minutes=30)
JAN5 = date(2026, 1, 5)


def utc(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "now", "fired", "expected"),
    [
        # Berlin -> London at 07:30 UTC, after the 08:00 Berlin reminder: tomorrow 08:00 London.
        ("Europe/London", utc(7, 30), {JAN5}, utc(8, 0, day=6)),
        # Same move, but nothing fired today (it was paused): today 08:00 London.
        ("Europe/London", utc(7, 30), set(), utc(8, 0)),
        # Kolkata -> Kathmandu at 08:05 Kathmandu, 08:00 Kolkata not yet fired: due now, 5 min late.
        ("Asia/Kathmandu", utc(2, 20), set(), utc(2, 15)),
        # ... and if it had fired already: tomorrow.
        ("Asia/Kathmandu", utc(2, 20), {JAN5}, utc(2, 15, day=6)),
        # More than the window late: not sent late, tomorrow.
        ("Asia/Kathmandu", utc(3, 0), set(), utc(2, 15, day=6)),
        # Moving east past midnight: the new local day has not fired, its 08:00 is still ahead.
        ("Pacific/Auckland", utc(12, 0), {JAN5}, utc(19, 0)),
    ],
)
def test_one_reminder_per_local_day_across_a_move(
    tz: str, now: datetime, fired: set[date], expected: datetime
) -> None:
    due = due_after_move(time(8), 0, ALL_DAYS_MASK, tz, now, frozenset(fired), WINDOW)
    assert due == expected
