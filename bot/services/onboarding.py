"""Onboarding's non-safety steps: consent, zone, how walking feels, the easy length, the plan."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Person
from bot.progression import start_programme
from bot.services import schedules
from bot.services.programme import save_programme
from bot.tzresolve import country_for_zone

EFFECTS = ("during", "after", "legs", "none")


def give_consent(person: Person, first_name: str | None, language: str, now: datetime) -> None:
    person.consent_at = now
    person.first_name = (first_name or "")[:64] or None
    person.language = language


async def set_zone(session: AsyncSession, person: Person, zone: str, now: datetime) -> None:
    """A new zone; recurring reminders keep their local times."""
    person.timezone = zone
    person.country = country_for_zone(zone)
    await schedules.reschedule_all(session, person, now)


def set_effect(person: Person, effect: str) -> None:
    assert effect in EFFECTS
    person.walk_effect = effect
    person.stenosis = effect == "legs"


def set_start_minutes(person: Person, minutes: int, *, held: bool = False) -> None:
    """The starting plan; `held` keeps it at its level (a sign a doctor already checked)."""
    save_programme(person, start_programme(minutes, person.stenosis), held=held)


async def finish(
    session: AsyncSession,
    person: Person,
    now: datetime,
    *,
    morning: time | None,
    evening: time | None,
    meals: tuple[tuple[str, time], ...] = (),
) -> datetime | None:
    """Save the plan the person chose and end onboarding; returns the first reminder's instant."""
    for kind, at in (("morning", morning), ("evening", evening)):
        if at is not None:
            await schedules.set_rule(session, person, kind, at, None, now, merge=False)
    if meals:
        await schedules.set_meals(session, person, meals, now)
    await schedules.apply_merging(session, person, now)
    person.onboarding_step = None
    person.status = "active"
    return await schedules.next_due_of(session, person)
