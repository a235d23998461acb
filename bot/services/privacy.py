"""Export everything stored about a person; erase every row about them."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, inspect, select
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


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _row(obj: Any) -> dict[str, Any]:
    return {attr.key: _plain(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs}


async def export(session: AsyncSession, person: Person) -> tuple[bytes, bytes]:
    """(JSON of every row about the person, CSV of walks and pain for a clinician)."""
    data: dict[str, Any] = {"person": _row(person)}
    for model in (*PERSON_TABLES, Delivery):
        rows = await session.scalars(
            select(model).where(model.person_id == person.id).order_by(model.id)
        )
        data[model.__tablename__] = [_row(r) for r in rows]
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
    await session.execute(delete(Person).where(Person.id == person.id))
