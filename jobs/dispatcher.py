"""The dispatcher: claims what is due from the database, advances it, hands it to the sender.

The database is the truth. Each enabled reminder rule stores its next due instant; one tick
claims every due rule in one transaction (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so
several workers never claim the same reminder), advances each rule to its next occurrence,
records a delivery for each, and only then hands the messages to the sender. Scheduled outbox rows
(check-ins, red-flag alerts left by a crashed worker) are claimed the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import Select, Table, bindparam, func, insert, or_, select, text, update

from bot.models import Delivery, Escalation, LeaseOwner, Person, ReminderRule, SymptomReport
from bot.safety.lifecycle import LIVE
from jobs.leases import LEASE, SAFETY_LEASE
from jobs.outgoing import PRIORITY_RED_FLAG, PRIORITY_REMINDER, Outgoing
from jobs.render import render_reminder
from jobs.rules import HELD_TIERS, ONE_OFF_KINDS, gate, local_instant, next_due

if TYPE_CHECKING:
    from bot.context import Runtime

log = logging.getLogger(__name__)

CLAIM_HORIZON_SECONDS = 10.0  # a worker claims what it can send in this long, no more
CLAIM_LANES = 3  # PostgreSQL: while one lane waits for the database, another computes
RENDER_SLICE = 250  # reminders rendered between two yields to the event loop (other lanes)
# One UPDATE for a whole claimed batch (an executemany sends one statement per row). The
# `= ANY` makes the planner fetch the batch's rows by primary key; with a join on `unnest` alone
# it hashed the whole table for every batch once a batch was a few percent of it (100k rules).
ADVANCE_PG = text(
    "UPDATE reminder_rules AS r SET next_due_at = v.due, enabled = v.due IS NOT NULL "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:dues AS timestamptz[])) AS v(id, due) "
    "WHERE r.id = ANY(CAST(:ids AS integer[])) AND r.id = v.id"
)
# One INSERT for a whole claimed batch of reminder deliveries (rule ids are unique in a batch),
# run before the UPDATE: each delivery copies its locked rule's person, kind and due instant, and
# is either being sent now (claimed by this worker) or recorded as missed.
RECORD_PG = text(
    "INSERT INTO deliveries (person_id, chat_id, kind, priority, rule_id, reminder_kind, due_at, "
    "status, attempts, claimed_at, claimed_by, answered) SELECT r.person_id, v.chat_id, "
    f"'reminder', {PRIORITY_REMINDER}, r.id, r.kind, r.next_due_at, "
    "CASE WHEN v.sending THEN 'sending' ELSE 'missed' END, 0, "
    "CASE WHEN v.sending THEN CAST(:now AS timestamptz) END, "
    "CASE WHEN v.sending THEN CAST(:owner AS varchar) END, false "
    "FROM unnest(CAST(:rule_ids AS integer[]), CAST(:chat_ids AS bigint[]), "
    "CAST(:sending AS boolean[])) AS v(rule_id, chat_id, sending) "
    "JOIN reminder_rules AS r ON r.id = v.rule_id WHERE r.id = ANY(CAST(:rule_ids AS integer[])) "
    "RETURNING rule_id, id"
)
# The words of ix_deliveries_pending's WHERE. SQLite uses a partial index only when the query
# repeats its condition; without it every tick scanned the whole outbox (PostgreSQL infers it).
OPEN_ROWS = text("deliveries.status IN ('scheduled', 'queued', 'sending')")
# Outbox kinds that are routine (not safety): held while a person is inactive or in an episode.
ROUTINE_KINDS = ("reminder", "weekly", "morning_check", "broadcast")

# Core tables (typed as Table: the ORM types __table__ as a FromClause, which update() refuses).
R = cast(Table, ReminderRule.__table__)
P = cast(Table, Person.__table__)
D = cast(Table, Delivery.__table__)
E = cast(Table, Escalation.__table__)
S = cast(Table, SymptomReport.__table__)


@dataclass
class TickResult:
    claimed: int = 0
    sent: int = 0
    missed: int = 0
    held: int = 0
    outbox: int = 0
    capped: bool = False  # more is due than this worker can send soon: tick again shortly


class Dispatcher:
    """Claims due reminders and outbox rows; one tick at a time per process."""

    def __init__(
        self, runtime: Runtime, *, submit: Callable[[list[Outgoing]], None] | None = None
    ) -> None:
        self.rt = runtime
        self._lock = asyncio.Lock()
        self._submit = submit
        self.on_schedule_change: Callable[[datetime], None] | None = None
        self.last_tick: datetime | None = None

    def submit(self, items: list[Outgoing]) -> None:
        if not items:
            return
        if self._submit is not None:
            self._submit(items)
        elif self.rt.sender is not None:
            self.rt.sender.submit(items)

    def schedule_changed(self, due: datetime | None) -> None:
        """A rule now falls due at `due`: wake earlier if that is sooner than planned."""
        if due is not None and self.on_schedule_change is not None:
            self.on_schedule_change(due)

    async def tick(self) -> TickResult:
        """Claim and hand over everything due now."""
        async with self._lock:
            now = self.rt.clock.now()
            result = TickResult()
            batch = self.rt.settings.claim_batch
            # Lanes on PostgreSQL: while one waits for the database, another computes; SKIP
            # LOCKED keeps them apart. SQLite has one writer, so one lane.
            lanes = 1 if self.rt.settings.is_sqlite else CLAIM_LANES
            await asyncio.gather(*(self._drain_rules(now, batch, result) for _ in range(lanes)))
            while await self._claim_outbox(now, batch, result) >= batch:
                pass
            self.last_tick = now
            self.rt.metrics.last_dispatch.set(now.timestamp())
            return result

    async def next_wakeup(self) -> datetime | None:
        """The earliest instant anything is due."""
        async with self.rt.sessions() as session:
            rule: datetime | None = await session.scalar(select(func.min(R.c.next_due_at)))
            outbox: datetime | None = await session.scalar(next_outbox_due())
        candidates = [x for x in (rule, outbox) if x is not None]
        return min(candidates) if candidates else None

    def room(self) -> int | None:
        """How many more reminders this worker may claim now: what it can send within the
        horizon, less what it already holds (None: no limit, e.g. a bench's own sink).

        A worker that claimed a whole morning peak would leave the others idle and, if it
        crashed, stall the peak behind its leases; claimed in proportion, the peak is shared.
        """
        sender = self.rt.sender
        if self._submit is not None or sender is None:
            return None
        return max(0, int(self.rt.settings.global_rate * CLAIM_HORIZON_SECONDS) - sender.pending())

    async def _drain_rules(self, now: datetime, batch: int, result: TickResult) -> None:
        while True:
            room = self.room()
            size = batch if room is None else min(batch, room)
            if size <= 0:
                result.capped = True
                return
            claimed = await self._claim_rules(now, size, result)
            if claimed < size:
                return
            if room is not None and claimed >= room:
                result.capped = True
                return

    async def _claim_rules(self, now: datetime, batch: int, result: TickResult) -> int:
        settings = self.rt.settings
        missed_after = timedelta(minutes=settings.missed_after_minutes)
        stmt = (
            select(
                R.c.id,
                R.c.person_id,
                R.c.kind,
                R.c.local_time,
                R.c.weekdays,
                R.c.delay_minutes,
                R.c.next_due_at,
                P.c.chat_id,
                P.c.language,
                P.c.timezone,
                P.c.status,
                P.c.paused_until,
                P.c.quiet_start,
                P.c.quiet_end,
                P.c.open_tier,
                P.c.programme,
                P.c.stenosis,
            )  # fmt: skip
            .join(P, P.c.id == R.c.person_id)
            .where(R.c.next_due_at <= now)
            .order_by(R.c.next_due_at)
            .limit(batch)
        )
        if not settings.is_sqlite:
            stmt = stmt.with_for_update(of=R, skip_locked=True)
        async with self.rt.sessions() as session, session.begin():
            rows = (await session.execute(stmt)).all()
            if not rows:
                return 0
            advances: list[tuple[int, datetime | None]] = []
            recorded: list[tuple[Due, str]] = []  # (reminder, "sending" | "missed")
            for (
                rule_id, person_id, kind, local_time, weekdays, delay, due, chat_id, language, tz,
                status, paused_until, quiet_start, quiet_end, open_tier, programme, stenosis,
            ) in rows:  # fmt: skip
                reason = gate(
                    due=due, now=now, tz=tz, status=status, paused_until=paused_until,
                    quiet_start=quiet_start, quiet_end=quiet_end, open_tier=open_tier,
                    missed_after=missed_after,
                )  # fmt: skip
                if kind in ONE_OFF_KINDS or local_time is None:
                    new_due = None
                else:
                    new_due = next_due(
                        local_time, delay, weekdays, tz, now if reason == "missed" else due
                    )
                advances.append((rule_id, new_due))
                if reason is None or reason == "missed":
                    reminder = Due(rule_id, person_id, chat_id, kind, due, language, tz, programme,
                                   stenosis)  # fmt: skip
                    recorded.append((reminder, "sending" if reason is None else "missed"))
                if reason is not None:
                    self.rt.metrics.reminders.labels(reason).inc()
            conn = await session.connection()
            ids = await self._record(conn, recorded, now) if recorded else {}
            await self._advance(conn, advances)
        sendable = [reminder for reminder, status in recorded if status == "sending"]
        result.claimed += len(rows)
        result.sent += len(sendable)
        result.missed += len(recorded) - len(sendable)
        result.held += len(rows) - len(recorded)
        for start in range(0, len(sendable), RENDER_SLICE):
            self.submit(
                [self._render(d, ids[d.rule_id]) for d in sendable[start : start + RENDER_SLICE]]
            )
            await asyncio.sleep(0)  # let the other lanes send their next statement meanwhile
        return len(rows)

    async def _advance(self, conn: Any, advances: list[tuple[int, datetime | None]]) -> None:
        """Move every claimed rule to its next due instant, in one statement on PostgreSQL."""
        if self.rt.settings.is_sqlite:
            await conn.execute(
                update(R)
                .where(R.c.id == bindparam("r_id"))
                .values(next_due_at=bindparam("r_due"), enabled=bindparam("r_enabled")),
                [{"r_id": i, "r_due": due, "r_enabled": due is not None} for i, due in advances],
            )
            return
        await conn.execute(
            ADVANCE_PG,
            {
                "ids": [i for i, _ in advances],
                "dues": [due for _, due in advances],
            },
        )

    async def _record(
        self, conn: Any, recorded: list[tuple[Due, str]], now: datetime
    ) -> dict[int | None, int]:
        """Write a delivery for each sent or missed reminder; return rule id -> delivery id."""
        if self.rt.settings.is_sqlite:
            inserted = await conn.execute(
                insert(D).returning(D.c.rule_id, D.c.id, sort_by_parameter_order=True),
                [self._delivery(due, status, now) for due, status in recorded],
            )
        else:
            inserted = await conn.execute(
                RECORD_PG,
                {
                    "rule_ids": [due.rule_id for due, _ in recorded],
                    "chat_ids": [due.chat_id for due, _ in recorded],
                    "sending": [status == "sending" for _, status in recorded],
                    "now": now,
                    "owner": LeaseOwner.name,
                },
            )
        return {rule_id: delivery_id for rule_id, delivery_id in inserted}

    @staticmethod
    def _delivery(due: Due, status: str, now: datetime) -> dict[str, Any]:
        return {
            "person_id": due.person_id, "chat_id": due.chat_id, "kind": "reminder",
            "priority": PRIORITY_REMINDER, "rule_id": due.rule_id, "reminder_kind": due.kind,
            "due_at": due.due_at, "status": status, "attempts": 0,
            "claimed_at": now if status == "sending" else None,
            "claimed_by": LeaseOwner.name if status == "sending" else None, "answered": False,
            "escalation_id": None, "payload": None,
        }  # fmt: skip

    def _render(self, due: Due, delivery_id: int) -> Outgoing:
        catalog = self.rt.catalog
        lang = due.language if due.language in catalog.languages else catalog.default_language
        text, buttons = render_reminder(
            catalog, lang=lang, kind=due.kind, person_id=due.person_id, delivery_id=delivery_id,
            local_day=local_instant(due.due_at, due.timezone).date(), programme=due.programme,
            stenosis=due.stenosis,
        )  # fmt: skip
        return Outgoing(
            delivery_id, due.chat_id, text, due.due_at, PRIORITY_REMINDER, due.person_id, buttons
        )

    async def _claim_outbox(self, now: datetime, batch: int, result: TickResult) -> int:
        """Scheduled check-ins and alerts, and rows a crashed worker left half-sent."""
        stmt = outbox_due(now, batch)
        if not self.rt.settings.is_sqlite:
            stmt = stmt.with_for_update(of=D, skip_locked=True)
        items: list[Outgoing] = []
        async with self.rt.sessions() as session, session.begin():
            rows = (await session.execute(stmt)).all()
            if not rows:
                return 0
            escalation_ids = {r.escalation_id for r in rows if r.escalation_id is not None}
            escalations: dict[int, Any] = {}
            if escalation_ids:
                found = await session.execute(select(E).where(E.c.id.in_(escalation_ids)))
                escalations = {e.id: e for e in found}
            report_ids = {
                r.payload["unless_report_answered"]
                for r in rows
                if r.payload and r.payload.get("unless_report_answered")
            }
            answered: set[int] = set()
            if report_ids:
                found = await session.execute(
                    select(S.c.id).where(S.c.id.in_(report_ids), S.c.confirmed.is_not(None))
                )
                answered = {r.id for r in found}
            claimed, skipped = [], []
            for row in rows:
                if row.kind in ROUTINE_KINDS and (
                    row.person_status != "active" or row.open_tier in HELD_TIERS
                ):  # stopped, blocked, deleted or in a red-flag episode: routine messages wait
                    skipped.append(row.id)
                    continue
                if row.payload is None:  # a reminder left by a crashed worker: re-render it
                    claimed.append(row.id)
                    items.append(self._render(_left_reminder(row), row.id))
                    continue
                if not _still_wanted(row.payload, escalations.get(row.escalation_id), answered):
                    skipped.append(row.id)
                    continue
                claimed.append(row.id)
                items.append(Outgoing.from_row(row))
            if claimed:
                await session.execute(
                    update(D)
                    .where(D.c.id.in_(claimed))
                    .values(status="sending", claimed_at=now, claimed_by=LeaseOwner.name)
                )
            retaken = [row.id for row in rows if row.status == "sending" and row.id in claimed]
            if retaken:  # its holder died mid-send: it may have gone out already
                self.rt.metrics.retaken.inc(len(retaken))
                await session.execute(update(D).where(D.c.id.in_(retaken)).values(retaken=True))
            if skipped:
                await session.execute(update(D).where(D.c.id.in_(skipped)).values(status="skipped"))
        result.outbox += len(items)
        self.submit(items)
        return len(rows)


def next_outbox_due() -> Select[tuple[datetime | None]]:
    """When the earliest queued or scheduled outbox row falls due."""
    return select(func.min(D.c.due_at)).where(OPEN_ROWS, D.c.status.in_(("queued", "scheduled")))


def outbox_due(now: datetime, batch: int) -> Select[Any]:
    """Outbox rows due now, and rows whose sending worker's lease ran out, most urgent first."""
    return (
        select(D.c.id, D.c.chat_id, D.c.person_id, D.c.priority, D.c.payload, D.c.due_at, D.c.kind,
               D.c.escalation_id, D.c.rule_id, D.c.reminder_kind, D.c.status,
               P.c.status.label("person_status"), P.c.open_tier, P.c.language, P.c.timezone,
               P.c.programme, P.c.stenosis)
        .outerjoin(P, P.c.id == D.c.person_id)
        .where(
            OPEN_ROWS,
            or_(
                (D.c.status.in_(("queued", "scheduled"))) & (D.c.due_at <= now),
                (D.c.status == "sending") & (D.c.claimed_at < now - LEASE),
                # The red-flag lane's holder renews every few seconds: a dead one is seen soon.
                (D.c.status == "sending")
                & (D.c.priority == PRIORITY_RED_FLAG)
                & (D.c.claimed_at < now - SAFETY_LEASE),
            ),
        )
        .order_by(D.c.priority, D.c.due_at)
        .limit(batch)
    )  # fmt: skip


class Due(NamedTuple):
    """A claimed walk reminder: what its delivery row and its message need."""

    rule_id: int | None
    person_id: int
    chat_id: int
    kind: str
    due_at: datetime
    language: str
    timezone: str
    programme: dict[str, Any] | None
    stenosis: bool


def _left_reminder(row: Any) -> Due:
    """A reminder row a crashed worker left half-sent, with its person's columns (outbox_due)."""
    return Due(
        rule_id=row.rule_id, person_id=row.person_id, chat_id=row.chat_id,
        kind=row.reminder_kind or "morning", due_at=row.due_at, language=row.language,
        timezone=row.timezone, programme=row.programme, stenosis=row.stenosis,
    )  # fmt: skip


def _still_wanted(payload: dict[str, Any], escalation: Any, answered_reports: set[int]) -> bool:
    """Check-ins go only while their episode is open and unanswered; safety nets only if unanswered."""
    if payload.get("unless_report_answered") in answered_reports:
        return False
    if payload.get("only_if_open") and (escalation is None or escalation.status not in LIVE):
        return False
    since = payload.get("unless_replied_since")
    replied = escalation.last_reply_at if escalation is not None else None
    return not (since and replied is not None and replied >= datetime.fromisoformat(since))
