"""The safety check through the real bot: it arrives on local time, and a yes reaches help.

Time moves on the fake clock; the hourly chores run as APScheduler runs them every hour.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.app import build_runtime
from bot.models import Delivery, Escalation, Person, SafetyCheck, SymptomReport
from jobs.delivery import Sender
from jobs.dispatcher import Dispatcher
from jobs.safety_check import send_safety_checks
from jobs.scheduler import hourly_chores
from tests.e2e.harness import ESCALATION_CHAT, Harness, running_bot
from tests.stand import BotMessage
from tests.stand import Person as Who

SUNDAY_NOON_BERLIN = datetime(2026, 1, 11, 11, 5, tzinfo=UTC)  # 12:05 in Berlin
MONDAY_8AM_BERLIN = datetime(2026, 1, 12, 7, 0, tzinfo=UTC)


async def hourly(h: Harness) -> None:
    """One run of the hourly chores (the scheduler's own job function), then everything sent."""
    await hourly_chores(SimpleNamespace(rt=h.runtime, application=h.application))  # type: ignore[arg-type]
    await h.settle()


async def at(h: Harness, instant: datetime) -> None:
    """Move the clock to `instant` and run what runs then."""
    h.clock.set(instant)
    await h.tick()
    await hourly(h)


def checks(h: Harness, who: Who) -> list[BotMessage]:
    """The safety checks the person received (as sent, not as edited later)."""
    return [
        m
        for m in h.stand.transcript(who)
        if not m.edited and any((d or "").startswith("sc:") for d in m.callback_data)
        and any((d or "").endswith(":n") for d in m.callback_data)
    ]  # fmt: skip


def walk_reminders(h: Harness, who: Who) -> list[BotMessage]:
    return [
        m
        for m in h.stand.transcript(who)
        if any((d or "").startswith("w:done:") for d in m.callback_data)
    ]


def tier_text(h: Harness, lang: str, flag: str) -> str:
    """The emergency message as a person with reminders sees it (number 112: they are in Berlin)."""
    catalog = h.runtime.catalog
    body = catalog.text(lang, f"redflags.{flag}.message", emergency_number="112")
    return f"{body}\n{catalog.text(lang, 'redflags.tail.emergency_paused')}"


def check_text(h: Harness, lang: str, kind: str = "weekly") -> str:
    catalog = h.runtime.catalog
    return catalog.text(lang, f"safetycheck.{kind}", signs=catalog.text(lang, "safetycheck.signs"))


async def person_row(h: Harness, who: Who) -> Person:
    async with h.runtime.sessions() as session:
        person = await session.scalar(select(Person).where(Person.telegram_user_id == who.user_id))
    assert person is not None
    return person


async def count(h: Harness, model: type, *where: object) -> int:
    async with h.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def the_check(h: Harness, who: Who) -> BotMessage:
    """Go to Sunday noon in Berlin and return the one check that arrived."""
    await at(h, SUNDAY_NOON_BERLIN)
    (check,) = checks(h, who)
    return check


async def test_the_check_arrives_weekly_on_local_time_in_english_and_german(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7001, "Alex")
        anna = h.stand.person(7002, "Anna", language_code="de")
        await h.onboard(alex, place="New York")
        await h.onboard(anna, place="Berlin")
        arrived: dict[int, list[datetime]] = {alex.user_id: [], anna.user_id: []}
        start = h.clock.now().replace(minute=5)
        for hour in range(1, 15 * 24):  # two weeks and a day, hour by hour
            await at(h, start + timedelta(hours=hour))
            for who in (alex, anna):
                if len(checks(h, who)) > len(arrived[who.user_id]):
                    arrived[who.user_id].append(h.clock.now())
        # Sundays, at the first hourly run from 11:00 local time: 16:05 UTC in New York (UTC-5)
        # and 10:05 UTC in Berlin (UTC+1).
        assert arrived[alex.user_id] == [
            datetime(2026, 1, 11, 16, 5, tzinfo=UTC),
            datetime(2026, 1, 18, 16, 5, tzinfo=UTC),
        ]
        assert arrived[anna.user_id] == [
            datetime(2026, 1, 11, 10, 5, tzinfo=UTC),
            datetime(2026, 1, 18, 10, 5, tzinfo=UTC),
        ]
        for who, lang in ((alex, "en"), (anna, "de")):
            for message in checks(h, who):
                assert message.text == check_text(h, lang)
                assert message.buttons == [
                    h.runtime.catalog.text(lang, f"safetycheck.btn.{key}")
                    for key in ("no", "yes", "not_sure")
                ]
        assert checks(h, anna)[0].buttons == ["Nein, nichts davon", "Ja, etwas davon", "Weiß nicht"]
        assert "Sicherheits-Check" in checks(h, anna)[0].plain
        assert (
            "Safety check" in checks(h, alex)[0].plain or "safety check" in checks(h, alex)[0].plain
        )


async def test_yes_asks_which_sign_then_gives_the_emergency_answer(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7003, "Alex")
        await h.onboard(alex)
        check = await the_check(h, alex)
        (which,) = await h.tap(alex, check, "Yes, one or more")
        # The check now shows the answer and has no buttons left; the follow-up asks which.
        edited = h.stand.current(check)
        assert edited is not None
        assert edited.edited
        assert edited.message_id == check.message_id
        assert edited.inline_buttons == []
        assert "✓ Yes, one or more" in edited.plain
        assert which.buttons == [
            "Peeing has changed", "Pooing has changed", "Numb between my legs",
            "Both legs weak or numb",
        ]  # fmt: skip
        replies = await h.tap(alex, which, "Peeing has changed")
        emergency = [m for m in replies if not m.edited]
        assert [m.text for m in emergency] == [tier_text(h, "en", "E1")]
        assert "112" in emergency[0].plain
        assert h.stand.current(which).inline_buttons == []  # type: ignore[union-attr]
        # The episode is open, the clinic is alerted with the flag and how it was raised.
        async with h.runtime.sessions() as session:
            (esc,) = (await session.scalars(select(Escalation))).all()
        assert (esc.tier, esc.flags, esc.status) == ("emergency", "E1", "open")
        assert (await person_row(h, alex)).open_tier == "emergency"
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        assert "New bladder change" in alert.plain
        assert "weekly safety check" in alert.plain
        assert alert.callback_data == [f"op:ack:{esc.id}"]
        # No safety line and no second alert 15 minutes later: the sign was given.
        before = len(h.stand.transcript(alex))
        await h.advance(timedelta(minutes=16))
        assert len(h.stand.transcript(alex)) == before
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1
        # Reminders are paused: nothing on Monday morning.
        count_before = len(walk_reminders(h, alex))
        await h.advance(MONDAY_8AM_BERLIN - h.clock.now())
        assert len(walk_reminders(h, alex)) == count_before


async def test_not_sure_counts_as_yes_and_an_unanswered_yes_reaches_the_clinic(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        anna = h.stand.person(7004, "Anna", language_code="de")
        await h.onboard(anna)
        check = await the_check(h, anna)
        (which,) = await h.tap(anna, check, "Weiß nicht")
        edited = h.stand.current(check)
        assert edited is not None
        assert "✓ Weiß nicht" in edited.plain
        assert edited.inline_buttons == []
        assert which.text == h.runtime.catalog.text("de", "safetycheck.which")
        assert len(which.buttons) == 4
        assert h.stand.transcript(ESCALATION_CHAT) == []
        # Nothing chosen for 15 minutes: the safety line with the number, and the clinic hears.
        await h.advance(timedelta(minutes=15))
        line = h.last(anna)
        assert line.text == h.runtime.catalog.text(
            "de", "safetycheck.safety_net", emergency_number="112"
        )
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        assert "Not sure" in alert.plain
        assert "15 minutes" in alert.plain
        # The sign chosen later still goes into the emergency flow.
        replies = await h.tap(anna, which, "Beide Beine schwach/taub")
        assert [m.text for m in replies if not m.edited] == [tier_text(h, "de", "E5")]
        assert (await person_row(h, anna)).open_tier == "emergency"
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 2


async def test_no_thanks_and_changes_nothing_else(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7005, "Alex")
        await h.onboard(alex)
        check = await the_check(h, alex)
        reminders_before = len(walk_reminders(h, alex))
        (thanks,) = await h.tap(alex, check, "No, none of these")
        edited = h.stand.current(check)
        assert edited is not None
        assert "✓ No, none of these" in edited.plain
        assert edited.inline_buttons == []
        assert thanks.text == h.runtime.catalog.text(
            "en", "safetycheck.no_thanks", emergency_number="112"
        )
        assert await count(h, Escalation) == 0
        assert await count(h, SymptomReport) == 0
        assert (await person_row(h, alex)).open_tier is None
        await h.advance(timedelta(minutes=20))
        assert h.stand.transcript(ESCALATION_CHAT) == []
        assert h.last(alex).message_id == thanks.message_id
        await h.advance(MONDAY_8AM_BERLIN - h.clock.now())
        assert len(walk_reminders(h, alex)) == reminders_before + 1  # reminders carry on


TYPED = [
    ("en", "no", "no"),
    ("en", "No.", "no"),
    ("de", "nein", "no"),
    ("en", "yes", "yes"),
    ("de", "Ja", "yes"),
    ("en", "not sure", "unsure"),
    ("de", "weiß nicht", "unsure"),
]


async def test_typed_answers_work_too(database_url: str) -> None:
    async with running_bot(database_url) as h:
        people = [
            h.stand.person(7100 + i, f"P{i}", language_code=lang)
            for i, (lang, _, _) in enumerate(TYPED)
        ]
        for who in people:
            await h.onboard(who)
        await at(h, SUNDAY_NOON_BERLIN)
        for who, (lang, typed, answer) in zip(people, TYPED, strict=True):
            (check,) = checks(h, who)
            replies = await h.send(who, typed)
            (reply,) = [m for m in replies if not m.edited]
            if answer == "no":
                assert reply.text == h.runtime.catalog.text(
                    lang, "safetycheck.no_thanks", emergency_number="112"
                )
            else:
                assert reply.text == h.runtime.catalog.text(lang, "safetycheck.which")
                assert len(reply.buttons) == 4
            # The check's keyboard is closed and shows the answer.
            current = h.stand.current(check)
            assert current is not None
            assert current.inline_buttons == []
            key = {"no": "no", "yes": "yes", "unsure": "not_sure"}[answer]
            assert "✓ " + h.runtime.catalog.text(lang, f"safetycheck.btn.{key}") in current.plain
            async with h.runtime.sessions() as session:
                stored = await session.scalar(
                    select(SafetyCheck.answer)
                    .join(Person, Person.id == SafetyCheck.person_id)
                    .where(Person.telegram_user_id == who.user_id)
                )
            assert stored == answer
        # Answered "no": the same word now is ordinary text again.
        (fallback,) = await h.send(people[0], "no")
        assert fallback.text == h.runtime.catalog.text("en", "ui.fallback.text")
        # A yes still waiting for its sign is not ended by a later typed word: the question again.
        (again,) = await h.send(people[3], "no")
        assert again.text == h.runtime.catalog.text("en", "safetycheck.which")
        assert len(again.buttons) == 4


async def test_a_repeated_or_stale_tap_changes_nothing_and_says_so(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7006, "Alex")
        eve = h.stand.person(7007, "Eve")
        await h.onboard(alex)
        await h.onboard(eve)
        check = await the_check(h, alex)
        check_id = next(d for d in check.callback_data if d).split(":")[1]
        await h.tap(alex, check, "No, none of these")
        # The old buttons are gone; a tap that still arrives (an old client, a double tap):
        for data in (f"sc:{check_id}:y", f"sc:{check_id}:u", f"sc:{check_id}:n"):
            before = len(h.stand.transcript(alex))
            await h.stand.tap_data(alex, data, check)
            await h.settle()
            new = [m for m in h.stand.transcript(alex)[before:] if not m.edited]
            assert [m.text for m in new] == [h.runtime.catalog.text("en", "safetycheck.already")]
        # A sign tapped on a check answered "no" is refused too.
        await h.stand.tap_data(alex, f"sc:{check_id}:w:b", check)
        await h.settle()
        assert h.last(alex).text == h.runtime.catalog.text("en", "ui.err.stale_button")
        # Someone else's check, and data that is not a check at all.
        await h.stand.tap_data(eve, f"sc:{check_id}:y")
        await h.settle()
        assert h.last(eve).text == h.runtime.catalog.text("en", "ui.err.not_yours")
        stale = h.runtime.catalog.text("en", "ui.err.stale_button")
        for forged in ("sc:99999999999:y", "sc:²:y", "sc:1:x", "sc:"):
            query = await h.stand.tap_data(eve, forged)
            await h.settle()
            answer = h.stand.answer_to(query)
            # answered like any stale button: on the button itself (issue 15), or as a message
            assert (answer is not None and answer.text == stale) or h.last(eve).text == stale
        async with h.runtime.sessions() as session:
            answers = list(
                await session.scalars(select(SafetyCheck.answer).order_by(SafetyCheck.id))
            )
        assert answers[0] == "no"
        assert await count(h, Escalation) == 0
        assert await count(h, SymptomReport) == 0
        assert h.stand.transcript(ESCALATION_CHAT) == []


async def test_a_repeated_sign_tap_raises_nothing_twice(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7008, "Alex")
        await h.onboard(alex)
        check = await the_check(h, alex)
        (which,) = await h.tap(alex, check, "Yes, one or more")
        await h.tap(alex, which, "Numb between my legs")
        check_id = check.callback_data[0].split(":")[1]  # type: ignore[union-attr]
        before = len(h.stand.transcript(alex))
        await h.stand.tap_data(alex, f"sc:{check_id}:w:l", which)
        await h.settle()
        new = [m for m in h.stand.transcript(alex)[before:] if not m.edited]
        assert [m.text for m in new] == [h.runtime.catalog.text("en", "safetycheck.already")]
        async with h.runtime.sessions() as session:
            (esc,) = (await session.scalars(select(Escalation))).all()
        assert esc.flags == "E3"
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1


@pytest.mark.parametrize("tier_flag", ["U1"])
async def test_daily_for_seven_days_after_an_urgent_episode(
    database_url: str, tier_flag: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7009, "Alex")
        await h.onboard(alex)  # Monday 5 January, 07:xx in Berlin
        # The /symptoms checklist: "no" to every emergency sign, "yes" to the first urgent one.
        replies = await h.send(alex, "/symptoms")
        for _ in range(9):
            replies = await h.tap(alex, replies[-1], "No")
        replies = await h.tap(alex, replies[-1], "Yes")
        async with h.runtime.sessions() as session:
            (esc,) = (await session.scalars(select(Escalation))).all()
        assert (esc.tier, esc.flags) == ("urgent", tier_flag)
        arrived: list[str] = []
        start = h.clock.now().replace(minute=5)
        for hour in range(1, 14 * 24):
            await at(h, start + timedelta(hours=hour))
            if len(checks(h, alex)) > len(arrived):
                arrived.append(h.clock.now().isoformat())
                await h.tap(alex, checks(h, alex)[-1], "No, none of these")
        # Tuesday 6th to Monday 12th at 11:05 in Berlin, then the weekly one on Sunday 18th.
        assert arrived == [
            *(datetime(2026, 1, day, 10, 5, tzinfo=UTC).isoformat() for day in range(6, 13)),
            datetime(2026, 1, 18, 10, 5, tzinfo=UTC).isoformat(),
        ]
        assert [m.text for m in checks(h, alex)] == [check_text(h, "en", "daily")] * 7 + [
            check_text(h, "en", "weekly")
        ]
        assert await count(h, Delivery, Delivery.kind == "safety_check") == 8


@pytest.mark.parametrize(
    ("lang", "line"),
    [
        ("en", "Safety check: every Sun from 11:00 (it stays on, for your safety)"),
        ("de", "Sicherheits-Check: jeden So ab 11:00 (bleibt an, für deine Sicherheit)"),
    ],
)
async def test_schedule_shows_the_check_and_offers_no_way_to_turn_it_off(
    database_url: str, lang: str, line: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7010, "Alex", language_code=lang)
        await h.onboard(alex)
        replies = await h.send(alex, "/schedule")
        summary = next(r for r in replies if r.buttons)
        assert line in summary.plain.splitlines()
        assert not [d for r in replies for d in r.callback_data if (d or "").startswith("sc:")]


async def test_export_holds_the_checks_and_delete_erases_them(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(7011, "Alex")
        await h.onboard(alex)
        check = await the_check(h, alex)
        (which,) = await h.tap(alex, check, "Not sure")
        replies = await h.send(alex, "/export")
        exported = json.loads(
            next(r for r in replies if r.filename and r.filename.endswith(".json")).document
        )  # type: ignore[arg-type]
        (row,) = exported["safety_checks"]
        assert (row["kind"], row["answer"], row["local_date"]) == ("weekly", "unsure", "2026-01-11")
        replies = await h.send(alex, "/delete")
        await h.tap(alex, replies[-1], 0)
        assert await count(h, SafetyCheck) == 0
        # The safety line is not sent to someone who erased everything.
        await h.advance(timedelta(minutes=16))
        assert h.stand.transcript(ESCALATION_CHAT) == []


async def test_two_workers_send_each_person_one_check(database_url: str) -> None:
    """A second worker on the same database runs the same chore at the same moment: the stand
    sees one check per person (each worker has its own dispatcher and sender)."""
    async with running_bot(database_url) as h:
        people = [
            h.stand.person(7200 + i, f"P{i}", language_code=("en", "de")[i % 2]) for i in range(4)
        ]
        for who in people:
            await h.onboard(who)
        other = build_runtime(h.settings, clock=h.clock)
        other.sender = Sender(h.application.bot, other)
        other.dispatcher = Dispatcher(other)
        await other.sender.start()
        try:
            h.clock.set(SUNDAY_NOON_BERLIN)

            async def second_worker() -> None:
                assert other.dispatcher is not None
                if await send_safety_checks(other, SUNDAY_NOON_BERLIN):
                    await other.dispatcher.tick()

            await asyncio.gather(hourly(h), second_worker())
            await other.sender.drain(10)
            await h.tick()
            await other.sender.drain(10)
        finally:
            await other.sender.stop()
            await other.extras["engine"].dispose()
        assert [len(checks(h, who)) for who in people] == [1, 1, 1, 1]


async def test_a_typed_yes_for_another_open_question_is_left_to_it(database_url: str) -> None:
    """A check waits, then the bot asks something else a typed yes answers: the yes is for that."""
    async with running_bot(database_url) as h:
        alex = h.stand.person(7012, "Alex")
        await h.onboard(alex)
        await the_check(h, alex)
        await h.send(alex, "/timezone Lisbon")
        replies = await h.send(alex, "yes")
        assert h.runtime.catalog.text("en", "safetycheck.which") not in [m.text for m in replies]
        assert (await person_row(h, alex)).timezone == "Europe/Lisbon"
        async with h.runtime.sessions() as session:
            assert await session.scalar(select(SafetyCheck.answer)) is None
