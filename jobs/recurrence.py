"""Pure schedule maths: when a local wall-clock reminder time next happens, DST included.

Every reminder has exactly one occurrence per local calendar day on which it is allowed:

* a time that is skipped by a spring-forward gap fires at the same offset into the new time
  (02:30 in a one-hour gap fires at 03:30; 02:15 in Lord Howe's 30-minute gap at 02:45);
* a time that happens twice in a fall-back fold fires at its first occurrence only;
* a local day that does not exist at all (Pacific/Apia skipped 2011-12-30) has no occurrence.

All results are aware datetimes in UTC. Nothing here reads the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "in_quiet_hours",
    "local_date",
    "missed_collapse",
    "next_local_time",
    "next_occurrence",
    "occurrences",
    "resolve_local",
    "zone",
]

_ONE_DAY = timedelta(days=1)
# Enough days to get past a skipped local day plus a full week of weekday filtering.
_MAX_SCAN_DAYS = 16


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name; ValueError if the zone is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError) as exc:
        raise ValueError(f"unknown time zone: {name!r}") from exc


def _first_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """UTC instant of wall time `at` on `day` using the pre-transition offset (fold=0)."""
    local = datetime(
        day.year, day.month, day.day, at.hour, at.minute, at.second, at.microsecond, tzinfo=tz
    )
    return local.astimezone(UTC)


def resolve_local(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """Return the UTC instant of local wall time `at` on local date `day`, or None if the day is missing."""
    instant = _first_instant(day, at, tz)
    # fold=0 means: in a fold, the first occurrence; in a gap, the pre-transition offset,
    # which lands the same distance past the gap's end. Only a gap can move the date.
    shifted_day = instant.astimezone(tz).date()
    if shifted_day != day and _first_instant(shifted_day, at, tz) == instant:
        return None
    return instant


def _check_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _check_weekdays(weekdays: frozenset[int] | None) -> frozenset[int] | None:
    if not weekdays:
        return None
    if not all(isinstance(d, int) and 0 <= d <= 6 for d in weekdays):
        raise ValueError(f"weekdays must be in 0..6, got {sorted(weekdays)!r}")
    return None if len(weekdays) == 7 else weekdays


def next_occurrence(
    at: time, tz: str, after: datetime, weekdays: frozenset[int] | None = None
) -> datetime:
    """Return the first occurrence (UTC) strictly after `after` on an allowed weekday (0=Monday)."""
    _check_aware(after, "after")
    zi = zone(tz)
    allowed = _check_weekdays(weekdays)
    after_utc = after.astimezone(UTC)
    # Start one day early: a gap right before midnight can push yesterday's occurrence into today.
    day = after_utc.astimezone(zi).date() - _ONE_DAY
    for _ in range(_MAX_SCAN_DAYS):
        if allowed is None or day.weekday() in allowed:
            instant = resolve_local(day, at, zi)
            if instant is not None and instant > after_utc:
                return instant
        day += _ONE_DAY
    raise ValueError("no occurrence found")  # pragma: no cover - unreachable for valid input


def next_local_time(at: time, tz: str, after: datetime) -> datetime:
    """Return the next instant (UTC) after `after` at local time `at`, any day of the week."""
    return next_occurrence(at, tz, after)


def occurrences(
    at: time,
    tz: str,
    start: datetime,
    end: datetime,
    weekdays: frozenset[int] | None = None,
) -> list[datetime]:
    """Return every occurrence (UTC) in the half-open interval (start, end]."""
    _check_aware(end, "end")
    result: list[datetime] = []
    current = next_occurrence(at, tz, start, weekdays)
    while current <= end:
        result.append(current)
        current = next_occurrence(at, tz, current, weekdays)
    return result


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Return True if `local` lies in [start, end), a window that may wrap midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def local_date(instant: datetime, tz: str) -> date:
    """Return the calendar date in zone `tz` at the aware `instant`."""
    _check_aware(instant, "instant")
    return instant.astimezone(zone(tz)).date()


def missed_collapse(due: datetime, now: datetime, grace: timedelta) -> bool:
    """Return True if `due` is more than `grace` late at `now` (record as missed, do not send)."""
    return now - due > grace
