"""Reminder schedules: setting, clearing, pausing and describing them (all in local time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Delivery, Person, ReminderRule
from jobs.recurrence import next_occurrence
from jobs.rules import (
    MEAL_KINDS,
    ONE_OFF_KINDS,
    RECURRING_KINDS,
    due_after_move,
    fire_time,
    gate,
    local_instant,
    mask_to_weekdays,
    next_due,
    weekdays_to_mask,
)

DEFAULT_MORNING = time(8, 0)
DEFAULT_EVENING = time(19, 0)
DEFAULT_MEALS = (("breakfast", time(8, 0)), ("lunch", time(13, 0)), ("dinner", time(19, 0)))
SNOOZE = timedelta(minutes=15)
MISSED_AFTER = timedelta(minutes=30)  # WALKWELL_MISSED_AFTER_MINUTES's default


MERGE_WINDOW = 30  # minutes: reminders this close on the same day go out as one message


@dataclass(frozen=True)
class RuleView:
    kind: str
    local_time: time | None
    weekdays: frozenset[int] | None
    delay_minutes: int
    next_due_at: datetime | None
    merged_into: str | None = None  # sent together with this earlier reminder
    held: bool = False  # not sent: past the person's daily budget


DEFAULT_BUDGET = 3  # routine reminders a day, unless the person chose otherwise
MAX_BUDGET = 10
HELD = ""  # plan value of a reminder held back by the daily budget


def plan_reminders(rules: list[tuple[str, time, int, int]], budget: int) -> dict[str, str]:
    """Which recurring reminders are not sent on their own (pure).

    `rules` are (kind, local time, delay minutes, weekday mask), taken in the order they fire.
    A reminder firing at most MERGE_WINDOW minutes after a kept one, on no day the kept one does
    not fire, is merged into it: one message instead of two (value: the kept kind). Of the rest,
    one that would be past the daily `budget` on a day it fires is held back (value: HELD).
    """
    order = {kind: i for i, kind in enumerate(RECURRING_KINDS)}

    def minute(at: time, delay: int) -> int:
        fired = fire_time(at, delay)
        return fired.hour * 60 + fired.minute

    items = sorted(rules, key=lambda r: (minute(r[1], r[2]), order.get(r[0], 99)))
    kept: list[tuple[str, int, int]] = []
    plan: dict[str, str] = {}
    for kind, at, delay, mask in items:
        fires = minute(at, delay)
        into = next(
            (k for k, f, m in kept if 0 <= fires - f <= MERGE_WINDOW and mask & ~m & 0x7F == 0),
            None,
        )
        if into is None:
            kept.append((kind, fires, mask))
        else:
            plan[kind] = into
    # The budget keeps the walks first (morning, evening), then the after-meal reminders.
    sent: list[int] = []
    for kind, _, mask in sorted(kept, key=lambda k: order.get(k[0], 99)):
        if any(mask >> d & 1 and sum(m >> d & 1 for m in sent) >= budget for d in range(7)):
            plan[kind] = HELD
        else:
            sent.append(mask)
    for kind, into in list(plan.items()):
        if plan.get(into) == HELD:
            plan[kind] = HELD
    return plan


def budget_of(person: Person) -> int:
    """How many routine reminders a day this person wants at most."""
    value = (person.programme or {}).get("daily_reminders", DEFAULT_BUDGET)
    return value if isinstance(value, int) and 1 <= value <= MAX_BUDGET else DEFAULT_BUDGET


async def set_budget(session: AsyncSession, person: Person, budget: int, now: datetime) -> None:
    assert 1 <= budget <= MAX_BUDGET
    person.programme = (person.programme or {}) | {"daily_reminders": budget}
    await apply_merging(session, person, now)


def _plan(person: Person, found: list[ReminderRule]) -> dict[str, str]:
    return plan_reminders(
        [(r.kind, r.local_time, r.delay_minutes, r.weekdays) for r in found if r.local_time],
        budget_of(person),
    )


async def apply_merging(session: AsyncSession, person: Person, now: datetime) -> None:
    """Disable the reminders that now go out with an earlier one or are past the daily budget;
    bring back the others."""
    recurring = [r for r in await rules(session, person) if r.local_time is not None]
    merged = _plan(person, recurring)
    suspended = person.status in ("stopped", "blocked")
    for rule in recurring:
        if rule.kind in merged:
            rule.enabled = False
            rule.next_due_at = None
        elif not rule.enabled:
            assert rule.local_time is not None
            rule.enabled = True
            rule.next_due_at = (
                None
                if suspended
                else next_due(
                    rule.local_time, rule.delay_minutes, rule.weekdays, person.timezone, now
                )
            )
    await session.flush()


async def rules(session: AsyncSession, person: Person) -> list[ReminderRule]:
    found = await session.scalars(
        select(ReminderRule).where(ReminderRule.person_id == person.id).order_by(ReminderRule.id)
    )
    return list(found)


async def set_rule(
    session: AsyncSession,
    person: Person,
    kind: str,
    local_time: time,
    weekdays: frozenset[int] | None,
    now: datetime,
    *,
    delay_minutes: int = 0,
    merge: bool = True,
) -> ReminderRule:
    """Create or change the person's rule of this kind; returns it with its next due instant
    (None, and disabled, when it now goes out together with an earlier reminder)."""
    rule = await session.scalar(
        select(ReminderRule).where(ReminderRule.person_id == person.id, ReminderRule.kind == kind)
    )
    if rule is None:
        rule = ReminderRule(person_id=person.id, kind=kind)
        session.add(rule)
    rule.local_time = local_time
    rule.weekdays = weekdays_to_mask(weekdays)
    rule.delay_minutes = delay_minutes
    rule.enabled = True
    rule.next_due_at = next_due(local_time, delay_minutes, rule.weekdays, person.timezone, now)
    await session.flush()
    if merge:
        await apply_merging(session, person, now)
    return rule


async def clear_rules(
    session: AsyncSession, person: Person, kinds: tuple[str, ...], now: datetime | None = None
) -> None:
    """Remove these reminders; with `now`, the ones they had absorbed come back on their own."""
    await session.execute(
        delete(ReminderRule).where(
            ReminderRule.person_id == person.id, ReminderRule.kind.in_(kinds)
        )
    )
    if now is not None:
        await apply_merging(session, person, now)


async def set_meals(
    session: AsyncSession, person: Person, meals: tuple[tuple[str, time], ...], now: datetime
) -> list[ReminderRule]:
    await clear_rules(session, person, MEAL_KINDS)
    made = [
        await set_rule(
            session,
            person,
            kind,
            at,
            None,
            now,
            delay_minutes=person.meal_delay_minutes,
            merge=False,
        )  # fmt: skip
        for kind, at in meals
    ]
    await apply_merging(session, person, now)
    return made


async def set_meal_delay(session: AsyncSession, person: Person, delay: int, now: datetime) -> None:
    person.meal_delay_minutes = delay
    for rule in await rules(session, person):
        if rule.kind in MEAL_KINDS and rule.local_time is not None:
            rule.delay_minutes = delay
            if rule.enabled:
                rule.next_due_at = next_due(
                    rule.local_time, delay, rule.weekdays, person.timezone, now
                )
    await apply_merging(session, person, now)


async def one_off(session: AsyncSession, person: Person, kind: str, due: datetime) -> ReminderRule:
    """A snooze or an "I just ate" reminder; a newer one of the same kind replaces the old."""
    assert kind in ONE_OFF_KINDS
    await clear_rules(session, person, (kind,))
    rule = ReminderRule(
        person_id=person.id, kind=kind, local_time=None, enabled=True, next_due_at=due
    )
    session.add(rule)
    await session.flush()
    return rule


QUIET_GRACE = timedelta(minutes=60)  # an after-meal walk is still worth it this much later


async def after_meal(
    session: AsyncSession, person: Person, now: datetime
) -> tuple[datetime | None, str | None]:
    """ "I just ate": the reminder's instant, or None and why it would not be sent.

    In quiet hours it comes when they end if that is within an hour of when it was due;
    otherwise (or while paused, stopped or in a red-flag episode) no reminder is set.
    """
    due = now + timedelta(minutes=person.meal_delay_minutes)
    held = _held(person, due)
    if held == "quiet" and person.quiet_end is not None:
        end = next_occurrence(person.quiet_end, person.timezone, due)
        if end - due <= QUIET_GRACE and _held(person, end) is None:
            due, held = end, None
    if held is not None:
        return None, held
    await one_off(session, person, "ate", due)
    return due, None


def _held(person: Person, due: datetime) -> str | None:
    return gate(
        due=due, now=due, tz=person.timezone, status=person.status,
        paused_until=person.paused_until, quiet_start=person.quiet_start,
        quiet_end=person.quiet_end, open_tier=person.open_tier, missed_after=timedelta(hours=1),
    )  # fmt: skip


async def skip_today(session: AsyncSession, person: Person, now: datetime) -> datetime | None:
    """No more walk reminders today (local): each of today's moves to its next day; snoozes and
    after-meal reminders due today are dropped. Returns the next reminder that will come."""
    today = local_today(person, now)
    end_of_day = datetime.combine(today + timedelta(days=1), time(0), ZoneInfo(person.timezone))
    for rule in await rules(session, person):
        if rule.next_due_at is None or local_now(person, rule.next_due_at).date() != today:
            continue
        if rule.local_time is None:
            rule.enabled = False
            rule.next_due_at = None
        else:
            rule.next_due_at = next_due(
                rule.local_time, rule.delay_minutes, rule.weekdays, person.timezone,
                end_of_day.astimezone(UTC) - timedelta(microseconds=1),
            )  # fmt: skip
    await session.flush()
    return await next_due_of(session, person)


async def reschedule_all(
    session: AsyncSession, person: Person, now: datetime, missed_after: timedelta = MISSED_AFTER
) -> None:
    """Recompute every recurring rule's next due instant (after a zone change or a comeback):
    at most one reminder per rule per local day, in the zone the person is in now."""
    fired = await fired_days(session, person, now)
    for rule in await rules(session, person):
        if rule.local_time is not None and rule.enabled:
            rule.next_due_at = due_after_move(
                rule.local_time, rule.delay_minutes, rule.weekdays, person.timezone, now,
                fired.get(rule.id, frozenset()), missed_after,
            )  # fmt: skip


async def fired_days(
    session: AsyncSession, person: Person, now: datetime
) -> dict[int, frozenset[date]]:
    """Rule id -> the local dates (in the person's zone now) of its reminders of the last days
    that went out or may have (sent, being sent, unknown)."""
    found = await session.execute(
        select(Delivery.rule_id, Delivery.due_at).where(
            Delivery.person_id == person.id,
            Delivery.kind == "reminder",
            Delivery.due_at >= now - timedelta(days=3),
            Delivery.status.in_(("sent", "sending", "queued", "unknown")),
        )
    )
    days: dict[int, set[date]] = {}
    for rule_id, due in found:
        if rule_id is not None:
            days.setdefault(rule_id, set()).add(local_instant(due, person.timezone).date())
    return {rule_id: frozenset(d) for rule_id, d in days.items()}


async def suspend_all(session: AsyncSession, person: Person) -> None:
    """Stop every reminder (blocked, stopped): next due cleared, rules kept for a comeback."""
    for rule in await rules(session, person):
        rule.next_due_at = None
        if rule.kind in ONE_OFF_KINDS:
            rule.enabled = False


async def views(session: AsyncSession, person: Person) -> list[RuleView]:
    """Every reminder set: enabled ones, and recurring ones merged into an earlier reminder or
    held back by the daily budget."""
    found = await rules(session, person)
    plan = _plan(person, found)
    return [
        RuleView(
            r.kind,
            r.local_time,
            mask_to_weekdays(r.weekdays),
            r.delay_minutes,
            r.next_due_at,
            (plan.get(r.kind) or None) if not r.enabled else None,
            not r.enabled and plan.get(r.kind) == HELD,
        )  # fmt: skip
        for r in found
        if r.enabled or (r.local_time is not None and r.kind in plan)
    ]


LOOKAHEAD = 120  # occurrences per rule: past the longest pause (90 days) of a daily reminder


def first_sent(rule: RuleView, person: Person, now: datetime) -> datetime | None:
    """The first occurrence of the rule from now on that will really be sent (None: none)."""
    due = rule.next_due_at
    if due is None:
        return None
    due = max(due, now)
    for _ in range(LOOKAHEAD if rule.local_time is not None else 1):
        held = _held(person, due)
        if held is None:
            return due
        if held in ("inactive", "red_flag") or rule.local_time is None:
            return None
        due = next_due(
            rule.local_time, rule.delay_minutes, weekdays_to_mask(rule.weekdays),
            person.timezone, due,
        )  # fmt: skip
    return None


async def next_sent(session: AsyncSession, person: Person, now: datetime) -> datetime | None:
    """The next reminder that will really be sent (pause, quiet hours and /stop respected)."""
    found = [first_sent(v, person, now) for v in await views(session, person)]
    dues = [d for d in found if d is not None]
    return min(dues) if dues else None


async def next_due_of(session: AsyncSession, person: Person) -> datetime | None:
    """The person's soonest reminder, if any is set."""
    dues = [r.next_due_at for r in await rules(session, person) if r.enabled and r.next_due_at]
    return min(dues) if dues else None


def pause(person: Person, until: date) -> None:
    """Reminders paused up to and including the local date `until`."""
    person.paused_until = until


def resume(person: Person, now: datetime) -> bool:
    """Reminders on again; False when they were not paused."""
    was_paused = is_paused(person, now)
    person.paused_until = None
    return was_paused


def set_quiet(person: Person, hours: tuple[time, time] | None) -> None:
    person.quiet_start, person.quiet_end = hours if hours is not None else (None, None)


def is_paused(person: Person, now: datetime) -> bool:
    return person.paused_until is not None and person.paused_until >= local_today(person, now)


def local_now(person: Person, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(person.timezone))


def local_today(person: Person, now: datetime) -> date:
    return local_now(person, now).date()


def local_now_in(zone: str, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(zone))
