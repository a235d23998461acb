"""The one sender for everything the bot sends unprompted.

Within Telegram's limits (a global rate and a per-chat spacing), highest priority first (red-flag
alerts never wait behind reminders), honouring 429 retry_after, marking people who blocked the bot,
and recording every outcome in the outbox (`deliveries`).

What a failure means decides what happens next:
- Telegram did not take the message (5xx, no connection, no connection in time): it is sent again
  once Telegram answers. The whole sender waits (one probe at a time, backing off to a few
  seconds), so an outage costs no budget; a reminder or routine message that waits past
  WALKWELL_MISSED_AFTER_MINUTES is recorded as missed, a safety message is never given up.
- The request left but no answer came (read timeout, connection broken mid-request): Telegram may
  have delivered it. A routine message is recorded as `unknown` and not sent again (no doubles);
  a safety message is sent again (a second copy is better than none).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, select, update
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.models import Delivery, LeaseOwner, Person, ReminderRule
from bot.telegram_http import NotSent, ServerError
from jobs import leases
from jobs.budget import SKIP, Window, budget_for
from jobs.outgoing import PRIORITY_RED_FLAG, Outcome, Outgoing
from jobs.recurrence import missed_collapse
from jobs.rules import HELD_TIERS, local_instant

if TYPE_CHECKING:
    from telegram import Bot, Message

    from bot.context import Runtime

log = logging.getLogger(__name__)
DELIVERIES = cast(Table, Delivery.__table__)  # a Table for update() (the ORM types it a FromClause)

MAX_ATTEMPTS = 5
JITTER_MARGIN = 1.05
BACKOFF_CAP_SECONDS = 60.0
OUTAGE_PROBE_CAP_SECONDS = 5.0  # while Telegram is down, one probe at most this far apart
STOP_DRAIN_SECONDS = 2.0  # on SIGTERM: what is not sent by then goes back to the outbox
P = Person.__table__
CHAT_GONE = ("chat not found", "user is deactivated", "bot was blocked", "bot was kicked")


def keyboard(buttons: Iterable[Iterable[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    rows = [
        [InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in buttons
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class Sender:
    """Priority queue + rate limits + outcome recording. One per process."""

    def __init__(
        self,
        bot: Bot,
        runtime: Runtime,
        *,
        rate: float | None = None,
        per_chat_rate: float | None = None,
        concurrency: int | None = None,
        flush_interval: float = 0.1,
    ) -> None:
        self.bot = bot
        self.rt = runtime
        rate = rate or runtime.settings.global_rate
        # A little under Telegram's limits: requests leave evenly spaced but arrive with jitter,
        # and sends spaced exactly 1/30 s apart can put 31 arrivals inside one second.
        # One budget for the bot token: shared by every worker on PostgreSQL (jobs.budget).
        self.budget = budget_for(runtime, rate / JITTER_MARGIN)
        self.budget.demand = lambda: len(self._ready)
        self.chat_gap = JITTER_MARGIN / (per_chat_rate or runtime.settings.per_chat_rate)
        self.concurrency = concurrency or runtime.settings.send_concurrency
        self.flush_interval = flush_interval
        self._ready: list[tuple[int, int, Outgoing, int]] = []  # (priority, seq, item, attempt)
        self._delayed: list[tuple[float, int, Outgoing, int]] = []  # (ready_at, seq, item, attempt)
        self._chat_next: dict[int, float] = {}
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._inflight: set[asyncio.Task[None]] = set()
        self._outcomes: list[Outcome] = []
        self._flushing = asyncio.Lock()  # held while outcomes are being written
        self._answered = asyncio.Event()  # an outcome waits to be written
        self._sem = asyncio.Semaphore(self.concurrency)
        # Telegram counts arrivals in any one second. A send holds a slot from the moment it
        # leaves until a second after its answer, so however a stall of the event loop bunches
        # requests on their way out, no second ever sees more arrivals than the limit allows.
        self._window = Window(max(1, int(rate)))
        self._window_full = max(1, int(rate))
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._held: set[int] = set()  # delivery ids queued or in flight in this process
        self._held_safety: set[int] = set()  # those of the red-flag lane (short lease)
        self._last_heartbeat = self._last_safety_heartbeat = time.monotonic()
        self._outage_streak = 0  # transient failures in a row: Telegram is down
        self.sent = 0

    # -- queue -----------------------------------------------------------------------------------
    def submit(self, items: Iterable[Outgoing]) -> None:
        for item in items:
            if item.delivery_id in self._held:
                continue  # already queued here (a re-claim after a long queue): never send twice
            self._held.add(item.delivery_id)
            if item.priority == PRIORITY_RED_FLAG:
                self._held_safety.add(item.delivery_id)
            heapq.heappush(self._ready, (item.priority, next(self._seq), item, 1))
            self._idle.clear()
        self._wake.set()

    def pending(self) -> int:
        return len(self._ready) + len(self._delayed) + len(self._inflight)

    def _promote(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            _, seq, item, attempt = heapq.heappop(self._delayed)
            heapq.heappush(self._ready, (item.priority, seq, item, attempt))

    def _defer(self, item: Outgoing, attempt: int, ready_at: float) -> None:
        heapq.heappush(self._delayed, (ready_at, next(self._seq), item, attempt))

    async def _next(self) -> tuple[Outgoing, int]:
        """The highest-priority item whose chat may receive a message now."""
        while True:
            now = time.monotonic()
            self._promote(now)
            while self._ready:
                priority, seq, item, attempt = heapq.heappop(self._ready)
                chat_ready = self._chat_next.get(item.chat_id, 0.0)
                if chat_ready > now:
                    heapq.heappush(self._delayed, (chat_ready, seq, item, attempt))
                    continue
                return item, attempt
            if not self._delayed and not self._inflight and not self._outcomes:
                self._idle.set()
            timeout = self._delayed[0][0] - now if self._delayed else None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="sender"),
            asyncio.create_task(self._flush_loop(), name="sender-flush"),
        ]

    async def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued is sent (or given up) and recorded."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._idle.wait()
                    if not self.pending() and not self._outcomes and not self._flushing.locked():
                        return True
                    await asyncio.sleep(0.01)
        except TimeoutError:
            return False

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish in-flight sends, record them, and give back what is not sent yet.

        A rolling restart must not stall a backlog: whatever is still queued here goes back to
        the outbox, where another worker (or this one, restarted) claims it at its next tick.
        """
        await self.drain(min(timeout, STOP_DRAIN_SECONDS))
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.budget.stop()
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=timeout)
        with contextlib.suppress(Exception):  # if the database is gone, the leases run out
            await self._flush()
        unsent = set(self._held)
        if unsent:
            try:
                released = await leases.release(self.rt, unsent)
                log.info("gave back %d unsent messages for other workers", released)
            except Exception:
                log.exception("could not give back unsent messages; their leases will run out")
        self._ready.clear()
        self._delayed.clear()
        self._held.clear()
        self._held_safety.clear()

    # -- sending -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            item, attempt = await self._next()
            await self.budget.acquire(item.priority)
            self._chat_next[item.chat_id] = time.monotonic() + self.chat_gap
            await self._sem.acquire()
            task = asyncio.create_task(self._send(item, attempt))
            self._inflight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._sem.release()
        self._wake.set()

    async def _send(self, item: Outgoing, attempt: int) -> None:
        metrics = self.rt.metrics
        grace = timedelta(minutes=self.rt.settings.missed_after_minutes)
        if item.kind == "reminder" and missed_collapse(item.due_at, self.rt.clock.now(), grace):
            self._record(item, "missed", attempt)  # never a stale burst
            return
        if item.priority != PRIORITY_RED_FLAG and item.person_id is not None:
            reason = await self._held_back(item)
            if reason is not None:  # stopped, deleted, paused or in a red-flag episode since
                self._record(item, "skipped", attempt, error=reason)
                if item.kind == "reminder":
                    metrics.reminders.labels(reason).inc()
                return
        started = time.perf_counter()
        try:
            message = await self._deliver(item)
        except RetryAfter as exc:
            metrics.retry_after.inc()
            delay = float(
                exc.retry_after
                if isinstance(exc.retry_after, int | float)
                else exc.retry_after.total_seconds()
            )
            self.budget.pause(delay)
            self._defer(item, attempt, time.monotonic() + delay)
            return
        except Forbidden as exc:
            self._record(item, "blocked", attempt, error=exc.message)
            return
        except BadRequest as exc:
            gone = any(marker in exc.message.lower() for marker in CHAT_GONE)
            self._record(item, "blocked" if gone else "failed", attempt, error=exc.message)
            return
        except (NotSent, ServerError) as exc:  # Telegram did not take it: wait for Telegram
            self._outage(item, attempt, str(exc))
            return
        except (TimedOut, NetworkError) as exc:  # it left; whether it arrived is unknowable
            metrics.unknown.inc()
            if item.priority == PRIORITY_RED_FLAG:
                self._retry(item, attempt, str(exc))  # a second copy is better than none
            else:
                self._record(item, "unknown", attempt, error=str(exc))
            return
        except Exception as exc:  # never let one message kill the sender
            log.exception("unexpected error sending delivery %s", item.delivery_id)
            self._retry(item, attempt, type(exc).__name__)
            return
        metrics.send_latency.observe(time.perf_counter() - started)
        self._outage_streak = 0
        self.sent += 1
        now = self.rt.clock.now()
        lateness = max(0, int((now - item.due_at).total_seconds() * 1000))
        if item.kind == "reminder":
            metrics.reminders.labels("sent").inc()
            metrics.lateness.observe(lateness / 1000)
        self._forget(item.delivery_id)
        self._answered.set()
        self._outcomes.append(
            Outcome(
                item.delivery_id,
                "sent",
                now,
                lateness,
                message.message_id,
                attempt,
                person_id=item.person_id,
            )
        )

    async def _deliver(self, item: Outgoing) -> Message:
        self._window.limit = max(1, self._window_full // max(1, self.budget.workers))
        await self._window.acquire()
        try:
            if isinstance(self.bot, ExtBot) and self.bot.rate_limiter is not None:
                return await self.bot.send_message(
                    item.chat_id, item.text, reply_markup=keyboard(item.buttons),
                    rate_limit_args=SKIP,
                )  # fmt: skip
            return await self.bot.send_message(
                item.chat_id, item.text, reply_markup=keyboard(item.buttons)
            )
        finally:
            self._window.release_later()

    async def _held_back(self, item: Outgoing) -> str | None:
        """The person's state read just before sending: why a routine message must not go now.

        Their state may have changed since the message was claimed (/stop, /delete, a pause, a
        new red-flag episode): the claim was a promise to try, not to send regardless.
        """
        async with self.rt.sessions() as session:
            row = (
                await session.execute(
                    select(P.c.status, P.c.timezone, P.c.paused_until, P.c.open_tier).where(
                        P.c.id == item.person_id
                    )
                )
            ).first()
        if row is None:
            return "deleted"
        if row.status != "active":
            return "inactive"
        if row.open_tier in HELD_TIERS:
            return "red_flag"
        if row.paused_until is not None and (
            local_instant(item.due_at, row.timezone).date() <= row.paused_until
        ):
            return "paused"
        return None

    def prune_chats(self, now: float) -> int:
        """Forget chats whose spacing has passed: the map holds the last second's chats, not
        every chat ever messaged. Returns how many are left."""
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}
        return len(self._chat_next)

    def _forget(self, delivery_id: int) -> None:
        self._held.discard(delivery_id)
        self._held_safety.discard(delivery_id)

    def _outage(self, item: Outgoing, attempt: int, error: str) -> None:
        """Telegram is down or unreachable: everyone waits, the item keeps its place.

        Routine messages wait up to the missed-after window from their due time, safety messages
        for ever. The sender pauses as a whole (0.5 s, doubling to a few seconds) so an outage
        costs one probe at a time, not the budget.
        """
        if item.priority != PRIORITY_RED_FLAG and missed_collapse(
            item.due_at,
            self.rt.clock.now(),
            timedelta(minutes=self.rt.settings.missed_after_minutes),
        ):
            self._record(item, "missed", attempt, error=error)
            return
        now = time.monotonic()
        if now >= self.budget.paused_until:
            self._outage_streak += 1
            self.budget.pause(min(OUTAGE_PROBE_CAP_SECONDS, 0.5 * 2 ** (self._outage_streak - 1)))
        self.rt.metrics.outage_waits.inc()
        self._defer(item, attempt + 1, self.budget.paused_until)

    def _retry(self, item: Outgoing, attempt: int, error: str) -> None:
        if attempt >= MAX_ATTEMPTS and item.priority != PRIORITY_RED_FLAG:
            self._record(item, "failed", attempt, error=error)
            return
        delay = min(BACKOFF_CAP_SECONDS, 0.5 * 2 ** (attempt - 1))
        self._defer(item, attempt + 1, time.monotonic() + delay)

    def _record(
        self, item: Outgoing, status: str, attempt: int, *, error: str | None = None
    ) -> None:
        if status == "blocked":
            self.rt.metrics.blocked.inc()
        if item.kind == "reminder":
            self.rt.metrics.reminders.labels(status).inc()
        self._forget(item.delivery_id)
        self._answered.set()
        self._outcomes.append(
            Outcome(
                item.delivery_id,
                status,
                None,
                None,
                None,
                attempt,
                (error or "")[:200],
                # An operator alert is about a person but goes to the clinic's chat: a failure
                # there must never mark the person as having blocked the bot.
                None if item.kind == "operator" else item.person_id,
            )
        )

    # -- recording ---------------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        """Write outcomes as soon as Telegram answers (what arrives during a write goes in the
        next one), so a crash leaves as little as possible sent but unrecorded."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), self.flush_interval)
            self._answered.clear()
            try:
                await self._flush()
                now = time.monotonic()
                if now - self._last_heartbeat > leases.HEARTBEAT_SECONDS:
                    self._last_heartbeat = self._last_safety_heartbeat = now
                    self.prune_chats(now)
                    await self._heartbeat(self._held)
                elif self._held_safety and (
                    now - self._last_safety_heartbeat > leases.SAFETY_HEARTBEAT_SECONDS
                ):
                    self._last_safety_heartbeat = now
                    await self._heartbeat(self._held_safety)
            except Exception:
                log.exception("could not record delivery outcomes; will retry")

    async def _heartbeat(self, ids: set[int]) -> None:
        """Renew this worker's lease on what it still holds, so nobody else re-claims it."""
        held = list(ids)
        now = self.rt.clock.now()
        for start in range(0, len(held), 5000):
            chunk = held[start : start + 5000]
            async with self.rt.sessions() as session, session.begin():
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(chunk), Delivery.status == "sending")
                    .values(claimed_at=now, claimed_by=LeaseOwner.name)
                )

    async def _flush(self) -> None:
        async with self._flushing:
            if not self._outcomes:
                return
            batch, self._outcomes = self._outcomes, []
            try:
                await record_outcomes(self.rt, batch)
            except BaseException:  # a failed or cancelled write: the next flush writes them
                self._outcomes[:0] = batch
                raise
        self._wake.set()


async def record_outcomes(rt: Runtime, batch: list[Outcome]) -> None:
    """Write a batch of outcomes; people who blocked the bot stop getting reminders."""
    rows = [
        {
            "b_id": o.delivery_id,
            "status": o.status,
            "sent_at": o.sent_at,
            "lateness_ms": o.lateness_ms,
            "message_id": o.message_id,
            "attempts": o.attempts,
            "error": o.error,
        }
        for o in batch
    ]
    blocked = {o.person_id for o in batch if o.status == "blocked" and o.person_id is not None}
    async with rt.sessions() as session, session.begin():
        stmt = (
            update(DELIVERIES)
            .where(DELIVERIES.c.id == bindparam("b_id"))
            .values(
                status=bindparam("status"),
                sent_at=bindparam("sent_at"),
                lateness_ms=bindparam("lateness_ms"),
                message_id=bindparam("message_id"),
                attempts=bindparam("attempts"),
                error=bindparam("error"),
            )
        )
        conn = await session.connection()
        await conn.execute(stmt, rows)
        if blocked:
            await session.execute(
                update(Person).where(Person.id.in_(blocked)).values(status="blocked")
            )
            await session.execute(
                update(ReminderRule)
                .where(ReminderRule.person_id.in_(blocked))
                .values(next_due_at=None)
            )
