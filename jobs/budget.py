"""One sending budget for the bot token, shared by every worker, spent by priority.

Telegram's limit (about 30 messages a second) belongs to the bot token, not to a process. Each
worker reserves send slots from one shared schedule, a generic cell rate algorithm: a single row
holds the instant the next free slot starts (`send_budget.next_free`); reserving `n` slots moves
it `n / rate` seconds on, in one UPDATE on the database's clock, and the worker gets the first
slot's instant back. Slots are therefore spaced 1/rate apart across all workers, whoever holds
them. A worker reserves only what it can use in the next quarter second (its queue, capped), so
an idle worker holds no budget and a busy one never hoards a morning peak.

Inside a worker, every slot goes to the most urgent waiter at that moment: red-flag messages,
then replies to a person who is waiting (python-telegram-bot's rate limiter hook, `Replies`),
then check-ins, reminders and summaries. A 429 pauses the shared schedule for everyone.

On SQLite (one worker) the same schedule lives in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from telegram.ext import BaseRateLimiter

from bot.models import LeaseOwner

if TYPE_CHECKING:
    from bot.context import Runtime

log = logging.getLogger(__name__)

PRIORITY_REPLY = 1  # after the red-flag lane (0), before check-ins (2) and reminders (5)
GRANT_SECONDS = 0.25  # the most a worker reserves ahead
# Several processes keep the shared schedule with more jitter than one (each converts the
# database's instants to its own clock and loop): a little more margin under the limit.
SHARED_MARGIN = 1.03
# Reserve `span` seconds of slots, and learn how many workers are sending (each reservation
# marks its worker as sending; a worker counts for two seconds after its last one).
RESERVE_PG = text(
    "WITH me AS (INSERT INTO send_workers (name, seen_at) VALUES (:name, clock_timestamp()) "
    "ON CONFLICT (name) DO UPDATE SET seen_at = EXCLUDED.seen_at), "
    "slot AS (UPDATE send_budget SET next_free = GREATEST(next_free, clock_timestamp()) "
    "+ make_interval(secs => :span) WHERE id = 1 "
    "RETURNING EXTRACT(EPOCH FROM next_free - clock_timestamp()) - :span AS delay) "
    "SELECT (SELECT delay FROM slot), 1 + (SELECT count(*) FROM send_workers "
    "WHERE name <> :name AND seen_at > clock_timestamp() - interval '2 seconds')"
)
PAUSE_PG = text(
    "UPDATE send_budget SET next_free = GREATEST(next_free, clock_timestamp() "
    "+ make_interval(secs => :seconds)) WHERE id = 1"
)
SKIP = {"budget": "taken"}  # rate_limit_args of a send that already holds a slot


class Budget:
    """Send slots at `rate` per second, handed to the most urgent waiter."""

    def __init__(
        self,
        rate: float,
        *,
        reserve: Callable[[int, float], Awaitable[tuple[float, int]]] | None = None,
        pause: Callable[[float], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        self._reserve_shared = reserve
        self._pause_shared = pause
        self._next_free = 0.0  # local schedule (when not shared), monotonic
        self._slots: deque[float] = deque()  # monotonic instants reserved for this worker
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self.paused_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self.demand: Callable[[], int] = lambda: 0  # sends queued besides the waiters
        self.reserved = 0
        self.used = 0
        self.workers = 1  # workers sending from the same budget lately (shared mode)

    async def acquire(self, priority: int) -> None:
        """Wait for a slot; the most urgent waiter gets each slot first."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="send-budget")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), future))
        self._wake.set()
        await future

    def pause(self, seconds: float) -> None:
        """Telegram said wait (429) or is down: nobody sends until then (all workers)."""
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)
        self._slots.clear()
        if self._pause_shared is not None:
            task = asyncio.get_running_loop().create_task(self._pause_shared(seconds))
            task.add_done_callback(_ignore)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _reserve(self, count: int) -> None:
        span = count * self.interval
        if self._reserve_shared is not None:
            try:
                delay, self.workers = await self._reserve_shared(count, span)
            except Exception:  # the database is away: keep sending on this worker's own schedule
                log.warning("shared send budget unavailable; using this worker's own for now")
                delay = max(0.0, self._next_free - time.monotonic())
                self._next_free = time.monotonic() + delay + span
            start = time.monotonic() + max(0.0, delay)
        else:
            now = time.monotonic()
            start = max(self._next_free, now)
            self._next_free = start + span
        self._slots.extend(start + k * self.interval for k in range(count))
        self.reserved += count

    async def _run(self) -> None:
        while True:
            self._drop_cancelled()
            if not self._waiters:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.monotonic()
            if now < self.paused_until:
                await asyncio.sleep(self.paused_until - now)
                continue
            while self._slots and self._slots[0] < now - self.interval:
                self._slots.popleft()  # a slot that passed unused (paused, or nobody waited)
            if not self._slots:
                want = len(self._waiters) + self.demand()
                await self._reserve(max(1, min(want, int(self.rate * GRANT_SECONDS) or 1)))
                continue
            wait = self._slots[0] - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            self._drop_cancelled()
            if not self._waiters:
                continue
            self._slots.popleft()
            while self._waiters:
                _, _, future = heapq.heappop(self._waiters)
                if not future.done():  # a waiter that gave up (cancelled) passes its turn on
                    future.set_result(None)
                    self.used += 1
                    break

    def _drop_cancelled(self) -> None:
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)


class Window:
    """At most `limit` sends leaving, in flight, or answered less than a second ago.

    Telegram counts arrivals in any one second; spacing departures is not enough when the event
    loop or the network bunches them. A send holds its place from departure until a second after
    its answer, so no second can see more than `limit` arrivals from this worker. With several
    workers on one budget, each holds `limit / workers` places.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._freed = asyncio.Event()

    async def acquire(self) -> None:
        while self.used >= self.limit:
            self._freed.clear()
            await self._freed.wait()
        self.used += 1

    def release_later(self) -> None:
        asyncio.get_running_loop().call_later(1.0, self._release)

    def _release(self) -> None:
        self.used -= 1
        self._freed.set()


def _ignore(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def budget_for(rt: Runtime, rate: float) -> Budget:
    """The shared schedule on PostgreSQL (several workers), an in-memory one on SQLite."""
    if rt.settings.is_sqlite or rt.settings.send_budget == "local":
        return Budget(rate)

    async def reserve(count: int, span: float) -> tuple[float, int]:
        async with rt.sessions() as session, session.begin():
            delay, workers = (
                await session.execute(RESERVE_PG, {"span": span, "name": LeaseOwner.name or "?"})
            ).one()
        return float(delay or 0.0), int(workers or 1)

    async def pause(seconds: float) -> None:
        async with rt.sessions() as session, session.begin():
            await session.execute(PAUSE_PG, {"seconds": seconds})

    return Budget(rate / SHARED_MARGIN, reserve=reserve, pause=pause)


class Replies(BaseRateLimiter[dict[str, str]]):
    """python-telegram-bot's hook on every API call: a handler's reply takes a slot from the
    same budget (at reply priority); the sender's calls already hold one."""

    def __init__(self, budget: Callable[[], Budget | None]) -> None:
        self._budget = budget

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, str] | None,
    ) -> Any:
        budget = self._budget()
        if (
            budget is not None
            and rate_limit_args is None
            and endpoint.startswith("send")
            and endpoint != "sendChatAction"
        ):
            await budget.acquire(PRIORITY_REPLY)
        return await callback(*args, **kwargs)
