"""Several worker processes on one PostgreSQL database never claim the same reminder."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects import sqlite

from bot.clock import FakeClock, SystemClock
from bot.config import load_settings
from bot.context import Runtime
from bot.db import create_engine, session_factory
from bot.metrics import Metrics
from bot.models import Delivery, Person, ReminderRule
from jobs.dispatcher import ADVANCE_PG, RECORD_PG, Dispatcher, next_outbox_due, outbox_due
from jobs.outgoing import Outgoing
from messages.catalog import load_catalog
from tests.conftest import TABLES, _pg_execute, run_blocking

PEOPLE = 10_000
TOKEN = "123456:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


async def seed(url: str, count: int, due: datetime) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            people = [
                {"telegram_user_id": 10_000_000 + i, "chat_id": 10_000_000 + i, "language": "en" if i % 2 else "de",
                 "timezone": "Europe/Berlin", "status": "active", "created_at": due, "consent_at": due,
                 "meal_delay_minutes": 20, "stenosis": i % 5 == 0, "cue_count": 0, "reminder_count": 0, "weekly_day": 6}
                for i in range(count)
            ]  # fmt: skip
            ids = (await conn.execute(insert(Person).returning(Person.id), people)).scalars().all()
            rules = [{"person_id": pid, "kind": "morning", "local_time": time(8), "weekdays": 127,
                      "delay_minutes": 0, "enabled": True, "next_due_at": due} for pid in ids]  # fmt: skip
            await conn.execute(insert(ReminderRule), rules)
    finally:
        await engine.dispose()


def worker(url: str, out: str, barrier: multiprocessing.synchronize.Barrier) -> None:  # type: ignore[name-defined]
    """One worker process: tick until nothing is due, writing the delivery ids it claimed."""

    async def main() -> list[int]:
        settings = load_settings(
            TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=url, WALKWELL_CLAIM_BATCH=250
        )
        engine = create_engine(url)
        runtime = Runtime(
            settings, SystemClock(), load_catalog(), session_factory(engine), Metrics()
        )
        claimed: list[int] = []
        dispatcher = Dispatcher(
            runtime, submit=lambda items: claimed.extend(i.delivery_id for i in items)
        )
        await asyncio.to_thread(barrier.wait)
        quiet = 0
        while quiet < 3:
            result = await dispatcher.tick()
            quiet = quiet + 1 if result.claimed == 0 else 0
        await engine.dispose()
        return claimed

    ids = asyncio.run(main())
    Path(out).write_text("\n".join(map(str, ids)))


@pytest.mark.postgres
def test_three_worker_processes_claim_10000_reminders_exactly_once(
    pg_database: str, tmp_path: Path
) -> None:
    from tests.conftest import TABLES, _pg_execute

    run_blocking(
        lambda: _pg_execute(pg_database, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    )
    run_blocking(lambda: seed(pg_database, PEOPLE, datetime.now(UTC) - timedelta(seconds=5)))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    outs = [tmp_path / f"worker{i}.txt" for i in range(3)]
    procs = [ctx.Process(target=worker, args=(pg_database, str(out), barrier)) for out in outs]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
        assert proc.exitcode == 0
    claims = [[int(x) for x in out.read_text().split()] for out in outs]
    every = [i for c in claims for i in c]
    assert len(every) == PEOPLE
    assert len(set(every)) == PEOPLE
    assert sum(1 for c in claims if c) >= 2, [len(c) for c in claims]  # they really shared the work

    async def recorded() -> tuple[int, int]:
        engine = create_engine(pg_database)
        try:
            async with session_factory(engine)() as session:
                deliveries = (await session.execute(select(Delivery.rule_id))).scalars().all()
                return len(deliveries), len(set(deliveries))
        finally:
            await engine.dispose()

    assert run_blocking(recorded) == (PEOPLE, PEOPLE)


async def test_one_tick_gives_every_reminder_its_own_delivery(database_url: str) -> None:
    """Lanes and batches split the work; each message still carries the delivery made for it."""
    due = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    await seed(database_url, 1_200, due)
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=database_url, WALKWELL_CLAIM_BATCH=100
    )
    engine = create_engine(database_url)
    try:
        runtime = Runtime(
            settings, FakeClock(due + timedelta(seconds=30)), load_catalog(),
            session_factory(engine), Metrics(),
        )  # fmt: skip
        items: list[Outgoing] = []
        result = await Dispatcher(runtime, submit=items.extend).tick()
        async with session_factory(engine)() as session:
            rows = {d.id: d for d in (await session.execute(select(Delivery.__table__))).all()}
            rules = dict(
                (await session.execute(select(ReminderRule.id, ReminderRule.person_id))).all()
            )
            still_due = await session.scalar(
                select(func.count()).where(ReminderRule.next_due_at <= due)
            )
    finally:
        await engine.dispose()
    assert (result.claimed, result.sent, len(items), len(rows)) == (1_200, 1_200, 1_200, 1_200)
    assert still_due == 0
    assert len({item.delivery_id for item in items}) == 1_200
    for item in items:
        row = rows[item.delivery_id]
        assert (row.person_id, row.chat_id, row.status) == (item.person_id, item.chat_id, "sending")
        assert rules[row.rule_id] == item.person_id
        assert f"w:done:{item.delivery_id}" in {data for line in item.buttons for _, data in line}


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["advance", "record"])
def test_a_claimed_batch_reads_its_rules_by_key(pg_database: str, statement: str) -> None:
    """The batch statements must not scan or hash the whole rule table: their cost is per rule."""
    run_blocking(
        lambda: _pg_execute(
            pg_database,
            f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE",
            "INSERT INTO people (telegram_user_id, chat_id, language, timezone, status, "
            "meal_delay_minutes, stenosis, cue_count, reminder_count, weekly_day, created_at) "
            "SELECT i, i, 'en', 'Europe/Berlin', 'active', 20, false, 0, 0, 6, now() "
            "FROM generate_series(1, 50000) AS i",
            "INSERT INTO reminder_rules (person_id, kind, local_time, weekdays, delay_minutes, "
            "enabled, next_due_at) SELECT id, 'morning', '07:00', 127, 0, true, now() FROM people",
            "ANALYZE people",
            "ANALYZE reminder_rules",
        )
    )
    ids = list(range(1, 1_001))  # a batch of 2% of the table
    sql, params = {
        "advance": (
            ADVANCE_PG,
            {"ids": ids, "dues": [datetime(2026, 1, 6, 6, tzinfo=UTC)] * 1_000},
        ),
        "record": (
            RECORD_PG,
            {
                "rule_ids": ids,
                "chat_ids": ids,
                "sending": [True] * 1_000,
                "now": datetime.now(UTC),
                "owner": "w1",
            },
        ),
    }[statement]

    async def plan() -> list[dict[str, Any]]:
        engine = create_engine(pg_database)
        try:
            async with engine.connect() as conn:
                explain = text(f"EXPLAIN (FORMAT JSON) {sql.text}")
                (raw,) = (await conn.execute(explain, params)).one()
        finally:
            await engine.dispose()
        nodes, stack = [], [raw[0]["Plan"]]
        while stack:
            node = stack.pop()
            nodes.append(node)
            stack.extend(node.get("Plans", []))
        return nodes

    scans = [
        node["Node Type"]
        for node in run_blocking(plan)
        if node.get("Relation Name") == "reminder_rules"
    ]
    assert scans, "the plan reads no rule"
    assert "Seq Scan" not in scans, scans


@pytest.mark.parametrize("query", ["claim", "next"])
def test_sqlite_finds_due_outbox_rows_through_the_pending_index(
    sqlite_template: Path, query: str
) -> None:
    """The outbox keeps every delivery ever made; a tick must not read it all (SQLite plans)."""
    stmt = (
        outbox_due(datetime(2026, 1, 5, tzinfo=UTC), 100) if query == "claim" else next_outbox_due()
    )
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    db = sqlite3.connect(sqlite_template)
    try:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
    finally:
        db.close()
    (outbox,) = [step for step in plan if " deliveries" in step]
    assert "ix_deliveries_pending" in outbox, plan
