"""Several `walkwell run` processes on one PostgreSQL database against the stand (limits on).

- three workers at the cap: 1,500 reminders fall due over 10 s (150/s, five times what the bot
  token may send); sends per second and 429 answers at the stand, with the shared budget and,
  as the baseline, with each worker keeping its own (WALKWELL_SEND_BUDGET=local, as before).
- replies during a peak: one worker drains 2,000 reminders due at once while 60 people each send
  /help, 4 a second; latency from the person's message to the bot's reply, at the stand.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from pathlib import Path

from sqlalchemy import insert

from bench.data import pg_fetch, truncate_pg
from bot.db import create_engine
from bot.models import Person, ReminderRule
from tests.stand import Stand

ROOT = Path(__file__).resolve().parent.parent
FIRST = 60_000_000


@dataclass(frozen=True)
class Cap:
    sent: int
    rate: float
    too_many: int
    doubled: int


@dataclass(frozen=True)
class Replies:
    p50_ms: float
    p99_ms: float
    replies: int
    reminders: int
    too_many: int


async def _seed(url: str, count: int, due: datetime, spread: float) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            people = [
                {"telegram_user_id": FIRST + i, "chat_id": FIRST + i, "language": "en",
                 "timezone": "Europe/Berlin", "status": "active", "created_at": due,
                 "consent_at": due, "meal_delay_minutes": 20, "stenosis": False, "cue_count": 0,
                 "reminder_count": 0, "weekly_day": 6}
                for i in range(count)
            ]  # fmt: skip
            ids = (await conn.execute(insert(Person).returning(Person.id), people)).scalars().all()
            await conn.execute(
                insert(ReminderRule),
                [{"person_id": pid, "kind": "morning", "local_time": wall_time(8), "weekdays": 127,
                  "delay_minutes": 0, "enabled": True,
                  "next_due_at": due + timedelta(seconds=spread * i / count)}
                 for i, pid in enumerate(ids)],
            )  # fmt: skip
    finally:
        await engine.dispose()


async def _start(stand: Stand, url: str, name: str, **env: str) -> asyncio.subprocess.Process:
    full = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    full |= {
        "TELEGRAM_BOT_TOKEN": stand.token,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{stand.port}",
        "DATABASE_URL": url,
        "WALKWELL_LISTEN_PORT": "0",
        "WALKWELL_HEALTH_PORT": "0",
        "WALKWELL_WORKER_ID": name,
        "WALKWELL_DISPATCH_INTERVAL": "2",
        "PTB_TIMEDELTA": "true",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--no-migrate", env=full, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _stop(procs: list[asyncio.subprocess.Process]) -> None:
    for proc in procs:
        if proc.returncode is None:
            proc.terminate()
    for proc in procs:
        await asyncio.wait_for(proc.wait(), 60)


def _sent(stand: Stand) -> Counter[int]:
    return Counter(
        int(c.params["chat_id"]) for c in stand.calls_to("sendMessage") if c.status == 200
    )


async def three_at_the_cap(url: str, count: int, *, budget: str) -> Cap:
    await truncate_pg()
    await pg_fetch("UPDATE send_budget SET next_free = now()")
    async with Stand(enforce_limits=True) as stand:
        for i in range(count):
            stand.person(FIRST + i)
        procs = [
            await _start(stand, url, f"bench{i}", WALKWELL_SEND_BUDGET=budget) for i in range(3)
        ]
        try:
            await stand.wait_for(lambda: stand.waiting_polls > 0, timeout=60)
            await asyncio.sleep(3)
            await _seed(url, count, datetime.now(UTC), spread=10.0)
            await stand.wait_for(lambda: len(_sent(stand)) >= count, timeout=600)
        finally:
            await _stop(procs)
        calls = stand.calls_to("sendMessage")
        times = sorted(c.time for c in calls if c.status == 200)
        per_chat = _sent(stand)
        return Cap(
            sent=len(times),
            rate=(len(times) - 1) / (times[-1] - times[0]),
            too_many=sum(1 for c in calls if c.status == 429),
            doubled=sum(n - 1 for n in per_chat.values()),
        )


async def replies_during_a_peak(url: str, count: int, people: int = 60) -> Replies:
    await truncate_pg()
    await pg_fetch("UPDATE send_budget SET next_free = now()")
    async with Stand(enforce_limits=True) as stand:
        for i in range(count):
            stand.person(FIRST + i)
        askers = [stand.person(FIRST - 1 - i) for i in range(people)]
        procs = [await _start(stand, url, "bench-replies")]
        try:
            await stand.wait_for(lambda: stand.waiting_polls > 0, timeout=60)
            await _seed(url, count, datetime.now(UTC) - timedelta(seconds=1), spread=0.0)
            await stand.wait_for(lambda: len(_sent(stand)) >= 100, timeout=60)
            asked: dict[int, float] = {}
            for who in askers:
                asked[who.user_id] = time.time()
                await stand.send(who, "/help")
                await asyncio.sleep(0.25)
            await stand.wait_for(
                lambda: all(stand.transcript(w) for w in askers), timeout=120, what="replies"
            )
            reminders = sum(1 for chat in _sent(stand) if chat >= FIRST)
        finally:
            await _stop(procs)
        calls = stand.calls_to("sendMessage")
        answered: dict[int, float] = {}
        for call in calls:
            if call.status == 200:
                answered.setdefault(int(call.params["chat_id"]), call.time)
        latency = sorted((answered[w.user_id] - asked[w.user_id]) * 1000 for w in askers)
        return Replies(
            p50_ms=statistics.median(latency),
            p99_ms=latency[min(len(latency) - 1, int(0.99 * len(latency)))],
            replies=len(latency),
            reminders=reminders,
            too_many=sum(1 for c in calls if c.status == 429),
        )
