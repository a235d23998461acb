"""The opt-in trusted contact: invitation codes, acceptance and removal."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Person


def invite(person: Person) -> str:
    """A fresh one-use code (an older invitation stops working)."""
    person.contact_code = secrets.token_urlsafe(12)
    return person.contact_code


def remove(person: Person) -> None:
    person.contact_chat_id = person.contact_name = person.contact_code = None


async def inviter_of(session: AsyncSession, code: str, user_id: int) -> Person | None:
    """Who sent this invitation, if it is still open and not the person's own."""
    if not code:
        return None
    inviter = await session.scalar(select(Person).where(Person.contact_code == code))
    if inviter is None or inviter.telegram_user_id == user_id:
        return None
    return inviter


def answer(inviter: Person, accepted: bool, chat_id: int, name: str | None) -> None:
    """The contact's answer; the code is used up either way."""
    inviter.contact_code = None
    if accepted:
        inviter.contact_chat_id = chat_id
        inviter.contact_name = (name or "")[:64]
