"""The bench databases: create, migrate, seed fast (COPY on PostgreSQL), truncate, drop."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

import asyncpg

from bot.db import create_engine
from bot.migrate import upgrade
from jobs.rules import next_due

PG_SERVER = "postgres@127.0.0.1:5432"
PG_ADMIN_DSN = f"postgresql://{PG_SERVER}/test"
PG_NAME = "walkwell_bench"
PG_URL = f"postgresql+asyncpg://{PG_SERVER}/{PG_NAME}"
TABLES = (
    "deliveries", "walk_logs", "pain_logs", "escalations", "symptom_reports", "reminder_rules",
    "people",
)  # fmt: skip

PEOPLE_COLUMNS = (
    "id", "telegram_user_id", "chat_id", "language", "timezone", "status", "consent_at",
    "meal_delay_minutes", "stenosis", "programme", "cue_count", "reminder_count", "weekly_day",
    "created_at",
)  # fmt: skip
RULE_COLUMNS = (
    "id", "person_id", "kind", "local_time", "weekdays", "delay_minutes", "enabled", "next_due_at",
)  # fmt: skip
DELIVERY_COLUMNS = (
    "id", "chat_id", "kind", "priority", "reminder_kind", "due_at", "status", "attempts",
    "claimed_at", "answered",
)  # fmt: skip

CHAT_BASE = 10_000_000  # chat id of person 0 (person ids start at 1)

Slot = tuple[str, time, int]  # (kind, local time, after-meal delay in minutes)
Plan = Callable[[int], tuple[str, list[Slot]]]  # person index -> (zone, slots)

ZONES = (
    "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney",
    "America/Sao_Paulo", "Asia/Kolkata", "Europe/Madrid",
)  # fmt: skip


def four_rules(i: int) -> tuple[str, list[Slot]]:
    """The start-up population: morning, breakfast, lunch and evening, spread over zones."""
    zone = ZONES[i % len(ZONES)]
    shift = 30 * (i % 3)
    return zone, [
        ("morning", time(7 + shift // 60, shift % 60), 0),
        ("breakfast", time(8, 0), 20),
        ("lunch", time(12, 30), 20),
        ("evening", time(18 + (i % 3)), 0),
    ]


def normal_day(i: int) -> tuple[str, list[Slot]]:
    """An ordinary day's load: most people in Berlin, common times, some meal reminders."""
    zone = ("Europe/Berlin", "Europe/Berlin", "Europe/London", "America/New_York")[i % 4]
    morning = (time(7), time(7), time(7, 30), time(8), time(8))[i % 5]
    evening = (time(19), time(19), time(18), time(20, 30))[i % 4]
    slots: list[Slot] = [("morning", morning, 0), ("evening", evening, 0)]
    if i % 2 == 0:
        slots.append(("lunch", time(12, 30), 20))
    if i % 5 == 0:
        slots.append(("breakfast", time(8), 20))
    return zone, slots


@lru_cache(maxsize=4096)
def _due(local_time: time, delay: int, zone: str, after: datetime) -> datetime:
    return next_due(local_time, delay, 0b1111111, zone, after)


def people_and_rules(
    first: int, count: int, *, now: datetime, after: datetime, plan: Plan, due: datetime | None
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows for people first..first+count-1 and their rules (ids derived from the person id)."""
    people: list[tuple[Any, ...]] = []
    rules: list[tuple[Any, ...]] = []
    for i in range(first, first + count):
        zone, slots = plan(i)
        pid = i + 1
        programme = '{"target_minutes": 15}' if i % 3 == 0 else None
        people.append(
            (pid, CHAT_BASE + i, CHAT_BASE + i, "de" if i % 4 == 3 else "en", zone, "active", now,
             20, i % 7 == 0, programme, 0, 0, 6, now)
        )  # fmt: skip
        for k, (kind, at, delay) in enumerate(slots):
            when = due if due is not None else _due(at, delay, zone, after)
            rules.append((pid * 8 + k, pid, kind, at, 127, delay, True, when))
    return people, rules


def _chunks(first: int, count: int, size: int = 100_000) -> Iterator[tuple[int, int]]:
    for start in range(first, first + count, size):
        yield start, min(size, first + count - start)


async def seed_pg(
    first: int,
    count: int,
    *,
    now: datetime,
    after: datetime | None = None,
    plan: Plan = four_rules,
    due: datetime | None = None,
) -> None:
    """Add people first..first+count-1 with their rules, by COPY (chunks of 100k people)."""
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/{PG_NAME}")
    try:
        for start, size in _chunks(first, count):
            people, rules = people_and_rules(
                start, size, now=now, after=after or now, plan=plan, due=due
            )
            await conn.copy_records_to_table("people", records=people, columns=PEOPLE_COLUMNS)
            await conn.copy_records_to_table("reminder_rules", records=rules, columns=RULE_COLUMNS)
        await conn.execute("ANALYZE people; ANALYZE reminder_rules")
    finally:
        await conn.close()


async def copy_deliveries(rows: list[tuple[Any, ...]]) -> None:
    """Outbox rows (DELIVERY_COLUMNS) by COPY."""
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/{PG_NAME}")
    try:
        await conn.copy_records_to_table("deliveries", records=rows, columns=DELIVERY_COLUMNS)
    finally:
        await conn.close()


def _sqlite_value(value: Any) -> Any:
    """Values the way SQLAlchemy stores them in SQLite (naive UTC text)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, time):
        return value.isoformat("microseconds")
    return value


def seed_sqlite(
    path: Path, first: int, count: int, *, now: datetime, plan: Plan = four_rules
) -> None:
    """Add people first..first+count-1 with their rules to a migrated SQLite file."""
    db = sqlite3.connect(path)
    try:
        for start, size in _chunks(first, count):
            people, rules = people_and_rules(start, size, now=now, after=now, plan=plan, due=None)
            for table, columns, rows in (
                ("people", PEOPLE_COLUMNS, people),
                ("reminder_rules", RULE_COLUMNS, rules),
            ):
                marks = ", ".join("?" for _ in columns)
                db.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    ([_sqlite_value(v) for v in row] for row in rows),
                )
            db.commit()
    finally:
        db.close()


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def create_pg() -> str:
    """A fresh, migrated `walkwell_bench` database; returns its SQLAlchemy URL."""
    await _admin(
        f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)', f'CREATE DATABASE "{PG_NAME}"'
    )
    await migrate(PG_URL)
    return PG_URL


async def drop_pg() -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')


async def truncate_pg() -> None:
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/{PG_NAME}")
    try:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def checkpoint_pg() -> None:
    """Flush everything to disk: the next change to each page writes it whole to the WAL again,
    as the first change after a night of checkpoints does in production."""
    await _admin("CHECKPOINT")


async def pg_fetch(query: str) -> list[asyncpg.Record]:
    """Rows of one query against the bench database."""
    conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/{PG_NAME}")
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def due_pg() -> int:
    """Reminder rules due now in the bench database."""
    (row,) = await pg_fetch("SELECT count(*) FROM reminder_rules WHERE next_due_at <= now()")
    return int(row[0])


def due_sqlite(path: Path) -> int:
    """Reminder rules due now in a bench SQLite file (times stored as naive UTC text)."""
    now = _sqlite_value(datetime.now(UTC))
    db = sqlite3.connect(path)
    try:
        (count,) = db.execute(
            "SELECT count(*) FROM reminder_rules WHERE next_due_at <= ?", (now,)
        ).fetchone()
        return int(count)
    finally:
        db.close()


async def create_sqlite(path: Path) -> str:
    """A fresh, migrated SQLite file; returns its SQLAlchemy URL."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    await migrate(url)
    return url
