"""Hourly chores: the weekly summary and the nightly retention purge.

Every chore runs on every worker and after a restart. One that sends claims each unit of work
with a unique key (jobs.claims: one weekly summary per person and ISO week), so two workers, or
a run repeated within the hour, never double a message. People are read in SQL, a page at a
time, only those whose local summary hour it is: memory stays flat in the number of people.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, or_, select

from bot.models import PainLog, Person, WalkLog
from bot.numbers import numbers_for
from bot.progression import Walk, streak, week_totals
from jobs.claims import insert_once, week_key
from jobs.outgoing import PRIORITY_CHECKIN
from jobs.recurrence import zone

if TYPE_CHECKING:
    from bot.context import Runtime

log = logging.getLogger(__name__)

WEEKLY_AT = time(18, 0)  # Sunday evening, local time
PAGE = 500  # people read, rendered and claimed per transaction


def due_window(local_now: datetime, weekday: int, at: time) -> bool:
    """True within the hour starting at `at` on `weekday` (the chore runs at least hourly)."""
    return (
        local_now.weekday() == weekday
        and at <= local_now.time() < (datetime.combine(date.min, at) + timedelta(hours=1)).time()
    )


def zones_in_hour(zones: Iterable[str], now: datetime, at: time) -> dict[int, list[str]]:
    """Local weekday -> the zones where the hour starting at `at` is running now."""
    due: dict[int, list[str]] = defaultdict(list)
    end = (datetime.combine(date.min, at) + timedelta(hours=1)).time()
    for name in zones:
        try:
            local = now.astimezone(zone(name))
        except Exception:  # an unknown zone name: nobody there gets a summary, nothing breaks
            continue
        if at <= local.time() < end:
            due[local.weekday()].append(name)
    return dict(due)


async def weekly_summaries(rt: Runtime, now: datetime) -> int:
    """Queue this week's summary for everyone whose Sunday evening it is (once per local week)."""
    P = Person.__table__
    active = and_(P.c.status == "active", P.c.consent_at.is_not(None))
    async with rt.sessions() as session:
        zones = list(await session.scalars(select(P.c.timezone).where(active).distinct()))
    due = zones_in_hour(zones, now, WEEKLY_AT)
    if not due:
        return 0
    in_window = or_(
        *(and_(P.c.timezone.in_(names), P.c.weekly_day == day) for day, names in due.items())
    )
    queued, after = 0, 0
    while True:
        async with rt.sessions() as session, session.begin():
            people = (
                await session.execute(
                    select(
                        P.c.id, P.c.chat_id, P.c.language, P.c.timezone, P.c.country, P.c.programme
                    )
                    .where(active, in_window, P.c.id > after)
                    .order_by(P.c.id)
                    .limit(PAGE)
                )  # fmt: skip
            ).all()
            if not people:
                return queued
            after = people[-1].id
            queued += await insert_once(session, await _summaries(rt, session, people, now))


async def _summaries(
    rt: Runtime, session: Any, people: Sequence[Any], now: datetime
) -> list[dict[str, Any]]:
    """One page of weekly-summary outbox rows, each keyed by person and local ISO week."""
    oldest = now.date() - timedelta(days=62)
    logs = await session.execute(
        select(WalkLog.person_id, WalkLog.local_date, WalkLog.minutes, WalkLog.pain).where(
            WalkLog.person_id.in_([p.id for p in people]), WalkLog.local_date >= oldest
        )
    )
    walks: dict[int, list[Walk]] = defaultdict(list)
    for person_id, day, minutes, pain in logs:
        walks[person_id].append(Walk(day, minutes, pain))
    rows = []
    for person in people:
        today = now.astimezone(zone(person.timezone)).date()
        mine = [w for w in walks.get(person.id, ()) if w.day >= today - timedelta(days=60)]
        minutes, count = week_totals(mine, today)
        text = rt.catalog.text(
            person.language, "ui.weekly.summary", week_minutes=minutes, week_walks=count,
            streak=streak({w.day for w in mine}, set(), today),
            target=int((person.programme or {}).get("target_minutes", 10)),
            emergency_number=numbers_for(person.country, rt.settings.emergency_number).emergency,
        )  # fmt: skip
        rows.append(
            {
                "person_id": person.id,
                "chat_id": person.chat_id,
                "kind": "weekly",
                "priority": PRIORITY_CHECKIN,
                "payload": {"text": text, "buttons": []},
                "due_at": now,
                "status": "queued",
                "attempts": 0,
                "answered": False,
                "once_key": week_key("weekly", person.id, today),
            }  # fmt: skip
        )
    return rows


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
