"""Tests for jobs.recurrence: DST gaps and folds, skipped days, weekdays, quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.recurrence import (
    in_quiet_hours,
    local_date,
    missed_collapse,
    next_local_time,
    next_occurrence,
    occurrences,
    resolve_local,
)

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Sao_Paulo",
    "Africa/Casablanca",
    "Pacific/Apia",
    "Europe/London",
    "UTC",
]


PYONGYANG = ZoneInfo("Asia/Pyongyang")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- transitions found by scanning the zone data, not hard-coded ---------------------------


def _offset(z: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(z).utcoffset()
    assert offset is not None
    return offset


def scan_transitions(
    name: str, start: datetime, end: datetime
) -> list[tuple[datetime, timedelta, timedelta]]:
    """Every offset change in [start, end): (instant, offset before, offset after), to the minute."""
    z = ZoneInfo(name)
    found = []
    step = timedelta(hours=1)
    t = start
    before = _offset(z, t)
    while t < end:
        nxt = t + step
        after = _offset(z, nxt)
        if after != before:
            lo, hi = t, nxt  # offset(lo) == before, offset(hi) == after
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid == lo:
                    mid = lo + timedelta(minutes=1)
                if _offset(z, mid) == before:
                    lo = mid
                else:
                    hi = mid
            found.append((hi, before, after))
        before = after
        t = nxt
    return found


TRANSITIONS = {name: scan_transitions(name, utc(2024, 1, 1), utc(2027, 1, 1)) for name in ZONES}


def _edge_cases() -> list[tuple[str, str, date, time, datetime, timedelta]]:
    """Times at the start, middle and end of every gap and fold of 2024-2026, with expectations."""
    cases = []
    for name, transitions in TRANSITIONS.items():
        for instant, before, after in transitions:
            wall_at_transition = (instant + before).replace(tzinfo=None)  # old clock at the change
            length = abs(after - before)
            kind = "gap" if after > before else "fold"
            # a gap skips [wall, wall + length); a fold repeats [wall - length, wall)
            first = wall_at_transition if kind == "gap" else wall_at_transition - length
            for into in (timedelta(0), length / 2, length - timedelta(minutes=1)):
                wall = first + into
                # gap: same distance past the change; fold: the first (old offset) occurrence
                expected = (wall - before).replace(tzinfo=UTC)
                cases.append((name, kind, wall.date(), wall.time(), expected, length))
    return cases


EDGE_CASES = _edge_cases()


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("America/New_York", 6),
        ("Europe/Berlin", 6),
        ("Australia/Lord_Howe", 6),
        ("Asia/Kathmandu", 0),
        ("Pacific/Chatham", 6),
        ("America/Sao_Paulo", 0),
        ("Africa/Casablanca", 6),
        ("Pacific/Apia", 0),
        ("Europe/London", 6),
        ("UTC", 0),
    ],
)
def test_the_scan_finds_every_transition_of_2024_to_2026(name: str, count: int) -> None:
    assert len(TRANSITIONS[name]) == count


@pytest.mark.parametrize(
    ("name", "kind", "day", "at", "expected", "length"),
    EDGE_CASES,
    ids=[f"{c[0]}-{c[2]}-{c[1]}-{c[3]:%H:%M}" for c in EDGE_CASES],
)
def test_times_inside_gaps_shift_forward_and_times_inside_folds_take_the_first(
    name: str, kind: str, day: date, at: time, expected: datetime, length: timedelta
) -> None:
    z = ZoneInfo(name)
    result = resolve_local(day, at, z)
    assert result == expected
    local = expected.astimezone(z).replace(tzinfo=None)
    naive = datetime.combine(day, at)
    if kind == "fold":  # the wall time happens again `length` later; we took the first
        assert local == naive
        assert (expected + length).astimezone(z).replace(tzinfo=None) == naive
    else:  # moved forward by exactly the length of the gap
        assert local == naive + length


@pytest.mark.parametrize(
    ("name", "kind", "day", "at", "expected", "length"),
    EDGE_CASES,
    ids=[f"{c[0]}-{c[2]}-{c[1]}-{c[3]:%H:%M}" for c in EDGE_CASES],
)
def test_next_occurrence_on_a_transition_day_fires_once_at_the_resolved_instant(
    name: str, kind: str, day: date, at: time, expected: datetime, length: timedelta
) -> None:
    two_days_before = datetime.combine(day - timedelta(days=2), time(23, 59), ZoneInfo(name))
    first = next_occurrence(at, name, two_days_before)
    assert first == datetime.combine(day - timedelta(days=1), at, ZoneInfo(name)).astimezone(UTC)
    assert next_occurrence(at, name, first) == expected
    following = next_occurrence(at, name, expected)
    assert following.astimezone(ZoneInfo(name)).date() == day + timedelta(days=1)


@pytest.mark.parametrize(
    ("name", "day", "at", "expected_utc", "expected_local"),
    [
        ("America/New_York", date(2024, 3, 10), time(2, 30), utc(2024, 3, 10, 7, 30), time(3, 30)),
        ("America/New_York", date(2024, 11, 3), time(1, 30), utc(2024, 11, 3, 5, 30), time(1, 30)),
        ("Europe/Berlin", date(2025, 3, 30), time(2, 30), utc(2025, 3, 30, 1, 30), time(3, 30)),
        ("Europe/Berlin", date(2025, 10, 26), time(2, 30), utc(2025, 10, 26, 0, 30), time(2, 30)),
        (
            "Australia/Lord_Howe",
            date(2024, 10, 6),
            time(2, 15),
            utc(2024, 10, 5, 15, 45),
            time(2, 45),
        ),
        (
            "Australia/Lord_Howe",
            date(2025, 4, 6),
            time(1, 45),
            utc(2025, 4, 5, 14, 45),
            time(1, 45),
        ),
        ("Asia/Kathmandu", date(2025, 6, 1), time(9, 0), utc(2025, 6, 1, 3, 15), time(9, 0)),
        ("Pacific/Chatham", date(2025, 9, 28), time(3, 0), utc(2025, 9, 27, 14, 15), time(4, 0)),
        ("Pacific/Chatham", date(2025, 4, 6), time(3, 0), utc(2025, 4, 5, 13, 15), time(3, 0)),
        ("America/Sao_Paulo", date(2018, 11, 4), time(0, 30), utc(2018, 11, 4, 3, 30), time(1, 30)),
        (
            "America/Sao_Paulo",
            date(2019, 2, 16),
            time(23, 30),
            utc(2019, 2, 17, 1, 30),
            time(23, 30),
        ),
        ("America/Sao_Paulo", date(2019, 11, 3), time(0, 30), utc(2019, 11, 3, 3, 30), time(0, 30)),
        ("America/Sao_Paulo", date(2024, 11, 3), time(0, 30), utc(2024, 11, 3, 3, 30), time(0, 30)),
        (
            "America/Sao_Paulo",
            date(2025, 2, 16),
            time(23, 30),
            utc(2025, 2, 17, 2, 30),
            time(23, 30),
        ),
        ("Africa/Casablanca", date(2025, 2, 23), time(2, 30), utc(2025, 2, 23, 1, 30), time(2, 30)),
        ("Africa/Casablanca", date(2025, 4, 6), time(2, 30), utc(2025, 4, 6, 2, 30), time(3, 30)),
        ("Europe/London", date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1, 30), time(2, 30)),
        ("Europe/London", date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30), time(1, 30)),
        ("Pacific/Apia", date(2011, 12, 29), time(12, 0), utc(2011, 12, 29, 22, 0), time(12, 0)),
        ("Pacific/Apia", date(2011, 12, 31), time(12, 0), utc(2011, 12, 30, 22, 0), time(12, 0)),
        ("UTC", date(2025, 3, 30), time(2, 30), utc(2025, 3, 30, 2, 30), time(2, 30)),
    ],
)
def test_resolve_local_matches_hand_worked_instants(
    name: str, day: date, at: time, expected_utc: datetime, expected_local: time
) -> None:
    result = resolve_local(day, at, ZoneInfo(name))
    assert result == expected_utc
    assert result is not None
    assert result.astimezone(ZoneInfo(name)).time() == expected_local


@pytest.mark.parametrize(
    ("after", "weekdays", "expected"),
    [
        # Pyongyang jumped 23:30 -> 00:00 on 2018-05-04: Friday's 23:45 fires at 00:15 Saturday
        (datetime(2018, 5, 4, 12, 0, tzinfo=PYONGYANG), None, utc(2018, 5, 4, 15, 15)),
        (datetime(2018, 5, 5, 0, 5, tzinfo=PYONGYANG), None, utc(2018, 5, 4, 15, 15)),
        (datetime(2018, 5, 5, 0, 5, tzinfo=PYONGYANG), frozenset({4}), utc(2018, 5, 4, 15, 15)),
        (datetime(2018, 5, 5, 0, 5, tzinfo=PYONGYANG), frozenset({5}), utc(2018, 5, 5, 14, 45)),
        (datetime(2018, 5, 5, 0, 15, tzinfo=PYONGYANG), None, utc(2018, 5, 5, 14, 45)),
    ],
)
def test_a_gap_just_before_midnight_moves_the_occurrence_into_the_next_date(
    after: datetime, weekdays: frozenset[int] | None, expected: datetime
) -> None:
    assert next_occurrence(time(23, 45), "Asia/Pyongyang", after, weekdays) == expected


@pytest.mark.parametrize("at", [time(0, 0), time(9, 0), time(12, 0), time(23, 59)])
def test_a_local_day_that_never_happened_has_no_occurrence(at: time) -> None:
    assert resolve_local(date(2011, 12, 30), at, ZoneInfo("Pacific/Apia")) is None


@pytest.mark.parametrize(
    ("at", "after", "weekdays", "expected"),
    [
        # Thursday 29th 10:00 local -> 29th 12:00, then the 31st (the 30th never happened)
        (time(12), utc(2011, 12, 29, 20), None, utc(2011, 12, 29, 22)),
        (time(12), utc(2011, 12, 29, 22), None, utc(2011, 12, 30, 22)),
        # Friday-only: Friday 30th is gone, so the next Friday is 2012-01-06
        (time(12), utc(2011, 12, 29, 0), frozenset({4}), utc(2012, 1, 5, 22)),
    ],
)
def test_next_occurrence_steps_over_apias_missing_friday(
    at: time, after: datetime, weekdays: frozenset[int] | None, expected: datetime
) -> None:
    assert next_occurrence(at, "Pacific/Apia", after, weekdays) == expected


@pytest.mark.parametrize(
    ("at", "tz", "after", "weekdays", "expected"),
    [
        (time(9), "UTC", utc(2025, 6, 2, 8, 59), None, utc(2025, 6, 2, 9)),
        (time(9), "UTC", utc(2025, 6, 2, 9), None, utc(2025, 6, 3, 9)),
        (time(9), "UTC", utc(2025, 6, 2, 8, 59, 59, 999999), None, utc(2025, 6, 2, 9)),
        (time(9), "Europe/Berlin", utc(2025, 6, 2, 6), None, utc(2025, 6, 2, 7)),
        (time(9), "Europe/Berlin", utc(2025, 6, 2, 7), None, utc(2025, 6, 3, 7)),
        # 2025-06-02 is a Monday
        (time(9), "UTC", utc(2025, 6, 2, 10), frozenset({0}), utc(2025, 6, 9, 9)),
        (time(9), "UTC", utc(2025, 6, 2, 10), frozenset({0, 2, 4}), utc(2025, 6, 4, 9)),
        (time(9), "UTC", utc(2025, 6, 6, 10), frozenset({0, 2, 4}), utc(2025, 6, 9, 9)),
        (time(9), "UTC", utc(2025, 6, 6, 10), frozenset({5, 6}), utc(2025, 6, 7, 9)),
        (time(9), "UTC", utc(2025, 6, 2, 10), frozenset(), utc(2025, 6, 3, 9)),
        (time(9), "UTC", utc(2025, 6, 2, 10), frozenset(range(7)), utc(2025, 6, 3, 9)),
        # the weekday is the local one: 08:00 Monday in Kathmandu is Sunday 02:15 UTC
        (time(8), "Asia/Kathmandu", utc(2025, 6, 1, 0), frozenset({0}), utc(2025, 6, 2, 2, 15)),
        # 23:30 Friday in New York is Saturday 03:30 UTC
        (time(23, 30), "America/New_York", utc(2025, 6, 6), frozenset({4}), utc(2025, 6, 7, 3, 30)),
        # between the two 01:30s of the New York fold: the day's one reminder has gone already
        (time(1, 30), "America/New_York", utc(2024, 11, 3, 5, 45), None, utc(2024, 11, 4, 6, 30)),
        # an `after` in another zone is fine
        (
            time(9),
            "UTC",
            datetime(2025, 6, 2, 11, 30, tzinfo=ZoneInfo("Europe/Berlin")),
            None,
            utc(2025, 6, 3, 9),
        ),
    ],
)
def test_next_occurrence_is_strictly_after_and_respects_weekdays(
    at: time, tz: str, after: datetime, weekdays: frozenset[int] | None, expected: datetime
) -> None:
    result = next_occurrence(at, tz, after, weekdays)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("tz", "after", "weekdays", "message"),
    [
        ("UTC", datetime(2025, 6, 2, 9), None, "aware"),
        ("Mars/Olympus_Mons", utc(2025, 6, 2), None, "unknown time zone"),
        ("", utc(2025, 6, 2), None, "unknown time zone"),
        ("../../etc/passwd", utc(2025, 6, 2), None, "unknown time zone"),
        ("America", utc(2025, 6, 2), None, "unknown time zone"),
        ("UTC", utc(2025, 6, 2), frozenset({7}), "weekdays"),
        ("UTC", utc(2025, 6, 2), frozenset({-1}), "weekdays"),
    ],
)
def test_next_occurrence_rejects_naive_instants_unknown_zones_and_bad_weekdays(
    tz: str, after: datetime, weekdays: frozenset[int] | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        next_occurrence(time(9), tz, after, weekdays)


@pytest.mark.parametrize(
    ("at", "tz", "after", "expected"),
    [
        (time(9), "Europe/Berlin", utc(2025, 6, 2, 20), utc(2025, 6, 3, 7)),
        (time(9), "America/New_York", utc(2025, 6, 2, 12), utc(2025, 6, 2, 13)),
    ],
)
def test_next_local_time_finds_the_next_morning_check_in(
    at: time, tz: str, after: datetime, expected: datetime
) -> None:
    assert next_local_time(at, tz, after) == expected


@pytest.mark.parametrize(
    ("tz", "weekdays", "count"),
    [
        ("UTC", None, 365),
        ("Europe/Berlin", None, 365),
        ("America/New_York", None, 365),
        ("Australia/Lord_Howe", None, 365),
        ("Pacific/Chatham", None, 365),
        ("Africa/Casablanca", None, 365),
        # 2025 starts on a Wednesday and has 52 weeks and one day
        ("UTC", frozenset({0, 2, 4}), 157),
        ("UTC", frozenset({5, 6}), 104),
    ],
)
def test_occurrences_over_a_year_give_one_per_allowed_local_day(
    tz: str, weekdays: frozenset[int] | None, count: int
) -> None:
    start = datetime(2025, 1, 1, tzinfo=ZoneInfo(tz))
    end = datetime(2026, 1, 1, tzinfo=ZoneInfo(tz))
    result = occurrences(time(2, 30), tz, start, end, weekdays)
    assert len(result) == count
    assert result == sorted(set(result))
    assert len({local_date(r - timedelta(hours=1), tz) for r in result}) == count


def test_occurrences_include_the_end_and_exclude_the_start() -> None:
    result = occurrences(time(9), "UTC", utc(2025, 6, 2, 9), utc(2025, 6, 4, 9))
    assert result == [utc(2025, 6, 3, 9), utc(2025, 6, 4, 9)]


@pytest.mark.parametrize(
    ("local", "start", "end", "quiet"),
    [
        (time(23), time(22), time(7), True),
        (time(22), time(22), time(7), True),
        (time(0), time(22), time(7), True),
        (time(6, 59), time(22), time(7), True),
        (time(7), time(22), time(7), False),
        (time(12), time(22), time(7), False),
        (time(21, 59), time(22), time(7), False),
        (time(13), time(13), time(15), True),
        (time(14, 59), time(13), time(15), True),
        (time(15), time(13), time(15), False),
        (time(12, 59), time(13), time(15), False),
        (time(0), time(0), time(6), True),
        (time(23, 59), time(0), time(6), False),
        (time(23, 59), time(23), time(0), True),
        (time(0), time(23), time(0), False),
        (time(12), time(22), time(22), False),
        (time(22), time(22), time(22), False),
    ],
)
def test_quiet_hours_are_half_open_and_may_wrap_midnight(
    local: time, start: time, end: time, quiet: bool
) -> None:
    assert in_quiet_hours(local, start, end) is quiet


@pytest.mark.parametrize(
    ("instant", "tz", "expected"),
    [
        (utc(2025, 6, 30, 23, 30), "Asia/Kathmandu", date(2025, 7, 1)),
        (utc(2025, 6, 30, 23, 30), "UTC", date(2025, 6, 30)),
        (utc(2025, 7, 1, 3, 30), "America/New_York", date(2025, 6, 30)),
        (utc(2025, 6, 30, 10, 15), "Pacific/Chatham", date(2025, 6, 30)),
        (utc(2025, 6, 30, 11, 15), "Pacific/Chatham", date(2025, 7, 1)),
    ],
)
def test_local_date_is_the_calendar_date_in_the_zone(
    instant: datetime, tz: str, expected: date
) -> None:
    assert local_date(instant, tz) == expected


def test_local_date_rejects_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2025, 6, 30, 12), "UTC")


@pytest.mark.parametrize(
    ("due", "now", "grace_minutes", "missed"),
    [
        (utc(2025, 6, 2, 9), utc(2025, 6, 2, 9), 15, False),
        (utc(2025, 6, 2, 9), utc(2025, 6, 2, 9, 10), 15, False),
        (utc(2025, 6, 2, 9), utc(2025, 6, 2, 9, 15), 15, False),
        (utc(2025, 6, 2, 9), utc(2025, 6, 2, 9, 15, 1), 15, True),
        (utc(2025, 6, 2, 9), utc(2025, 6, 3, 9), 15, True),
        (utc(2025, 6, 2, 9), utc(2025, 6, 2, 8), 15, False),
        (utc(2025, 6, 2, 9), utc(2025, 6, 2, 9, 0, 1), 0, True),
    ],
)
def test_a_reminder_is_collapsed_only_when_more_than_grace_late(
    due: datetime, now: datetime, grace_minutes: int, missed: bool
) -> None:
    assert missed_collapse(due, now, timedelta(minutes=grace_minutes)) is missed


# --- properties over random zones, times and instants --------------------------------------

ALL_ZONES = sorted(available_timezones())
MARKS = [*(time(h) for h in range(24)), time(23, 59)]


def _is_real(naive: datetime, z: ZoneInfo) -> list[datetime]:
    """UTC instants whose wall clock in z reads exactly `naive` (0, 1 or 2 of them)."""
    found = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=z, fold=fold).astimezone(UTC)
        if instant.astimezone(z).replace(tzinfo=None) == naive:
            found.add(instant)
    return sorted(found)


def _day_exists(day: date, z: ZoneInfo) -> bool:
    return any(_is_real(datetime.combine(day, mark), z) for mark in MARKS)


def expected_occurrence(day: date, at: time, z: ZoneInfo) -> datetime | None:
    """Oracle: the one instant that belongs to local `day`, built from wall-clock round trips."""
    if not _day_exists(day, z):
        return None
    naive = datetime.combine(day, at)
    real = _is_real(naive, z)
    if real:
        return real[0]
    # a gap: PEP 495 fold=0 uses the offset from before the change, i.e. the same distance past it
    shifted = naive.replace(tzinfo=z, fold=0).astimezone(UTC)
    other = shifted.astimezone(z).date()
    if other != day and _is_real(datetime.combine(other, at), z)[:1] == [shifted]:
        return None
    return shifted


zones = st.sampled_from(ALL_ZONES)
wall_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
instants = st.datetimes(
    min_value=datetime(1975, 1, 1), max_value=datetime(2036, 12, 31), timezones=st.just(UTC)
)
weekday_sets = st.none() | st.frozensets(st.integers(0, 6))


def _owner_day(result: datetime, at: time, z: ZoneInfo) -> date:
    day = result.astimezone(z).date()
    for candidate in (day, day - timedelta(days=1)):
        if expected_occurrence(candidate, at, z) == result:
            return candidate
    raise AssertionError(f"{result} belongs to no local day")


@settings(max_examples=400, deadline=None)
@given(tz=zones, at=wall_times, after=instants, weekdays=weekday_sets)
def test_next_occurrence_is_the_first_valid_occurrence_after(
    tz: str, at: time, after: datetime, weekdays: frozenset[int] | None
) -> None:
    z = ZoneInfo(tz)
    result = next_occurrence(at, tz, after, weekdays)
    assert result > after
    assert result.tzinfo is UTC
    owner = _owner_day(result, at, z)
    assert not weekdays or owner.weekday() in weekdays
    naive = datetime.combine(owner, at)
    wall = result.astimezone(z).replace(tzinfo=None)
    if wall != naive:  # only allowed on a gap day: shifted forward by exactly the gap
        assert not _is_real(naive, z)
        shift = wall - naive
        assert timedelta(0) < shift <= timedelta(days=1)
        assert _offset(z, result) - _offset(z, result - shift - timedelta(microseconds=1)) == shift
    # nothing valid was skipped between `after` and `result`
    first_day = after.astimezone(z).date() - timedelta(days=2)
    for offset in range((owner - first_day).days):
        day = first_day + timedelta(days=offset)
        if weekdays and day.weekday() not in weekdays:
            continue
        candidate = expected_occurrence(day, at, z)
        assert candidate is None or candidate <= after or candidate >= result


@settings(max_examples=40, deadline=None)
@given(tz=zones, at=wall_times, after=instants)
def test_a_year_of_consecutive_calls_gives_exactly_one_occurrence_per_existing_day(
    tz: str, at: time, after: datetime
) -> None:
    z = ZoneInfo(tz)
    results = []
    current = after
    for _ in range(365):
        current = next_occurrence(at, tz, current)
        results.append(current)
    owners = [_owner_day(r, at, z) for r in results]
    assert len(set(owners)) == len(owners)  # none doubled in a fold
    for earlier, later in zip(owners, owners[1:], strict=False):
        gap_days = [earlier + timedelta(days=i) for i in range(1, (later - earlier).days)]
        assert all(expected_occurrence(d, at, z) is None for d in gap_days)  # none skipped


@settings(max_examples=100, deadline=None)
@given(
    at=wall_times, tz=st.sampled_from(ZONES), year=st.sampled_from([2011, 2018, 2024, 2025, 2026])
)
def test_on_the_unusual_zones_every_existing_day_of_a_year_has_its_occurrence(
    at: time, tz: str, year: int
) -> None:
    z = ZoneInfo(tz)
    start = datetime(year, 1, 1, tzinfo=z)
    got = occurrences(at, tz, start, start + timedelta(days=366))
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(-1, 368)]
    expected = [e for d in days if (e := expected_occurrence(d, at, z)) is not None]
    assert got == [e for e in expected if start < e <= start + timedelta(days=366)]
