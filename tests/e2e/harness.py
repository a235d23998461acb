"""Runs the real bot (serve(), long polling over HTTP) against the stand, with a movable clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import serve
from bot.clock import FakeClock
from bot.config import Settings, load_settings
from bot.context import Runtime
from tests.stand import BotMessage, CallbackQuery, Person, Stand

ESCALATION_CHAT = -1001234
ADMIN_ID = 999
# A Monday morning in winter (Berlin is UTC+1): 2026-01-05 06:00 UTC = 07:00 in Berlin.
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


@dataclass
class Harness:
    stand: Stand
    clock: FakeClock
    runtime: Runtime
    settings: Settings

    @property
    def application(self) -> Any:
        return self.runtime.extras["application"]

    async def settle(self) -> None:
        """Wait until the bot has fetched and handled every update and sent everything queued."""
        for _ in range(3):
            await self.stand.wait_for(lambda: not self.stand.pending_updates, timeout=10)
            await self.application.idle()
            assert self.runtime.sender is not None
            await self.runtime.sender.drain(10)
        await asyncio.sleep(0)

    async def send(self, who: Person, text: str) -> list[BotMessage]:
        """The person writes; returns every bot message to their chat that the text caused."""
        before = len(self.stand.transcript(who))
        await self.stand.send(who, text)
        await self.settle()
        return self.stand.transcript(who)[before:]

    async def tap(self, who: Person, message: BotMessage, button: str | int) -> list[BotMessage]:
        """The person taps a button; returns the new messages it caused (the tapped message's own
        edit, showing the choice, is left out: see `stand.current(message)`)."""
        before = len(self.stand.transcript(who))
        await self.stand.tap(who, message, button)
        await self.settle()
        return self._new(who, before, message)

    async def tap_again(self, who: Person, message: BotMessage, data: str) -> CallbackQuery:
        """A second tap on an old button (a slow client still shows it): the data it carried."""
        query = await self.stand.tap_data(who, data, message)
        await self.settle()
        return query

    def _new(self, who: Person, before: int, tapped: BotMessage) -> list[BotMessage]:
        return [
            m
            for m in self.stand.transcript(who)[before:]
            if not (m.edited and m.message_id == tapped.message_id)
        ]

    async def tick(self) -> None:
        """Run the dispatcher now (the scheduler also runs it when the clock moves)."""
        assert self.runtime.dispatcher is not None
        await self.runtime.dispatcher.tick()
        await self.settle()

    async def advance(self, delta: timedelta) -> None:
        """Move time forward and let the dispatcher catch up."""
        self.clock.set(self.clock.now() + delta)
        await self.tick()

    def last(self, who: Person | int) -> BotMessage:
        return self.stand.transcript(who)[-1]

    def texts(self, who: Person | int) -> list[str]:
        return [m.plain for m in self.stand.transcript(who)]

    async def onboard(
        self,
        who: Person,
        place: str = "Berlin",
        effect: int = 3,
        minutes: str = "10",
        plan: int = 0,
    ) -> None:
        """Walk through /start with all-no safety answers and the default plan."""
        replies = await self.send(who, "/start")
        replies = await self.tap(who, replies[-1], 0)  # consent
        for _ in range(4):
            replies = await self.tap(who, replies[-1], 1)  # "no" to each safety question
        replies = await self.send(who, place)
        replies = await self.tap(who, replies[-1], 0)  # "yes, that's my zone"
        replies = await self.tap(who, replies[-1], effect)
        replies = await self.tap(who, replies[-1], minutes)
        await self.tap(who, replies[-1], plan)


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str,
    *,
    start: datetime = START,
    webhook: bool = False,
    people: tuple[Person, ...] = (),
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """The real Application, its scheduler and sender, against a fresh stand that already knows
    `people` (from an earlier run: the first tick may message them at once)."""
    async with Stand() as stand:
        for who in people:
            stand.person(who.user_id, who.first_name, who.language_code, who.username)
        settings = load_settings(
            TELEGRAM_BOT_TOKEN=stand.token,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{stand.port}",
            DATABASE_URL=database_url,
            WALKWELL_ESCALATION_CHAT_ID=ESCALATION_CHAT,
            WALKWELL_ADMIN_IDS=str(ADMIN_ID),
            **({"WALKWELL_LISTEN_PORT": 0, "WALKWELL_HEALTH_PORT": 0} | overrides),
        )
        stand.group(ESCALATION_CHAT, "Clinic escalations")
        clock = FakeClock(start)
        stop = asyncio.Event()
        ready = asyncio.Event()
        runtimes: list[Runtime] = []
        task = asyncio.create_task(
            serve(
                settings, stop=stop, clock=clock, ready=ready, runtime_out=runtimes, webhook=webhook
            )
        )
        try:
            await asyncio.wait_for(_first(ready, task), timeout=30)
            if runtimes[0].detector is not None:
                # the learned red-flag layer loads in the background; tests read its answers
                await asyncio.wait_for(runtimes[0].detector.ready(), timeout=30)
            yield Harness(stand, clock, runtimes[0], settings)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)


async def _first(ready: asyncio.Event, task: asyncio.Task[None]) -> None:
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()  # raises the start-up error
        raise RuntimeError("the bot stopped before it was ready")
