"""Safety flows a clinic can trust (issue 14), driven through the stand as a person and a clinic.

Every test here failed on the code before this change (see the commit messages for how each
was seen failing), except where a comment says it guards a new path.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.models import Escalation, Person
from tests.e2e.harness import ADMIN_ID, ESCALATION_CHAT, Harness, running_bot
from tests.stand import BotMessage
from tests.stand import Person as Someone

EMERGENCY = "since this morning I can't pee and it's numb between my legs"
FEVER = "I've had a fever of 39 and chills with this back pain"
BERLIN_8AM = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


def t(h: Harness, lang: str, key: str, **params: object) -> str:
    return h.runtime.catalog.text(lang, key, **params)


def plain(h: Harness, lang: str, key: str, **params: object) -> str:
    """A catalogue text as the person sees it (tags and entities gone)."""
    return html.unescape(re.sub(r"<[^>]+>", "", t(h, lang, key, **params)))


async def escalations(h: Harness) -> list[Escalation]:
    async with h.runtime.sessions() as session:
        return list(await session.scalars(select(Escalation).order_by(Escalation.id)))


async def person_row(h: Harness, who: Someone) -> Person:
    async with h.runtime.sessions() as session:
        found = await session.scalar(select(Person).where(Person.telegram_user_id == who.user_id))
    assert found is not None
    return found


def reminders(h: Harness, who: Someone) -> list[BotMessage]:
    return [
        m
        for m in h.stand.transcript(who)
        if any((d or "").startswith("w:done:") for d in m.callback_data)
    ]


def clinic(h: Harness) -> list[BotMessage]:
    return h.stand.transcript(ESCALATION_CHAT)


# -- 1. a real number or place to call, wherever the person is ------------------------------------
@pytest.mark.parametrize(
    ("place", "emergency"),
    [("New York", "911"), ("Dublin", "112"), (None, "112 (or your local emergency number)")],
)
async def test_urgent_advice_sos_and_redflags_name_a_real_number_or_place(
    database_url: str, place: str | None, emergency: str
) -> None:
    async with running_bot(database_url) as h:
        sam = h.stand.person(4101, "Sam")
        if place is not None:
            await h.onboard(sam, place=place)
        # (no place: someone who writes before /start; their country is not known)
        (urgent,) = await h.send(sam, FEVER)
        (sos,) = await h.send(sam, "/sos")
        (listing,) = await h.send(sam, "/redflags")
        phrase = t(h, "en", "redflags.urgent_fallback")
        for message in (urgent, sos, listing):
            assert "redflags." not in message.plain
            assert "{" not in message.plain
            assert phrase in message.plain
            assert f"call {emergency}" in message.plain.replace("Call", "call")
        assert (
            urgent.plain.splitlines()[0]
            == f"🟠 Please get checked by a doctor today: contact {phrase}."
        )


# -- 2. the pain-spike screen: first and alone ------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "de"])
async def test_the_pain_spike_screen_comes_first_and_alone_and_the_rest_waits(
    database_url: str, lang: str
) -> None:
    async with running_bot(database_url) as h:
        kim = h.stand.person(4201, "Kim", language_code=lang)
        await h.onboard(kim)
        (screen,) = await h.send(kim, "/pain 8")  # one message: the screen, nothing else
        assert screen.buttons == [
            t(h, lang, "redflags.btn.no_to_all"),
            t(h, lang, "redflags.btn.yes_to_one"),
        ]
        for i in (1, 2, 3):
            assert plain(h, lang, f"redflags.spike.q{i}") in screen.plain
        await h.advance(timedelta(minutes=10))  # nothing else arrives while it waits
        assert h.stand.transcript(kim)[-1] == screen
        after = await h.tap(kim, screen, t(h, lang, "redflags.btn.no_to_all"))
        assert [m.plain for m in after] == [
            plain(h, lang, "redflags.checklist.none"),
            plain(h, lang, "ui.pain.saved", score=8),
            plain(h, lang, "ui.pain.flare_offer"),
        ]
        offer = after[-1]
        assert offer.buttons == [t(h, lang, "ui.btn.gentle_yes"), t(h, lang, "ui.btn.gentle_no")]
        (started,) = await h.tap(kim, offer, 0)  # gentle mode on, without a second screen
        assert started.plain == plain(h, lang, "ui.flare.started")
        assert await escalations(h) == []


async def test_a_typed_no_answers_the_spike_screen_and_a_typed_yes_asks_which(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        kim = h.stand.person(4204, "Kim")
        await h.onboard(kim)
        await h.send(kim, "/pain 8")
        after = await h.send(kim, "no")
        assert [m.plain for m in after][:2] == [
            plain(h, "en", "redflags.checklist.none"),
            plain(h, "en", "ui.pain.saved", score=8),
        ]
        await h.send(kim, "/pain 9")
        (which,) = await h.send(kim, "not sure")  # "not sure" counts as yes
        assert which.buttons == ["Peeing or pooing", "Numb between my legs", "Both legs"]


async def test_an_unanswered_spike_screen_times_out_into_the_safety_net_line(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        kim = h.stand.person(4202, "Kim")
        await h.onboard(kim)
        (screen,) = await h.send(kim, "/pain 9")
        await h.advance(timedelta(minutes=15))
        (net,) = h.stand.transcript(kim)[-1:]
        assert net.plain == plain(h, "en", "redflags.safety_net", emergency_number="112")
        assert [m for m in h.stand.transcript(kim) if "9/10" in m.plain] == []


async def test_a_yes_on_the_spike_screen_gives_the_number_then_the_message_for_that_sign(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        kim = h.stand.person(4203, "Kim")
        await h.onboard(kim)
        (screen,) = await h.send(kim, "/pain 9")
        (which,) = await h.tap(kim, screen, "Yes to one or more")
        assert "112" in which.plain.splitlines()[0]
        assert which.buttons == ["Peeing or pooing", "Numb between my legs", "Both legs"]
        (message, *_) = await h.tap(kim, which, "Both legs")
        assert message.plain.startswith("⚠️ Please call 112")
        (esc,) = await escalations(h)
        assert (esc.tier, esc.flags) == ("emergency", "E5")
        assert "Symptoms in both legs" in clinic(h)[-1].plain
        await h.advance(timedelta(minutes=20))  # answered: no safety line, no second alert
        assert len(clinic(h)) == 1


# -- 3. closing an episode --------------------------------------------------------------------------
async def test_one_tap_does_not_end_an_emergency(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4301)
        await h.onboard(alex)
        (message,) = await h.send(alex, "I think I'm losing control of my bladder")
        (question,) = await h.tap(alex, message, "Checked, all clear")
        assert question.plain == plain(h, "en", "safety.close.ask_examined")
        assert question.buttons == ["Yes, I was examined", "No, not yet"]
        await h.advance(BERLIN_8AM - h.clock.now())  # the morning walk is still held
        assert reminders(h, alex) == []
        (esc,) = await escalations(h)
        assert esc.status == "closing"


async def test_closing_an_emergency_asks_two_short_questions_and_tells_the_clinic(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4302, "Alex", username="alex_w")
        await h.onboard(alex)
        (message,) = await h.send(alex, EMERGENCY)
        (examined,) = await h.tap(alex, message, "Checked, all clear")
        (walking,) = await h.tap(alex, examined, "Yes, I was examined")
        assert walking.plain == plain(h, "en", "safety.close.ask_walking")
        assert walking.buttons == ["Walking is fine", "Take it easy for now", "They didn't say"]
        closed = await h.tap(alex, walking, "Take it easy for now")
        assert [m.plain for m in closed] == [
            plain(h, "en", "safety.close.closed"),
            plain(h, "en", "safety.close.resumed_gently"),
        ]
        (esc,) = await escalations(h)
        assert esc.status == "resolved"
        note = clinic(h)[-1]
        assert note.plain.startswith("✅ Closed (Emergency: New bladder change")
        assert "examined them since. About walking: take it easy for now." in note.plain
        assert "@alex_w" in note.plain
        person = await person_row(h, alex)
        assert person.open_tier is None
        assert person.programme is not None
        assert person.programme["frozen_until"] is not None
        await h.advance(BERLIN_8AM - h.clock.now())
        assert len(reminders(h, alex)) == 1


async def test_not_yet_examined_keeps_the_episode_open(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4303)
        await h.onboard(alex)
        (message,) = await h.send(alex, FEVER)  # urgent: closing it needs the same questions
        (examined,) = await h.tap(alex, message, "Checked, all clear")
        (urge,) = await h.tap(alex, examined, "No, not yet")
        assert urge.plain == plain(
            h, "en", "safety.close.urge_help", emergency_number="112", urgent_number="116117"
        )
        (esc,) = await escalations(h)
        assert esc.status == "open"
        assert len(clinic(h)) == 1  # the alert; nothing was closed


async def test_i_didnt_mean_that_asks_once_which_part_was_a_mistake(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4304)
        await h.onboard(alex)
        (message,) = await h.send(alex, EMERGENCY)
        (esc,) = await escalations(h)
        flags = esc.flags.split(",")
        assert len(flags) >= 2
        (ask,) = await h.tap(alex, message, "I didn't mean that")
        assert "Which part was a mistake?" in ask.plain
        assert "1. New bladder change (possible cauda equina)" in ask.plain
        assert ask.buttons == [
            *(f"Only {i}" for i in range(1, len(flags) + 1)),
            "All of it",
            "Nothing, it's real",
        ]
        (esc,) = await escalations(h)
        assert esc.status == "correcting"  # nothing closed by the first tap
        (dropped,) = await h.tap(alex, ask, "Only 1")
        assert dropped.plain == plain(h, "en", "safety.correct.dropped")
        (esc,) = await escalations(h)
        assert (esc.status, esc.flags) == ("open", ",".join(flags[1:]))
        assert "One sign taken off: New bladder change" in clinic(h)[-1].plain
        (ask,) = await h.tap(alex, message, "I didn't mean that")
        (withdrawn,) = await h.tap(alex, ask, "All of it")
        assert withdrawn.plain == plain(h, "en", "redflags.ack.didnt_mean", emergency_number="112")
        (esc,) = await escalations(h)
        assert esc.status == "withdrawn"
        assert "the message was a mistake" in clinic(h)[-1].plain
        (stale,) = await h.tap(alex, ask, "Nothing, it's real")  # an old question does nothing
        assert stale.plain == plain(h, "en", "ui.err.stale_button")


# -- 4. a sign a doctor has already checked ---------------------------------------------------------
async def test_a_known_already_checked_symptom_can_finish_onboarding_and_is_asked_again(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        jo = h.stand.person(4401, "Jo")
        replies = await h.send(jo, "/start")
        replies = await h.tap(jo, replies[-1], 0)  # consent
        (ask,) = await h.tap(jo, replies[-1], "Yes")  # q1: a change in peeing
        assert ask.plain == plain(h, "en", "safety.known.ask")
        assert ask.buttons == ["It's new or worse", "A doctor checked it"]
        noted, q2 = await h.tap(jo, ask, "A doctor checked it")
        assert noted.plain == plain(h, "en", "safety.known.noted")
        replies = [q2]
        for _ in range(3):
            replies = await h.tap(jo, replies[-1], "No")
        replies = await h.send(jo, "Berlin")
        replies = await h.tap(jo, replies[-1], 0)
        replies = await h.tap(jo, replies[-1], 3)
        replies = await h.tap(jo, replies[-1], "10")
        await h.tap(jo, replies[-1], 0)
        assert await escalations(h) == []
        (again,) = await h.send(jo, "/start")  # set up, not stuck in the middle
        assert "Welcome back! We were in the middle" not in again.plain
        person = await person_row(h, jo)
        assert person.onboarding_step is None
        assert person.programme is not None
        assert person.programme["held"] is True
        await h.advance(BERLIN_8AM - h.clock.now())
        assert len(reminders(h, jo)) == 1  # reminders started
        # The same sign again: asked whether it is new or worse, not alarmed at once.
        (recheck,) = await h.send(jo, "I keep leaking urine")
        assert recheck.plain == plain(h, "en", "safety.known.changed")
        (same,) = await h.tap(jo, recheck, "No")
        assert same.plain == plain(h, "en", "safety.known.same", emergency_number="112")
        assert await escalations(h) == []
        (recheck,) = await h.send(jo, "I keep leaking urine")
        (message, *_) = await h.tap(jo, recheck, "Not sure")  # "not sure" counts as yes
        assert message.plain.startswith("⚠️ Please call 112")


async def test_nobody_without_reminders_is_told_their_reminders_are_paused(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        new = h.stand.person(4402, "Nia")
        (before_start,) = await h.send(new, EMERGENCY)  # before /start: no reminders at all
        assert "paused" not in before_start.plain
        assert before_start.plain.endswith(plain(h, "en", "redflags.tail.emergency_none"))
        lee = h.stand.person(4403, "Lee")
        replies = await h.send(lee, "/start")
        replies = await h.tap(lee, replies[-1], 0)
        (ask,) = await h.tap(lee, replies[-1], "Yes")
        (message,) = await h.tap(lee, ask, "It's new or worse")  # onboarding: no reminders yet
        assert message.plain.startswith("⚠️ Please call 112")
        assert "paused" not in message.plain
        # Closing it: no "your reminders are back on" either.
        (examined,) = await h.tap(lee, message, "Checked, all clear")
        (walking,) = await h.tap(lee, examined, "Yes, I was examined")
        closed = await h.tap(lee, walking, "Walking is fine")
        assert closed[-1].plain == plain(h, "en", "safety.close.resumed_none")


# -- 5. an alert the clinic can act on --------------------------------------------------------------
@pytest.mark.parametrize("clinic_language", ["en", "de"])
async def test_the_clinic_alert_says_who_how_to_reach_them_and_what_they_were_told(
    database_url: str, clinic_language: str
) -> None:
    async with running_bot(database_url, WALKWELL_CLINIC_LANGUAGE=clinic_language) as h:
        jurgen = h.stand.person(4501, "Jürgen", language_code="de", username="juergen_k")
        await h.onboard(jurgen)
        words = "ich kann seit heute früh nicht mehr pinkeln"
        await h.send(jurgen, words)
        (alert,) = clinic(h)
        text = alert.plain
        assert "Jürgen @juergen_k" in text
        links = [e.get("url") for e in alert.entities if e.get("type") == "text_link"]
        assert links == ["tg://user?id=4501"]  # tapping the name opens the chat
        assert "Deutsch" in text  # their language
        assert "DE" in text  # their country
        assert "07:00 (Europe/Berlin)" in text  # their local time
        assert "112" in text  # the number they were given
        assert words in text  # their words, quoted
        label = t(h, clinic_language, "redflags.E1.label")
        assert label in text  # the flag in words, not a code
        assert "E1" not in text
        if clinic_language == "de":
            assert text.startswith("🚨 Warnzeichen: Notfall")
            assert "Sprache: Deutsch · Land: DE · Ortszeit: 07:00" in text
        else:
            assert text.startswith("🚨 Red flag: Emergency")
            assert "They were told to call 112." in text


async def test_no_no_response_alert_when_the_person_wrote_after_the_check_in(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4502)
        await h.onboard(alex)
        await h.send(alex, EMERGENCY)  # 06:00 UTC
        await h.advance(timedelta(hours=1))  # the 1-hour check-in goes out at 07:00
        await h.advance(timedelta(minutes=30))
        await h.send(alex, "ok, on my way to the hospital now")  # typed, not a button
        await h.advance(timedelta(minutes=30))  # 08:00: no "no response" alert
        assert len(clinic(h)) == 1


async def test_the_no_response_alert_counts_from_the_check_in_it_was_about(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4503, "Alex", username="alexw")
        await h.onboard(alex)
        (message,) = await h.send(alex, EMERGENCY)  # 06:00 UTC
        h.clock.set(h.clock.now() + timedelta(minutes=30))
        await h.tap(alex, message, "I'm getting help")  # 06:30: an answer before the check-in
        await h.advance(timedelta(minutes=30))  # 07:00 check-in, then silence
        await h.advance(timedelta(hours=1))
        alert = clinic(h)[-1]
        assert alert.plain.startswith("⏰ No response since the check-in at 07:00 UTC")
        assert "06:00" not in alert.plain.splitlines()[0]
        assert "@alexw" in alert.plain


async def test_the_operators_list_of_open_episodes_says_the_flags_in_words(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4504, "Alex")
        nurse = h.stand.person(ADMIN_ID, "Nurse")
        await h.onboard(alex)
        await h.send(alex, FEVER)
        (line,) = await h.send(nurse, "/escalations")
        assert line.plain.startswith("Same day Fever or infection risk with back pain")
        assert "U1" not in line.plain
        links = [e.get("url") for e in line.entities if e.get("type") == "text_link"]
        assert links == ["tg://user?id=4504"]


async def test_a_clinic_language_the_catalogue_lacks_stops_start_up_with_one_line() -> None:
    from bot.app import build_runtime
    from bot.config import ConfigError, load_settings

    settings = load_settings(WALKWELL_CLINIC_LANGUAGE="fr", DATABASE_URL="sqlite+aiosqlite://")
    with pytest.raises(ConfigError, match="^WALKWELL_CLINIC_LANGUAGE must be one of en, de$"):
        build_runtime(settings)
    with pytest.raises(ConfigError, match="^WALKWELL_CLINIC_LANGUAGE must be a language code"):
        load_settings(WALKWELL_CLINIC_LANGUAGE="English please")


async def test_not_yet_repeats_the_most_serious_sign_the_episode_holds(database_url: str) -> None:
    """A see-soon sign first, then an emergency: 'Not yet' at the check-in repeats the 112 one."""
    async with running_bot(database_url, WALKWELL_TRIAGE_LAYER="lexicon") as h:
        alex = h.stand.person(4320)
        await h.onboard(alex)
        await h.send(alex, "pins and needles down my left leg for weeks")
        (answer,) = await h.send(alex, EMERGENCY)
        before = len(h.stand.transcript(alex))
        await h.advance(timedelta(hours=1))
        checkin = h.stand.transcript(alex)[before]
        (again,) = await h.tap(alex, checkin, "Not yet")
        assert again.plain.splitlines()[:2] == answer.plain.splitlines()[:2]  # the 112 answer
        (esc,) = await escalations(h)
        assert esc.tier == "emergency"


@pytest.mark.parametrize(
    ("lang", "typed", "number"),
    [
        ("en", "I'm not sure, should I go?", "112"),
        ("de", "muss ich wirklich ins krankenhaus?", "112"),
    ],
)
async def test_words_typed_during_an_emergency_get_the_way_to_help_not_the_walking_pointer(
    database_url: str, lang: str, typed: str, number: str
) -> None:
    async with running_bot(database_url, WALKWELL_TRIAGE_LAYER="lexicon") as h:
        alex = h.stand.person(4330, language_code=lang)
        await h.onboard(alex)
        (answer,) = await h.send(alex, EMERGENCY)
        (reply,) = await h.send(alex, typed)
        assert reply.plain == plain(
            h, lang, "safety.live.emergency", emergency_number=number, urgent_number="116117"
        )
        assert reply.buttons == answer.buttons  # the episode's own: getting help, checked, mistake
        assert plain(h, lang, "ui.fallback.text") not in reply.plain
