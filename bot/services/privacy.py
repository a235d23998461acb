"""Export everything stored about a person; erase every row about them."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Delivery,
    Escalation,
    PainLog,
    Person,
    ReminderRule,
    SafetyCheck,
    SymptomReport,
    WalkLog,
)

PERSON_TABLES = (ReminderRule, WalkLog, PainLog, SymptomReport, Escalation, SafetyCheck)
# What an export leaves out: other people's and the clinic's identifiers, and the machinery.
NOT_THEIRS = {
    "people": {"contact_chat_id", "contact_code", "pending", "onboarding_step"},
    "escalations": {"acknowledged_by"},
    "deliveries": {"claimed_at", "claimed_by", "once_key", "retaken", "error", "escalation_id",
                   "rule_id", "attempts", "priority"},
}  # fmt: skip


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _row(obj: Any) -> dict[str, Any]:
    hidden = NOT_THEIRS.get(obj.__tablename__, set())
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in hidden
    }


async def export(session: AsyncSession, person: Person) -> tuple[bytes, bytes]:
    """(JSON of every row about the person, CSV of walks and pain for a clinician)."""
    data: dict[str, Any] = {"person": _row(person)}
    for model in PERSON_TABLES:
        rows = await session.scalars(
            select(model).where(model.person_id == person.id).order_by(model.id)
        )
        data[model.__tablename__] = [_row(r) for r in rows]
    # Only what was sent to them: alerts about them went to the clinic or their contact.
    sent = await session.scalars(
        select(Delivery)
        .where(Delivery.person_id == person.id, Delivery.chat_id == person.chat_id)
        .order_by(Delivery.id)
    )
    data["deliveries"] = [_row(r) for r in sent]
    blob = json.dumps(data, ensure_ascii=False, indent=2).encode()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "kind", "minutes", "pain", "compared_with_usual", "light"])
    for walk in data["walk_logs"]:
        writer.writerow(
            [
                walk["local_date"],
                "walk",
                walk["minutes"],
                walk["pain"],
                walk["compare"],
                walk["light"],
            ]
        )
    for pain in data["pain_logs"]:
        writer.writerow(
            [pain["local_date"], "flare" if pain["flare"] else "pain", "", pain["score"], "", ""]
        )
    return blob, out.getvalue().encode()


async def erase(session: AsyncSession, person: Person) -> None:
    """Delete every row about the person, including operator alerts that quote them."""
    escalations = select(Escalation.id).where(Escalation.person_id == person.id)
    await session.execute(delete(Delivery).where(Delivery.escalation_id.in_(escalations)))
    await session.execute(delete(Delivery).where(Delivery.person_id == person.id))
    await session.execute(delete(WalkLog).where(WalkLog.person_id == person.id))
    await session.execute(delete(Escalation).where(Escalation.person_id == person.id))
    for model in (ReminderRule, PainLog, SymptomReport, SafetyCheck):
        await session.execute(delete(model).where(model.person_id == person.id))
    # Whoever named them their trusted contact: the chat id and name go, and alerts to them.
    named_by = await session.execute(
        select(Person.id, Person.contact_name).where(Person.contact_chat_id == person.chat_id)
    )
    for other_id, name in named_by.all():
        await _forget_name(session, other_id, name)
    await session.execute(
        update(Person)
        .where(Person.contact_chat_id == person.chat_id)
        .values(contact_chat_id=None, contact_name=None)
    )
    await session.execute(delete(Delivery).where(Delivery.chat_id == person.chat_id))
    await session.execute(delete(Person).where(Person.id == person.id))


async def _forget_name(session: AsyncSession, person_id: int, name: str | None) -> None:
    """The contact's name out of the texts this person was sent ("I've let Sam know")."""
    if not name:
        return
    rows = await session.execute(
        select(Delivery.id, Delivery.payload).where(
            Delivery.person_id == person_id, Delivery.payload.is_not(None)
        )
    )
    for delivery_id, payload in rows.all():
        if payload and name in str(payload.get("text", "")):
            cleaned = dict(payload, text=payload["text"].replace(name, "…"))
            await session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(payload=cleaned)
            )
