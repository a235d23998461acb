"""The safety check chore claims each person's check once per local day, across workers."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from bot.clock import FakeClock
from bot.config import load_settings
from bot.context import Runtime
from bot.db import create_engine, session_factory
from bot.metrics import Metrics
from bot.models import Delivery, Escalation, Person, SafetyCheck
from jobs.outgoing import PRIORITY_RED_FLAG
from jobs.safety_check import send_safety_checks
from messages.catalog import load_catalog
from tests.conftest import TABLES, _pg_execute, run_blocking

TOKEN = "123456:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
SUNDAY_NOON_BERLIN = datetime(2026, 1, 11, 11, 5, tzinfo=UTC)  # 12:05 in Berlin, 06:05 in New York


@contextlib.asynccontextmanager
async def runtime(url: str, now: datetime) -> AsyncIterator[Runtime]:
    settings = load_settings(TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url)
    engine = create_engine(url)
    try:
        yield Runtime(settings, FakeClock(now), load_catalog(), session_factory(engine), Metrics())
    finally:
        await engine.dispose()


async def seed(url: str, count: int, now: datetime, **columns: object) -> list[int]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            people = [
                {"telegram_user_id": 20_000_000 + i, "chat_id": 20_000_000 + i,
                 "language": "de" if i % 2 else "en", "timezone": "Europe/Berlin", "status": "active",
                 "created_at": now, "consent_at": now, "meal_delay_minutes": 20, "stenosis": False,
                 "cue_count": 0, "reminder_count": 0, "weekly_day": 6} | columns
                for i in range(count)
            ]  # fmt: skip
            return list((await conn.execute(insert(Person).returning(Person.id), people)).scalars())
    finally:
        await engine.dispose()


async def counts(rt: Runtime) -> tuple[int, int, int]:
    """(checks, distinct people with a check, safety-check deliveries)."""
    async with rt.sessions() as session:
        checks = await session.scalar(select(func.count()).select_from(SafetyCheck))
        people = await session.scalar(select(func.count(func.distinct(SafetyCheck.person_id))))
        sent = await session.scalar(
            select(func.count()).where(Delivery.kind == "safety_check").select_from(Delivery)
        )
    return int(checks or 0), int(people or 0), int(sent or 0)


async def test_the_check_is_claimed_once_per_local_day(database_url: str) -> None:
    now = SUNDAY_NOON_BERLIN
    await seed(database_url, 3, now)
    (new_york,) = await seed(database_url, 1, now, telegram_user_id=1, timezone="America/New_York")
    async with runtime(database_url, now) as rt:
        assert await send_safety_checks(rt, now - timedelta(hours=2)) == 0  # 10:05 in Berlin
        assert await send_safety_checks(rt, now) == 3
        assert await send_safety_checks(rt, now + timedelta(hours=1)) == 0
        assert await send_safety_checks(rt, now + timedelta(hours=5)) == 1  # 11:05 in New York
        assert await send_safety_checks(rt, now + timedelta(days=1)) == 0  # Monday
        async with rt.sessions() as session:
            rows = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
            checks = (await session.scalars(select(SafetyCheck).order_by(SafetyCheck.id))).all()
    assert [r.kind for r in rows] == ["safety_check"] * 4
    # The safety lane: the sender holds routine messages during a pause or an urgent episode.
    assert {r.priority for r in rows} == {PRIORITY_RED_FLAG}
    assert {r.status for r in rows} == {"queued"}
    assert [c.delivery_id for c in checks] == [r.id for r in rows]
    assert checks[-1].person_id == new_york
    assert {c.kind for c in checks} == {"weekly"}
    for row, check in zip(rows, checks, strict=True):
        assert row.payload is not None
        data = [b[1] for line in row.payload["buttons"] for b in line]
        assert data == [f"sc:{check.id}:n", f"sc:{check.id}:y", f"sc:{check.id}:u"]
    assert "Weekly safety check" in rows[0].payload["text"]  # type: ignore[index]
    assert "Sicherheits-Check" in rows[1].payload["text"]  # type: ignore[index]


async def test_who_is_left_out(database_url: str) -> None:
    """Stopped, not yet consented, in an emergency or in quiet hours: no check."""
    now = SUNDAY_NOON_BERLIN
    await seed(database_url, 1, now, telegram_user_id=1, status="stopped")
    await seed(database_url, 1, now, telegram_user_id=2, consent_at=None)
    await seed(database_url, 1, now, telegram_user_id=3, open_tier="emergency")
    quiet = await seed(
        database_url, 1, now, telegram_user_id=4,
        quiet_start=datetime(2026, 1, 1, 11).time(), quiet_end=datetime(2026, 1, 1, 14).time(),
    )  # fmt: skip
    async with runtime(database_url, now) as rt:
        assert await send_safety_checks(rt, now) == 0
        assert await send_safety_checks(rt, now + timedelta(hours=1)) == 0  # 13:05: still quiet
        assert await send_safety_checks(rt, now + timedelta(hours=2)) == 1  # 14:05: quiet is over
        async with rt.sessions() as session:
            assert list(await session.scalars(select(SafetyCheck.person_id))) == quiet


async def test_daily_for_a_week_after_a_see_soon_episode(database_url: str) -> None:
    opened = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)  # a Tuesday afternoon in Berlin
    (pid,) = await seed(database_url, 1, opened)
    engine = create_engine(database_url)
    async with session_factory(engine)() as session, session.begin():
        session.add(
            Escalation(person_id=pid, tier="soon", flags="S1", status="open", opened_at=opened)
        )
    await engine.dispose()
    async with runtime(database_url, opened) as rt:
        sent = []
        for day in range(10):
            noon = datetime(2026, 1, 6, 11, 30, tzinfo=UTC) + timedelta(days=day)
            if await send_safety_checks(rt, noon):
                sent.append(noon.date().isoformat())
        async with rt.sessions() as session:
            kinds = list(await session.scalars(select(SafetyCheck.kind).order_by(SafetyCheck.id)))
    # Wednesday 7th to Tuesday 13th daily (Sunday 11th included once), then nothing until Sunday.
    assert sent == [f"2026-01-{d:02d}" for d in range(7, 14)]
    assert kinds == ["daily"] * 7


async def test_two_workers_at_the_same_moment_send_each_check_once(database_url: str) -> None:
    now = SUNDAY_NOON_BERLIN
    await seed(database_url, 300, now)
    async with runtime(database_url, now) as one, runtime(database_url, now) as two:
        results = await asyncio.gather(
            send_safety_checks(one, now), send_safety_checks(two, now), send_safety_checks(one, now)
        )
        assert sum(results) == 300
        assert await counts(one) == (300, 300, 300)


def _worker(url: str, now: str, out: str, barrier: multiprocessing.synchronize.Barrier) -> None:  # type: ignore[name-defined]
    async def main() -> int:
        instant = datetime.fromisoformat(now)
        async with runtime(url, instant) as rt:
            await asyncio.to_thread(barrier.wait)
            return await send_safety_checks(rt, instant)

    Path(out).write_text(str(asyncio.run(main())))


@pytest.mark.postgres
def test_three_worker_processes_send_each_check_once(pg_database: str, tmp_path: Path) -> None:
    run_blocking(
        lambda: _pg_execute(pg_database, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    )
    now = SUNDAY_NOON_BERLIN
    run_blocking(lambda: seed(pg_database, 3_000, now))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    outs = [tmp_path / f"worker{i}.txt" for i in range(3)]
    procs = [
        ctx.Process(target=_worker, args=(pg_database, now.isoformat(), str(out), barrier))
        for out in outs
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
        assert proc.exitcode == 0
    assert sum(int(out.read_text()) for out in outs) == 3_000

    async def recorded() -> tuple[int, int, int]:
        async with runtime(pg_database, now) as rt:
            return await counts(rt)

    assert run_blocking(recorded) == (3_000, 3_000, 3_000)
