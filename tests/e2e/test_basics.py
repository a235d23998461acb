"""The bot answers /start and /help through the real HTTP path, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.e2e.harness import running_bot


async def test_start_welcomes_and_asks_for_consent(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(1001, "Alex")
        replies = await h.send(alex, "/start")
        assert len(replies) == 1
        assert "WalkWell" in replies[0].plain
        assert len(replies[0].buttons) == 2


async def test_help_lists_the_commands(database_url: str) -> None:
    async with running_bot(database_url) as h:
        alex = h.stand.person(1002)
        (reply,) = await h.send(alex, "/help")
        for command in ("/morning", "/evening", "/meals", "/log", "/pain", "/sos", "/delete"):
            assert command in reply.plain


async def test_command_menu_is_published_in_every_language(database_url: str) -> None:
    async with running_bot(database_url) as h:
        names = {c["command"] for c in h.stand.commands_for("default", "")}
        assert {"start", "help", "morning", "symptoms", "sos"} <= names
        assert {c["command"] for c in h.stand.commands_for("default", "de")} == names


async def test_german_speakers_get_german(database_url: str) -> None:
    async with running_bot(database_url) as h:
        anna = h.stand.person(1003, "Anna", language_code="de")
        (reply,) = await h.send(anna, "/start")
        english = h.runtime.catalog.text("en", "ui.start.welcome")
        assert reply.text != english
        assert reply.text == h.runtime.catalog.text("de", "ui.start.welcome")
