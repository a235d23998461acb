"""Commands with good and bad input, onboarding forms, privacy, and inputs that must change nothing."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, inspect, select

from bot.models import Base, Person, ReminderRule
from tests.e2e.harness import Harness, running_bot


async def rules_of(h: Harness, user_id: int) -> dict[str, tuple[time | None, int, datetime | None]]:
    async with h.runtime.sessions() as session:
        person = await session.scalar(select(Person).where(Person.telegram_user_id == user_id))
        assert person is not None
        rows = await session.scalars(
            select(ReminderRule).where(ReminderRule.person_id == person.id)
        )
        return {r.kind: (r.local_time, r.weekdays, r.next_due_at) for r in rows}


@pytest.mark.parametrize(
    ("args", "expected", "days"),
    [
        ("7:30", time(7, 30), 0b1111111),
        ("07.30 mo-fr", time(7, 30), 0b0011111),
        ("7h30 weekends", time(7, 30), 0b1100000),
        ("730 mon,wed,fri", time(7, 30), 0b0010101),
        ("6:45pm", time(18, 45), 0b1111111),
        ("19h", time(19, 0), 0b1111111),
    ],
)
async def test_morning_accepts_times_as_people_write_them(
    database_url: str, args: str, expected: time, days: int
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4001)
        await h.onboard(alex)
        # a morning time just before the evening walk also says the two now share one message
        reply, *_ = await h.send(alex, f"/morning {args}")
        assert expected.strftime("%H:%M") in reply.plain
        local_time, weekdays, due = (await rules_of(h, alex.user_id))["morning"]
        assert (local_time, weekdays) == (expected, days)
        assert due is not None
        assert due > h.clock.now()


@pytest.mark.parametrize(
    "args", ["", "25:00", "7:61", "13pm", "banana", "7:30 someday", "x" * 3000]
)
async def test_bad_times_get_one_clear_line_and_change_nothing(
    database_url: str, args: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4002)
        await h.onboard(alex)
        before = await rules_of(h, alex.user_id)
        (reply,) = await h.send(alex, f"/morning {args}".strip())
        assert "7:30" in reply.plain or "mon" in reply.plain.lower()
        assert await rules_of(h, alex.user_id) == before


async def test_morning_off_removes_the_rule(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4003)
        await h.onboard(alex)
        await h.send(alex, "/morning off")
        assert "morning" not in await rules_of(h, alex.user_id)


async def test_meals_and_aftermeal_set_three_rules_with_the_delay(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4004)
        await h.onboard(alex)
        await h.send(alex, "/meals 08:00 13:00 19:00")
        await h.send(alex, "/aftermeal 30")
        rules = await rules_of(h, alex.user_id)
        assert {k: v[0] for k, v in rules.items() if k in ("breakfast", "lunch", "dinner")} == {
            "breakfast": time(8), "lunch": time(13), "dinner": time(19),
        }  # fmt: skip
        (reply,) = await h.send(alex, "/meals 8 8 8 8")
        assert "1" in reply.plain


async def test_schedule_shows_everything_in_local_time(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4005)
        await h.onboard(alex, place="New York")
        replies = await h.send(alex, "/schedule")
        body = "\n".join(r.plain for r in replies)
        assert "America/New_York" in body
        assert "08:00" in body
        assert "19:00" in body


@pytest.mark.parametrize(
    "place",
    ["berlin", "berln", "new york", "sao paulo", "Kathmandu", "Europe/Berlin", "+2", "UTC-5"],
)
async def test_onboarding_understands_every_time_zone_form(database_url: str, place: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4006)
        replies = await h.send(alex, "/start")
        replies = await h.tap(alex, replies[-1], 0)
        for _ in range(4):
            replies = await h.tap(alex, replies[-1], 1)
        replies = await h.send(alex, place)
        assert replies[-1].buttons, replies[-1].plain
        replies = await h.tap(alex, replies[-1], 0)
        assert "/" in replies[0].plain or "GMT" in replies[0].plain


async def test_a_shared_location_sets_the_zone(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4007)
        await h.onboard(alex)
        before = len(h.stand.transcript(alex))
        await h.stand.send_location(alex, 48.137, 11.575)  # Munich
        await h.settle()
        (confirm,) = h.stand.transcript(alex)[before:]
        assert "Europe/Berlin" in confirm.plain


async def test_start_again_shows_the_current_setup(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4008)
        await h.onboard(alex)
        (reply,) = await h.send(alex, "/start")
        assert "08:00" in reply.plain


async def test_commands_in_group_chats_get_a_private_chat_pointer(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4009)
        group = h.stand.group(-555, "Walkers")
        await h.stand.send(alex, "/morning 7:00", chat=group)
        await h.stand.send(alex, "hello all", chat=group)
        await h.settle()
        (reply,) = h.stand.transcript(group)
        assert reply.plain == h.runtime.catalog.text("en", "ui.err.group_chat")


async def test_stickers_voice_and_photos_get_the_emergency_pointer(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4010)
        await h.onboard(alex)
        before = len(h.stand.transcript(alex))
        await h.stand.send_sticker(alex)
        await h.stand.send_voice(alex)
        await h.stand.send_photo(alex)
        await h.settle()
        replies = h.stand.transcript(alex)[before:]
        assert len(replies) == 3
        assert all("112" in r.plain for r in replies)


async def test_forged_and_foreign_callback_data_change_nothing(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex, eve = h.stand.person(4011), h.stand.person(4012, "Eve")
        await h.onboard(alex)
        await h.onboard(eve)
        before = await rules_of(h, alex.user_id)
        for data in (
            "w:done:1",
            "w:snz:1",
            "w:pain:1:9",
            "rf:clear:1",
            "del:yes",
            "ob:plan:accept",
            "adm:bc:1",
            "x" * 64,
            "w:min:1:15",
        ):
            await h.stand.tap_data(eve, data)
        await h.settle()
        assert await rules_of(h, alex.user_id) == before
        async with h.runtime.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Person)) == 2


async def test_edits_are_answered_calmly(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4013)
        await h.onboard(alex)
        message = await h.stand.send(alex, "hello")
        await h.settle()
        before = len(h.stand.transcript(alex))
        await h.stand.edit(alex, message, "hello again")
        await h.settle()
        (reply,) = h.stand.transcript(alex)[before:]
        assert reply.plain == h.runtime.catalog.text("en", "ui.err.edited")


async def test_a_4096_character_message_and_emoji_and_rtl_text_do_not_crash(
    database_url: str,
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4014)
        await h.onboard(alex)
        for text in ("a" * 4096, "🚶‍♀️🔥💪" * 50, "مرحبا بك في العالم", "\u202eevil"):
            replies = await h.send(alex, text)
            assert len(replies) == 1


async def test_unknown_commands_get_a_pointer_to_help(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4015)
        (reply,) = await h.send(alex, "/frobnicate")
        assert "/help" in reply.plain


async def test_posture_and_stretch_answer_in_both_languages(database_url: str) -> None:
    async with running_bot(database_url) as h:
        for user_id, lang in ((4016, "en"), (4017, "de")):
            who = h.stand.person(user_id, language_code=lang)
            await h.onboard(who)
            (cue,) = await h.send(who, "/posture")
            (stretch,) = await h.send(who, "/stretch")
            header = h.runtime.catalog.text(lang, "ui.posture.header")
            assert cue.text.startswith(header)
            (again,) = await h.send(who, "/stretch")
            assert again.text == stretch.text  # the same all day


async def test_log_and_pain_in_one_line(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4018)
        await h.onboard(alex)
        replies = await h.send(alex, "/log 20 3")
        replies = await h.tap(alex, replies[-1], 1)  # same as usual
        assert "20" in replies[0].plain
        (reply,) = await h.send(alex, "/log lots")
        assert "/log 15" in reply.plain
        replies = await h.send(alex, "/pain 11")
        assert "0" in replies[0].plain


async def test_progress_sends_a_png(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4019)
        await h.onboard(alex)
        replies = await h.send(alex, "/log 15 2")
        await h.tap(alex, replies[-1], 1)
        replies = await h.send(alex, "/progress")
        assert replies[0].kind == "photo"
        assert replies[0].photo is not None
        assert replies[0].photo.startswith(b"\x89PNG")


async def test_export_sends_json_and_csv(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4020)
        await h.onboard(alex)
        replies = await h.send(alex, "/export")
        assert [r.filename for r in replies] == ["walkwell-export.json", "walkwell-walks.csv"]
        assert b'"timezone": "Europe/Berlin"' in (replies[0].document or b"")


async def test_delete_erases_every_row_about_the_person(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex, bea = h.stand.person(4021), h.stand.person(4022, "Bea")
        await h.onboard(alex)
        await h.onboard(bea)
        replies = await h.send(alex, "/log 10 2")
        await h.tap(alex, replies[-1], 1)
        await h.send(alex, "my legs both feel numb")  # an escalation with an operator alert
        (confirm,) = await h.send(alex, "/delete")
        await h.tap(alex, confirm, 0)
        async with h.runtime.sessions() as session:
            conn = await session.connection()
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            for table in Base.metadata.sorted_tables:
                assert table.name in tables
                rows = (await session.execute(table.select())).mappings().all()
                for row in rows:
                    values = {str(v) for v in row.values()}
                    assert str(alex.user_id) not in values, (table.name, row)
                    if "person_id" in row:
                        assert row["person_id"] in (None, 2), (table.name, row)
            bea_row = await session.scalar(
                select(Person).where(Person.telegram_user_id == bea.user_id)
            )
            assert bea_row is not None


async def test_stop_silences_until_start(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4023)
        await h.onboard(alex)
        await h.send(alex, "/stop")
        assert all(v[2] is None for v in (await rules_of(h, alex.user_id)).values())
        await h.send(alex, "/start")
        assert all(v[2] is not None for v in (await rules_of(h, alex.user_id)).values())


async def test_flood_control_says_when_to_try_again_then_ignores(database_url: str) -> None:
    async with running_bot(database_url, WALKWELL_FLOOD_PER_MINUTE=5) as h:
        alex = h.stand.person(4024)
        await h.send(alex, "/help")
        before = len(h.stand.transcript(alex))
        for _ in range(10):
            await h.stand.send(alex, "/help")
        await h.settle()
        replies = [m.plain for m in h.stand.transcript(alex)[before:]]
        flood = h.runtime.catalog.text("en", "ui.err.flood", seconds=0).split("0")[0]
        assert sum(r.startswith(flood) for r in replies) == 3
        # four more answers, three refusals naming the wait, then silence for a runaway client
        assert len(replies) == 7


async def test_a_red_flag_gets_through_even_when_flooding(database_url: str) -> None:
    async with running_bot(database_url, WALKWELL_FLOOD_PER_MINUTE=2) as h:
        alex = h.stand.person(4025)
        for _ in range(5):
            await h.stand.send(alex, "/help")
        await h.settle()
        replies = await h.send(alex, "I can't feel my legs, both of them, since an hour")
        assert any("112" in r.plain for r in replies)


async def test_schedule_buttons_turn_a_reminder_off(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4026)
        await h.onboard(alex)
        replies = await h.send(alex, "/schedule")
        summary = next(r for r in replies if r.buttons)
        await h.tap(alex, summary, 0)  # "Morning walk off"
        assert "morning" not in await rules_of(h, alex.user_id)


async def test_blocking_the_bot_is_noticed_at_once(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4027)
        await h.onboard(alex)
        h.stand.block(alex)
        await h.settle()
        async with h.runtime.sessions() as session:
            person = await session.scalar(
                select(Person).where(Person.telegram_user_id == alex.user_id)
            )
        assert person is not None
        assert person.status == "blocked"
        assert all(v[2] is None for v in (await rules_of(h, alex.user_id)).values())


@pytest.mark.parametrize(
    ("command", "error_key"),
    [
        ("/evening 99:99", "ui.err.time"),
        ("/evening 7pm someday", "ui.err.weekdays"),
        ("/meals", "ui.err.meals"),
        ("/aftermeal lots", "ui.err.delay"),
        ("/aftermeal 999", "ui.err.delay"),
        ("/pause forever", "ui.err.pause"),
        ("/pause 365 days", "ui.err.pause"),
        ("/quiet 7", "ui.err.quiet"),
        ("/quiet 22:00-22:00", "ui.err.quiet"),
        ("/log", "ui.err.log"),
        ("/log 20 eleven", "ui.err.log"),
        ("/pain", "ui.err.pain"),
    ],
)
async def test_every_command_with_bad_arguments_explains_and_changes_nothing(
    database_url: str, command: str, error_key: str
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4030)
        await h.onboard(alex)
        before = await rules_of(h, alex.user_id)
        async with h.runtime.sessions() as session:
            person_before = await session.scalar(
                select(Person).where(Person.telegram_user_id == alex.user_id)
            )
        (reply,) = await h.send(alex, command)
        expected = h.runtime.catalog.text("en", error_key, text=command.partition(" ")[2])
        assert reply.text == expected
        assert await rules_of(h, alex.user_id) == before
        async with h.runtime.sessions() as session:
            person_after = await session.scalar(
                select(Person).where(Person.telegram_user_id == alex.user_id)
            )
        assert person_before is not None
        assert person_after is not None
        assert (person_after.paused_until, person_after.quiet_start, person_after.meal_delay_minutes) == (
            person_before.paused_until, person_before.quiet_start, person_before.meal_delay_minutes,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("command", "reply_key", "params"),
    [
        ("/pause 3 days", "ui.pause.set", {"date": "07.01.2026"}),  # today, tomorrow, the day after
        ("/resume", "ui.resume.not_paused", {}),
        ("/quiet 22:00-07:00", "ui.quiet.set", {"start": "22:00", "end": "07:00"}),
        ("/quiet off", "ui.quiet.off", {}),
        ("/aftermeal 30", "ui.aftermeal.set", {"delay": 30}),
        ("/ate", "ui.ate.set", {"time": "07:20"}),  # 07:00 in Berlin + the 20-minute delay
        ("/meals off", "ui.meals.off", {}),
        ("/evening off", "ui.schedule.off", {"label": "EVENING"}),
    ],
)
async def test_every_schedule_command_confirms_what_it_did(
    database_url: str, command: str, reply_key: str, params: dict[str, object]
) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4031)
        await h.onboard(alex)
        replies = await h.send(alex, command)
        if params.get("label") == "EVENING":
            params = {"label": h.runtime.catalog.text("en", "ui.kind.evening")}
        assert replies[0].text == h.runtime.catalog.text("en", reply_key, **params)


async def test_timezone_and_language_can_be_changed_later(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(4032)
        await h.onboard(alex)
        (offer,) = await h.send(alex, "/timezone Kathmandu")
        await h.tap(alex, offer, 0)
        assert "Asia/Kathmandu" in h.texts(alex)[-1]
        local_time, _, due = (await rules_of(h, alex.user_id))["morning"]
        assert local_time == time(8)
        assert due is not None
        assert due.astimezone(ZoneInfo("Asia/Kathmandu")).time() == time(8)
        (choose,) = await h.send(alex, "/language")
        await h.tap(alex, choose, "Deutsch")
        (reply,) = await h.send(alex, "/help")
        assert reply.text == h.runtime.catalog.text("de", "ui.help.text")
        (bad,) = await h.send(alex, "/timezone qqqqqzzzz")
        assert bad.text == h.runtime.catalog.text("de", "ui.tz.not_found", text="qqqqqzzzz")
