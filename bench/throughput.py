"""Claim, send and lateness measurements against the bench PostgreSQL database.

Each function resets the database, seeds what it needs, measures one thing and checks it.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from typing import Any

from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import Defaults, ExtBot

from bench.data import (
    CHAT_BASE,
    Slot,
    checkpoint_pg,
    copy_deliveries,
    pg_fetch,
    seed_pg,
    truncate_pg,
)
from bench.standproc import RemoteStand, StandStats
from bot.app import build_application, build_runtime, settle_gc
from bot.clock import Clock, FakeClock, SystemClock
from bot.config import load_settings
from bot.context import Runtime
from jobs.delivery import Sender, keyboard
from jobs.dispatcher import Dispatcher
from jobs.outgoing import Outgoing
from jobs.render import render_reminder
from tests.stand import DEFAULT_TOKEN

# A Monday in winter: 06:00 UTC is 07:00 in Berlin.
PEAK = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
# A Monday away from any DST change, for the day's load.
DAY = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
TELEGRAM_CAP = 30.0  # messages per second overall


def berlin_morning(i: int) -> tuple[str, list[Slot]]:
    """Everyone walks at 07:00 Berlin time: the morning peak."""
    return "Europe/Berlin", [("morning", wall_time(7), 0)]


def _runtime(url: str, clock: Clock, port: int = 1, **env: Any) -> Runtime:
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=url,
        **env,
    )
    return build_runtime(settings, clock=clock)


async def _close(rt: Runtime) -> None:
    await rt.extras["engine"].dispose()


# -- 3. claim + advance + render ----------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    rows: int
    seconds: float
    distinct_ids: int  # delivery ids handed to the sender, distinct
    recorded: int  # deliveries rows
    distinct_rules: int  # distinct rule ids among them
    still_due: int  # rules left due after the tick (should be 0)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def exactly_once(self) -> bool:
        return (
            self.distinct_ids == self.rows == self.recorded == self.distinct_rules
            and self.still_due == 0
        )


async def claim_peak(url: str, reminders: int, *, batch: int | None = None) -> Claim:
    """`reminders` rules due in the same minute; one Dispatcher.tick() with a counting submit.

    With batch=1 every rule is claimed in its own transaction (the one-row-at-a-time baseline).
    """
    await truncate_pg()
    await seed_pg(0, reminders, now=PEAK, plan=berlin_morning, due=PEAK)
    await checkpoint_pg()  # the peak's rules were last touched a day (many checkpoints) ago
    env = {"WALKWELL_CLAIM_BATCH": batch} if batch else {}
    rt = _runtime(url, FakeClock(PEAK + timedelta(seconds=20)), **env)
    settle_gc()  # as bot.app.serve() does once start-up is done
    ids: list[int] = []
    dispatcher = Dispatcher(rt, submit=lambda items: ids.extend(i.delivery_id for i in items))
    try:
        await dispatcher.next_wakeup()  # open the pool's first connection outside the timing
        started = time.perf_counter()
        result = await dispatcher.tick()
        seconds = time.perf_counter() - started
    finally:
        await _close(rt)
    (check,) = await pg_fetch(
        "SELECT count(*) AS n, count(DISTINCT rule_id) AS rules, "
        "(SELECT count(*) FROM reminder_rules WHERE next_due_at <= "
        f"'{PEAK.isoformat()}'::timestamptz) AS due FROM deliveries"
    )
    return Claim(result.claimed, seconds, len(set(ids)), check["n"], check["rules"], check["due"])


# -- 4. sender -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    messages: int
    seconds: float
    recorded: int  # deliveries rows marked sent
    stand: StandStats
    concurrency: int = 1  # sends in flight at once

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


async def _outbox(count: int, now: datetime, rt: Runtime) -> list[Outgoing]:
    """`count` reminder rows in the outbox (distinct chats) and their rendered messages."""
    await truncate_pg()
    rows = [
        (i + 1, CHAT_BASE + i, "reminder", 5, "morning", now, "sending", 0, now, False)
        for i in range(count)
    ]
    await copy_deliveries(rows)
    items = []
    for i in range(count):
        text, buttons = render_reminder(
            rt.catalog, lang="en" if i % 4 else "de", kind="morning", person_id=i + 1,
            delivery_id=i + 1, local_day=date(2026, 1, 5), programme=None, stenosis=i % 7 == 0,
        )  # fmt: skip
        items.append(Outgoing(i + 1, CHAT_BASE + i, text, now, person_id=None, buttons=buttons))
    return items


async def _bot(rt: Runtime) -> Bot:
    """The production Bot object (build_application's request settings and defaults)."""
    bot: Bot = build_application(rt.settings, rt).bot
    await bot.initialize()
    return bot


async def send_with_sender(
    url: str, stand: RemoteStand, count: int, *, limits: bool, rate: float | None = None
) -> Sent:
    """Submit `count` reminders to jobs.delivery.Sender and wait until all are recorded."""
    rt = _runtime(url, SystemClock(), stand.port)
    items = await _outbox(count, datetime.now(UTC), rt)
    bot = await _bot(rt)
    per_chat = 1000.0 if rate else None
    sender = Sender(bot, rt, rate=rate, per_chat_rate=per_chat)  # production concurrency
    await stand.limits(limits)
    await stand.stats()
    try:
        await sender.start()
        started = time.perf_counter()
        sender.submit(items)
        drained = await sender.drain(timeout=600)
        seconds = time.perf_counter() - started
        await sender.stop()
    finally:
        await bot.shutdown()
        await _close(rt)
        await stand.limits(False)
    if not drained:
        raise RuntimeError("the sender did not drain within 600 s")
    (row,) = await pg_fetch("SELECT count(*) AS n FROM deliveries WHERE status = 'sent'")
    return Sent(sender.sent, seconds, row["n"], await stand.stats(), sender.concurrency)


async def send_sequentially(
    url: str, stand: RemoteStand, count: int, *, limits: bool = False, httpx: bool = False
) -> Sent:
    """Baseline: plain `await bot.send_message(...)` one after another, no limiter, no records.

    With `httpx`, the Bot uses python-telegram-bot's default networking (HTTPXRequest) instead
    of WalkWell's AiohttpRequest. A 429 (RetryAfter) is counted by the stand and the message is
    simply lost.
    """
    rt = _runtime(url, SystemClock(), stand.port)
    items = await _outbox(count, datetime.now(UTC), rt)
    if httpx:
        bot = ExtBot(
            DEFAULT_TOKEN, base_url=rt.settings.bot_api_url, defaults=Defaults(parse_mode="HTML")
        )
        await bot.initialize()
    else:
        bot = await _bot(rt)
    await stand.limits(limits)
    await stand.stats()
    sent = 0
    try:
        started = time.perf_counter()
        for item in items:
            with contextlib.suppress(RetryAfter):
                await bot.send_message(item.chat_id, item.text, reply_markup=keyboard(item.buttons))
                sent += 1
        seconds = time.perf_counter() - started
    finally:
        await bot.shutdown()
        await _close(rt)
        await stand.limits(False)
    return Sent(sent, seconds, 0, await stand.stats())


# -- 5. lateness over a normal day -----------------------------------------------------------


class RunningClock:
    """Fake time that runs at real speed and can jump forward over idle stretches of the day."""

    def __init__(self, start: datetime) -> None:
        self._base = start
        self._mark = time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.monotonic() - self._mark)

    def jump(self, instant: datetime) -> None:
        self._base = instant
        self._mark = time.monotonic()


@dataclass(frozen=True)
class Day:
    reminders: int
    statuses: dict[str, int]
    p50_ms: float
    p99_ms: float
    max_ms: float
    ideal_p50_ms: float  # the same due instants through a perfect 30/s queue
    ideal_p99_ms: float
    wall_seconds: float
    stand: StandStats


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ideal_lateness_ms(dues: list[datetime], rate: float = TELEGRAM_CAP) -> list[float]:
    """Lateness if every message left exactly on time, one every 1/rate s, in due order."""
    free = None
    out = []
    for due in sorted(dues):
        start = due if free is None or free < due else free
        out.append((start - due).total_seconds() * 1000)
        free = start + timedelta(seconds=1 / rate)
    return out


async def normal_day(url: str, stand: RemoteStand, people: int, plan: Any) -> Day:
    """A day of reminders through the dispatcher and the sender, Telegram's limits on."""
    await truncate_pg()
    await seed_pg(0, people, now=DAY, after=DAY, plan=plan)
    clock = RunningClock(DAY)
    rt = _runtime(url, clock, stand.port)
    bot = await _bot(rt)
    rt.sender = Sender(bot, rt)
    dispatcher = rt.dispatcher = Dispatcher(rt)
    await stand.limits(True)
    await stand.stats()
    end = DAY + timedelta(days=1)
    started = time.perf_counter()
    try:
        await rt.sender.start()
        while (due := await dispatcher.next_wakeup()) is not None and due < end:
            if due > clock.now():
                clock.jump(due)  # nothing to do until then: skip ahead
            await dispatcher.tick()
            if not await rt.sender.drain(timeout=900):
                raise RuntimeError("the sender did not drain")
        await rt.sender.stop()
    finally:
        wall = time.perf_counter() - started
        await bot.shutdown()
        await _close(rt)
        await stand.limits(False)
    rows = await pg_fetch("SELECT status, lateness_ms, due_at FROM deliveries")
    late = [float(r["lateness_ms"]) for r in rows if r["status"] == "sent"]
    ideal = ideal_lateness_ms([r["due_at"] for r in rows])
    return Day(
        reminders=len(rows),
        statuses=dict(Counter(r["status"] for r in rows)),
        p50_ms=percentile(late, 50),
        p99_ms=percentile(late, 99),
        max_ms=max(late),
        ideal_p50_ms=percentile(ideal, 50),
        ideal_p99_ms=percentile(ideal, 99),
        wall_seconds=wall,
        stand=await stand.stats(),
    )
