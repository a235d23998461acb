"""Claiming a chore's work once across workers: one outbox row per unit of work, by a unique key.

A chore that sends (the weekly summary, and any like it) runs on every worker and after every
restart. It writes each message with a `once_key` naming its unit of work, for example
`weekly:<person>:<ISO week>`; the unique index lets the first insert win and skips the others,
in the same statement, so two workers racing for the same person and week send one message.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Delivery

D = cast(Table, Delivery.__table__)  # a Table for update()/insert() (the ORM types a FromClause)
CHUNK = 500  # rows per statement (SQLite allows 32 766 parameters)


def week_key(kind: str, person_id: int, local_day: date) -> str:
    """The unit of work "this person's `kind` in the ISO week of `local_day`"."""
    year, week, _ = local_day.isocalendar()
    return f"{kind}:{person_id}:{year}-W{week:02d}"


def day_key(kind: str, person_id: int, local_day: date) -> str:
    """The unit of work "this person's `kind` on `local_day`"."""
    return f"{kind}:{person_id}:{local_day.isoformat()}"


async def insert_once(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows that each carry a `once_key`; rows whose key exists are skipped.

    Returns how many were inserted (the ones this worker now owns).
    """
    if not rows:
        return 0
    if any(not row.get("once_key") for row in rows):
        raise ValueError("every row needs a once_key")
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = 0
    for start in range(0, len(rows), CHUNK):  # one multi-row statement per chunk
        stmt = (
            insert(D)
            .values(rows[start : start + CHUNK])
            .on_conflict_do_nothing(index_elements=["once_key"])
            .returning(D.c.id)
        )
        inserted += len((await session.execute(stmt)).fetchall())
    return inserted
