"""Hourly chores: the weekly summary and the nightly retention purge.

Each chore is idempotent (it checks the outbox for what it already queued) so it can run on
every worker and after a restart without doubling anything.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select

from bot.models import Delivery, PainLog, Person, WalkLog
from bot.progression import Walk, streak, week_totals
from bot.services.people import numbers
from jobs.outgoing import PRIORITY_CHECKIN

if TYPE_CHECKING:
    from bot.context import Runtime

log = logging.getLogger(__name__)

WEEKLY_AT = time(18, 0)  # Sunday evening, local time


def due_window(local_now: datetime, weekday: int, at: time) -> bool:
    """True within the hour starting at `at` on `weekday` (the chore runs at least hourly)."""
    return (
        local_now.weekday() == weekday
        and at <= local_now.time() < (datetime.combine(date.min, at) + timedelta(hours=1)).time()
    )


async def weekly_summaries(rt: Runtime, now: datetime) -> int:
    """Queue this week's summary for everyone whose Sunday evening it is (once per local week)."""
    queued = 0
    async with rt.sessions() as session, session.begin():
        people = list(
            await session.scalars(
                select(Person).where(Person.status == "active", Person.consent_at.is_not(None))
            )
        )
        for person in people:
            local = now.astimezone(ZoneInfo(person.timezone))
            if not due_window(local, person.weekly_day, WEEKLY_AT):
                continue
            since = now - timedelta(days=6)
            already = await session.scalar(
                select(Delivery.id)
                .where(
                    Delivery.person_id == person.id,
                    Delivery.kind == "weekly",
                    Delivery.due_at >= since,
                )
                .limit(1)
            )
            if already is not None:
                continue
            today = local.date()
            rows = await session.scalars(
                select(WalkLog).where(
                    WalkLog.person_id == person.id, WalkLog.local_date >= today - timedelta(days=60)
                )
            )
            walks = [Walk(r.local_date, r.minutes, r.pain) for r in rows]
            minutes, count = week_totals(walks, today)
            target = int((person.programme or {}).get("target_minutes", 10))
            text = rt.catalog.text(
                person.language, "ui.weekly.summary", week_minutes=minutes, week_walks=count,
                streak=streak({w.day for w in walks}, set(), today), target=target,
                emergency_number=numbers(person, rt.settings).emergency,
            )  # fmt: skip
            await session.execute(
                insert(Delivery).values(
                    person_id=person.id,
                    chat_id=person.chat_id,
                    kind="weekly",
                    priority=PRIORITY_CHECKIN,
                    payload={"text": text, "buttons": []},
                    due_at=now,
                    status="queued",
                    attempts=0,
                    answered=False,
                )  # fmt: skip
            )
            queued += 1
    return queued


async def purge_old_logs(rt: Runtime, now: datetime) -> int:
    """Delete walk and pain logs older than the retention period (escalations are kept for audit)."""
    cutoff = now - timedelta(days=rt.settings.retention_days)
    async with rt.sessions() as session, session.begin():
        walks = await session.execute(delete(WalkLog).where(WalkLog.logged_at < cutoff))
        pains = await session.execute(delete(PainLog).where(PainLog.logged_at < cutoff))
        done = (walks.rowcount or 0) + (pains.rowcount or 0)  # type: ignore[attr-defined]
    if done:
        log.info("retention: purged %d old walk and pain logs", done)
    return done
