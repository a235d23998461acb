"""Reminders arrive at local time through the real dispatcher, scheduler and sender."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import func, select

from bot.app import build_runtime
from bot.clock import FakeClock
from bot.models import Delivery, Person, WalkLog
from jobs.dispatcher import Dispatcher
from jobs.outgoing import Outcome
from tests.e2e.harness import Harness, running_bot

BERLIN_8AM = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # the default morning reminder, 08:00 in Berlin


def reminders(h: Harness, who) -> list:  # type: ignore[no-untyped-def]
    return [
        m
        for m in h.stand.transcript(who)
        if any((d or "").startswith("w:done:") for d in m.callback_data)
    ]


async def count(h: Harness, *where) -> int:  # type: ignore[no-untyped-def]
    async with h.runtime.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(Delivery).where(*where)) or 0
        )


async def test_morning_reminder_arrives_on_its_minute_not_before(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2001)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - timedelta(seconds=1) - h.clock.now())
        assert reminders(h, alex) == []
        await h.advance(timedelta(seconds=1))
        (reminder,) = reminders(h, alex)
        assert len(reminder.buttons) == 3
        async with h.runtime.sessions() as session:
            delivery = await session.scalar(select(Delivery).where(Delivery.kind == "reminder"))
        assert delivery is not None
        assert delivery.status == "sent"
        assert delivery.due_at == BERLIN_8AM
        assert delivery.lateness_ms == 0


async def test_done_then_minutes_then_pain_logs_the_walk(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2002)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - h.clock.now())
        (reminder,) = reminders(h, alex)
        (ask_minutes,) = await h.tap(alex, reminder, 0)
        (ask_pain,) = await h.tap(alex, ask_minutes, "15")
        (ask_compare,) = await h.tap(alex, ask_pain, "2")
        replies = await h.tap(alex, ask_compare, 1)
        assert "15" in replies[0].plain
        closed = h.stand.current(reminder)
        assert closed is not None
        assert not closed.buttons
        assert closed.plain.endswith("✓ ✅ Done")
        before = len(h.stand.transcript(alex))
        # logging twice for one reminder (an old keyboard on a slow client) is refused kindly
        again = await h.tap_again(alex, reminder, reminder.callback_data[0] or "")
        assert len(h.stand.transcript(alex)) == before
        answer = h.stand.answer_to(again)
        assert answer is not None
        assert answer.text == h.runtime.catalog.text("en", "ui.walk.already_logged")
        async with h.runtime.sessions() as session:
            walks = list(await session.scalars(select(WalkLog)))
        assert [(w.minutes, w.pain, w.compare, w.light) for w in walks] == [
            (15, 2, "same", "green")
        ]


async def test_snooze_brings_the_reminder_back_in_fifteen_minutes(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2003)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - h.clock.now())
        (reminder,) = reminders(h, alex)
        await h.tap(alex, reminder, 1)
        await h.advance(timedelta(minutes=14, seconds=59))
        assert len(reminders(h, alex)) == 1
        await h.advance(timedelta(seconds=1))
        assert len(reminders(h, alex)) == 2


async def test_a_restart_neither_loses_nor_repeats_a_reminder(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2004)
        await h.onboard(alex)
    # The bot is down across the due instant, back 10 minutes later (within the 30-minute grace).
    back = BERLIN_8AM + timedelta(minutes=10)
    async with running_bot(database_url, start=back, people=(alex,)) as h:
        await h.tick()
        assert len(reminders(h, alex)) == 1
        assert await count(h, Delivery.status == "sent", Delivery.kind == "reminder") == 1
    async with running_bot(database_url, start=back + timedelta(minutes=1), people=(alex,)) as h:
        await h.tick()
        assert reminders(h, alex) == []
        assert await count(h, Delivery.kind == "reminder") == 1


async def test_a_backlog_goes_out_as_soon_as_the_bot_is_back(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2007)
        await h.onboard(alex)
    # Nothing drives the dispatcher here but the scheduler: the reminder that fell due while
    # the bot was down must not wait for the first 30-second tick.
    async with running_bot(
        database_url, start=BERLIN_8AM + timedelta(minutes=5), people=(alex,)
    ) as h:
        assert h.settings.dispatch_interval_seconds == 30
        await h.stand.wait_for(lambda: reminders(h, alex), timeout=10, what="the due reminder")
        methods = [c.method for c in h.stand.calls]
        # Polling starts (deleteWebhook, then the long poll) before the backlog is sent.
        assert methods.index("deleteWebhook") < methods.index("sendMessage")


async def test_a_reminder_claimed_by_a_worker_that_died_is_sent_once_by_another(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2014)
        await h.onboard(alex)
        # Another worker claims the 08:00 reminder and dies before sending it.
        dead = build_runtime(h.settings, clock=FakeClock(BERLIN_8AM))
        try:
            result = await Dispatcher(dead, submit=lambda items: None).tick()
        finally:
            await dead.extras["engine"].dispose()
        assert result.sent == 1
        await h.advance(BERLIN_8AM + timedelta(minutes=1) - h.clock.now())
        assert reminders(h, alex) == []  # its lease (2 minutes) still holds
        await h.advance(timedelta(minutes=2))
        (reminder,) = reminders(h, alex)
        await h.advance(timedelta(minutes=10))
        assert len(reminders(h, alex)) == 1
        async with h.runtime.sessions() as session:
            (delivery,) = await session.scalars(select(Delivery).where(Delivery.kind == "reminder"))
        assert reminder.callback_data[0] == f"w:done:{delivery.id}"
        assert (delivery.status, delivery.due_at) == ("sent", BERLIN_8AM)
        assert delivery.lateness_ms == 3 * 60 * 1000


async def test_long_downtime_records_missed_reminders_and_sends_no_stale_burst(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2005)
        await h.onboard(alex)
    # Down for three days: three mornings and evenings were due; none is sent late.
    async with running_bot(
        database_url, start=BERLIN_8AM + timedelta(days=3, hours=1), people=(alex,)
    ) as h:
        await h.tick()
        assert reminders(h, alex) == []
        missed = await count(h, Delivery.status == "missed")
        assert 1 <= missed <= 2  # collapsed: at most one per rule
        await h.advance(timedelta(hours=10))  # 18:00 UTC: the evening walk, on time
        await h.advance(timedelta(hours=13))  # 07:00 UTC: the next morning, on time
        assert len(reminders(h, alex)) == 2


async def test_a_429_storm_delays_but_loses_nothing(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2006)
        await h.onboard(alex)
        h.stand.fail_next("sendMessage", 429, retry_after=1, count=3)
        await h.advance(BERLIN_8AM - h.clock.now())
        await h.stand.wait_for(lambda: reminders(h, alex), timeout=15)
        await h.settle()
        assert len(reminders(h, alex)) == 1
        assert h.runtime.metrics.retry_after._value.get() == 3


async def test_a_person_who_blocks_the_bot_stops_being_messaged(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2007)
        await h.onboard(alex)
        h.stand.block(alex)
        await h.advance(BERLIN_8AM - h.clock.now())
        async with h.runtime.sessions() as session:
            person = await session.scalar(
                select(Person).where(Person.telegram_user_id == alex.user_id)
            )
        assert person is not None
        assert person.status == "blocked"
        calls = len(h.stand.calls_to("sendMessage"))
        await h.advance(timedelta(days=1))
        assert len(h.stand.calls_to("sendMessage")) == calls


async def test_pause_holds_reminders_and_resume_brings_them_back(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2008)
        await h.onboard(alex)
        await h.send(alex, "/pause 1 day")
        await h.advance(BERLIN_8AM - h.clock.now())
        assert reminders(h, alex) == []
        await h.advance(timedelta(days=1))
        assert len(reminders(h, alex)) == 1  # that evening was paused too; the next morning comes


async def test_quiet_hours_hold_a_reminder_inside_them(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2009)
        await h.onboard(alex)
        await h.send(alex, "/quiet 22:00-08:30")
        await h.advance(BERLIN_8AM - h.clock.now())
        assert reminders(h, alex) == []


async def test_a_reminder_set_a_minute_ahead_arrives_within_that_minute(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2010)
        await h.onboard(alex)
        local = h.clock.now().astimezone(ZoneInfo("Europe/Berlin")) + timedelta(minutes=1)
        await h.send(alex, f"/evening {local:%H:%M}")
        due = h.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
        await h.advance(due - h.clock.now() - timedelta(seconds=1))
        assert reminders(h, alex) == []
        await h.advance(timedelta(seconds=1))
        (reminder,) = reminders(h, alex)
        async with h.runtime.sessions() as session:
            delivery = await session.scalar(select(Delivery).where(Delivery.kind == "reminder"))
        assert delivery is not None
        assert delivery.due_at == due
        assert delivery.sent_at is not None
        assert due <= delivery.sent_at < due + timedelta(minutes=1)


async def test_server_errors_are_retried_with_backoff(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2011)
        await h.onboard(alex)
        h.stand.fail_next("sendMessage", 500, count=2)
        await h.advance(BERLIN_8AM - h.clock.now())
        await h.stand.wait_for(lambda: reminders(h, alex), timeout=15)
        await h.settle()
        assert len(reminders(h, alex)) == 1
        assert await count(h, Delivery.status == "sent", Delivery.attempts == 3) == 1


@contextlib.asynccontextmanager
async def another_writer(database_url: str) -> AsyncIterator[None]:
    """Another connection holds the outbox for writing until the block ends."""
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()
        return
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE deliveries IN EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def test_draining_waits_for_outcomes_that_are_still_being_written(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2013)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - h.clock.now())
        (delivery_id,) = [m.callback_data[0].split(":")[2] for m in reminders(h, alex)]
        sender = h.runtime.sender
        assert sender is not None
        async with another_writer(database_url):
            sender._outcomes.append(Outcome(int(delivery_id), "sent", attempts=7))
            # The flush takes the outcome and waits for the lock: drain must keep waiting too
            # (stop() drains before it cancels the flush; an outcome lost there means a resend).
            assert not await sender.drain(1.0)
        assert await sender.drain(10)
        assert await count(h, Delivery.id == int(delivery_id), Delivery.attempts == 7) == 1


async def test_next_morning_worse_turns_the_walk_red_and_holds_the_programme(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2012)
        await h.onboard(alex)
        replies = await h.send(alex, "/log 10 2")
        await h.tap(alex, replies[-1], 1)
        before = len(h.stand.transcript(alex))
        await h.advance(datetime(2026, 1, 6, 8, 0, tzinfo=UTC) - h.clock.now())  # 09:00 in Berlin
        checks = [
            m
            for m in h.stand.transcript(alex)[before:]
            if any((d or "").startswith("mc:") for d in m.callback_data)
        ]
        assert len(checks) == 1
        await h.tap(alex, checks[0], 0)  # yes, worse than usual
        async with h.runtime.sessions() as session:
            walk = await session.scalar(select(WalkLog))
        assert walk is not None
        assert (walk.light, walk.next_morning_worse) == ("red", True)
