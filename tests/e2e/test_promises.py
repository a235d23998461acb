"""The bot keeps its word (issue 15): buttons, typed answers and plain replies do what they say."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.models import Delivery, PainLog, Person, ReminderRule, WalkLog
from tests.e2e.harness import Harness, running_bot
from tests.stand import BotMessage
from tests.stand import Person as Who

BERLIN_8AM = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
# The red-flag lexicon alone, as the red-flag tests use it for a confirming question (the
# learned layer answers that message at once).
LEXICON = {"WALKWELL_TRIAGE_LAYER": "lexicon"}
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
    last_line = closed.plain.rsplit("\n", 1)[-1]
    if label.isdigit():  # minutes and pain scores say what the number was
        assert last_line.startswith("✓ "), (data, closed.plain)
        assert label in last_line, (data, closed.plain)
    elif "del:" not in data:  # the delete question is replaced by its answer
        assert last_line == f"✓ {label}", (data, closed.plain)
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


# -- 10. plain replies ----------------------------------------------------------------------------


async def rules(h: Harness, who: Who) -> dict[str, tuple[time | None, datetime | None]]:
    return {
        kind: (at, due) for kind, at, _, enabled, due in (await state(h, who))["rules"] if enabled
    }


@pytest.mark.parametrize(
    ("lang", "done", "later"), [("en", "done", "later"), ("de", "erledigt", "später")]
)
async def test_done_and_later_answer_the_open_reminder(
    database_url: str, lang: str, done: str, later: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15010, language_code=lang)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - h.clock.now())
        (reply,) = await h.send(alex, done)
        assert reply.plain == h.runtime.catalog.text(lang, "ui.walk.ask_minutes")
        await h.send(alex, "15")
        await h.send(alex, "2")
        assert (await state(h, alex))["walks"] == [(15, 2, None, None, None)]
        async with h.runtime.sessions() as session:
            walk = await session.scalar(select(WalkLog))
            assert walk is not None
            assert walk.delivery_id is not None
        await h.advance(timedelta(hours=11))  # the evening reminder, 19:00
        (reply,) = await h.send(alex, later)
        assert reply.plain == h.runtime.catalog.text(lang, "ui.reminder.snoozed", time="19:15")
        assert "snooze" in await rules(h, alex)


@pytest.mark.parametrize(
    ("lang", "text"), [("en", "walked 20 minutes"), ("de", "bin 20 Minuten gegangen")]
)
async def test_walked_twenty_minutes_logs_the_walk(database_url: str, lang: str, text: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15011, language_code=lang)
        await h.onboard(alex)
        (reply,) = await h.send(alex, text)
        assert reply.plain == h.runtime.catalog.text(lang, "ui.walk.ask_pain")
        assert (await state(h, alex))["walks"] == [(20, None, None, None, None)]


@pytest.mark.parametrize(
    ("lang", "text"), [("en", "I just ate"), ("de", "Ich habe gerade gegessen")]
)
async def test_i_just_ate_starts_the_after_meal_timer(
    database_url: str, lang: str, text: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15012, language_code=lang)
        await h.onboard(alex)
        (reply,) = await h.send(alex, text)
        assert reply.plain == h.runtime.catalog.text(lang, "ui.ate.set", time="07:20")
        assert (await rules(h, alex))["ate"] == (None, h.clock.now() + timedelta(minutes=20))


@pytest.mark.parametrize(
    ("lang", "text"), [("en", "my back hurts today"), ("de", "Mein Rücken tut heute weh")]
)
async def test_my_back_hurts_offers_to_log_pain(database_url: str, lang: str, text: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15013, language_code=lang)
        await h.onboard(alex)
        (offer,) = await h.send(alex, text)
        assert offer.text == h.runtime.catalog.text(lang, "ui.reply.pain_offer")
        assert len(offer.buttons) == 11
        replies = await h.tap(alex, offer, "4")
        assert replies[0].plain == h.runtime.catalog.text(lang, "ui.pain.saved", score=4)
        assert (await state(h, alex))["pains"] == [(4, False)]


@pytest.mark.parametrize(("lang", "text"), [("en", "thanks!"), ("de", "Danke 🙏")])
async def test_thanks_gets_a_kind_word_and_the_rest_the_fallback(
    database_url: str, lang: str, text: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15014, language_code=lang)
        await h.onboard(alex)
        (reply,) = await h.send(alex, text)
        assert reply.plain == h.runtime.catalog.text(lang, "ui.reply.thanks")
        (reply,) = await h.send(alex, "the weather is nice")
        assert reply.text == h.runtime.catalog.text(lang, "ui.fallback.text")


# -- 3. skip today --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_skip_today_skips_every_reminder_left_today(database_url: str, lang: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15020, language_code=lang)
        await h.onboard(alex)
        await h.send(alex, "/meals 13:00")
        await h.advance(BERLIN_8AM - h.clock.now())
        reminder = live(h, alex, "w:skip")
        (reply,) = await h.tap(alex, reminder, 2)
        weekday = h.runtime.catalog.text(lang, "ui.weekday.1")
        assert reply.plain == h.runtime.catalog.text(
            lang, "ui.reminder.skipped", next=f"{weekday} 06.01. 08:00"
        )
        sent = len([m for m in h.stand.transcript(alex) if m.buttons])
        for _ in range(16):  # the rest of the day, hour by hour
            await h.advance(timedelta(hours=1))
        assert len([m for m in h.stand.transcript(alex) if m.buttons and not m.edited]) == sent
        await h.advance(datetime(2026, 1, 6, 7, 0, tzinfo=UTC) - h.clock.now())
        assert live(h, alex, "w:done").message_id != reminder.message_id


# -- 4. /ate in quiet hours -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_ate_in_quiet_hours_promises_nothing_it_will_not_send(
    database_url: str, lang: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15021, language_code=lang)
        await h.onboard(alex)
        await h.send(alex, "/quiet 22:00-07:00")
        h.clock.set(datetime(2026, 1, 5, 20, 50, tzinfo=UTC))  # 21:50 in Berlin
        (reply,) = await h.send(alex, "/ate")
        assert reply.plain == h.runtime.catalog.text(lang, "ui.ate.quiet", time="22:10")
        assert "ate" not in await rules(h, alex)
        # near the end of quiet hours the reminder comes when they end
        h.clock.set(datetime(2026, 1, 6, 5, 30, tzinfo=UTC))  # 06:30 in Berlin
        (reply,) = await h.send(alex, "/ate")
        assert reply.plain == h.runtime.catalog.text(lang, "ui.ate.set", time="07:00")
        await h.advance(timedelta(minutes=30))
        assert any("w:done" in (d or "") for d in h.stand.transcript(alex)[-1].callback_data)


# -- 5. /schedule tells the truth -----------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_schedule_shows_the_next_reminder_that_will_really_come(
    database_url: str, lang: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15022, language_code=lang)
        t = h.runtime.catalog.text
        await h.onboard(alex)
        (plain,) = await h.send(alex, "/schedule")
        assert t(lang, "ui.schedule.btn_pause") in plain.buttons
        assert t(lang, "ui.schedule.btn_resume") not in plain.buttons
        await h.send(alex, "/pause 2 days")  # Monday and Tuesday
        (paused,) = await h.send(alex, "/schedule")
        assert t(lang, "ui.schedule.paused_until", date="06.01.2026") in paused.plain
        weekday = t(lang, "ui.weekday.2")
        assert t(lang, "ui.schedule.next", when=f"{weekday} 07.01. 08:00") in paused.plain
        assert t(lang, "ui.schedule.btn_resume") in paused.buttons
        assert t(lang, "ui.schedule.btn_pause") not in paused.buttons
        await h.send(alex, "/stop")
        (stopped,) = await h.send(alex, "/schedule")
        assert t(lang, "ui.schedule.stopped") in stopped.plain
        assert t(lang, "ui.schedule.next", when="").strip(" :") not in stopped.plain


# -- 6. meal times and "Change it" are asked, not invented ----------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_after_meals_asks_the_meal_times_and_saves_them(database_url: str, lang: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15023, language_code=lang)
        replies = await h.send(alex, "/start")
        replies = await h.tap(alex, replies[-1], 0)
        for _ in range(4):
            replies = await h.tap(alex, replies[-1], 1)
        replies = await h.send(alex, "Berlin")
        replies = await h.tap(alex, replies[-1], 0)
        replies = await h.tap(alex, replies[-1], 3)
        replies = await h.tap(alex, replies[-1], "10")
        (ask,) = await h.tap(alex, replies[-1], 1)
        assert ask.text == h.runtime.catalog.text(lang, "ui.plan.meals_ask")
        assert (await rules(h, alex)) == {}
        replies = await h.send(alex, "7:30 12:30 18:30")
        assert replies[-1].plain.startswith(
            h.runtime.catalog.text(lang, "ui.plan.done", next="")[:8]
        )
        found = {k: at for k, (at, _) in (await rules(h, alex)).items()}
        # the walks at 08:00 and 19:00 go out with the after-meal ones at 07:50 and 18:50
        assert found == {"breakfast": time(7, 30), "lunch": time(12, 30), "dinner": time(18, 30)}
        (summary,) = await h.send(alex, "/schedule")
        merged = h.runtime.catalog.text(
            lang, "ui.schedule.merged_line", label=h.runtime.catalog.text(lang, "ui.kind.morning"),
            time="08:00", delay=0, other=h.runtime.catalog.text(lang, "ui.kind.breakfast"),
        )  # fmt: skip
        assert merged in summary.plain


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_change_it_asks_for_times_and_saves_them(database_url: str, lang: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15024, language_code=lang)
        replies = await h.send(alex, "/start")
        replies = await h.tap(alex, replies[-1], 0)
        for _ in range(4):
            replies = await h.tap(alex, replies[-1], 1)
        replies = await h.send(alex, "Berlin")
        replies = await h.tap(alex, replies[-1], 0)
        replies = await h.tap(alex, replies[-1], 3)
        replies = await h.tap(alex, replies[-1], "10")
        (ask,) = await h.tap(alex, replies[-1], 2)
        assert ask.text == h.runtime.catalog.text(lang, "ui.plan.times_ask")
        assert (await rules(h, alex)) == {}
        (bad,) = await h.send(alex, "soon")
        assert bad.text == h.runtime.catalog.text(lang, "ui.err.walk_times")
        await h.send(alex, "7:00 18:00")
        found = {k: at for k, (at, _) in (await rules(h, alex)).items()}
        assert found == {"morning": time(7), "evening": time(18)}
        assert (await person_row(h, alex)).onboarding_step is None


# -- 7. /morning without an argument or with a very long one ---------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_morning_without_a_time_shows_the_current_one(database_url: str, lang: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15030, language_code=lang)
        t = h.runtime.catalog.text
        await h.onboard(alex)
        (reply,) = await h.send(alex, "/morning")
        label = t(lang, "ui.kind.morning")
        days = t(lang, "ui.days.every_day")
        assert reply.text == t(
            lang, "ui.schedule.current", label=label, time="08:00", days=days, command="/morning"
        )
        await h.send(alex, "/evening off")
        (reply,) = await h.send(alex, "/evening")
        label = t(lang, "ui.kind.evening")
        assert reply.text == t(lang, "ui.schedule.unset", label=label, command="/evening")
        before = (await state(h, alex))["rules"]
        (reply,) = await h.send(alex, "/morning " + "x" * 3000)
        assert reply.text == t(lang, "ui.err.arg_too_long", command="/morning")
        assert (await state(h, alex))["rules"] == before


# -- 8. streaks, defined once and pluralised ------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_progress_and_the_weekly_summary_agree_on_the_streak(
    database_url: str, lang: str
) -> None:
    from jobs.chores import weekly_summaries

    async with running_bot(database_url) as h:
        alex = h.stand.person(15031, language_code=lang)
        t = h.runtime.catalog.text
        await h.onboard(alex)
        await h.send(alex, "/morning off")
        await h.send(alex, "/evening off")
        h.clock.set(datetime(2026, 1, 8, 11, 0, tzinfo=UTC))  # Thursday
        await h.send(alex, "/log 10 2")
        replies = await h.send(alex, "/progress")
        text = t(lang, "ui.progress.text", streak=1, week_minutes=10, week_walks=1, target=10)
        assert replies[-1].text == text
        assert "1 walking day " in t(
            "en", "ui.progress.text", streak=1, week_minutes=1, week_walks=1, target=1
        )
        assert "1 walk\n" in t(
            "en", "ui.progress.text", streak=1, week_minutes=1, week_walks=1, target=1
        )
        h.clock.set(datetime(2026, 1, 9, 11, 0, tzinfo=UTC))  # Friday
        await h.send(alex, "/log 10 2")
        h.clock.set(datetime(2026, 1, 11, 17, 10, tzinfo=UTC))  # Sunday, 18:10 in Berlin
        photo, words = await h.send(alex, "/progress")
        assert photo.kind == "photo"
        assert words.text == t(
            lang, "ui.progress.text", streak=2, week_minutes=20, week_walks=2, target=10
        )
        assert await weekly_summaries(h.runtime, h.clock.now()) == 1
        await h.tick()
        summary = h.stand.transcript(alex)[-1]
        assert summary.text == t(
            lang, "ui.weekly.summary", week_minutes=20, week_walks=2, streak=2, target=10,
            emergency_number="112",
        )  # fmt: skip


# -- 9. the flood limit ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_taps_do_not_count_and_a_refusal_says_when_to_try_again(
    database_url: str, lang: str
) -> None:
    async with running_bot(database_url, WALKWELL_FLOOD_PER_MINUTE=4) as h:
        alex = h.stand.person(15040, language_code=lang)
        t = h.runtime.catalog.text
        await h.onboard(alex)  # two messages and nine taps within the minute
        (reply,) = await h.send(alex, "/help")
        assert reply.text == t(lang, "ui.help.text")
        (reply,) = await h.send(alex, "/help")
        assert reply.text == t(lang, "ui.help.text")
        (refused,) = await h.send(alex, "/schedule")
        prefix, _, suffix = t(lang, "ui.err.flood", seconds=999).partition("999")
        assert refused.plain.startswith(prefix)
        assert refused.plain.endswith(suffix)
        seconds = int(refused.plain[len(prefix) : -len(suffix)])
        assert 1 <= seconds <= 60


# -- 11. reminders close together go out as one message -------------------------------------------


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_a_day_with_after_meal_reminders_brings_three_messages_not_five(
    database_url: str, lang: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15050, language_code=lang)
        t = h.runtime.catalog.text
        await h.onboard(alex)
        replies = await h.send(alex, "/meals 08:00 13:00 19:00")
        start = len(h.stand.transcript(alex))
        for hour, minute in ((7, 0), (7, 20), (12, 20), (18, 0), (18, 20), (23, 0)):  # UTC
            await h.advance(datetime(2026, 1, 5, hour, minute, tzinfo=UTC) - h.clock.now())
        sent = [m for m in h.stand.transcript(alex)[start:] if m.buttons]
        assert len(sent) == 3
        async with h.runtime.sessions() as session:
            kinds = await session.scalars(
                select(Delivery.reminder_kind).where(Delivery.kind == "reminder")
            )
            assert sorted(k or "" for k in kinds) == ["evening", "lunch", "morning"]
        notes = [
            t(lang, "ui.schedule.merged", label=t(lang, f"ui.kind.{meal}"), other=t(lang, f"ui.kind.{walk}"))
            for meal, walk in (("breakfast", "morning"), ("dinner", "evening"))
        ]  # fmt: skip
        assert sorted(r.text for r in replies[1:]) == sorted(notes)
        # turning the morning walk off brings the breakfast reminder back on its own
        await h.send(alex, "/morning off")
        assert "breakfast" in await rules(h, alex)


@pytest.mark.parametrize("lang", ["en", "de"])
async def test_a_daily_limit_the_person_can_change(database_url: str, lang: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15051, language_code=lang)
        t = h.runtime.catalog.text
        await h.onboard(alex)
        (current,) = await h.send(alex, "/limit")
        assert current.text == t(lang, "ui.limit.current", count=3)
        replies = await h.send(alex, "/meals 07:00 13:00 16:00")  # five reminders a day
        held = [
            t(lang, "ui.schedule.held", label=t(lang, f"ui.kind.{k}"), count=3)
            for k in ("lunch", "dinner")
        ]
        assert [r.text for r in replies[1:]] == held
        start = len(h.stand.transcript(alex))
        await h.advance(datetime(2026, 1, 5, 23, 0, tzinfo=UTC) - h.clock.now())
        for hour, minute in ((6, 20), (7, 0), (12, 20), (15, 20), (18, 0), (23, 0)):  # UTC
            await h.advance(datetime(2026, 1, 6, hour, minute, tzinfo=UTC) - h.clock.now())
        assert len([m for m in h.stand.transcript(alex)[start:] if m.buttons]) == 3
        (bad,) = await h.send(alex, "/limit 0")
        assert bad.text == t(lang, "ui.err.limit")
        (done,) = await h.send(alex, "/limit 5")
        assert done.text == t(lang, "ui.limit.set", count=5)
        start = len(h.stand.transcript(alex))
        for hour, minute in ((6, 20), (7, 0), (12, 20), (15, 20), (18, 0), (23, 0)):
            await h.advance(datetime(2026, 1, 7, hour, minute, tzinfo=UTC) - h.clock.now())
        assert len([m for m in h.stand.transcript(alex)[start:] if m.buttons]) == 5


async def test_a_question_of_ours_never_hides_a_red_flag_confirmation(database_url: str) -> None:
    async with running_bot(database_url, **LEXICON) as h:
        alex = h.stand.person(15060)
        await h.onboard(alex)
        await h.advance(BERLIN_8AM - h.clock.now())
        reminder = live(h, alex, "w:done")
        await h.send(alex, "not sure if I wet myself")  # a confirming question (yes / no)
        await h.tap(alex, reminder, 0)  # Done: how many minutes?
        replies = await h.send(alex, "yes")  # answers the safety question, not ours
        assert "112" in replies[0].plain


async def test_text_during_a_button_question_keeps_its_buttons_working(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15061, language_code="de")
        replies = await h.send(alex, "/start")
        replies = await h.tap(alex, replies[-1], 0)
        for _ in range(4):
            replies = await h.tap(alex, replies[-1], 1)
        replies = await h.send(alex, "Berlin")
        (effect,) = [m for m in await h.tap(alex, replies[-1], 0) if m.buttons]
        (hint,) = await h.send(alex, "hallo?")
        assert hint.text == h.runtime.catalog.text("de", "ui.err.use_buttons")
        replies = await h.tap(alex, effect, 3)
        assert replies[-1].text == h.runtime.catalog.text("de", "ui.profile.minutes")


async def test_the_other_buttons_tapped_twice_change_nothing_the_second_time(
    database_url: str,
) -> None:
    from tests.e2e.harness import ADMIN_ID

    async with running_bot(database_url) as h:
        alex, sam = h.stand.person(15070, "Alex"), h.stand.person(15071, "Sam")
        admin = h.stand.person(ADMIN_ID, "Op")
        # onboarding with "Yes, after meals" and then "No meal reminders"
        replies = await h.send(alex, "/start")
        replies = await h.tap(alex, replies[-1], 0)
        for _ in range(4):
            replies = await h.tap(alex, replies[-1], 1)
        (choose,) = [m for m in await h.send(alex, "Springfield") if m.buttons]
        replies = await tap_twice(h, alex, choose, 0)  # one of several places
        replies = await h.tap(alex, replies[-1], 0)
        replies = await h.tap(alex, replies[-1], "10")
        (meals,) = await tap_twice(h, alex, replies[-1], 1)
        await tap_twice(h, alex, meals, 0)
        assert (await person_row(h, alex)).onboarding_step is None
        # "my back hurts" -> a pain score; "Other" minutes after Done
        (offer,) = await h.send(alex, "my back hurts today")
        await tap_twice(h, alex, offer, "3")
        (ask,) = await h.send(alex, "done")
        await tap_twice(h, alex, ask, len(ask.buttons) - 1)  # Other: type it
        # the trusted contact's invitation
        (invite,) = await h.send(alex, "/contact")
        code = next(w for w in invite.plain.split() if "start=" in w).split("start=")[1]
        (question,) = await h.send(sam, f"/start {code}")
        await tap_twice(h, sam, question, 0)
        assert (await person_row(h, alex)).contact_chat_id == sam.user_id
        # an operator's broadcast
        _, preview = await h.send(admin, "/broadcast Closed on Friday")
        await tap_twice(h, admin, preview, 0)
        await h.tick()
        async with h.runtime.sessions() as session:
            sent = await session.scalars(select(Delivery.id).where(Delivery.kind == "broadcast"))
            assert len(list(sent)) == 2  # the draft and one copy for Alex
        # /delete, confirmed: a second tap has nothing left to delete
        (confirm,) = await h.send(alex, "/delete")
        await tap_twice(h, alex, confirm, 0)
        assert await state(h, alex) == {}


async def test_forged_data_on_a_live_question_leaves_its_keyboard(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15080)
        await h.onboard(alex)
        (choose,) = await h.send(alex, "/language")
        for data in ("w:done:999", "lang:0000:de", "x" * 64):
            query = await h.tap_again(alex, choose, data)
            answer = h.stand.answer_to(query)
            assert answer is not None
            assert answer.text
        current = h.stand.current(choose)
        assert current is not None
        assert current.buttons == choose.buttons
        await h.tap(alex, choose, 1)  # the real answer still works
        assert (await person_row(h, alex)).language == "de"


@pytest.mark.parametrize(("lang", "typed", "worse"), [("en", "no", False), ("de", "ja", True)])
async def test_a_typed_yes_or_no_answers_the_morning_question(
    database_url: str, lang: str, typed: str, worse: bool
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(15090, language_code=lang)
        t = h.runtime.catalog.text
        await h.onboard(alex)
        await h.send(alex, "/log 15 2")
        await h.tap(alex, h.stand.transcript(alex)[-1], 1)
        await h.advance(datetime(2026, 1, 6, 8, 0, tzinfo=UTC) - h.clock.now())  # 09:00
        question = live(h, alex, "mc:")
        replies = await h.send(alex, typed)
        assert replies[0].text == t(lang, "ui.morning_check.thanks")
        assert (await state(h, alex))["walks"][0][4] is worse
        (again,) = await h.send(alex, typed)  # answered once: the next one is just text
        assert again.text == t(lang, "ui.fallback.text")
        assert question.buttons
