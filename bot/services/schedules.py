"""Reminder schedules: setting, clearing, pausing and describing them (all in local time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Delivery, Person, ReminderRule
from jobs.rules import (
    MEAL_KINDS,
    ONE_OFF_KINDS,
    due_after_move,
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


@dataclass(frozen=True)
class RuleView:
    kind: str
    local_time: time | None
    weekdays: frozenset[int] | None
    delay_minutes: int
    next_due_at: datetime | None


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
) -> ReminderRule:
    """Create or change the person's rule of this kind; returns it with its next due instant."""
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
    return rule


async def clear_rules(session: AsyncSession, person: Person, kinds: tuple[str, ...]) -> None:
    await session.execute(
        delete(ReminderRule).where(
            ReminderRule.person_id == person.id, ReminderRule.kind.in_(kinds)
        )
    )


async def set_meals(
    session: AsyncSession, person: Person, meals: tuple[tuple[str, time], ...], now: datetime
) -> list[ReminderRule]:
    await clear_rules(session, person, MEAL_KINDS)
    return [
        await set_rule(
            session, person, kind, at, None, now, delay_minutes=person.meal_delay_minutes
        )
        for kind, at in meals
    ]


async def set_meal_delay(session: AsyncSession, person: Person, delay: int, now: datetime) -> None:
    person.meal_delay_minutes = delay
    for rule in await rules(session, person):
        if rule.kind in MEAL_KINDS and rule.local_time is not None:
            rule.delay_minutes = delay
            rule.next_due_at = next_due(rule.local_time, delay, rule.weekdays, person.timezone, now)


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
    return [
        RuleView(r.kind, r.local_time, mask_to_weekdays(r.weekdays), r.delay_minutes, r.next_due_at)
        for r in await rules(session, person)
        if r.enabled
    ]


async def next_due_of(session: AsyncSession, person: Person) -> datetime | None:
    """The person's soonest reminder, if any is set."""
    dues = [r.next_due_at for r in await rules(session, person) if r.enabled and r.next_due_at]
    return min(dues) if dues else None


def local_now(person: Person, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(person.timezone))


def local_today(person: Person, now: datetime) -> date:
    return local_now(person, now).date()


def local_now_in(zone: str, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(zone))
