"""The bot keeps its word (issue 15): buttons, typed answers and plain replies do what they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Delivery, PainLog, Person, ReminderRule, WalkLog
from tests.e2e.harness import Harness, running_bot
from tests.stand import BotMessage
from tests.stand import Person as Who

BERLIN_8AM = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
PERSON_FIELDS = (
    "timezone", "country", "status", "consent_at", "onboarding_step", "language", "paused_until",
    "walk_effect", "stenosis", "programme", "quiet_start", "quiet_end", "contact_chat_id",
)  # fmt: skip


async def person_row(h: Harness, who: Who) -> Person:
    async with h.runtime.sessions() as session:
        person = await session.scalar(select(Person).where(Person.telegram_user_id == who.user_id))
        assert person is not None
        return person


async def state(h: Harness, who: Who) -> dict[str, Any]:
    """Everything a tap could change for this person (the pending question aside)."""
    async with h.runtime.sessions() as session:
        person = await session.scalar(select(Person).where(Person.telegram_user_id == who.user_id))
        if person is None:
            return {}
        pid = person.id
        rules = await session.scalars(
            select(ReminderRule).where(ReminderRule.person_id == pid).order_by(ReminderRule.id)
        )
        walks = await session.scalars(
            select(WalkLog).where(WalkLog.person_id == pid).order_by(WalkLog.id)
        )
        pains = await session.scalars(select(PainLog).where(PainLog.person_id == pid))
        answered = await session.scalars(
            select(Delivery.id).where(Delivery.person_id == pid, Delivery.answered.is_(True))
        )
        return {
            "person": {f: getattr(person, f) for f in PERSON_FIELDS},
            "rules": [(r.kind, r.local_time, r.weekdays, r.enabled, r.next_due_at) for r in rules],
            "walks": [(w.minutes, w.pain, w.compare, w.light, w.next_morning_worse) for w in walks],
            "pains": sorted((p.score, p.flare) for p in pains),
            "answered": sorted(answered),
        }


async def tap_twice(
    h: Harness, who: Who, message: BotMessage, button: str | int
) -> list[BotMessage]:
    """Tap, check the message now shows the choice without a keyboard, then tap the same button
    again (a slow client still shows it): nothing changes and a short note says why."""
    index = button if isinstance(button, int) else message.buttons.index(button)
    data = message.callback_data[index]
    label = message.buttons[index]
    assert data is not None
    replies = await h.tap(who, message, index)
    closed = h.stand.current(message)
    assert closed is not None
    assert closed.reply_markup is None or not closed.buttons, (data, closed.buttons)
    if not closed.plain.startswith(h.runtime.catalog.text("en", "ui.delete.done")[:10]):
        assert closed.plain.endswith(f"✓ {label}") or closed.edited, (data, closed.plain)
    before_state = await state(h, who)
    before = len(h.stand.transcript(who))
    again = await h.tap_again(who, message, data)
    assert await state(h, who) == before_state, f"a second tap on {data} changed something"
    assert len(h.stand.transcript(who)) == before, f"a second tap on {data} sent a message"
    answer = h.stand.answer_to(again)
    assert answer is not None, data
    assert answer.text, data
    assert len(answer.text) <= 200
    return replies


def live(h: Harness, who: Who, prefix: str) -> BotMessage:
    """The latest message whose keyboard (as the person sees it now) has a `prefix` button."""
    for message in reversed(h.stand.transcript(who)):
        current = h.stand.current(message)
        if current is not None and any((d or "").startswith(prefix) for d in current.callback_data):
            return current
    raise AssertionError(f"no live {prefix} button")


def last_with_buttons(replies: list[BotMessage]) -> BotMessage:
    return [m for m in replies if m.buttons][-1]


# -- 1. old buttons -------------------------------------------------------------------------------


async def test_an_older_zone_confirmation_cannot_move_the_person_back(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15001)
        replies = await h.send(alex, "/start")
        replies = await h.tap(alex, replies[-1], 0)
        for _ in range(4):
            replies = await h.tap(alex, replies[-1], 1)
        (lisbon,) = [m for m in await h.send(alex, "Lisbon") if m.buttons]
        replies = await h.tap(alex, lisbon, 0)
        replies = await h.tap(alex, replies[-1], 3)
        replies = await h.tap(alex, replies[-1], "10")
        await h.tap(alex, replies[-1], 0)
        (new_york,) = [m for m in await h.send(alex, "/timezone New York") if m.buttons]
        await h.tap(alex, new_york, 0)
        assert (await person_row(h, alex)).timezone == "America/New_York"
        rules = (await state(h, alex))["rules"]
        before = len(h.stand.transcript(alex))
        query = await h.tap_again(alex, lisbon, lisbon.callback_data[0] or "")
        assert (await person_row(h, alex)).timezone == "America/New_York"
        assert (await state(h, alex))["rules"] == rules
        assert len(h.stand.transcript(alex)) == before
        answer = h.stand.answer_to(query)
        assert answer is not None
        assert answer.text == h.runtime.catalog.text("en", "ui.err.stale_button")


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_every_kind_of_button_tapped_twice_changes_nothing_the_second_time(
    database_url: str, lang: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15002, language_code=lang)
        # onboarding: consent, four safety questions, zone, walking effect, minutes, plan
        replies = await h.send(alex, "/start")
        replies = await tap_twice(h, alex, replies[-1], 0)
        for _ in range(4):
            replies = await tap_twice(h, alex, replies[-1], 1)
        replies = await tap_twice(h, alex, last_with_buttons(await h.send(alex, "Berlin")), 0)
        replies = await tap_twice(h, alex, replies[-1], 3)
        replies = await tap_twice(h, alex, replies[-1], "10")
        await tap_twice(h, alex, replies[-1], 0)
        assert (await person_row(h, alex)).onboarding_step is None
        # a reminder: done, minutes, pain, compare; then the morning check
        await h.advance(BERLIN_8AM - h.clock.now())
        reminder = [m for m in h.stand.transcript(alex) if m.buttons][-1]
        replies = await tap_twice(h, alex, reminder, 0)
        replies = await tap_twice(h, alex, replies[-1], "15")
        replies = await tap_twice(h, alex, replies[-1], "2")
        await tap_twice(h, alex, replies[-1], 1)
        assert (await state(h, alex))["walks"][0][:3] == (15, 2, "same")
        await h.advance(timedelta(hours=25))
        await tap_twice(h, alex, live(h, alex, "mc:"), 1)
        # the evening reminder: snooze it, then skip the snoozed one
        await h.advance(timedelta(hours=10))
        reminder = live(h, alex, "w:snz")
        await tap_twice(h, alex, reminder, 1)
        await h.advance(timedelta(minutes=15))
        snoozed = live(h, alex, "w:skip")
        assert snoozed.message_id != reminder.message_id
        await tap_twice(h, alex, snoozed, 2)
        # /schedule buttons, /language, /pain's gentle-mode offer, /delete's cancel
        for _ in ("pause", "resume", "off"):
            (sched,) = await h.send(alex, "/schedule")
            await tap_twice(h, alex, sched, len(sched.buttons) - 1)
        (choose,) = await h.send(alex, "/language")
        await tap_twice(h, alex, choose, 0 if lang == "en" else 1)
        replies = await h.send(alex, "/pain 3")
        await tap_twice(h, alex, replies[-1], 0)
        (confirm,) = await h.send(alex, "/delete")
        await tap_twice(h, alex, confirm, 1)
        assert (await person_row(h, alex)).consent_at is not None


async def test_onboarding_buttons_are_refused_once_onboarding_is_over(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15003)
        replies = await h.send(alex, "/start")
        replies = await h.tap(alex, replies[-1], 0)
        for _ in range(4):
            replies = await h.tap(alex, replies[-1], 1)
        replies = await h.send(alex, "Berlin")
        replies = await h.tap(alex, replies[-1], 0)
        effect = replies[-1]
        replies = await h.tap(alex, effect, 3)
        minutes = replies[-1]
        replies = await h.tap(alex, minutes, "10")
        plan = replies[-1]
        await h.tap(alex, plan, 0)
        before = await state(h, alex)
        sent = len(h.stand.transcript(alex))
        for message, index in ((effect, 2), (minutes, 4), (plan, 1), (plan, 2)):
            query = await h.tap_again(alex, message, message.callback_data[index] or "")
            answer = h.stand.answer_to(query)
            assert answer is not None
            assert answer.text
        assert await state(h, alex) == before
        assert len(h.stand.transcript(alex)) == sent


async def test_a_stale_place_question_does_not_swallow_later_messages(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15004)
        await h.onboard(alex)
        await h.send(alex, "/timezone")
        await h.advance(timedelta(hours=2))
        (reply,) = await h.send(alex, "thanks!")
        assert reply.plain == h.runtime.catalog.text("en", "ui.reply.thanks")
        assert (await person_row(h, alex)).timezone == "Europe/Berlin"


# -- 2. typed answers -----------------------------------------------------------------------------


async def onboard_to_minutes(h: Harness, who: Who) -> None:
    replies = await h.send(who, "/start")
    replies = await h.tap(who, replies[-1], 0)
    for _ in range(4):
        replies = await h.tap(who, replies[-1], 1)
    replies = await h.send(who, "Berlin")
    replies = await h.tap(who, replies[-1], 0)
    await h.tap(who, replies[-1], 3)


@pytest.mark.parametrize(
    ("lang", "typed", "expected"),
    [("en", "12", 10), ("en", "12 min", 10), ("de", "15 Minuten", 10), ("en", "7", 7)],
)
async def test_a_typed_number_answers_the_minutes_question_in_onboarding(
    database_url: str, lang: str, typed: str, expected: int
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15005, language_code=lang)
        await onboard_to_minutes(h, alex)
        replies = await h.send(alex, typed)
        assert replies[-1].plain == h.runtime.catalog.text(
            lang, "ui.plan.propose", morning="08:00", evening="19:00"
        )
        person = await person_row(h, alex)
        assert person.onboarding_step == "plan"
        assert (person.programme or {})["target_minutes"] == expected


@pytest.mark.parametrize(("lang", "typed"), [("en", "12 minutes"), ("de", "15 Minuten")])
async def test_a_typed_number_answers_the_minutes_question_after_done(
    database_url: str, lang: str, typed: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15006, language_code=lang)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - h.clock.now())
        reminder = [m for m in h.stand.transcript(alex) if m.buttons][-1]
        await h.tap(alex, reminder, 0)
        replies = await h.send(alex, typed)
        assert replies[-1].plain == h.runtime.catalog.text(lang, "ui.walk.ask_pain")
        replies = await h.send(alex, "3")
        assert replies[-1].plain == h.runtime.catalog.text(lang, "ui.walk.ask_compare")
        walks = (await state(h, alex))["walks"]
        assert walks == [(int(typed.split()[0]), 3, None, None, None)]


@pytest.mark.parametrize(("lang", "no", "yes"), [("en", "no", "yes"), ("de", "nein", "ja")])
async def test_a_typed_yes_or_no_answers_the_zone_question(
    database_url: str, lang: str, no: str, yes: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15007, language_code=lang)
        await h.onboard(alex)
        await h.send(alex, "/timezone Lisbon")
        (again,) = await h.send(alex, no)
        assert again.text == h.runtime.catalog.text(lang, "ui.tz.ask")
        assert (await person_row(h, alex)).timezone == "Europe/Berlin"
        await h.send(alex, "Lisbon")
        replies = await h.send(alex, yes)
        assert "Europe/Lisbon" in replies[0].plain
        assert (await person_row(h, alex)).timezone == "Europe/Lisbon"
