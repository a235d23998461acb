"""Red flags win: the answer comes first, reminders stop, a human is alerted, follow-ups arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.models import Delivery, Escalation, Person
from tests.e2e.harness import ADMIN_ID, ESCALATION_CHAT, Harness, running_bot

BERLIN_8AM = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
EMERGENCY = "since this morning I can't pee and it's numb between my legs"
# The confirming-question flow, on the lexicon's own reading: it asks about a hedged symptom
# ("not sure if I wet myself"), where the learned layer may answer at once (tests/e2e/test_detector.py).
HEDGE_ASKS = {"WALKWELL_TRIAGE_LAYER": "lexicon"}


def reminders(h: Harness, who) -> list:  # type: ignore[no-untyped-def]
    return [
        m
        for m in h.stand.transcript(who)
        if any((d or "").startswith("w:done:") for d in m.callback_data)
    ]


def tier_text(h: Harness, lang: str, flag: str, number: str, tail: str = "paused") -> str:
    """An emergency message as a person with reminders (or without: tail="none") sees it."""
    catalog = h.runtime.catalog
    body = catalog.text(lang, f"redflags.{flag}.message", emergency_number=number)
    return f"{body}\n{catalog.text(lang, f'redflags.tail.emergency_{tail}')}"


async def escalations(h: Harness) -> list[Escalation]:
    async with h.runtime.sessions() as session:
        return list(await session.scalars(select(Escalation).order_by(Escalation.id)))


async def test_an_emergency_message_gets_the_emergency_answer_first_and_alerts_the_clinic(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3001)
        await h.onboard(alex)
        replies = await h.send(alex, EMERGENCY)
        assert len(replies) == 1
        (esc,) = await escalations(h)
        flag = esc.flags.split(",")[0]
        assert replies[0].text == tier_text(h, "en", flag, "112")
        assert "112" in "\n".join(replies[0].plain.splitlines()[:2])  # the number comes first
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        assert EMERGENCY.split(" and ")[0] in alert.plain
        assert alert.callback_data == [f"op:ack:{esc.id}"]
        assert esc.tier == "emergency"
        assert "E1" in esc.flags


async def test_reminders_stop_during_an_emergency_and_check_ins_follow(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3002)
        await h.onboard(alex)
        await h.send(alex, EMERGENCY)  # at 06:00 UTC
        before = len(h.stand.transcript(alex))
        # 07:00 UTC is one hour later, and 08:00 in Berlin, when the morning walk was due.
        await h.advance(BERLIN_8AM - h.clock.now())
        assert reminders(h, alex) == []
        (checkin,) = h.stand.transcript(alex)[before:]
        assert checkin.text == h.runtime.catalog.text(
            "en", "redflags.checkin.emergency_1h", emergency_number="112"
        )
        assert len(checkin.buttons) == 3
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1
        # No answer for another hour: a second message to the person and a "no response" alert.
        await h.advance(timedelta(hours=1))
        assert len(h.stand.transcript(alex)) == before + 2
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 2


async def test_an_answer_to_the_check_in_stops_the_no_response_alert(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3013)
        await h.onboard(alex)
        await h.send(alex, EMERGENCY)
        await h.advance(timedelta(hours=1))
        await h.tap(alex, h.last(alex), 0)  # "I'm getting help"
        await h.advance(timedelta(hours=1))
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1


async def test_all_clear_resumes_reminders(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3003)
        await h.onboard(alex)
        (message,) = await h.send(alex, EMERGENCY)
        (examined,) = await h.tap(alex, message, "Checked, all clear")
        (walking,) = await h.tap(alex, examined, "Yes, I was examined")
        await h.tap(alex, walking, "Walking is fine")
        (esc,) = await escalations(h)
        assert esc.status == "resolved"
        await h.advance(BERLIN_8AM - h.clock.now())
        assert len(reminders(h, alex)) == 1


async def test_the_alert_survives_a_429_from_telegram(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3004)
        await h.onboard(alex)
        h.stand.fail_next("sendMessage", 429, retry_after=1, count=2)
        await h.stand.send(alex, EMERGENCY)
        await h.stand.wait_for(lambda: h.stand.transcript(ESCALATION_CHAT), timeout=15)
        await h.settle()
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1
        assert len([m for m in h.stand.transcript(alex) if "112" in m.plain]) == 1


async def test_an_unsent_alert_is_sent_after_a_restart(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3005)
        await h.onboard(alex)
        h.stand.fail_next("sendMessage", 500, count=1000)  # Telegram is down: nothing gets through
        await h.stand.send(alex, EMERGENCY)
        await h.stand.wait_for(
            lambda: h.stand.calls_to("sendMessage")[-1].status == 500, timeout=10
        )
    # The bot restarts (the stored outbox rows are claimed again once their lease runs out).
    async with running_bot(
        database_url, start=h.clock.now() + timedelta(minutes=3), people=(alex,)
    ) as h2:
        await h2.tick()
        assert len(h2.stand.transcript(ESCALATION_CHAT)) == 1
        assert any("112" in m.plain for m in h2.stand.transcript(alex))


async def test_acknowledgement_is_recorded_with_who_and_when(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3006)
        nurse = h.stand.person(ADMIN_ID, "Nurse")
        await h.onboard(alex)
        await h.send(alex, EMERGENCY)
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        await h.stand.tap(nurse, alert, 0)
        await h.settle()
        (esc,) = await escalations(h)
        assert esc.acknowledged_by == ADMIN_ID
        assert esc.acknowledged_at == h.clock.now()


async def test_a_red_flag_wins_during_onboarding_even_before_consent(database_url: str) -> None:
    async with running_bot(database_url) as h:
        sam = h.stand.person(3007)
        await h.send(sam, "/start")
        replies = await h.send(sam, "both my legs went numb and weak today")
        assert "112" in replies[0].plain
        assert len(h.stand.transcript(ESCALATION_CHAT)) == 1


async def test_german_emergency_message_gets_the_german_answer(database_url: str) -> None:
    async with running_bot(database_url) as h:
        anna = h.stand.person(3008, "Anna", language_code="de")
        await h.onboard(anna)
        replies = await h.send(anna, "ich kann seit heute früh nicht mehr pinkeln")
        (esc,) = await escalations(h)
        assert esc.tier == "emergency"
        flag = esc.flags.split(",")[0]
        assert replies[0].text == tier_text(h, "de", flag, "112")


async def test_an_unclear_message_gets_one_confirming_question_and_not_sure_counts_as_yes(
    database_url: str,
) -> None:
    async with running_bot(database_url, **HEDGE_ASKS) as h:
        alex = h.stand.person(3009)
        await h.onboard(alex)
        (question,) = await h.send(alex, "not sure if I wet myself")
        assert len(question.buttons) == 3
        replies = await h.tap(alex, question, 2)  # "Not sure"
        assert "112" in replies[0].plain
        (esc,) = await escalations(h)
        assert esc.tier == "emergency"


async def test_benign_back_pain_talk_raises_nothing(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3010)
        await h.onboard(alex)
        await h.send(alex, "walked 20 minutes, back a bit stiff but fine")
        assert await escalations(h) == []
        assert h.stand.transcript(ESCALATION_CHAT) == []


async def test_symptoms_checklist_asks_one_flag_at_a_time(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3011)
        await h.onboard(alex)
        replies = await h.send(alex, "/symptoms")
        question = replies[-1]
        replies = await h.tap(alex, question, 1)  # no to E1
        replies = await h.tap(alex, replies[-1], 0)  # yes to E2
        assert "112" in replies[0].plain
        (esc,) = await escalations(h)
        assert esc.flags.startswith("E2")


async def test_reminders_held_while_open_are_not_sent_even_in_the_database(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3012)
        await h.onboard(alex)
        await h.send(alex, EMERGENCY)
        await h.advance(BERLIN_8AM - h.clock.now())
        async with h.runtime.sessions() as session:
            sent = list(await session.scalars(select(Delivery).where(Delivery.kind == "reminder")))
            person = await session.scalar(
                select(Person).where(Person.telegram_user_id == alex.user_id)
            )
        assert sent == []
        assert person is not None
        assert person.open_tier == "emergency"


async def test_an_unanswered_confirming_question_gets_a_safety_net_and_tells_the_operator(
    database_url: str,
) -> None:
    async with running_bot(database_url, **HEDGE_ASKS) as h:
        alex = h.stand.person(3014)
        await h.onboard(alex)
        await h.send(alex, "not sure if I wet myself")
        await h.advance(timedelta(minutes=14))
        assert h.stand.transcript(ESCALATION_CHAT) == []
        before = len(h.stand.transcript(alex))
        await h.advance(timedelta(minutes=1))
        (net,) = h.stand.transcript(alex)[before:]
        assert net.text == h.runtime.catalog.text(
            "en", "redflags.safety_net", emergency_number="112"
        )
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        assert "wet myself" in alert.plain


async def test_an_answered_confirming_question_sends_no_safety_net(database_url: str) -> None:
    async with running_bot(database_url, **HEDGE_ASKS) as h:
        alex = h.stand.person(3015)
        await h.onboard(alex)
        (question,) = await h.send(alex, "not sure if I wet myself")
        await h.tap(alex, question, 1)  # "No"
        before = len(h.stand.transcript(alex))
        await h.advance(timedelta(minutes=20))
        assert h.stand.transcript(alex)[before:] == []
        assert h.stand.transcript(ESCALATION_CHAT) == []


async def test_a_typed_yes_answers_the_confirming_question(database_url: str) -> None:
    async with running_bot(database_url, **HEDGE_ASKS) as h:
        alex = h.stand.person(3016)
        await h.onboard(alex)
        await h.send(alex, "not sure if I wet myself")
        replies = await h.send(alex, "yes")
        assert "112" in replies[0].plain


async def test_german_words_from_an_english_client_are_still_understood(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3017, language_code="en")
        await h.onboard(alex)
        replies = await h.send(alex, "ich kann seit heute früh nicht mehr pinkeln")
        assert "112" in replies[0].plain
        (esc,) = await escalations(h)
        assert esc.tier == "emergency"


async def test_distress_words_do_not_hide_a_later_emergency(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3018)
        await h.onboard(alex)
        await h.send(alex, "I want to end it all")
        await h.send(alex, EMERGENCY)
        (esc,) = await escalations(h)
        assert esc.tier == "emergency"
        last_alert = h.stand.transcript(ESCALATION_CHAT)[-1]
        assert "New bladder change" in last_alert.plain
        async with h.runtime.sessions() as session:
            checkins = (
                await session.scalars(
                    select(Delivery).where(
                        Delivery.kind == "checkin", Delivery.status == "scheduled"
                    )
                )
            ).all()
        assert len(checkins) == 4  # 1 h, no-reply nudge at 2 h, 4 h, next morning


async def test_a_very_long_emergency_message_still_reaches_the_clinic(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3019)
        await h.onboard(alex)
        await h.send(alex, EMERGENCY + ". " + "more words " * 360)
        (alert,) = h.stand.transcript(ESCALATION_CHAT)
        assert "…" in alert.plain


async def test_a_crisis_can_be_closed_and_reminders_come_back(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3020)
        await h.onboard(alex)
        (message,) = await h.send(alex, "I want to end it all")
        assert message.buttons
        await h.tap(alex, message, 0)
        await h.advance(BERLIN_8AM - h.clock.now())
        assert len(reminders(h, alex)) == 1


async def test_raising_the_tier_does_not_double_the_check_ins(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3021)
        await h.onboard(alex)
        await h.send(alex, "I've had a fever of 39 and chills with this back pain")
        await h.send(alex, EMERGENCY)
        before = len(h.stand.transcript(alex))
        await h.advance(timedelta(hours=4))
        sent = h.stand.transcript(alex)[before:]
        catalog = h.runtime.catalog
        four_hour = (
            catalog.text("en", "redflags.checkin.emergency_4h", emergency_number="112")
            + " "
            + catalog.text("en", "redflags.tail.still_paused")
        )
        urgent = h.runtime.catalog.text(
            "en", "redflags.checkin.urgent_4h", emergency_number="112", urgent_number="116117"
        )
        texts = [m.text for m in sent]
        assert urgent not in texts
        assert texts.count(four_hour) == 1


async def test_routine_messages_wait_while_an_emergency_is_open(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3022)
        await h.onboard(alex)
        replies = await h.send(alex, "/log 10 2")
        await h.tap(alex, replies[-1], 1)  # a walk: tomorrow's morning check is planned
        await h.send(alex, EMERGENCY)
        await h.advance(datetime(2026, 1, 6, 8, 0, tzinfo=UTC) - h.clock.now())  # 09:00 in Berlin
        assert not any(
            any((d or "").startswith("mc:") for d in m.callback_data)
            for m in h.stand.transcript(alex)
        )


async def test_delete_also_removes_pending_clinic_alerts(database_url: str) -> None:
    async with running_bot(database_url, **HEDGE_ASKS) as h:
        alex = h.stand.person(3023)
        await h.onboard(alex)
        await h.send(alex, "not sure if I wet myself")
        (confirm,) = await h.send(alex, "/delete")
        await h.tap(alex, confirm, 0)
        await h.advance(timedelta(minutes=20))
        assert h.stand.transcript(ESCALATION_CHAT) == []


async def test_a_confirming_tap_gets_through_even_when_flooding(database_url: str) -> None:
    async with running_bot(database_url, WALKWELL_FLOOD_PER_MINUTE=12, **HEDGE_ASKS) as h:
        alex = h.stand.person(3024)
        await h.onboard(alex)  # eleven updates
        for _ in range(5):
            await h.stand.send(alex, "/help")
        await h.settle()
        await h.stand.send(alex, "not sure if I wet myself")
        await h.settle()
        question = next(m for m in reversed(h.stand.transcript(alex)) if len(m.buttons) == 3)
        replies = await h.tap(alex, question, 0)
        assert "112" in replies[0].plain


async def test_a_trusted_contact_is_told_of_an_emergency_only_after_opting_in(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex, sam = h.stand.person(3025, "Alex"), h.stand.person(3026, "Sam")
        await h.onboard(alex)
        await h.send(
            alex, "I've had a fever of 39 and chills with this back pain"
        )  # urgent: nobody told
        assert h.stand.transcript(sam) == []
        (invite,) = await h.send(alex, "/contact")
        link = next(w for w in invite.plain.split() if w.startswith("https://t.me/"))
        code = link.split("start=")[1]
        (ask,) = await h.send(sam, f"/start {code}")
        assert "Alex" in ask.plain
        await h.tap(sam, ask, 0)  # Sam agrees
        await h.send(alex, EMERGENCY)
        alert = h.stand.transcript(sam)[-1]
        assert "Alex" in alert.plain
        assert "112" in alert.plain
        assert h.texts(alex)[-1] == h.runtime.catalog.text(
            "en", "ui.contact.told", contact_name="Sam"
        )
        (removed,) = await h.send(alex, "/contact off")
        again = await h.send(sam, f"/start {code}")  # the link was single-use
        assert again[0].plain == h.runtime.catalog.text("en", "ui.err.stale_button")


async def test_the_warning_signs_list_can_be_pinned_and_the_pin_is_that_list(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(3301)
        await h.onboard(alex)
        await h.send(alex, "hello")  # other messages around it must not confuse the pin
        (listing,) = await h.send(alex, "/redflags")
        assert "Warning signs" in listing.plain
        await h.send(alex, "ok thanks")
        await h.tap(alex, listing, "Pin it")
        assert h.stand.pinned[alex.chat_id] == listing.message_id
        (sos,) = await h.send(alex, "/sos")  # the quick list carries no pin button
        assert sos.buttons == []
