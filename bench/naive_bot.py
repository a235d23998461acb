"""The naive design, for comparison: one APScheduler job per reminder (PTB's JobQueue.run_daily).

Run as `python -m bench.naive_bot` with the same environment as `walkwell run`: it builds a plain
python-telegram-bot Application, loads every enabled rule from DATABASE_URL, registers one
run_daily job per rule, starts polling (that is "ready") and runs until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from telegram.ext import Application, ContextTypes

from bot.config import load_settings
from bot.db import create_engine, session_factory
from bot.models import Person, ReminderRule
from jobs.rules import fire_time, mask_to_weekdays


async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    """What each job would do: send the reminder (never reached during the benchmark)."""
    assert context.job is not None
    await context.bot.send_message(context.job.chat_id or 0, "Time for a walk")


async def main() -> None:
    settings = load_settings()
    application = (
        Application.builder().token(settings.token()).base_url(settings.bot_api_url).build()
    )
    assert application.job_queue is not None
    engine = create_engine(settings.database_url)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(
                ReminderRule.id,
                ReminderRule.local_time,
                ReminderRule.delay_minutes,
                ReminderRule.weekdays,
                Person.chat_id,
                Person.timezone,
            )  # fmt: skip
            .join(Person, Person.id == ReminderRule.person_id)
            .where(ReminderRule.enabled.is_(True), ReminderRule.local_time.is_not(None))
        )
        for rule_id, local_time, delay, mask, chat_id, zone in rows:
            days = mask_to_weekdays(mask)
            at = fire_time(local_time, delay).replace(tzinfo=ZoneInfo(zone))
            application.job_queue.run_daily(
                remind,
                at,
                days=tuple(sorted((d + 1) % 7 for d in days)) if days else tuple(range(7)),
                chat_id=chat_id,
                name=f"rule-{rule_id}",
            )
    await engine.dispose()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=30)
        await stop.wait()
        with contextlib.suppress(Exception):
            await application.updater.stop()
        await application.stop()


if __name__ == "__main__":
    asyncio.run(main())
