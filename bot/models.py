"""SQLAlchemy 2 typed models. Every instant is stored as an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ALL_DAYS = 0b1111111  # weekday bitmask: bit 0 = Monday ... bit 6 = Sunday


class LeaseOwner:
    """This process's name on the outbox rows it holds (set once at start-up, see jobs.leases)."""

    name: str | None = None


def _claimer(context: Any) -> str | None:
    """A row written as being sent now is held by this worker."""
    if context.get_current_parameters().get("claimed_at") is None:
        return None
    return LeaseOwner.name


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Person(Base):
    """Someone who talks to the bot. Nothing beyond the ids is stored before consent."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    country: Mapped[str | None] = mapped_column(String(2))
    # new (not consented) | active | paused | stopped | blocked
    status: Mapped[str] = mapped_column(String(12), default="new")
    consent_at: Mapped[datetime | None]
    onboarding_step: Mapped[str | None] = mapped_column(String(24))
    # what the bot waits for from this person (a typed answer), e.g. {"ask": "walk_minutes", ...}
    pending: Mapped[dict[str, Any] | None]
    paused_until: Mapped[date | None] = mapped_column(Date)  # last paused local date, inclusive
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    meal_delay_minutes: Mapped[int] = mapped_column(SmallInteger, default=20)
    walk_effect: Mapped[str | None] = mapped_column(String(16))
    stenosis: Mapped[bool] = mapped_column(Boolean, default=False)
    programme: Mapped[dict[str, Any] | None]
    open_tier: Mapped[str | None] = mapped_column(String(12))  # open red-flag tier, if any
    cue_count: Mapped[int] = mapped_column(Integer, default=0)
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    weekly_day: Mapped[int] = mapped_column(SmallInteger, default=6)  # Sunday
    # Opt-in trusted contact (spec §5.8): an invitation code, then the contact's own chat.
    contact_code: Mapped[str | None] = mapped_column(String(24), unique=True)
    contact_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    contact_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ReminderRule(Base):
    """A recurring walk reminder (morning, evening, a meal) or a one-off (snooze, "I just ate")."""

    __tablename__ = "reminder_rules"
    __table_args__ = (Index("ix_reminder_rules_due", "next_due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # morning | evening | breakfast | lunch | dinner | snooze | ate
    kind: Mapped[str] = mapped_column(String(12))
    local_time: Mapped[time | None] = mapped_column(Time)  # None for one-offs
    weekdays: Mapped[int] = mapped_column(SmallInteger, default=ALL_DAYS)
    delay_minutes: Mapped[int] = mapped_column(SmallInteger, default=0)  # after-meal delay
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # None when disabled; the dispatcher's whole index
    next_due_at: Mapped[datetime | None]


OPEN = text("status IN ('scheduled', 'queued', 'sending')")  # not yet sent or given up
IN_EPISODE = text("escalation_id IS NOT NULL")


class Delivery(Base):
    """The outbox: everything the bot sends unprompted, recorded before and after sending."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # Partial indexes: the table keeps every delivery ever made, these only the few that matter.
        Index(
            "ix_deliveries_pending", "status", "due_at", postgresql_where=OPEN, sqlite_where=OPEN
        ),
        Index(
            "ix_deliveries_escalation_id",
            "escalation_id",
            postgresql_where=IN_EPISODE,
            sqlite_where=IN_EPISODE,
        ),  # fmt: skip
        # A chore's unit of work ("weekly:<person>:<week>"): whoever inserts it first sends it.
        Index("ix_deliveries_once_key", "once_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # reminder | redflag | operator | checkin | safety_net | weekly | broadcast | morning_check
    # | safety_check
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(SmallInteger, default=5)  # 0 = red-flag lane
    # The rule that made it: a record, not a foreign key (no per-row check at the morning peak,
    # no scan of the outbox when a rule is deleted).
    rule_id: Mapped[int | None] = mapped_column(Integer)
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalations.id", ondelete="SET NULL")
    )
    reminder_kind: Mapped[str | None] = mapped_column(String(12))
    payload: Mapped[dict[str, Any] | None]  # pre-rendered text and buttons, when not a reminder
    due_at: Mapped[datetime]
    # scheduled | queued | sending | sent | missed | skipped | blocked | failed | unknown
    # (unknown: sent, but Telegram's answer never came)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    claimed_at: Mapped[datetime | None]  # a worker's lease on a queued row
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=_claimer)  # whose lease
    once_key: Mapped[str | None] = mapped_column(String(64))
    # Sent again by a worker that took the row over from a dead holder (which may have sent it).
    retaken: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sent_at: Mapped[datetime | None]
    lateness_ms: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    answered: Mapped[bool] = mapped_column(Boolean, default=False)  # a button was tapped


class WalkLog(Base):
    __tablename__ = "walk_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), unique=True
    )
    logged_at: Mapped[datetime]
    local_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(SmallInteger)
    pain: Mapped[int | None] = mapped_column(SmallInteger)
    compare: Mapped[str | None] = mapped_column(String(8))  # better | same | worse
    light: Mapped[str | None] = mapped_column(String(6))  # green | amber | red
    next_morning_worse: Mapped[bool | None] = mapped_column(Boolean)


class PainLog(Base):
    __tablename__ = "pain_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    logged_at: Mapped[datetime]
    local_date: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(SmallInteger)
    flare: Mapped[bool] = mapped_column(Boolean, default=False)
    morning_worse: Mapped[bool | None] = mapped_column(Boolean)


class SymptomReport(Base):
    """A message or answer that triage flagged (kept for the operator's audit)."""

    __tablename__ = "symptom_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    reported_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))  # message | screen | checklist | log | confirm
    text: Mapped[str | None] = mapped_column(Text)
    tier: Mapped[str] = mapped_column(String(12))
    flags: Mapped[str] = mapped_column(String(120), default="")
    confirmed: Mapped[bool | None] = mapped_column(Boolean)


class Escalation(Base):
    """An open red-flag episode: alerts, check-ins and who acknowledged it."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("symptom_reports.id", ondelete="SET NULL")
    )
    tier: Mapped[str] = mapped_column(String(12))  # emergency | urgent | soon | crisis
    flags: Mapped[str] = mapped_column(String(120), default="")
    # the lifecycle state (bot/safety/lifecycle.py): open, closing, checked, correcting (live);
    # resolved, withdrawn (closed)
    status: Mapped[str] = mapped_column(String(12), default="open")
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime | None]
    last_reply_at: Mapped[datetime | None]


class SafetyCheck(Base):
    """The one-tap safety check (spec §5.4): weekly for everyone, daily after an episode.

    One row per person and local day, claimed before anything is sent: the unique key is what
    keeps two workers from sending the same check. The answer is stored once.
    """

    __tablename__ = "safety_checks"
    __table_args__ = (UniqueConstraint("person_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)  # the person's day it was sent for
    kind: Mapped[str] = mapped_column(String(8))  # weekly | daily
    created_at: Mapped[datetime]
    # Records, not foreign keys (like deliveries.rule_id): the outbox and reports keep growing.
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    report_id: Mapped[int | None] = mapped_column(Integer)  # the report a "yes" opened
    answer: Mapped[str | None] = mapped_column(String(8))  # no | yes | unsure
    answered_at: Mapped[datetime | None]
    flag: Mapped[str | None] = mapped_column(String(4))  # the sign chosen after a "yes"


class SendBudget(Base):
    """The bot token's one sending schedule, shared by every worker (jobs.budget): one row."""

    __tablename__ = "send_budget"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    next_free: Mapped[datetime]  # when the next free send slot starts


class SendWorker(Base):
    """Workers sending from the shared budget lately (each sends at most its share at once)."""

    __tablename__ = "send_workers"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime]
