"""Leases on outbox rows: who holds a row being sent, for how long, and giving rows back.

A row being sent (`status = 'sending'`) carries the time its worker last renewed it
(`claimed_at`) and that worker's name (`claimed_by`, WALKWELL_WORKER_ID). Another worker takes a
row over once its lease has run out: after 2 minutes for routine messages, after 15 seconds for
safety messages (the red-flag lane), whose holder renews them every few seconds. A worker that
restarts under the same name takes its own rows back at once (its old process is dead: on
PostgreSQL a session advisory lock on the name proves no live process holds it), and a worker
that stops on SIGTERM gives back what it has not sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, text, update

from bot.models import Delivery, LeaseOwner

if TYPE_CHECKING:
    from bot.context import Runtime

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
SAFETY_LEASE = timedelta(seconds=15)
SAFETY_HEARTBEAT_SECONDS = 4.0  # well inside SAFETY_LEASE, so a live holder never loses a row
HEARTBEAT_SECONDS = 30.0  # well inside LEASE
D = cast(Table, Delivery.__table__)  # a Table for update()/insert() (the ORM types a FromClause)


async def take_over_own_leases(rt: Runtime) -> int:
    """Name this worker on the rows it sends, and take back rows its dead predecessor held.

    SQLite serves one worker, so every open lease is a dead one of ours. On PostgreSQL the name is
    locked for the life of this process; if another live process holds it, this one runs under a
    name of its own and takes nothing over.
    """
    name = rt.settings.worker_id
    if rt.settings.is_sqlite:
        LeaseOwner.name = name
        mine: Any = D.c.status == "sending"
    else:
        conn = await rt.extras["engine"].connect()
        got = await conn.scalar(
            text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": f"walkwell:{name}"}
        )
        await conn.commit()  # the lock is the session's: it outlives the transaction
        rt.extras["lease_lock"] = conn
        if not got:
            LeaseOwner.name = f"{name}.{os.getpid()}"
            log.warning(
                "another running worker uses WALKWELL_WORKER_ID=%s; give each worker its own", name
            )
            return 0
        LeaseOwner.name = name
        mine = (D.c.status == "sending") & (D.c.claimed_by == name)
    async with rt.sessions() as session, session.begin():
        # A send may have been in flight when the process died: these may go out twice.
        result = await session.execute(
            update(D)
            .where(mine)
            .values(status="queued", claimed_at=None, claimed_by=None, retaken=True)
        )
    taken = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if taken:
        log.info("took back %d messages a previous run of this worker left unsent", taken)
    return taken


async def release(rt: Runtime, ids: Iterable[int]) -> int:
    """Give rows this worker holds back to the outbox, for any worker to send."""
    held = list(ids)
    released = 0
    for start in range(0, len(held), 5000):
        chunk = held[start : start + 5000]
        async with rt.sessions() as session, session.begin():
            result = await session.execute(
                update(D)
                .where(D.c.id.in_(chunk), D.c.status == "sending")
                .values(status="queued", claimed_at=None, claimed_by=None)
            )
        released += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return released


async def close(rt: Runtime) -> None:
    """Let go of this worker's name (PostgreSQL)."""
    conn = rt.extras.pop("lease_lock", None)
    if conn is not None:
        await conn.close()
