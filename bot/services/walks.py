"""Walk and pain logging, the programme's traffic light, and progress figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import progression
from bot.models import Delivery, PainLog, Person, WalkLog
from bot.services.programme import load_programme, save_programme
from bot.services.schedules import local_today
from jobs.outgoing import PRIORITY_CHECKIN, Buttons
from jobs.recurrence import next_local_time


@dataclass(frozen=True)
class Saved:
    minutes: int
    today_total: int
    target: int
    light: str | None
    see_soon: bool


async def recent_walks(
    session: AsyncSession, person: Person, today: date, days: int = 28
) -> list[WalkLog]:
    since = today - timedelta(days=days - 1)
    found = await session.scalars(
        select(WalkLog)
        .where(WalkLog.person_id == person.id, WalkLog.local_date >= since)
        .order_by(WalkLog.id)
    )
    return list(found)


def as_walks(rows: list[WalkLog]) -> list[progression.Walk]:
    return [
        progression.Walk(r.local_date, r.minutes, r.pain, r.compare)  # type: ignore[arg-type]
        for r in rows
    ]


async def start_walk(
    session: AsyncSession, person: Person, minutes: int, now: datetime, delivery_id: int | None
) -> WalkLog:
    walk = WalkLog(
        person_id=person.id, delivery_id=delivery_id, logged_at=now,
        local_date=local_today(person, now), minutes=minutes,
    )  # fmt: skip
    session.add(walk)
    await session.flush()
    return walk


def held(person: Person) -> bool:
    """The programme stays at its level (a sign a doctor already checked, recorded at start)."""
    return bool((person.programme or {}).get("held"))


async def reminder_of(session: AsyncSession, person: Person, delivery_id: int) -> Delivery | None:
    """The person's own reminder with this id (None for anyone else's or anything else)."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.person_id != person.id or delivery.kind != "reminder":
        return None
    return delivery


async def is_logged(session: AsyncSession, delivery_id: int) -> bool:
    """True when a walk was already logged for this reminder."""
    found = await session.scalar(select(WalkLog.id).where(WalkLog.delivery_id == delivery_id))
    return found is not None


async def walk_of(session: AsyncSession, person: Person, walk_id: int) -> WalkLog | None:
    walk = await session.get(WalkLog, walk_id)
    return walk if walk is not None and walk.person_id == person.id else None


OPEN_REMINDER = timedelta(hours=3)


async def open_reminder(session: AsyncSession, person: Person, now: datetime) -> Delivery | None:
    """The latest reminder sent in the last three hours and not answered yet (no walk logged)."""
    found = await session.scalars(
        select(Delivery)
        .where(
            Delivery.person_id == person.id,
            Delivery.kind == "reminder",
            Delivery.status == "sent",
            Delivery.answered.is_(False),
            Delivery.due_at >= now - OPEN_REMINDER,
        )
        .order_by(Delivery.due_at.desc(), Delivery.id.desc())
        .limit(3)
    )
    for delivery in found:
        if not await is_logged(session, delivery.id):
            return delivery
    return None


def mark_answered(delivery: Delivery) -> None:
    delivery.answered = True


def set_pain(walk: WalkLog, pain: int) -> None:
    assert 0 <= pain <= 10
    walk.pain = pain


def set_compare(walk: WalkLog, compare: str) -> None:
    assert compare in ("better", "same", "worse")
    walk.compare = compare


async def usual_pain(session: AsyncSession, person: Person, today: date) -> int | None:
    """The median pain score over the last two weeks (the person's usual level)."""
    rows = await recent_walks(session, person, today, days=14)
    scores = sorted(r.pain for r in rows if r.pain is not None)
    return scores[len(scores) // 2] if scores else None


async def finish_walk(session: AsyncSession, person: Person, walk: WalkLog, now: datetime) -> Saved:
    """Classify the walk, move the programme, and check the see-soon triggers (spec §3.2)."""
    today = local_today(person, now)
    usual = await usual_pain(session, person, today)
    light = progression.classify_walk(walk.pain, usual, walk.compare, None)  # type: ignore[arg-type]
    walk.light = light
    programme = load_programme(person)
    flag_open = person.open_tier is not None or held(person)
    programme = progression.after_walk(programme, light, walk.minutes, today, flag_open)
    comfortable = int((person.programme or {}).get("comfortable_walks", 0)) + (light == "green")
    save_programme(person, programme, comfortable_walks=comfortable)
    rows = await recent_walks(session, person, today)
    walks = as_walks(rows)
    see_soon = progression.needs_see_soon(walks, today, [])
    return Saved(
        walk.minutes,
        progression.today_total(walks, today),
        programme.target_minutes,
        light,
        see_soon,
    )


async def log_pain(
    session: AsyncSession, person: Person, score: int, now: datetime, *, flare: bool = False
) -> PainLog:
    entry = PainLog(
        person_id=person.id,
        logged_at=now,
        local_date=local_today(person, now),
        score=score,
        flare=flare,
    )
    session.add(entry)
    await session.flush()
    return entry


def in_gentle_mode(person: Person, now: datetime) -> bool:
    """True while a flare's gentle week is running."""
    frozen = load_programme(person).frozen_until
    return frozen is not None and local_today(person, now) < frozen


async def start_flare(session: AsyncSession, person: Person, now: datetime) -> None:
    """A flare: progression paused for a week (gentle content follows from the frozen plan)."""
    save_programme(
        person, progression.start_flare(load_programme(person), local_today(person, now))
    )
    await log_pain(session, person, 0, now, flare=True)


MORNING_CHECK_AT = time(9, 0)


async def plan_morning_check(
    session: AsyncSession, person: Person, walk: WalkLog, text: str, buttons: Buttons, now: datetime
) -> None:
    """Ask "is your back worse than usual this morning?" at 09:00 the next local morning (once a day)."""
    tomorrow = local_today(person, now) + timedelta(days=1)
    start = datetime.combine(tomorrow, time(0), tzinfo=ZoneInfo(person.timezone))
    due = next_local_time(
        MORNING_CHECK_AT, person.timezone, start.astimezone(UTC) - timedelta(seconds=1)
    )
    exists = await session.scalar(
        select(Delivery.id).where(
            Delivery.person_id == person.id,
            Delivery.kind == "morning_check",
            Delivery.due_at == due,
        )
    )
    if exists is not None:
        return
    session.add(Delivery(
        person_id=person.id, chat_id=person.chat_id, kind="morning_check", priority=PRIORITY_CHECKIN,
        payload={"text": text, "buttons": [list(map(list, row)) for row in buttons]},
        due_at=due, status="scheduled", attempts=0, answered=False,
    ))  # fmt: skip


MORNING_CHECK_OPEN = timedelta(hours=12)


async def open_morning_check(
    session: AsyncSession, person: Person, now: datetime
) -> WalkLog | None:
    """The walk whose next-morning question was sent in the last 12 hours and is unanswered."""
    found = await session.scalars(
        select(Delivery)
        .where(
            Delivery.person_id == person.id,
            Delivery.kind == "morning_check",
            Delivery.status == "sent",
            Delivery.due_at >= now - MORNING_CHECK_OPEN,
            Delivery.due_at <= now,
        )
        .order_by(Delivery.due_at.desc())
        .limit(1)
    )
    delivery = found.first()
    if delivery is None:
        return None
    for row in (delivery.payload or {}).get("buttons", []):
        for _, data in row:
            parts = str(data).split(":")
            if len(parts) == 3 and parts[0] == "mc" and parts[1].isdigit():
                walk = await walk_of(session, person, int(parts[1]))
                return walk if walk is not None and walk.next_morning_worse is None else None
    return None


async def answer_morning_check(
    session: AsyncSession, person: Person, walk: WalkLog, worse: bool, now: datetime
) -> bool:
    """Record the next-morning answer; worse turns the walk red (back to the last green length).

    Returns True when the see-soon trigger (worse for several mornings, two red walks) fires.
    """
    walk.next_morning_worse = worse
    if not worse:
        return False
    walk.light = "red"
    today = local_today(person, now)
    save_programme(
        person,
        progression.after_walk(
            load_programme(person),
            "red",
            walk.minutes,
            today,
            person.open_tier is not None or held(person),
        ),  # fmt: skip
    )
    rows = await recent_walks(session, person, today)
    mornings = sorted({r.local_date + timedelta(days=1) for r in rows if r.next_morning_worse})
    walks = [
        progression.Walk(r.local_date, r.minutes, r.pain, r.compare, r.next_morning_worse)  # type: ignore[arg-type]
        for r in rows
    ]
    return progression.needs_see_soon(walks, today, mornings)


@dataclass(frozen=True)
class Progress:
    days: list[date]
    minutes: list[int]
    pain: list[float | None]
    target: int
    streak: int
    week_minutes: int
    week_walks: int


async def progress(session: AsyncSession, person: Person, now: datetime) -> Progress:
    today = local_today(person, now)
    rows = await recent_walks(session, person, today, days=28)
    days = [today - timedelta(days=27 - i) for i in range(28)]
    by_day: dict[date, list[WalkLog]] = {}
    for r in rows:
        by_day.setdefault(r.local_date, []).append(r)
    minutes = [sum(w.minutes for w in by_day.get(d, [])) for d in days]
    pain: list[float | None] = []
    for d in days:
        scores = [w.pain for w in by_day.get(d, []) if w.pain is not None]
        pain.append(sum(scores) / len(scores) if scores else None)
    paused: set[date] = set()
    if person.paused_until is not None:
        paused = {d for d in days if d <= person.paused_until}
    walks = as_walks(rows)
    week_minutes, week_walks = progression.week_totals(walks, today)
    return Progress(
        days, minutes, pain, load_programme(person).target_minutes,
        progression.streak({r.local_date for r in rows}, paused, today), week_minutes, week_walks,
    )  # fmt: skip
