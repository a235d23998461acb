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
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, or_, select, text, update

from bot.models import Delivery, Escalation, Person, ReminderRule, SymptomReport
from jobs.outgoing import PRIORITY_REMINDER, Outgoing
from jobs.render import render_reminder
from jobs.rules import HELD_TIERS, ONE_OFF_KINDS, gate, next_due

if TYPE_CHECKING:
    from bot.context import Runtime

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
# One UPDATE for a whole claimed batch (an executemany sends one statement per row).
ADVANCE_PG = text(
    "UPDATE reminder_rules AS r SET next_due_at = v.due, enabled = v.enabled "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:dues AS timestamptz[]), CAST(:enabled AS boolean[])) "
    "AS v(id, due, enabled) WHERE r.id = v.id"
)
# Outbox kinds that are routine (not safety): held while a person is inactive or in an episode.
ROUTINE_KINDS = ("reminder", "weekly", "morning_check", "broadcast")

R = ReminderRule.__table__
P = Person.__table__
D = Delivery.__table__
E = Escalation.__table__
S = SymptomReport.__table__


@dataclass
class TickResult:
    claimed: int = 0
    sent: int = 0
    missed: int = 0
    held: int = 0
    outbox: int = 0


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
            while True:
                claimed = await self._claim_rules(now, batch, result)
                if claimed < batch:
                    break
            while await self._claim_outbox(now, batch, result) >= batch:
                pass
            self.last_tick = now
            self.rt.metrics.last_dispatch.set(now.timestamp())
            return result

    async def next_wakeup(self) -> datetime | None:
        """The earliest instant anything is due."""
        async with self.rt.sessions() as session:
            rule = await session.scalar(select(func.min(R.c.next_due_at)))
            outbox = await session.scalar(
                select(func.min(D.c.due_at)).where(D.c.status.in_(("queued", "scheduled")))
            )
        candidates = [x for x in (rule, outbox) if x is not None]
        return min(candidates) if candidates else None

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
        outgoing: list[tuple[Any, datetime]] = []
        async with self.rt.sessions() as session, session.begin():
            rows = (await session.execute(stmt)).all()
            if not rows:
                return 0
            advances: list[dict[str, Any]] = []
            deliveries: list[dict[str, Any]] = []
            sendable: list[Any] = []
            for row in rows:
                due = row.next_due_at
                reason = gate(
                    due=due, now=now, tz=row.timezone, status=row.status,
                    paused_until=row.paused_until, quiet_start=row.quiet_start,
                    quiet_end=row.quiet_end, open_tier=row.open_tier, missed_after=missed_after,
                )  # fmt: skip
                if row.kind in ONE_OFF_KINDS or row.local_time is None:
                    new_due = None
                else:
                    after = now if reason == "missed" else due
                    new_due = next_due(
                        row.local_time, row.delay_minutes, row.weekdays, row.timezone, after
                    )
                advances.append(
                    {"r_id": row.id, "r_due": new_due, "r_enabled": new_due is not None}
                )
                if reason is None:
                    sendable.append(row)
                    deliveries.append(self._delivery(row, due, "sending", now))
                elif reason == "missed":
                    result.missed += 1
                    self.rt.metrics.reminders.labels("missed").inc()
                    deliveries.append(self._delivery(row, due, "missed", None))
                else:
                    result.held += 1
                    self.rt.metrics.reminders.labels(reason).inc()
            conn = await session.connection()
            await self._advance(conn, advances)
            ids: list[int] = []
            if deliveries:
                inserted = await conn.execute(
                    insert(D).returning(D.c.id, D.c.status, sort_by_parameter_order=True),
                    deliveries,
                )
                ids = [r.id for r in inserted if r.status == "sending"]
            outgoing = list(zip(sendable, ids, strict=True))
        result.claimed += len(rows)
        result.sent += len(outgoing)
        self.submit([self._render(row, delivery_id) for row, delivery_id in outgoing])
        return len(rows)

    async def _advance(self, conn: Any, advances: list[dict[str, Any]]) -> None:
        """Move every claimed rule to its next due instant, in one statement on PostgreSQL."""
        if self.rt.settings.is_sqlite:
            await conn.execute(
                update(R)
                .where(R.c.id == bindparam("r_id"))
                .values(next_due_at=bindparam("r_due"), enabled=bindparam("r_enabled")),
                advances,
            )
            return
        await conn.execute(
            ADVANCE_PG,
            {
                "ids": [a["r_id"] for a in advances],
                "dues": [a["r_due"] for a in advances],
                "enabled": [a["r_enabled"] for a in advances],
            },
        )

    @staticmethod
    def _delivery(
        row: Any, due: datetime, status: str, claimed_at: datetime | None
    ) -> dict[str, Any]:
        return {
            "person_id": row.person_id, "chat_id": row.chat_id, "kind": "reminder",
            "priority": PRIORITY_REMINDER, "rule_id": row.id, "reminder_kind": row.kind,
            "due_at": due, "status": status, "attempts": 0, "claimed_at": claimed_at,
            "answered": False, "escalation_id": None, "payload": None,
        }  # fmt: skip

    def _render(self, row: Any, delivery_id: int) -> Outgoing:
        local_day = row.next_due_at.astimezone(ZoneInfo(row.timezone)).date()
        lang = (
            row.language
            if row.language in self.rt.catalog.languages
            else self.rt.catalog.default_language
        )
        text, buttons = render_reminder(
            self.rt.catalog, lang=lang, kind=row.kind, person_id=row.person_id,
            delivery_id=delivery_id, local_day=local_day, programme=row.programme,
            stenosis=row.stenosis,
        )  # fmt: skip
        return Outgoing(
            delivery_id=delivery_id, chat_id=row.chat_id, text=text, due_at=row.next_due_at,
            priority=PRIORITY_REMINDER, person_id=row.person_id, buttons=buttons, kind="reminder",
        )  # fmt: skip

    async def _claim_outbox(self, now: datetime, batch: int, result: TickResult) -> int:
        """Scheduled check-ins and alerts, and rows a crashed worker left half-sent."""
        stmt = (
            select(D.c.id, D.c.chat_id, D.c.person_id, D.c.priority, D.c.payload, D.c.due_at, D.c.kind,
                   D.c.escalation_id, D.c.rule_id, D.c.reminder_kind, D.c.status,
                   P.c.status.label("person_status"), P.c.open_tier)
            .outerjoin(P, P.c.id == D.c.person_id)
            .where(
                or_(
                    (D.c.status.in_(("queued", "scheduled"))) & (D.c.due_at <= now),
                    (D.c.status == "sending") & (D.c.claimed_at < now - LEASE),
                )
            )
            .order_by(D.c.priority, D.c.due_at)
            .limit(batch)
        )  # fmt: skip
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
                    items_row = await self._reminder_row(session, row)
                    if items_row is None:
                        skipped.append(row.id)
                        continue
                    claimed.append(row.id)
                    items.append(self._render(items_row, row.id))
                    continue
                if not _still_wanted(row.payload, escalations.get(row.escalation_id), answered):
                    skipped.append(row.id)
                    continue
                claimed.append(row.id)
                items.append(Outgoing.from_row(row))
            if claimed:
                await session.execute(
                    update(D).where(D.c.id.in_(claimed)).values(status="sending", claimed_at=now)
                )
            if skipped:
                await session.execute(update(D).where(D.c.id.in_(skipped)).values(status="skipped"))
        result.outbox += len(items)
        self.submit(items)
        return len(rows)

    async def _reminder_row(self, session: Any, row: Any) -> Any:
        stmt = (
            select(P.c.id.label("person_id"), P.c.chat_id, P.c.language, P.c.timezone, P.c.programme,
                   P.c.stenosis, P.c.status)
            .where(P.c.id == row.person_id)
        )  # fmt: skip
        person = (await session.execute(stmt)).first()
        if person is None or person.status != "active":
            return None
        return _Row(
            person_id=person.person_id, chat_id=person.chat_id, language=person.language,
            timezone=person.timezone, programme=person.programme, stenosis=person.stenosis,
            kind=row.reminder_kind or "morning", next_due_at=row.due_at,
        )  # fmt: skip


@dataclass
class _Row:
    person_id: int
    chat_id: int
    language: str
    timezone: str
    programme: dict[str, Any] | None
    stenosis: bool
    kind: str
    next_due_at: datetime


def _still_wanted(payload: dict[str, Any], escalation: Any, answered_reports: set[int]) -> bool:
    """Check-ins go only while their episode is open and unanswered; safety nets only if unanswered."""
    if payload.get("unless_report_answered") in answered_reports:
        return False
    if payload.get("only_if_open") and (escalation is None or escalation.status != "open"):
        return False
    since = payload.get("unless_replied_since")
    replied = escalation.last_reply_at if escalation is not None else None
    return not (since and replied is not None and replied >= datetime.fromisoformat(since))
