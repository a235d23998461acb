"""Delivery you can rely on: outages, slow answers, crashes (issue 16), against the real bot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.models import Base, Delivery, Escalation, Person, SymptomReport
from tests.e2e.harness import ADMIN_ID, ESCALATION_CHAT, Harness, running_bot
from tests.e2e.test_reminders import BERLIN_8AM, reminders

BERLIN_7PM = BERLIN_8AM + timedelta(hours=11)  # the default evening reminder, 19:00 in Berlin


async def statuses(h: Harness) -> list[tuple[str, str]]:
    async with h.runtime.sessions() as session:
        rows = await session.execute(
            select(Delivery.reminder_kind, Delivery.status)
            .where(Delivery.kind == "reminder")
            .order_by(Delivery.id)
        )
        return [(kind or "", status) for kind, status in rows]


async def test_an_outage_keeps_a_reminder_until_telegram_is_back_then_records_it_missed(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        admin = h.stand.person(ADMIN_ID, "Op")
        alex = h.stand.person(2101)
        await h.onboard(alex)
        # Telegram answers 500 to every send for 9 s: longer than the five attempts the sender
        # used to make before giving up (about 7.5 s).
        h.stand.outage(500)
        await h.advance(BERLIN_8AM - h.clock.now())
        await asyncio.sleep(9)
        assert reminders(h, alex) == []
        h.stand.outage(None)
        await h.stand.wait_for(lambda: reminders(h, alex), timeout=15, what="the reminder")
        await h.settle()
        assert len(reminders(h, alex)) == 1
        assert await statuses(h) == [("morning", "sent")]

        # Down across the evening reminder and beyond the 30-minute window: recorded as missed
        # (never sent late), and /stats counts it.
        h.stand.outage(502)
        await h.advance(BERLIN_7PM - h.clock.now())
        await h.stand.wait_for(
            lambda: (
                len(h.stand.calls_to("sendMessage"))
                >= 2 + sum(1 for c in h.stand.calls_to("sendMessage") if c.status == 200)
            ),
            timeout=10,
            what="the evening reminder trying",
        )
        h.clock.set(BERLIN_7PM + timedelta(minutes=31))
        await asyncio.sleep(6)  # the next probe finds the window passed
        h.stand.outage(None)
        await h.settle()
        assert len(reminders(h, alex)) == 1
        assert await statuses(h) == [("morning", "sent"), ("evening", "missed")]
        (stats,) = await h.send(admin, "/stats")
        assert "1 sent, 1 missed" in stats.plain
        assert h.runtime.metrics.outage_waits._value.get() >= 2


async def test_a_red_flag_with_a_nul_byte_is_stored_and_escalated(database_url: str) -> None:
    """PostgreSQL cannot store NUL: control characters are removed where updates come in."""
    async with running_bot(database_url) as h:
        alex = h.stand.person(2102)
        await h.onboard(alex)
        replies = await h.send(
            alex, "since this morning I can't pee\x00 and it's numb\x07 between my legs"
        )
        assert len(replies) == 1
        assert "112" in replies[0].plain
        async with h.runtime.sessions() as session:
            (esc,) = await session.scalars(select(Escalation))
            (report,) = await session.scalars(select(SymptomReport))
        assert esc.tier == "emergency"
        assert report.text == "since this morning I can't pee and it's numb between my legs"
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        assert "I can't pee and it's numb" in alert.plain


async def test_a_red_flag_in_a_group_gets_the_emergency_advice_and_a_private_invitation(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2103)
        group = h.stand.group(-556, "Walkers")
        await h.stand.send(alex, "my friend can't pee and is numb between the legs", chat=group)
        await h.stand.send(alex, "nice walk today everyone", chat=group)
        await h.settle()
        (reply,) = h.stand.transcript(group)
        assert reply.plain.startswith("🚨")
        assert "112" in reply.plain.splitlines()[0]
        assert "private chat" in reply.plain
        assert h.stand.transcript(alex) == []  # nothing sent to them unasked


async def test_a_slow_answer_is_not_sent_twice_but_a_safety_message_is(database_url: str) -> None:
    """An answer that never comes is unknowable: a reminder is recorded as unknown (and counted),
    not sent again; the emergency answer is sent again (a second copy is better than none)."""
    async with running_bot(database_url) as h:
        admin = h.stand.person(ADMIN_ID, "Op")
        alex = h.stand.person(2104)
        await h.onboard(alex)
        h.stand.slow("sendMessage", 6.0)  # delivered at once, answered after the 5 s timeout
        await h.advance(BERLIN_8AM - h.clock.now())
        await asyncio.sleep(7)
        await h.settle()
        assert len(reminders(h, alex)) == 1
        assert await statuses(h) == [("morning", "unknown")]
        (stats,) = await h.send(admin, "/stats")
        assert "1 got no answer" in stats.plain
        assert h.runtime.metrics.unknown._value.get() == 1

        before = len(h.stand.transcript(alex))
        h.stand.slow("sendMessage", 6.0)
        await h.stand.send(alex, "since this morning I can't pee and it's numb between my legs")
        await asyncio.sleep(7)
        await h.settle()
        answers = [m for m in h.stand.transcript(alex)[before:] if "112" in m.plain]
        assert len(answers) == 2


@pytest.mark.parametrize("what", ["/stop", "/pause 1 day", "red flag"])
async def test_a_claimed_reminder_is_not_sent_after_the_person_stops_pauses_or_raises_a_red_flag(
    database_url: str, what: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2105)
        await h.onboard(alex)
        # The reminder is claimed and queued, held by a 429, when the person's state changes.
        h.stand.fail_next("sendMessage", 429, retry_after=4)
        h.clock.set(BERLIN_8AM)
        assert h.runtime.dispatcher is not None
        await h.runtime.dispatcher.tick()
        await h.stand.wait_for(
            lambda: any(c.status == 429 for c in h.stand.calls_to("sendMessage")), timeout=10
        )
        assert await statuses(h) == [("morning", "sending")]
        before = len(h.stand.transcript(alex))
        text = "since this morning I can't pee and it's numb between my legs"
        await h.stand.send(alex, text if what == "red flag" else what)
        await h.stand.wait_for(lambda: len(h.stand.transcript(alex)) > before, timeout=10)
        await asyncio.sleep(5)
        await h.settle()
        assert reminders(h, alex) == []
        assert await statuses(h) == [("morning", "skipped")]


async def test_moving_west_after_the_morning_reminder_brings_no_second_one_that_day(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2106)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - h.clock.now())  # 08:00 in Berlin
        assert len(reminders(h, alex)) == 1
        await h.advance(timedelta(minutes=30))  # 07:30 in London
        (offer,) = await h.send(alex, "/timezone London")
        await h.tap(alex, offer, 0)
        await h.advance(timedelta(minutes=31))  # 08:01 in London, the same morning
        assert len(reminders(h, alex)) == 1
        await h.advance(datetime(2026, 1, 6, 8, 0, tzinfo=UTC) - h.clock.now())  # next morning
        assert len(reminders(h, alex)) == 2


async def test_moving_east_just_past_the_reminder_time_still_brings_that_days_reminder(
    database_url: str,
) -> None:
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # 06:30 in Kolkata
    async with running_bot(database_url, start=start) as h:
        priya = h.stand.person(2107)
        await h.onboard(priya, place="Kolkata")
        await h.advance(datetime(2026, 1, 5, 2, 20, tzinfo=UTC) - h.clock.now())
        assert reminders(h, priya) == []  # 07:50 in Kolkata, 08:05 in Kathmandu
        (offer,) = await h.send(priya, "/timezone Kathmandu")
        await h.tap(priya, offer, 0)
        await h.advance(timedelta(seconds=1))
        assert len(reminders(h, priya)) == 1  # five minutes late, not lost
        await h.advance(timedelta(minutes=20))  # 08:00 in Kolkata has passed too: nothing more
        assert len(reminders(h, priya)) == 1
        await h.advance(datetime(2026, 1, 6, 2, 15, tzinfo=UTC) - h.clock.now())  # 08:00 next day
        assert len(reminders(h, priya)) == 2


FORGED = ("w:done:99999999999", "w:done:²", "op:ack:4294967296", "rf:clear:١٢", "w:min:1:²",
          "w:snz:2147483648", "adm:bc:-99999999999", "ob:scr:²:1", "del:yes:³")  # fmt: skip


async def test_forged_callback_data_is_answered_like_an_old_button(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2108)
        await h.onboard(alex)
        stale = h.runtime.catalog.text("en", "ui.err.stale_button")
        for data in FORGED:
            before = len(h.stand.transcript(alex))
            query = await h.stand.tap_data(alex, data)
            await h.settle()
            replies = [m.plain for m in h.stand.transcript(alex)[before:]]
            answer = h.stand.answer_to(query)
            assert answer is not None, data
            # the stale-button answer: as a chat message or on the button itself (turn.stale())
            assert replies == [stale] or (replies == [] and answer.text == stale), (data, replies)
        assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []


async def test_delete_also_erases_a_person_from_whoever_named_them_their_trusted_contact(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex, sam = h.stand.person(2109, "Alex"), h.stand.person(2110, "Samwise")
        await h.onboard(alex)
        await h.onboard(sam)
        (invite,) = await h.send(alex, "/contact")
        code = next(w for w in invite.plain.split() if "start=" in w).split("start=")[1]
        (ask,) = await h.send(sam, f"/start {code}")
        await h.tap(sam, ask, 0)  # Sam agrees to be told
        await h.send(alex, "since this morning I can't pee and it's numb between my legs")
        assert "Alex" in h.stand.transcript(sam)[-1].plain  # Sam was alerted
        await h.send(sam, "my ankles feel wobbly and my feet are tingling badly")
        (confirm,) = await h.send(sam, "/delete")
        await h.tap(sam, confirm, 0)
        async with h.runtime.sessions() as session:
            for table in Base.metadata.sorted_tables:
                for row in (await session.execute(table.select())).mappings().all():
                    text = " ".join(str(v) for v in row.values())
                    for trace in (str(sam.user_id), "Samwise", "wobbly", "tingling badly"):
                        assert trace not in text, (table.name, trace, row)


async def test_export_holds_only_the_persons_own_data(database_url: str) -> None:
    async with running_bot(database_url) as h:
        operator = h.stand.person(ADMIN_ID, "Op")
        alex = h.stand.person(2111)
        await h.onboard(alex)
        await h.send(alex, "since this morning I can't pee and it's numb between my legs")
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        await h.stand.tap(operator, alert, 0)
        await h.settle()
        replies = await h.send(alex, "/export")
        blob = (replies[0].document or b"").decode()
        assert "can't pee" in blob  # their own words, as they sent them
        for foreign in (str(ESCALATION_CHAT), str(ADMIN_ID), alert.plain.splitlines()[0]):
            assert foreign not in blob, foreign


async def test_progress_charts_are_drawn_off_the_event_loop(database_url: str) -> None:
    """A burst of /progress keeps the event loop free for everyone else."""
    async with running_bot(database_url) as h:
        people = [h.stand.person(2120 + i) for i in range(3)]
        for who in people:
            await h.onboard(who)
            replies = await h.send(who, "/log 10 2")
            await h.tap(who, replies[-1], 1)
        loop = asyncio.get_running_loop()
        lags: list[float] = []
        done = asyncio.Event()

        async def probe() -> None:
            while not done.is_set():
                began = loop.time()
                await asyncio.sleep(0.005)
                lags.append(loop.time() - began - 0.005)

        task = asyncio.create_task(probe())
        for _ in range(2):
            for who in people:
                await h.stand.send(who, "/progress")
            await h.settle()
        done.set()
        await task
        for who in people:
            assert sum(1 for m in h.stand.transcript(who) if m.photo is not None) == 2
        print(f"longest event-loop stall during 6 /progress: {max(lags) * 1000:.0f} ms")
        assert max(lags) < 0.15, max(lags)


async def test_the_delete_confirmation_carries_a_one_time_token(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(2130)
        await h.onboard(alex)
        stale = h.runtime.catalog.text("en", "ui.err.stale_button")

        async def still_there() -> bool:
            async with h.runtime.sessions() as session:
                found = await session.scalar(
                    select(Person.id).where(Person.telegram_user_id == alex.user_id)
                )
                return found is not None

        for forged in ("del:yes", "del:yes:00000000", "del:yes:"):
            before = len(h.stand.transcript(alex))
            query = await h.stand.tap_data(alex, forged)
            await h.settle()
            replies = [m.plain for m in h.stand.transcript(alex)[before:]]
            answer = h.stand.answer_to(query)
            assert replies == [stale] or (answer is not None and answer.text == stale), forged
            assert await still_there()
        (first,) = await h.send(alex, "/delete")
        (second,) = await h.send(alex, "/delete")
        await h.tap(alex, first, 0)  # the replaced confirmation erases nothing
        assert await still_there()
        await h.tap(alex, second, 0)
        assert not await still_there()
