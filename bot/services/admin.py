"""Operator figures and broadcasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Delivery, Escalation, Person, WalkLog
from bot.safety.lifecycle import LIVE
from jobs.outgoing import PRIORITY_BROADCAST


@dataclass(frozen=True)
class Stats:
    by_status: dict[str, int]
    sent: int
    missed: int
    unknown: int  # sent, but Telegram's answer never came (not sent again)
    retaken: int  # sent again after the worker sending it died (may have arrived twice)
    lateness_p50_ms: int
    lateness_p99_ms: int
    walks: int
    open_escalations: int


def percentile(values: list[int], q: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def stats(session: AsyncSession, now: datetime) -> Stats:
    """Today (UTC): people by status, reminders sent and missed, lateness, walks, open escalations."""
    start = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    rows = await session.execute(select(Person.status, func.count()).group_by(Person.status))
    by_status = {status: count for status, count in rows}
    today = (
        (Delivery.kind == "reminder")
        & (Delivery.due_at >= start)
        & (Delivery.due_at < start + timedelta(days=1))
    )
    late = list(
        await session.scalars(select(Delivery.lateness_ms).where(today, Delivery.status == "sent"))
    )
    missed = await session.scalar(
        select(func.count()).select_from(Delivery).where(today, Delivery.status == "missed")
    )
    unknown = await session.scalar(
        select(func.count()).select_from(Delivery).where(today, Delivery.status == "unknown")
    )
    retaken = await session.scalar(
        select(func.count()).select_from(Delivery).where(today, Delivery.retaken.is_(True))
    )
    walks = await session.scalar(
        select(func.count()).select_from(WalkLog).where(WalkLog.logged_at >= start)
    )
    open_count = await session.scalar(
        select(func.count()).select_from(Escalation).where(Escalation.status.in_(LIVE))
    )
    values = [v for v in late if v is not None]
    return Stats(
        by_status,
        len(late),
        missed or 0,
        unknown or 0,
        retaken or 0,
        percentile(values, 0.5),
        percentile(values, 0.99),
        walks or 0,
        open_count or 0,
    )


async def open_escalations(
    session: AsyncSession, limit: int = 20
) -> list[tuple[Escalation, Person]]:
    rows = await session.execute(
        select(Escalation, Person).join(Person, Person.id == Escalation.person_id)
        .where(Escalation.status.in_(LIVE)).order_by(Escalation.opened_at).limit(limit)
    )  # fmt: skip
    return [(e, p) for e, p in rows]


async def draft_broadcast(
    session: AsyncSession, chat_id: int, text: str, now: datetime
) -> Delivery:
    draft = Delivery(chat_id=chat_id, kind="broadcast", priority=PRIORITY_BROADCAST, payload={"text": text, "buttons": []},
                     due_at=now, status="draft", attempts=0, answered=False)  # fmt: skip
    session.add(draft)
    await session.flush()
    return draft


async def open_draft(session: AsyncSession, draft_id: int) -> Delivery | None:
    """A broadcast draft not yet sent or cancelled."""
    draft = await session.get(Delivery, draft_id)
    if draft is None or draft.kind != "broadcast" or draft.status != "draft":
        return None
    return draft


def cancel_draft(draft: Delivery) -> None:
    draft.status = "skipped"


async def fan_out(session: AsyncSession, draft: Delivery, now: datetime) -> int:
    """Queue the broadcast for every active person who is not paused; the sender paces it."""
    people = await session.execute(
        select(Person.id, Person.chat_id, Person.timezone, Person.paused_until).where(
            Person.status == "active"
        )
    )
    rows = []
    for person_id, chat_id, _zone, paused_until in people:
        if paused_until is not None and paused_until >= now.date():
            continue
        rows.append({"person_id": person_id, "chat_id": chat_id, "kind": "broadcast", "priority": PRIORITY_BROADCAST,
                     "payload": draft.payload, "due_at": now, "status": "queued", "attempts": 0, "answered": False})  # fmt: skip
    if rows:
        await session.execute(insert(Delivery), rows)
    draft.status = "sent"
    draft.sent_at = now
    return len(rows)
