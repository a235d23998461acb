"""Pure helpers between stored reminder rules and the schedule maths."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

from jobs.recurrence import in_quiet_hours, missed_collapse, next_occurrence, resolve_local, zone

RECURRING_KINDS = ("morning", "evening", "breakfast", "lunch", "dinner")
MEAL_KINDS = ("breakfast", "lunch", "dinner")
ONE_OFF_KINDS = ("snooze", "ate")
ALL_DAYS_MASK = 0b1111111
HELD_TIERS = ("emergency", "urgent", "crisis")  # red-flag episodes that pause walk reminders


def weekdays_to_mask(days: frozenset[int] | None) -> int:
    """{0, 2, 4} -> 0b0010101; None or empty = every day."""
    if not days:
        return ALL_DAYS_MASK
    return sum(1 << d for d in days if 0 <= d <= 6)


def mask_to_weekdays(mask: int) -> frozenset[int] | None:
    """The inverse of weekdays_to_mask; every day -> None."""
    if mask & ALL_DAYS_MASK == ALL_DAYS_MASK:
        return None
    return frozenset(d for d in range(7) if mask & (1 << d))


def fire_time(local_time: time, delay_minutes: int) -> time:
    """The local wall time a rule fires: the meal time plus its delay (wrapping midnight)."""
    if not delay_minutes:
        return local_time
    base = datetime.combine(date(2000, 1, 1), local_time) + timedelta(minutes=delay_minutes)
    return base.time()


@lru_cache(maxsize=8192)  # pure; at a morning peak thousands of rules share every argument
def next_due(
    local_time: time, delay_minutes: int, weekdays_mask: int, tz: str, after: datetime
) -> datetime:
    """The next instant (UTC) a recurring rule fires strictly after `after`."""
    return next_occurrence(
        fire_time(local_time, delay_minutes), tz, after, mask_to_weekdays(weekdays_mask)
    )


@lru_cache(maxsize=8192)
def local_instant(due: datetime, tz: str) -> datetime:
    """`due` on the wall clock of `tz` (cached: due reminders share few instants and zones)."""
    return due.astimezone(zone(tz))


def due_after_move(
    local_time: time,
    delay_minutes: int,
    weekdays_mask: int,
    tz: str,
    now: datetime,
    fired: frozenset[date],
    missed_after: timedelta,
) -> datetime:
    """A rule's next due instant after its person moved to zone `tz` (or came back).

    At most one reminder per rule per local day: `fired` holds the local dates (in `tz`) on which
    this rule already fired. Today's occurrence in the new zone, if it has passed within the
    missed-after window and today has not fired yet, is due now (it is sent late rather than
    lost); otherwise the next occurrence on a day that has not fired.
    """
    at = fire_time(local_time, delay_minutes)
    today = now.astimezone(zone(tz)).date()
    if today not in fired and weekdays_mask & (1 << today.weekday()):
        instant = resolve_local(today, at, zone(tz))
        if instant is not None and now - missed_after <= instant <= now:
            return instant
    due = next_due(local_time, delay_minutes, weekdays_mask, tz, now)
    while local_instant(due, tz).date() in fired:
        due = next_due(local_time, delay_minutes, weekdays_mask, tz, due)
    return due


def gate(
    *,
    due: datetime,
    now: datetime,
    tz: str,
    status: str,
    paused_until: date | None,
    quiet_start: time | None,
    quiet_end: time | None,
    open_tier: str | None,
    missed_after: timedelta,
) -> str | None:
    """Decide whether a due reminder may be sent: None, or the reason it is held back."""
    if status != "active":
        return "inactive"
    if open_tier in HELD_TIERS:
        return "red_flag"
    local = local_instant(due, tz)
    if paused_until is not None and local.date() <= paused_until:
        return "paused"
    if (
        quiet_start is not None
        and quiet_end is not None
        and in_quiet_hours(local.time(), quiet_start, quiet_end)
    ):
        return "quiet"
    if missed_collapse(due, now, missed_after):
        return "missed"
    return None
