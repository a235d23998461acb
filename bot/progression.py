"""Walking programme rules: traffic light, walk targets, stenosis intervals and streaks.

Pure: every function is a function of its arguments (dates are passed in, never read from a
clock). The numbers follow the clinical spec (sections 3.2, 3.3 and 5.5); they are named
constants below because the spec marks them for clinical sign-off.

Traffic light for one walk (spec 3.2):
- red: pain 6/10 or more, sharp pain or pain spreading into a leg, or the back worse than usual
  the next morning;
- green: pain 3/10 or below, or at most 2 points above the person's usual level;
- amber: everything in between (4-5/10, or 3 points above usual).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from statistics import median
from typing import Literal

Light = Literal["green", "amber", "red"]
Compare = Literal["better", "same", "worse"]
Mode = Literal["continuous", "interval"]

# Traffic-light thresholds (pain out of 10).
GREEN_MAX_PAIN = 3
RED_MIN_PAIN = 6
GREEN_MAX_RISE_OVER_USUAL = 2

# Progression of continuous walks.
MIN_MINUTES = 5
START_MAX_MINUTES = 10
MAX_MINUTES = 30
STEP_MINUTES = 2
GREEN_WALKS_BEFORE_INCREASE = 3
MIN_DAYS_BETWEEN_INCREASES = 2
ESCALATION_REDUCTION = 0.25
FLARE_DAYS = 7

# Interval walking for spinal stenosis (spec 3.3).
INTERVAL_START_MINUTES = 5
INTERVAL_MAX_MINUTES = 7
COMFORTABLE_SESSIONS_BEFORE_LONGER_INTERVAL = 3

# Log-derived SEE SOON triggers (spec 5.5, S4).
RED_WALKS_FOR_SEE_SOON = 2
WINDOW_DAYS = 7
WORSE_MORNINGS_IN_A_ROW = 4  # "more than 3 days in a row"
TREND_DAYS = 14
TREND_MIN_SCORES_PER_WEEK = 3
TREND_RISE_POINTS = 2

# Spike screen (spec 5.4).
SPIKE_MIN_PAIN = 8
_SPIKE_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\bworst\b(?:\W+\w+){0,3}?\W+ever\b",
        r"\b(?:can'?t|cannot|can not|unable to)\s+(?:even\s+)?walk\b"
        r"(?!\s+(?:as|so|that|very)\b|\s+(?:far|long|fast|much|more)\b)",
        r"\bmuch worse than (?:usual|normal)\b",
        r"\bschlimmste",
        r"\bkann\s+(?:gar\s+)?nicht\s+(?:mehr\s+)?(?:gehen|laufen)\b",
        r"\bkann\s+kaum\s+(?:noch\s+)?(?:gehen|laufen)\b",
        r"\bviel schlimmer als (?:sonst|normal|üblich)\b",
    )
)


@dataclass(frozen=True)
class Walk:
    """One logged walk: the local day, minutes walked and the answers given about it."""

    day: date
    minutes: int
    pain: int | None
    compare: Compare | None = None
    next_morning_worse: bool | None = None
    sharp_or_leg: bool = False

    def __post_init__(self) -> None:
        if self.minutes < 0:
            raise ValueError(f"minutes must not be negative, got {self.minutes}")
        _check_pain(self.pain)


@dataclass(frozen=True)
class Programme:
    """A person's walking plan.

    In continuous mode `target_minutes` is the planned walk and `last_green_minutes` the last
    planned walk that went green. In interval mode (stenosis) the session is `interval_rounds`
    walks of `interval_minutes` each, `target_minutes` is their total, and `last_green_minutes`
    is the last interval length that went green.
    """

    mode: Mode
    target_minutes: int
    last_green_minutes: int
    green_streak: int
    last_increase: date | None
    interval_minutes: int
    interval_rounds: int
    comfortable_intervals: int
    frozen_until: date | None


def _check_pain(pain: int | None) -> None:
    if pain is not None and not 0 <= pain <= 10:
        raise ValueError(f"pain must be between 0 and 10, got {pain}")


def classify_walk(
    pain: int | None,
    usual_pain: int | None,
    compare: Compare | None,
    next_morning_worse: bool | None,
    sharp_or_leg: bool = False,
) -> Light:
    """Give one walk its traffic light (spec 3.2); unanswered questions count as not worse."""
    _check_pain(pain)
    _check_pain(usual_pain)
    if sharp_or_leg or next_morning_worse or (pain is not None and pain >= RED_MIN_PAIN):
        return "red"
    if pain is None:
        # Without a score the comparison decides; with no answer at all, hold (no progress).
        return "green" if compare in ("better", "same") else "amber"
    if pain <= GREEN_MAX_PAIN:
        return "green"
    if usual_pain is not None and pain <= usual_pain + GREEN_MAX_RISE_OVER_USUAL:
        return "green"
    return "amber"


def start_programme(comfortable_minutes: int, stenosis: bool) -> Programme:
    """Start a plan at 5-10 minutes, or as 5-minute intervals for spinal stenosis."""
    minutes = min(max(comfortable_minutes, MIN_MINUTES), START_MAX_MINUTES)
    if stenosis:
        rounds = max(1, minutes // INTERVAL_START_MINUTES)
        return Programme(
            mode="interval",
            target_minutes=INTERVAL_START_MINUTES * rounds,
            last_green_minutes=INTERVAL_START_MINUTES,
            green_streak=0,
            last_increase=None,
            interval_minutes=INTERVAL_START_MINUTES,
            interval_rounds=rounds,
            comfortable_intervals=0,
            frozen_until=None,
        )
    return Programme(
        mode="continuous",
        target_minutes=minutes,
        last_green_minutes=minutes,
        green_streak=0,
        last_increase=None,
        interval_minutes=0,
        interval_rounds=0,
        comfortable_intervals=0,
        frozen_until=None,
    )


def _may_increase(p: Programme, today: date, flag_open: bool) -> bool:
    if flag_open or (p.frozen_until is not None and today < p.frozen_until):
        return False
    return p.last_increase is None or (today - p.last_increase).days >= MIN_DAYS_BETWEEN_INCREASES


def _with_interval(p: Programme, interval_minutes: int) -> Programme:
    return replace(
        p, interval_minutes=interval_minutes, target_minutes=interval_minutes * p.interval_rounds
    )


def after_walk(p: Programme, light: Light, minutes: int, today: date, flag_open: bool) -> Programme:
    """Update the plan after a walk with the given light (spec 3.2 and 3.3).

    `minutes` is the time walked in total. Green walks of at least the planned length build
    the streak; a green walk shorter than planned changes nothing. Amber holds and resets the
    streak. Red goes back to the last green length. Time is never added while a flag is open
    or during a flare.
    """
    if light == "red":
        if p.mode == "interval":
            back = _with_interval(p, min(p.interval_minutes, p.last_green_minutes))
            return replace(back, green_streak=0, comfortable_intervals=0)
        return replace(
            p, target_minutes=min(p.target_minutes, p.last_green_minutes), green_streak=0
        )
    if light == "amber":
        return replace(p, green_streak=0, comfortable_intervals=0)
    if minutes < p.target_minutes:
        return p
    if p.mode == "interval":
        done = replace(
            p,
            last_green_minutes=p.interval_minutes,
            green_streak=p.green_streak + 1,
            comfortable_intervals=p.comfortable_intervals + 1,
        )
        if (
            done.comfortable_intervals >= COMFORTABLE_SESSIONS_BEFORE_LONGER_INTERVAL
            and done.interval_minutes < INTERVAL_MAX_MINUTES
            and _may_increase(done, today, flag_open)
        ):
            longer = _with_interval(done, done.interval_minutes + 1)
            return replace(longer, comfortable_intervals=0, green_streak=0, last_increase=today)
        return done
    done = replace(p, last_green_minutes=p.target_minutes, green_streak=p.green_streak + 1)
    if (
        done.green_streak >= GREEN_WALKS_BEFORE_INCREASE
        and done.target_minutes < MAX_MINUTES
        and _may_increase(done, today, flag_open)
    ):
        return replace(
            done,
            target_minutes=min(done.target_minutes + STEP_MINUTES, MAX_MINUTES),
            green_streak=0,
            last_increase=today,
        )
    return done


def after_escalation(p: Programme) -> Programme:
    """Resume after a SEE SOON escalation at the last green length minus about a quarter."""
    reduced = max(MIN_MINUTES, round(p.last_green_minutes * (1 - ESCALATION_REDUCTION)))
    if p.mode == "interval":
        reduced = max(INTERVAL_START_MINUTES, reduced)
        back = _with_interval(p, reduced)
        return replace(back, last_green_minutes=reduced, green_streak=0, comfortable_intervals=0)
    return replace(p, target_minutes=reduced, last_green_minutes=reduced, green_streak=0)


def start_flare(p: Programme, today: date) -> Programme:
    """Freeze progression for 7 days from today (a longer existing freeze is kept)."""
    until = today + timedelta(days=FLARE_DAYS)
    if p.frozen_until is not None and p.frozen_until > until:
        until = p.frozen_until
    return replace(p, frozen_until=until, green_streak=0, comfortable_intervals=0)


def _in_window(day: date, today: date, days: int) -> bool:
    return today - timedelta(days=days - 1) <= day <= today


def _longest_recent_run(days: Collection[date], today: date) -> int:
    """Length of the longest run of consecutive days ending within the window."""
    recent = {d for d in days if d <= today}
    best = 0
    for d in recent:
        if not _in_window(d, today, WINDOW_DAYS) or d + timedelta(days=1) in recent:
            continue
        length = 1
        while d - timedelta(days=length) in recent:
            length += 1
        best = max(best, length)
    return best


def _pain_rising(walks: Sequence[Walk], today: date) -> bool:
    half = TREND_DAYS // 2
    recent = [w.pain for w in walks if w.pain is not None and _in_window(w.day, today, half)]
    earlier_end = today - timedelta(days=half)
    earlier = [w.pain for w in walks if w.pain is not None and _in_window(w.day, earlier_end, half)]
    if min(len(recent), len(earlier)) < TREND_MIN_SCORES_PER_WEEK:
        return False
    return median(recent) - median(earlier) >= TREND_RISE_POINTS


def needs_see_soon(walks: Sequence[Walk], today: date, worse_mornings: Sequence[date]) -> bool:
    """Whether the walk log calls for a SEE SOON review (spec 5.5, S4)."""
    reds = sum(
        1
        for w in walks
        if _in_window(w.day, today, WINDOW_DAYS)
        and classify_walk(w.pain, None, w.compare, w.next_morning_worse, w.sharp_or_leg) == "red"
    )
    if reds >= RED_WALKS_FOR_SEE_SOON:
        return True
    if _longest_recent_run(worse_mornings, today) >= WORSE_MORNINGS_IN_A_ROW:
        return True
    return _pain_rising(walks, today)


def needs_spike_screen(pain: int | None, text: str = "") -> bool:
    """Whether to run the red-flag spike screen: pain of 8+ or words like "worst ever"."""
    _check_pain(pain)
    if pain is not None and pain >= SPIKE_MIN_PAIN:
        return True
    normalized = " ".join(text.casefold().replace("\u2019", "'").split())
    return any(pattern.search(normalized) for pattern in _SPIKE_PATTERNS)


REST_DAYS_PER_WEEK = 2  # the target is walking on most days: about five days a week


def streak(walk_days: Collection[date], paused_days: Collection[date], today: date) -> int:
    """The walking streak, the one definition used everywhere: walking days in the current run.

    The run goes back from today over walking days and the rest days the programme allows (up
    to REST_DAYS_PER_WEEK in any seven days); paused days neither count nor break it, and today
    without a walk yet is not a rest day. A third rest day within seven days ends the run.
    """
    walked = {d for d in walk_days if d <= today}
    paused = set(paused_days)
    rests: list[date] = []
    count = 0
    day = today
    earliest = min(walked, default=today)
    while day >= earliest:
        if day in paused:
            pass
        elif day in walked:
            count += 1
        elif day != today:
            rests.append(day)
            week_end = day + timedelta(days=6)
            if sum(1 for rest in rests if rest <= week_end) > REST_DAYS_PER_WEEK:
                break
        day -= timedelta(days=1)
    return count


def week_totals(walks: Sequence[Walk], today: date) -> tuple[int, int]:
    """Minutes walked and number of walks over the last 7 local days, today included."""
    recent = [w for w in walks if _in_window(w.day, today, WINDOW_DAYS)]
    return sum(w.minutes for w in recent), len(recent)


def today_total(walks: Sequence[Walk], today: date) -> int:
    """Minutes walked today."""
    return sum(w.minutes for w in walks if w.day == today)
