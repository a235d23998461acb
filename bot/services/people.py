"""Finding and creating people; their language, zone and emergency numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.models import Person
from bot.numbers import Numbers, numbers_for
from bot.services import schedules


async def find(session: AsyncSession, telegram_user_id: int) -> Person | None:
    return await session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))


async def find_or_create(
    session: AsyncSession, telegram_user_id: int, chat_id: int, *, settings: Settings, now: datetime
) -> Person:
    """The person for this Telegram user; a new row holds only the ids until consent."""
    person = await find(session, telegram_user_id)
    if person is None:
        person = Person(
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            timezone=settings.default_timezone,
            status="new",
            language="en",
            created_at=now,
            meal_delay_minutes=20,
            stenosis=False,
            cue_count=0,
            reminder_count=0,
            weekly_day=6,
        )
        session.add(person)
        await session.flush()
    elif person.chat_id != chat_id:
        person.chat_id = chat_id
    return person


async def stop(session: AsyncSession, person: Person, *, blocked: bool = False) -> None:
    """/stop (or the person blocked the bot): no messages until they come back."""
    person.status = "blocked" if blocked else "stopped"
    await schedules.suspend_all(session, person)


async def come_back(session: AsyncSession, person: Person, now: datetime) -> None:
    """/start after /stop or a block: reminders from their next local times on."""
    if person.status in ("stopped", "blocked"):
        person.status = "active" if person.onboarding_step is None else "new"
        await schedules.reschedule_all(session, person, now)


def set_language(person: Person, lang: str) -> None:
    person.language = lang


def numbers(person: Person | None, settings: Settings) -> Numbers:
    """Emergency, urgent and crisis numbers for this person's country (else the default)."""
    return numbers_for(person.country if person else None, settings.emergency_number)
