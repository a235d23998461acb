"""WalkWell's aiohttp networking for python-telegram-bot, against the stand and a dead port."""

from __future__ import annotations

import datetime as dtm
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.telegram_http import AiohttpRequest, AnswerLost, NotSent, ServerError, strip_control
from tests.stand import Stand

ALEX = 42
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _bot(token: str, base_url: str, **request: float) -> Bot:
    return Bot(
        token,
        base_url=base_url,
        request=AiohttpRequest(**request),  # type: ignore[arg-type]
        get_updates_request=AiohttpRequest(),
    )


@pytest.fixture
async def stand() -> AsyncIterator[Stand]:
    async with Stand() as running:
        running.person(ALEX)
        yield running


async def test_sends_text_with_buttons_and_html(stand: Stand) -> None:
    async with _bot(stand.token, stand.base_url) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="w:done:7")]])
        sent = await bot.send_message(
            ALEX, "<b>Time</b> for a walk: 10 min", parse_mode="HTML", reply_markup=keyboard
        )
    (message,) = stand.transcript(ALEX)
    assert message.plain == "Time for a walk: 10 min"
    assert message.buttons == ["Done"]
    assert message.callback_data == ["w:done:7"]
    assert sent.message_id == message.message_id


async def test_uploads_a_file_as_multipart(stand: Stand) -> None:
    async with _bot(stand.token, stand.base_url) as bot:
        await bot.send_photo(ALEX, PNG, caption="Your week")
    (call,) = stand.calls_to("sendPhoto")
    assert call.status == 200
    assert call.files["photo"].data == PNG
    assert call.params["caption"] == "Your week"


async def test_telegram_errors_keep_their_meaning(stand: Stand) -> None:
    stand.fail_next("sendMessage", 429, retry_after=3)
    async with _bot(stand.token, stand.base_url) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ALEX, "hello")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)


async def test_a_slow_answer_is_a_timeout(stand: Stand) -> None:
    stand.slow("sendMessage", 1.0)
    async with _bot(stand.token, stand.base_url, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut) as caught:
            await bot.send_message(ALEX, "hello")
    # The request left: whether Telegram delivered it is unknown (the sender must not resend
    # a routine message on this error).
    assert isinstance(caught.value, AnswerLost)
    assert not isinstance(caught.value, NotSent)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_known_not_to_be_delivered(stand: Stand, status: int) -> None:
    stand.fail_next("sendMessage", status)
    async with _bot(stand.token, stand.base_url) as bot:
        with pytest.raises(ServerError):
            await bot.send_message(ALEX, "hello")
    assert stand.transcript(ALEX) == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("I can't pee\x00", "I can't pee"),
        ("a\x01b\x1fc\x7fd\x85e", "abcde"),
        ("line one\nline two\tend", "line one\nline two\tend"),
        ("emoji 🚨 and ümlaut", "emoji 🚨 and ümlaut"),
    ],
)
def test_control_characters_are_removed_from_every_string(raw: str, clean: str) -> None:
    update = {"message": {"text": raw, "entities": [{"type": "bold"}], "n": 1, "x": [raw, None]}}
    assert strip_control(update) == {
        "message": {"text": clean, "entities": [{"type": "bold"}], "n": 1, "x": [clean, None]}
    }


async def test_a_dead_server_is_a_network_error_that_never_shows_the_token() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        token = "123456:SECRET-token-that-must-not-leak"
        request = AiohttpRequest(connect_timeout=1.0)
        await request.initialize()
        try:
            with pytest.raises(NetworkError) as caught:
                await request.post(f"http://127.0.0.1:{port}/bot{token}/getMe")
        finally:
            await request.shutdown()
    assert isinstance(caught.value, NotSent)  # never left: safe to send again
    assert "SECRET" not in str(caught.value)
    assert "SECRET" not in str(caught.value.__cause__)


async def test_requests_before_initialize_are_refused() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:1/x", "POST")
