"""Chores: the weekly summary goes once per week at Sunday evening local time; old logs are purged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.config import load_settings
from bot.context import Runtime
from bot.db import create_engine, prepare_sqlite_file, session_factory
from bot.metrics import Metrics
from bot.models import Delivery, Escalation, Person, WalkLog
from jobs.chores import purge_old_logs, weekly_summaries
from messages.catalog import load_catalog

SUNDAY_EVENING_BERLIN = datetime(2026, 1, 11, 17, 10, tzinfo=UTC)  # 18:10 in Berlin


@contextlib.asynccontextmanager
async def runtime(url: str, now: datetime) -> AsyncIterator[Runtime]:
    settings = load_settings(
        TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", DATABASE_URL=url
    )
    engine = create_engine(url)
    try:
        yield Runtime(settings, FakeClock(now), load_catalog(), session_factory(engine), Metrics())
    finally:
        await engine.dispose()


async def add_person(rt: Runtime, now: datetime) -> int:
    async with rt.sessions() as session, session.begin():
        person = Person(telegram_user_id=1, chat_id=1, language="en", timezone="Europe/Berlin", status="active",
                        consent_at=now, created_at=now, meal_delay_minutes=20, stenosis=False, cue_count=0,
                        reminder_count=0, weekly_day=6)  # fmt: skip
        session.add(person)
        await session.flush()
        for days_ago, minutes in ((1, 10), (3, 15), (800, 20)):
            session.add(WalkLog(person_id=person.id, logged_at=now - timedelta(days=days_ago),
                                local_date=(now - timedelta(days=days_ago)).date(), minutes=minutes, pain=2))  # fmt: skip
        session.add(
            Escalation(
                person_id=person.id,
                tier="soon",
                flags="S1",
                status="resolved",
                opened_at=now - timedelta(days=900),
            )
        )
        return person.id


async def test_weekly_summary_is_queued_once_on_sunday_evening(database_url: str) -> None:
    async with runtime(database_url, SUNDAY_EVENING_BERLIN) as rt:
        await add_person(rt, SUNDAY_EVENING_BERLIN)
        assert await weekly_summaries(rt, SUNDAY_EVENING_BERLIN - timedelta(hours=2)) == 0
        assert await weekly_summaries(rt, SUNDAY_EVENING_BERLIN) == 1
        assert await weekly_summaries(rt, SUNDAY_EVENING_BERLIN + timedelta(minutes=30)) == 0
        async with rt.sessions() as session:
            (summary,) = (
                await session.scalars(select(Delivery).where(Delivery.kind == "weekly"))
            ).all()
    assert summary.payload is not None
    assert "25 min in 2 walks" in summary.payload["text"]
    assert "112" in summary.payload["text"]


async def test_retention_purges_old_logs_but_keeps_escalations(database_url: str) -> None:
    now = SUNDAY_EVENING_BERLIN
    async with runtime(database_url, now) as rt:
        await add_person(rt, now)
        assert await purge_old_logs(rt, now) == 1
        async with rt.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(WalkLog)) == 2
            assert await session.scalar(select(func.count()).select_from(Escalation)) == 1


def test_the_sqlite_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "walkwell.db"
    prepare_sqlite_file(f"sqlite+aiosqlite:///{path}")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_two_workers_racing_queue_one_weekly_summary_per_person(database_url: str) -> None:
    """Every worker runs the hourly chore: the weekly summary is claimed per person and week."""
    now = SUNDAY_EVENING_BERLIN
    people = 300
    async with runtime(database_url, now) as first, runtime(database_url, now) as second:
        async with first.sessions() as session, session.begin():
            session.add_all(
                Person(telegram_user_id=1000 + i, chat_id=1000 + i, language="en",
                       timezone=("Europe/Berlin", "Europe/Paris", "Africa/Lagos")[i % 3],
                       status="active", consent_at=now, created_at=now, meal_delay_minutes=20,
                       stenosis=False, cue_count=0, reminder_count=0, weekly_day=6)
                for i in range(people)
            )  # fmt: skip
        rounds = await asyncio.gather(
            *(weekly_summaries(rt, now + timedelta(minutes=m)) for m in (0, 1) for rt in (first, second))
        )  # fmt: skip
        async with first.sessions() as session:
            per_person = (
                await session.execute(
                    select(Delivery.person_id, func.count())
                    .where(Delivery.kind == "weekly")
                    .group_by(Delivery.person_id)
                )
            ).all()
    assert sum(rounds) == people
    assert len(per_person) == people
    assert {n for _, n in per_person} == {1}
    # The next Sunday is a new week.
    async with runtime(database_url, now) as rt:
        assert await weekly_summaries(rt, now + timedelta(days=7)) == people
