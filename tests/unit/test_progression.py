"""Tests for the walking programme rules in bot/progression.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.progression import (
    Compare,
    Light,
    Programme,
    Walk,
    after_escalation,
    after_walk,
    classify_walk,
    needs_see_soon,
    needs_spike_screen,
    start_flare,
    start_programme,
    streak,
    today_total,
    week_totals,
)

D = date(2025, 3, 10)


def day(offset: int) -> date:
    """A date relative to the fixed test day D."""
    return D + timedelta(days=offset)


def continuous(target: int, last_green: int | None = None, streak_: int = 0) -> Programme:
    """A continuous-mode programme with the given target."""
    return Programme(
        mode="continuous",
        target_minutes=target,
        last_green_minutes=target if last_green is None else last_green,
        green_streak=streak_,
        last_increase=None,
        interval_minutes=0,
        interval_rounds=0,
        comfortable_intervals=0,
        frozen_until=None,
    )


# --- classify_walk -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pain", "usual", "compare", "next_morning_worse", "sharp_or_leg", "expected"),
    [
        pytest.param(0, None, None, False, False, "green", id="no pain is green"),
        pytest.param(3, None, None, False, False, "green", id="exactly 3 is green"),
        pytest.param(4, None, None, False, False, "amber", id="exactly 4 is amber"),
        pytest.param(5, None, None, False, False, "amber", id="exactly 5 is amber"),
        pytest.param(6, None, None, False, False, "red", id="exactly 6 is red"),
        pytest.param(10, None, None, False, False, "red", id="10 is red"),
        pytest.param(5, 3, None, False, False, "green", id="usual plus 2 is green"),
        pytest.param(5, 2, None, False, False, "amber", id="usual plus 3 is amber"),
        pytest.param(4, 4, "same", False, False, "green", id="4 at a usual of 4 is green"),
        pytest.param(6, 5, None, False, False, "red", id="6 is red even one above usual"),
        pytest.param(2, None, None, True, False, "red", id="worse next morning is red"),
        pytest.param(
            2, None, None, None, False, "green", id="unanswered morning counts as not worse"
        ),
        pytest.param(1, None, None, False, True, "red", id="sharp or leg pain is red"),
        pytest.param(None, None, "better", None, False, "green", id="no score but better is green"),
        pytest.param(None, None, "same", None, False, "green", id="no score but same is green"),
        pytest.param(None, None, "worse", None, False, "amber", id="no score but worse is amber"),
        pytest.param(None, None, None, None, False, "amber", id="no answers at all hold as amber"),
        pytest.param(
            None, None, "better", True, False, "red", id="no score but worse morning is red"
        ),
        pytest.param(
            3, 1, "worse", False, False, "green", id="a score decides over the comparison"
        ),
    ],
)
def test_walk_gets_its_traffic_light(
    pain: int | None,
    usual: int | None,
    compare: Compare | None,
    next_morning_worse: bool | None,
    sharp_or_leg: bool,
    expected: Light,
) -> None:
    assert classify_walk(pain, usual, compare, next_morning_worse, sharp_or_leg) == expected


@pytest.mark.parametrize(
    ("pain", "usual"),
    [pytest.param(11, None, id="pain above 10"), pytest.param(2, -1, id="usual below 0")],
)
def test_pain_outside_0_to_10_is_rejected(pain: int, usual: int | None) -> None:
    with pytest.raises(ValueError, match="between 0 and 10"):
        classify_walk(pain, usual, None, False)


# --- start_programme -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comfortable", "stenosis", "mode", "target", "interval", "rounds"),
    [
        pytest.param(2, False, "continuous", 5, 0, 0, id="less than 5 minutes starts at 5"),
        pytest.param(5, False, "continuous", 5, 0, 0, id="5 minutes starts at 5"),
        pytest.param(8, False, "continuous", 8, 0, 0, id="8 minutes starts at 8"),
        pytest.param(10, False, "continuous", 10, 0, 0, id="10 minutes starts at 10"),
        pytest.param(45, False, "continuous", 10, 0, 0, id="more than 10 minutes starts at 10"),
        pytest.param(3, True, "interval", 5, 5, 1, id="stenosis starts with one 5 minute interval"),
        pytest.param(10, True, "interval", 10, 5, 2, id="stenosis at 10 minutes is two intervals"),
        pytest.param(30, True, "interval", 10, 5, 2, id="stenosis is clamped to two intervals"),
    ],
)
def test_programme_starts_at_a_safe_dose(
    comfortable: int, stenosis: bool, mode: str, target: int, interval: int, rounds: int
) -> None:
    p = start_programme(comfortable, stenosis)
    assert (p.mode, p.target_minutes, p.interval_minutes, p.interval_rounds) == (
        mode,
        target,
        interval,
        rounds,
    )
    assert p.green_streak == 0
    assert p.last_increase is None
    assert p.frozen_until is None


# --- after_walk: continuous ------------------------------------------------------------------


def run(p: Programme, walks: list[tuple[int, Light, int]], flag_open: bool = False) -> Programme:
    """Apply (day offset, light, minutes) walks in order."""
    for offset, light, minutes in walks:
        p = after_walk(p, light, minutes, day(offset), flag_open)
    return p


@pytest.mark.parametrize(
    ("start", "walks", "flag_open", "target", "streak_after"),
    [
        pytest.param(
            continuous(10),
            [(0, "green", 10)],
            False,
            10,
            1,
            id="one green walk only builds the streak",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10), (1, "green", 10)],
            False,
            10,
            2,
            id="two green walks are not yet enough",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10), (1, "green", 10), (2, "green", 10)],
            False,
            12,
            0,
            id="three green walks in a row add 2 minutes",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10), (1, "green", 10), (2, "amber", 10), (3, "green", 10)],
            False,
            10,
            1,
            id="an amber walk holds and restarts the streak",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10), (1, "green", 10), (2, "green", 4)],
            False,
            10,
            2,
            id="a green walk shorter than planned does not count",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10), (1, "green", 10), (2, "green", 10)],
            True,
            10,
            3,
            id="no increase while a flag is open",
        ),
        pytest.param(
            continuous(29),
            [(0, "green", 29), (1, "green", 29), (2, "green", 29)],
            False,
            30,
            0,
            id="the step stops at the 30 minute cap",
        ),
        pytest.param(
            continuous(30),
            [(0, "green", 30), (1, "green", 30), (2, "green", 30)],
            False,
            30,
            3,
            id="at the cap green walks add nothing",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10), (0, "green", 10), (0, "green", 10)],
            False,
            12,
            0,
            id="three green walks on one day still add time once",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10)] * 3 + [(1, "green", 12)] * 4,
            False,
            12,
            4,
            id="one day after an increase time is not added again",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10)] * 3 + [(3, "red", 12)],
            False,
            10,
            0,
            id="a red walk after an increase goes back to the last green length",
        ),
        pytest.param(
            continuous(10),
            [(0, "green", 10)] * 3 + [(2, "green", 12), (3, "red", 12)],
            False,
            12,
            0,
            id="a red walk after the new length went green keeps it",
        ),
        pytest.param(
            continuous(10),
            [(0, "red", 3)],
            False,
            10,
            0,
            id="a red walk at the last green length holds it",
        ),
    ],
)
def test_continuous_walks_progress_by_the_traffic_light(
    start: Programme,
    walks: list[tuple[int, Light, int]],
    flag_open: bool,
    target: int,
    streak_after: int,
) -> None:
    p = run(start, walks, flag_open)
    assert (p.target_minutes, p.green_streak) == (target, streak_after)


def test_second_increase_is_allowed_two_days_later() -> None:
    p = run(continuous(10), [(0, "green", 10)] * 3 + [(1, "green", 12)] * 2 + [(2, "green", 12)])
    assert (p.target_minutes, p.last_increase) == (14, day(2))


def test_increase_does_not_move_the_last_green_length() -> None:
    p = run(continuous(10), [(0, "green", 10)] * 3)
    assert (p.target_minutes, p.last_green_minutes) == (12, 10)


@pytest.mark.parametrize(
    ("walk_day", "target"),
    [
        pytest.param(0, 10, id="no increase on the day the flare starts"),
        pytest.param(6, 10, id="no increase on the last frozen day"),
        pytest.param(7, 12, id="time can be added again once 7 days have passed"),
    ],
)
def test_flare_freezes_progression_for_seven_days(walk_day: int, target: int) -> None:
    p = start_flare(continuous(10), day(0))
    p = run(p, [(walk_day, "green", 10)] * 3)
    assert p.target_minutes == target


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        pytest.param(None, day(7), id="a new flare freezes for 7 days"),
        pytest.param(day(3), day(7), id="a shorter freeze is extended"),
        pytest.param(day(20), day(20), id="a longer freeze is kept"),
    ],
)
def test_flare_sets_the_freeze_end(existing: date | None, expected: date) -> None:
    p = start_flare(replace(continuous(10, streak_=2), frozen_until=existing), day(0))
    assert (p.frozen_until, p.green_streak) == (expected, 0)


# --- after_walk: interval mode ---------------------------------------------------------------


def test_intervals_grow_from_5_to_6_to_7_after_3_comfortable_sessions() -> None:
    p = start_programme(10, stenosis=True)
    lengths = []
    for offset in range(12):
        p = after_walk(p, "green", p.target_minutes, day(offset), False)
        lengths.append(p.interval_minutes)
    assert lengths == [5, 5, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7]
    assert p.target_minutes == 14


@pytest.mark.parametrize(
    ("walks", "flag_open", "interval", "comfortable"),
    [
        pytest.param(
            [(0, "green"), (1, "green")], False, 5, 2, id="two comfortable sessions keep 5"
        ),
        pytest.param(
            [(0, "green"), (1, "amber"), (2, "green"), (3, "green")],
            False,
            5,
            2,
            id="an amber session restarts the count",
        ),
        pytest.param(
            [(0, "green"), (1, "green"), (2, "green")],
            True,
            5,
            3,
            id="intervals do not grow while a flag is open",
        ),
        pytest.param(
            [(0, "green"), (1, "green"), (2, "green"), (3, "red")],
            False,
            5,
            0,
            id="a red session after growing goes back to 5",
        ),
    ],
)
def test_interval_sessions_follow_the_traffic_light(
    walks: list[tuple[int, Light]], flag_open: bool, interval: int, comfortable: int
) -> None:
    p = start_programme(10, stenosis=True)
    for offset, light in walks:
        p = after_walk(p, light, p.target_minutes, day(offset), flag_open)
    assert (p.interval_minutes, p.comfortable_intervals) == (interval, comfortable)
    assert p.target_minutes == interval * p.interval_rounds


# --- after_escalation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "target", "last_green"),
    [
        pytest.param(continuous(24), 18, 18, id="24 green minutes resume at 18"),
        pytest.param(
            continuous(26, last_green=20), 15, 15, id="it counts from the last green length"
        ),
        pytest.param(continuous(6), 5, 5, id="it never goes below 5 minutes"),
    ],
)
def test_escalation_resumes_a_quarter_lower(start: Programme, target: int, last_green: int) -> None:
    p = after_escalation(replace(start, green_streak=2))
    assert (p.target_minutes, p.last_green_minutes, p.green_streak) == (target, last_green, 0)


def test_escalation_in_interval_mode_keeps_5_minute_intervals() -> None:
    p = start_programme(10, stenosis=True)
    p = replace(p, interval_minutes=7, last_green_minutes=7, target_minutes=14)
    p = after_escalation(p)
    assert (p.interval_minutes, p.target_minutes) == (5, 10)


# --- needs_see_soon --------------------------------------------------------------------------


def red(offset: int) -> Walk:
    """A red walk (pain 7) on the given day."""
    return Walk(day(offset), 10, 7)


def scored(offsets: range, pain: int) -> list[Walk]:
    """One walk a day with the same pain score."""
    return [Walk(day(o), 10, pain) for o in offsets]


@pytest.mark.parametrize(
    ("walks", "worse_mornings", "expected"),
    [
        pytest.param([], [], False, id="an empty log needs nothing"),
        pytest.param([red(0)], [], False, id="one red walk is not enough"),
        pytest.param([red(-6), red(0)], [], True, id="two red walks within 7 days"),
        pytest.param([red(-7), red(0)], [], False, id="two red walks 8 days apart"),
        pytest.param(
            [Walk(day(-1), 10, 2, sharp_or_leg=True), Walk(day(0), 10, 1, next_morning_worse=True)],
            [],
            True,
            id="red by sharp pain and by a worse morning both count",
        ),
        pytest.param([red(1), red(2)], [], False, id="future walks are ignored"),
        pytest.param([], [day(-2), day(-1), day(0)], False, id="3 worse mornings in a row"),
        pytest.param([], [day(-3), day(-2), day(-1), day(0)], True, id="4 worse mornings in a row"),
        pytest.param(
            [], [day(-4), day(-3), day(-1), day(0)], False, id="4 worse mornings with a gap"
        ),
        pytest.param(
            [], [day(-30), day(-29), day(-28), day(-27)], False, id="an old run of worse mornings"
        ),
        pytest.param(
            scored(range(-13, -6), 3) + scored(range(-6, 1), 5),
            [],
            True,
            id="typical pain up 2 points over 2 weeks",
        ),
        pytest.param(
            scored(range(-13, -6), 3) + scored(range(-6, 1), 4),
            [],
            False,
            id="typical pain up 1 point over 2 weeks",
        ),
        pytest.param(
            scored(range(-13, -11), 1) + scored(range(-6, 1), 5),
            [],
            False,
            id="too few scores in the first week for a trend",
        ),
        pytest.param(
            scored(range(-13, -6), 5) + scored(range(-6, 1), 3),
            [],
            False,
            id="falling pain is fine",
        ),
    ],
)
def test_log_triggers_see_soon(
    walks: list[Walk], worse_mornings: list[date], expected: bool
) -> None:
    assert needs_see_soon(walks, D, worse_mornings) is expected


# --- needs_spike_screen ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pain", "text", "expected"),
    [
        pytest.param(7, "", False, id="pain 7 does not screen"),
        pytest.param(8, "", True, id="pain 8 screens"),
        pytest.param(10, "", True, id="pain 10 screens"),
        pytest.param(None, "", False, id="nothing logged does not screen"),
        pytest.param(None, "worst ever", True, id="worst ever"),
        pytest.param(2, "Worst back pain EVER today", True, id="worst pain ever in capitals"),
        pytest.param(None, "I can't walk", True, id="can't walk"),
        pytest.param(
            None, "I can\u2019t walk at all", True, id="can't walk with a curly apostrophe"
        ),
        pytest.param(None, "i cannot walk", True, id="cannot walk"),
        pytest.param(None, "much worse than usual", True, id="much worse than usual"),
        pytest.param(None, "die schlimmsten Schmerzen", True, id="schlimmste"),
        pytest.param(None, "ich kann nicht gehen", True, id="kann nicht gehen"),
        pytest.param(None, "Ich kann nicht mehr gehen", True, id="kann nicht mehr gehen"),
        pytest.param(None, "I can't walk as far as last week", False, id="can't walk as far"),
        pytest.param(None, "a bit sore after a longer walk", False, id="ordinary soreness"),
        pytest.param(3, "the walk was the best ever", False, id="best ever"),
    ],
)
def test_spike_screen_runs_on_high_pain_or_alarming_words(
    pain: int | None, text: str, expected: bool
) -> None:
    assert needs_spike_screen(pain, text) is expected


# --- streak, totals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("walk_offsets", "paused_offsets", "expected"),
    [
        pytest.param([], [], 0, id="no walks is no streak"),
        pytest.param([0], [], 1, id="a walk today starts a streak"),
        pytest.param([-2, -1, 0], [], 3, id="three days in a row"),
        pytest.param([-2, -1], [], 2, id="no walk yet today keeps yesterday's streak"),
        pytest.param([-3, -2], [], 2, id="a rest day yesterday keeps the streak"),
        pytest.param([-3, -1, 0], [], 3, id="a rest day between walks keeps it"),
        pytest.param([-3, 0], [], 2, id="two rest days in a row are allowed"),
        pytest.param([-4, 0], [], 1, id="three rest days in a row end it"),
        pytest.param([-6, -4, -2, 0], [], 3, id="a third rest day in a week ends it"),
        pytest.param([-7, -5, -4, -2, 0], [], 4, id="two rest days in each week keep it"),
        pytest.param(
            [-4, -3], [], 2, id="walks on Thursday and Friday, on Sunday evening: streak 2"
        ),
        pytest.param([-3, -1, 0], [-2], 3, id="a paused day does not break it"),
        pytest.param([-3, -2, -1, 0], [-2], 3, id="a paused day does not count"),
        pytest.param([-4, -3], [-2, -1], 2, id="a pause up to today keeps the streak"),
        pytest.param([1, 2], [], 0, id="future walks do not count"),
        pytest.param([0, 0, -1], [], 2, id="two walks on one day count once"),
    ],
)
def test_streak_counts_consecutive_walking_days(
    walk_offsets: list[int], paused_offsets: list[int], expected: int
) -> None:
    walks = [day(o) for o in walk_offsets]
    paused = [day(o) for o in paused_offsets]
    assert streak(walks, paused, D) == expected


WEEK = [
    Walk(day(-7), 30, 2),
    Walk(day(-6), 10, 2),
    Walk(day(-1), 12, None),
    Walk(day(0), 15, 3),
    Walk(day(0), 5, 1),
    Walk(day(1), 40, 1),
]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(D, (42, 4), id="the last 7 days include today and 6 days back"),
        pytest.param(day(-7), (30, 1), id="only days up to today count"),
        pytest.param(day(20), (0, 0), id="an idle week is zero"),
    ],
)
def test_week_totals_sum_the_last_seven_days(today: date, expected: tuple[int, int]) -> None:
    assert week_totals(WEEK, today) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(D, 20, id="two walks today add up"),
        pytest.param(day(-1), 12, id="yesterday alone"),
        pytest.param(day(5), 0, id="a day without walks"),
    ],
)
def test_today_total_sums_todays_minutes(today: date, expected: int) -> None:
    assert today_total(WEEK, today) == expected


@pytest.mark.parametrize(
    ("minutes", "pain"),
    [pytest.param(-1, None, id="negative minutes"), pytest.param(10, 11, id="pain of 11")],
)
def test_walk_rejects_impossible_values(minutes: int, pain: int | None) -> None:
    with pytest.raises(ValueError, match="must"):
        Walk(D, minutes, pain)
