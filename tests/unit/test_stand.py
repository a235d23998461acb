"""Tests of the stand, driven by python-telegram-bot's own Bot and by raw HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.stand import BotMessage, Stand, StandError, parse_html

ALEX = 42


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def stand() -> AsyncIterator[Stand]:
    async with Stand() as running:
        running.person(ALEX)
        yield running


@pytest.fixture
async def bot(stand: Stand) -> AsyncIterator[Bot]:
    async with Bot(stand.token, base_url=stand.base_url) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def call(
    http: httpx.AsyncClient, stand: Stand, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST like PTB does: strings as they are, everything else JSON-encoded."""
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    response = await http.post(f"{stand.base_url}{stand.token}/{method}", data=data)
    return response.status_code, response.json()


def keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


# ------------------------------------------------------------------ strict rules

STRICT_CASES = [
    ("sendMessage", {"chat_id": ALEX, "text": ""}, 400, "Bad Request: message text is empty"),
    ("sendMessage", {"chat_id": ALEX}, 400, "Bad Request: message text is empty"),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "<b> \n </b>", "parse_mode": "HTML"},
        400,
        "Bad Request: message must be non-empty",
    ),
    ("sendMessage", {"chat_id": ALEX, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "<b>" + "&amp;" * 4097 + "</b>", "parse_mode": "HTML"},
        400,
        "Bad Request: message is too long",
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "<blink>hi</blink>", "parse_mode": "HTML"},
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "blink" at byte offset 0',
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "<b>walk", "parse_mode": "HTML"},
        400,
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "<b><i>x</b></i>", "parse_mode": "HTML"},
        400,
        "Bad Request: can't parse entities: Unmatched end tag at byte offset 7, "
        'expected "</i>", found "</b>"',
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "pain < 3", "parse_mode": "HTML"},
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 5',
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "<span>x</span>", "parse_mode": "HTML"},
        400,
        "Bad Request: can't parse entities: "
        'Tag "span" must have class "tg-spoiler" at byte offset 0',
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "x", "parse_mode": "Shouting"},
        400,
        "Bad Request: unsupported parse_mode 'Shouting'",
    ),
    (
        "sendMessage",
        {
            "chat_id": ALEX,
            "text": "pick",
            "reply_markup": keyboard({"text": "A", "callback_data": "d" * 65}),
        },
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {
            "chat_id": ALEX,
            "text": "pick",
            "reply_markup": keyboard({"text": "é", "callback_data": "é" * 33}),
        },
        400,
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    (
        "sendMessage",
        {
            "chat_id": ALEX,
            "text": "pick",
            "reply_markup": keyboard({"text": "", "callback_data": "a"}),
        },
        400,
        "Bad Request: BUTTON_TEXT_INVALID",
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "pick", "reply_markup": keyboard({"text": "A"})},
        400,
        "Bad Request: can't parse inline keyboard button: "
        "Text buttons are unallowed in the inline keyboard",
    ),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "x", "reply_markup": "{not json"},
        400,
        "Bad Request: can't parse reply keyboard markup JSON object",
    ),
    ("sendMessage", {"chat_id": 777, "text": "hi"}, 400, "Bad Request: chat not found"),
    ("sendMessage", {"text": "hi"}, 400, "Bad Request: chat_id is empty"),
    (
        "sendMessage",
        {"chat_id": ALEX, "text": "hi", "reply_to_message_id": 99},
        400,
        "Bad Request: message to be replied not found",
    ),
    (
        "editMessageText",
        {"chat_id": ALEX, "message_id": 99, "text": "new"},
        400,
        "Bad Request: message to edit not found",
    ),
    (
        "editMessageReplyMarkup",
        {"chat_id": ALEX, "message_id": 99},
        400,
        "Bad Request: message to edit not found",
    ),
    (
        "deleteMessage",
        {"chat_id": ALEX, "message_id": 99},
        400,
        "Bad Request: message to delete not found",
    ),
    (
        "pinChatMessage",
        {"chat_id": ALEX, "message_id": 99},
        400,
        "Bad Request: message to pin not found",
    ),
    (
        "sendChatAction",
        {"chat_id": ALEX, "action": "dancing"},
        400,
        "Bad Request: wrong parameter action in request",
    ),
    (
        "answerCallbackQuery",
        {"callback_query_id": "nope"},
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    ),
    (
        "setMyCommands",
        {"commands": [{"command": "Start!", "description": "go"}]},
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    ),
    ("launchRocket", {}, 404, "Not Found: method not found"),
]


@pytest.mark.parametrize(("method", "params", "status", "description"), STRICT_CASES)
async def test_the_stand_refuses_what_telegram_refuses_with_telegrams_words(
    stand: Stand,
    http: httpx.AsyncClient,
    method: str,
    params: dict[str, Any],
    status: int,
    description: str,
) -> None:
    code, body = await call(http, stand, method, **params)
    assert (code, body) == (status, {"ok": False, "error_code": status, "description": description})
    assert stand.transcript(ALEX) == []


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("sendMessage", {"chat_id": ALEX, "text": "x" * 4096}),
        (
            "sendMessage",
            {"chat_id": ALEX, "text": "<b>" + "&lt;" * 4096 + "</b>", "parse_mode": "HTML"},
        ),
        ("sendMessage", {"chat_id": ALEX, "text": "a &nbsp; b & c", "parse_mode": "HTML"}),
        (
            "sendMessage",
            {
                "chat_id": ALEX,
                "text": "pick",
                "reply_markup": keyboard({"text": "A", "callback_data": "d" * 64}),
            },
        ),
        ("sendPhoto", {"chat_id": ALEX, "photo": "file-id-123", "caption": "c" * 1024}),
        ("sendMessage", {"chat_id": ALEX, "text": "hi", "reply_markup": {"remove_keyboard": True}}),
    ],
)
async def test_the_stand_accepts_what_telegram_accepts_up_to_the_limits(
    stand: Stand, http: httpx.AsyncClient, method: str, params: dict[str, Any]
) -> None:
    code, body = await call(http, stand, method, **params)
    assert (code, body["ok"]) == (200, True)
    assert len(stand.transcript(ALEX)) == 1


async def test_a_caption_over_1024_characters_is_refused(
    stand: Stand, http: httpx.AsyncClient
) -> None:
    code, body = await call(http, stand, "sendPhoto", chat_id=ALEX, photo="id", caption="c" * 1025)
    assert (code, body["description"]) == (400, "Bad Request: message caption is too long")


async def test_ptb_sees_a_bad_request_in_telegrams_wording(stand: Stand, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="^Chat not found$"):
        await bot.send_message(999, "hello")


async def test_a_wrong_token_is_unauthorized_for_raw_http_and_for_ptb(
    stand: Stand, http: httpx.AsyncClient
) -> None:
    response = await http.post(f"{stand.base_url}654321:WRONG/getMe")
    assert (response.status_code, response.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    with pytest.raises(InvalidToken):
        async with Bot("654321:WRONG", base_url=stand.base_url):
            pass


# ------------------------------------------------------------------ edits


async def test_editing_with_the_same_content_is_not_modified(stand: Stand, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await bot.send_message(ALEX, "<b>Walk</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match="^Message is not modified"):
        await bot.edit_message_text(
            "<b>Walk</b>", ALEX, sent.message_id, parse_mode="HTML", reply_markup=markup
        )
    with pytest.raises(BadRequest, match="^Message is not modified"):
        await bot.edit_message_reply_markup(ALEX, sent.message_id, reply_markup=markup)


async def test_an_edit_without_reply_markup_removes_the_keyboard_like_telegram(
    stand: Stand, bot: Bot
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await bot.send_message(ALEX, "Walk", reply_markup=markup)
    edited = await bot.edit_message_text("Walked", ALEX, sent.message_id)
    assert (edited.text, edited.reply_markup, edited.edit_date is not None) == (
        "Walked",
        None,
        True,
    )
    original, after = stand.transcript(ALEX)
    assert (original.buttons, after.buttons, after.edited, after.message_id) == (
        ["Done"],
        [],
        True,
        sent.message_id,
    )


async def test_a_persons_own_message_cannot_be_edited_by_the_bot(stand: Stand, bot: Bot) -> None:
    said = await stand.send(ALEX, "hello")
    with pytest.raises(BadRequest, match="^Message can't be edited$"):
        await bot.edit_message_text("changed", ALEX, said.message_id)


async def test_a_deleted_message_is_gone_for_edits(stand: Stand, bot: Bot) -> None:
    sent = await bot.send_message(ALEX, "bye")
    assert await bot.delete_message(ALEX, sent.message_id)
    with pytest.raises(BadRequest, match="^Message to edit not found$"):
        await bot.edit_message_text("again", ALEX, sent.message_id)
    assert stand.current(stand.transcript(ALEX)[0]) is None


# ------------------------------------------------------------------ faults


@pytest.mark.parametrize("count", [1, 2])
async def test_an_injected_429_carries_retry_after_and_then_clears(
    stand: Stand, bot: Bot, count: int
) -> None:
    stand.fail_next("sendMessage", 429, count=count, retry_after=3)
    for _ in range(count):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ALEX, "reminder")
        assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(ALEX, "reminder")
    assert [c.status for c in stand.calls_to("sendMessage")] == [429] * count + [200]
    assert len(stand.transcript(ALEX)) == 1


async def test_a_blocked_person_gives_403_until_unblocked(stand: Stand, bot: Bot) -> None:
    stand.block(ALEX)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALEX, "walk?")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(ALEX, "typing")
    stand.unblock(ALEX)
    await bot.send_message(ALEX, "walk?")
    updates = await bot.get_updates()
    statuses = [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member]
    assert statuses == ["kicked", "member"]


async def test_slow_delays_the_answer_but_the_message_still_goes_out(
    stand: Stand, bot: Bot
) -> None:
    stand.slow("sendMessage", 0.3)
    with pytest.raises(TimedOut):
        await bot.send_message(ALEX, "late", read_timeout=0.05)
    assert (await stand.next_message(ALEX)).text == "late"


# ------------------------------------------------------------------ rate limits


@pytest.mark.parametrize(
    ("gap", "refused"),
    [(0.0, True), (0.5, True), (0.99, True), (1.0, False), (2.5, False)],
)
async def test_with_limits_a_second_message_to_one_chat_within_a_second_gets_429(
    gap: float, refused: bool
) -> None:
    clock = FakeClock()
    async with Stand(enforce_limits=True, clock=clock) as stand:
        stand.person(ALEX)
        async with Bot(stand.token, base_url=stand.base_url) as bot:
            await bot.send_message(ALEX, "first")
            clock.now += gap
            if refused:
                with pytest.raises(RetryAfter) as caught:
                    await bot.send_message(ALEX, "second")
                assert caught.value.retry_after == dtm.timedelta(seconds=1)
            else:
                await bot.send_message(ALEX, "second")
    assert len(stand.transcript(ALEX)) == (1 if refused else 2)


async def test_with_limits_the_31st_message_within_a_second_overall_gets_429() -> None:
    clock = FakeClock()
    async with Stand(enforce_limits=True, clock=clock) as stand:
        people = [stand.person(1000 + n) for n in range(31)]
        async with Bot(stand.token, base_url=stand.base_url) as bot:
            for person in people[:30]:
                await bot.send_message(person.chat_id, "hello")
            with pytest.raises(RetryAfter):
                await bot.send_message(people[30].chat_id, "hello")
            clock.now += 1.0
            await bot.send_message(people[30].chat_id, "hello")


async def test_without_limits_bursts_to_one_chat_pass(stand: Stand, bot: Bot) -> None:
    for n in range(5):
        await bot.send_message(ALEX, f"burst {n}")
    assert len(stand.transcript(ALEX)) == 5


# ------------------------------------------------------------------ long polling


async def test_a_long_poll_returns_within_100_ms_of_a_persons_message(
    stand: Stand, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await stand.wait_for(lambda: stand.waiting_polls)
    started = time.perf_counter()
    await stand.send(ALEX, "/start")
    updates = await poll
    latency = time.perf_counter() - started
    assert latency < 0.1
    assert [u.message.text for u in updates] == ["/start"]


@pytest.mark.parametrize(
    ("offset", "left"),
    [(None, [1, 2, 3]), (0, [1, 2, 3]), (2, [2, 3]), (4, []), (-1, [3]), (-2, [2, 3])],
)
async def test_an_offset_confirms_and_drops_earlier_updates(
    stand: Stand, bot: Bot, offset: int | None, left: list[int]
) -> None:
    for text in ("one", "two", "three"):
        await stand.send(ALEX, text)
    updates = await bot.get_updates(offset=offset)
    assert [u.update_id for u in updates] == left
    assert [u["update_id"] for u in stand.pending_updates] == left


async def test_updates_queued_during_a_long_poll_are_delivered_later_not_lost(
    stand: Stand, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5, limit=1))
    await stand.wait_for(lambda: stand.waiting_polls)
    for text in ("a", "b", "c"):
        await stand.send(ALEX, text)
    first = await poll
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=1)
    assert [u.message.text for u in (*first, *rest)] == ["a", "b", "c"]


async def test_allowed_updates_filters_what_a_poll_returns(stand: Stand, bot: Bot) -> None:
    sent = await bot.send_message(
        ALEX,
        "go?",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]]),
    )
    await stand.send(ALEX, "text")
    await stand.tap(ALEX, stand.transcript(ALEX)[0], "Go")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [(u.callback_query.data, u.callback_query.message.message_id) for u in updates] == [
        ("go", sent.message_id)
    ]


async def test_a_newer_get_updates_terminates_the_older_one_with_409(
    stand: Stand, bot: Bot, http: httpx.AsyncClient
) -> None:
    older = asyncio.create_task(call(http, stand, "getUpdates", timeout=5))
    await stand.wait_for(lambda: stand.waiting_polls)
    assert await bot.get_updates(timeout=0) == ()
    status, body = await older
    assert (status, body["description"]) == (
        409,
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    )


async def test_stopping_the_stand_ends_a_pending_long_poll_at_once() -> None:
    stand = Stand()
    await stand.start()
    async with Bot(stand.token, base_url=stand.base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
        await stand.wait_for(lambda: stand.waiting_polls)
        started = time.perf_counter()
        await stand.stop()
        assert await poll == ()
    assert time.perf_counter() - started < 1.0


# ------------------------------------------------------------------ uploads, taps, persons


@pytest.mark.parametrize("kind", ["photo", "document"])
async def test_a_multipart_upload_keeps_its_bytes_filename_and_caption(
    stand: Stand, bot: Bot, kind: str
) -> None:
    data = bytes(range(256)) * 40
    if kind == "photo":
        sent = await bot.send_photo(
            ALEX, data, caption="<i>week 2</i>", parse_mode="HTML", filename="chart.png"
        )
        assert sent.photo[-1].file_size == len(data)
    else:
        sent = await bot.send_document(
            ALEX, data, caption="<i>week 2</i>", parse_mode="HTML", filename="log.csv"
        )
        assert sent.document.file_name == "log.csv"
    entry = await stand.next_message(ALEX)
    kept = entry.photo if kind == "photo" else entry.document
    assert (kept, entry.kind, entry.caption, entry.plain, sent.caption) == (
        data,
        kind,
        "<i>week 2</i>",
        "week 2",
        "week 2",
    )
    assert entry.filename == ("chart.png" if kind == "photo" else "log.csv")
    assert stand.calls_to(f"send{kind.title()}")[0].files[kind].data == data


@pytest.mark.parametrize(
    ("button", "data"),
    [
        ("Easy", "walk:rate:easy"),
        ("Hard 💪", "walk:rate:hard"),
        (0, "walk:rate:easy"),
        (2, "x" * 64),
    ],
)
async def test_a_tap_carries_the_exact_callback_data_the_bot_sent(
    stand: Stand, bot: Bot, button: str | int, data: str
) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Easy", callback_data="walk:rate:easy"),
                InlineKeyboardButton("Hard 💪", callback_data="walk:rate:hard"),
            ],
            [InlineKeyboardButton("Long", callback_data="x" * 64)],
        ]
    )
    sent = await bot.send_message(ALEX, "How was it?", reply_markup=markup)
    query = await stand.tap(ALEX, await stand.next_message(ALEX), button)
    (update,) = await bot.get_updates()
    got = update.callback_query
    assert (got.data, got.id, got.from_user.id, got.message.message_id) == (
        data,
        query.id,
        ALEX,
        sent.message_id,
    )
    assert await got.answer("Noted")
    assert stand.answer_to(query).text == "Noted"
    with pytest.raises(BadRequest, match="^Query is too old"):
        await got.answer("twice")


@pytest.mark.parametrize("button", ["Nope", 5, "Site"])
async def test_tapping_a_missing_or_non_callback_button_is_a_test_error(
    stand: Stand, bot: Bot, button: str | int
) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Go", callback_data="go"),
                InlineKeyboardButton("Site", url="https://example.org"),
            ]
        ]
    )
    await bot.send_message(ALEX, "pick", reply_markup=markup)
    with pytest.raises(StandError):
        await stand.tap(ALEX, stand.transcript(ALEX)[0], button)


async def test_a_forged_tap_reaches_the_bot_with_the_forged_data(stand: Stand, bot: Bot) -> None:
    await bot.send_message(ALEX, "last")
    await stand.tap_data(ALEX, "admin:drop_all")
    (update,) = await bot.get_updates()
    assert (update.callback_query.data, update.callback_query.message.text) == (
        "admin:drop_all",
        "last",
    )


PERSON_ACTIONS = {
    "a command": lambda s: s.send(ALEX, "/start"),
    "a location": lambda s: s.send_location(ALEX, 52.52, 13.40),
    "a sticker": lambda s: s.send_sticker(ALEX),
    "a photo": lambda s: s.send_photo(ALEX, b"img", caption="my route"),
    "a voice note": lambda s: s.send_voice(ALEX),
    "a forward": lambda s: s.send(ALEX, "look", forward_from=s.person(7, "Sam")),
}
PERSON_CHECKS = {
    "a command": lambda m: (
        (m.text, m.entities[0].type, m.entities[0].length) == ("/start", "bot_command", 6)
    ),
    "a location": lambda m: (m.location.latitude, m.location.longitude) == (52.52, 13.40),
    "a sticker": lambda m: m.sticker.emoji == "👍",
    "a photo": lambda m: (m.caption, m.photo[0].file_size) == ("my route", 3),
    "a voice note": lambda m: m.voice.duration == dtm.timedelta(seconds=3),
    "a forward": lambda m: m.forward_origin.sender_user.first_name == "Sam",
}


@pytest.mark.parametrize("action", list(PERSON_ACTIONS))
async def test_what_a_person_sends_deserialises_in_ptb(stand: Stand, bot: Bot, action: str) -> None:
    await PERSON_ACTIONS[action](stand)
    (update,) = await bot.get_updates()
    message = update.message
    assert (message.chat.type, message.from_user.id, message.chat.id) == ("private", ALEX, ALEX)
    assert PERSON_CHECKS[action](message)


async def test_an_edit_by_the_person_arrives_as_edited_message(stand: Stand, bot: Bot) -> None:
    said = await stand.send(ALEX, "8:00")
    await stand.edit(ALEX, said, "9:00")
    first, second = await bot.get_updates()
    assert (first.message.text, second.edited_message.text) == ("8:00", "9:00")
    assert second.edited_message.message_id == said.message_id


async def test_a_command_in_a_group_names_the_bot_and_the_bot_can_answer_there(
    stand: Stand, bot: Bot
) -> None:
    walkers = stand.group(-1001, "Walkers")
    await stand.send(ALEX, "/help@walkwell_test_bot please", chat=walkers)
    (update,) = await bot.get_updates()
    message = update.message
    assert (message.chat.type, message.chat.title, message.entities[0].length) == (
        "group",
        "Walkers",
        23,
    )
    await message.reply_text("Here to help")
    reply = await stand.next_message(walkers)
    assert (reply.plain, reply.reply_to_message_id) == ("Here to help", message.message_id)


async def test_a_persons_reply_carries_the_bot_message_and_the_bot_can_pin_it(
    stand: Stand, bot: Bot
) -> None:
    sent = await bot.send_message(ALEX, "Your plan: 10 min daily")
    await stand.send(ALEX, "ok", reply_to=await stand.next_message(ALEX))
    (update,) = await bot.get_updates()
    replied = update.message.reply_to_message
    assert (replied.message_id, replied.text, replied.from_user.is_bot) == (
        sent.message_id,
        "Your plan: 10 min daily",
        True,
    )
    assert await bot.pin_chat_message(ALEX, sent.message_id)
    assert stand.pinned == {ALEX: sent.message_id}


async def test_an_unknown_update_type_passes_through_to_ptb(stand: Stand, bot: Bot) -> None:
    update_id = await stand.send_raw_update({"future_thing": {"x": 1}})
    (update,) = await bot.get_updates()
    assert (update.update_id, update.api_kwargs) == (update_id, {"future_thing": {"x": 1}})


async def test_a_real_ptb_application_polls_replies_and_edits_through_the_stand(
    stand: Stand,
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        go = InlineKeyboardButton("Go", callback_data="walk:go")
        await update.message.reply_text(
            "Ready for <b>10 min</b>?", parse_mode="HTML", reply_markup=InlineKeyboardMarkup([[go]])
        )

    async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("Off you go")
        await update.callback_query.edit_message_text(f"Chosen: {update.callback_query.data}")

    app = Application.builder().token(stand.token).base_url(stand.base_url).build()
    app.add_handlers([CommandHandler("start", start), CallbackQueryHandler(tapped)])
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await stand.send(ALEX, "/start")
        question = await stand.next_message(ALEX)
        query = await stand.tap(ALEX, question, "Go")
        edited = await stand.next_message(ALEX)
        await stand.wait_for(lambda: stand.answer_to(query))
        await app.updater.stop()
        await app.stop()
    assert (question.plain, question.buttons, edited.plain, edited.edited) == (
        "Ready for 10 min?",
        ["Go"],
        "Chosen: walk:go",
        True,
    )
    assert stand.answer_to(query).text == "Off you go"
    assert stand.pending_updates == []


# ------------------------------------------------------------------ webhook


async def test_a_webhook_gets_updates_with_the_secret_header_and_retries_failures(
    stand: Stand, bot: Bot
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = [500, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        assert await bot.set_webhook(url, secret_token="s3cr3t-walk")
        said = await stand.send(ALEX, "hello")
        await stand.wait_for(lambda: not stand.pending_updates and len(received) == 2)
        info = await bot.get_webhook_info()
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
    finally:
        await runner.cleanup()
    assert [secret for secret, _ in received] == ["s3cr3t-walk", "s3cr3t-walk"]
    assert [body["message"]["text"] for _, body in received] == ["hello", "hello"]
    assert [d.status for d in stand.webhook_deliveries] == [500, 200]
    assert (info.url, info.pending_update_count, info.last_error_message) == (
        url,
        0,
        "Wrong response from the webhook: 500",
    )
    assert received[0][1]["update_id"] == said.update_id


@pytest.mark.parametrize(
    ("secret", "ok"), [("abc_DEF-123", True), ("has space", False), ("x" * 257, False)]
)
async def test_a_webhook_secret_must_use_telegrams_alphabet(
    stand: Stand, http: httpx.AsyncClient, secret: str, ok: bool
) -> None:
    code, _ = await call(
        http, stand, "setWebhook", url="https://example.org/hook", secret_token=secret
    )
    assert (code == 200) is ok
    assert (stand.webhook is not None) is ok


# ------------------------------------------------------------------ the record


async def test_commands_set_by_the_bot_are_kept_per_scope_and_language(
    stand: Stand, bot: Bot
) -> None:
    await bot.set_my_commands([("start", "Begin"), ("walk", "Log a walk")])
    await bot.set_my_commands([("start", "Los geht's")], language_code="de")
    assert [c["command"] for c in stand.commands] == ["start", "walk"]
    assert stand.commands_for(language_code="de") == [
        {"command": "start", "description": "Los geht's"}
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "walk"]


async def test_next_message_reads_in_order_and_since_rereads(stand: Stand, bot: Bot) -> None:
    seen: list[str] = []
    stand.on_bot_message(lambda m: seen.append(m.plain))
    await bot.send_message(ALEX, "one")
    await bot.send_message(ALEX, "two")
    texts = [(await stand.next_message(ALEX)).text for _ in range(2)]
    assert (texts, (await stand.next_message(ALEX, since=0)).text, seen) == (
        ["one", "two"],
        "one",
        ["one", "two"],
    )


async def test_waiting_for_a_message_that_never_comes_times_out(stand: Stand) -> None:
    with pytest.raises(TimeoutError, match="a bot message in chat 42"):
        await stand.next_message(ALEX, timeout=0.05)


async def test_the_transcript_records_html_plain_text_and_entities(stand: Stand, bot: Bot) -> None:
    await bot.send_message(ALEX, "  <b>Walk</b> 10 min &lt;3  ", parse_mode="HTML")
    entry: BotMessage = await stand.next_message(ALEX)
    assert (entry.text, entry.plain, entry.parse_mode, entry.entities) == (
        "  <b>Walk</b> 10 min &lt;3  ",
        "Walk 10 min <3",
        "HTML",
        ({"type": "bold", "offset": 0, "length": 4},),
    )


# ------------------------------------------------------------------ the HTML parser


@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("plain", "plain", []),
        ("<b>bold</b> <i>it</i>", "bold it", [("bold", 0, 4), ("italic", 5, 2)]),
        ("<B>caps</B>", "caps", [("bold", 0, 4)]),
        ("<b>a<i>b</i></b>", "ab", [("bold", 0, 2), ("italic", 1, 1)]),
        ("&lt;&gt;&amp;&quot;&#65;&#x42;", '<>&"AB', []),
        ("&nbsp;&unknown &", "&nbsp;&unknown &", []),
        ("😀<b>x</b>", "😀x", [("bold", 2, 1)]),
        ('<a href="https://x.org/?a=1&amp;b=2">link</a>', "link", [("text_link", 0, 4)]),
        (
            '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>',
            "st",
            [("spoiler", 0, 1), ("spoiler", 1, 1)],
        ),
        ("<pre>code</pre><code>c</code>", "codec", [("pre", 0, 4), ("code", 4, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ("<b>x</>", "x", [("bold", 0, 1)]),
        (
            "<u>u</u><ins>i</ins><s>s</s><del>d</del><strike>k</strike><em>e</em><strong>g</strong>",
            "uisdkeg",
            [
                ("underline", 0, 1),
                ("underline", 1, 1),
                ("strikethrough", 2, 1),
                ("strikethrough", 3, 1),
                ("strikethrough", 4, 1),
                ("italic", 5, 1),
                ("bold", 6, 1),
            ],
        ),
    ],
)
def test_telegram_html_parses_to_plain_text_and_utf16_entities(
    html: str, plain: str, entities: list[tuple[str, int, int]]
) -> None:
    text, found = parse_html(html)
    assert (text, [(e["type"], e["offset"], e["length"]) for e in found]) == (plain, entities)


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("é<p>", 'Unsupported start tag "p" at byte offset 2'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<a href=http://x>l</a>", "Unexpected end of name token at byte offset 8"),
        (
            "<a href>l</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("<i><b>x</i>", 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
    ],
)
def test_malformed_telegram_html_fails_with_telegrams_message(html: str, error: str) -> None:
    with pytest.raises(ValueError, match="^" + error.replace("(", r"\(") + "$"):
        parse_html(html)
