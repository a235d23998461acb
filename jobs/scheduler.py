"""APScheduler wiring (through python-telegram-bot's JobQueue): the dispatcher and daily chores.

One repeating job wakes the dispatcher at least every `dispatch_interval` seconds; a one-shot job
is moved to the next due instant whenever that is sooner. misfire_grace_time is set explicitly:
APScheduler's default (1 s) silently drops jobs missed while the process was busy or down.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from telegram.ext import Application, Job

from bot.context import Ctx, Runtime
from jobs.chores import purge_old_logs, weekly_summaries
from jobs.safety_check import send_safety_checks

log = logging.getLogger(__name__)

JOB_KWARGS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
WAKE_JOB = "dispatch-wake"
CAPPED_RETICK_SECONDS = 2.0


async def dispatch(context: Ctx) -> None:
    """One dispatcher tick, then plan the next wake-up."""
    rt = context.rt
    assert rt.dispatcher is not None
    try:
        result = await rt.dispatcher.tick()
        upcoming = await rt.dispatcher.next_wakeup()
    except Exception:
        log.exception("dispatch tick failed; the next tick retries")
        return
    if result.capped:  # more is due than this worker has room for: claim again shortly
        upcoming = rt.clock.now() + timedelta(seconds=CAPPED_RETICK_SECONDS)
    if upcoming is not None:
        plan_wake(context.application, rt, upcoming)


def plan_wake(application: Application, rt: Runtime, due: datetime) -> None:  # type: ignore[type-arg]
    """Make sure the dispatcher runs at `due` (if that is before the next regular tick)."""
    job_queue = application.job_queue
    if job_queue is None:
        return
    delay = (due - rt.clock.now()).total_seconds()
    if delay > rt.settings.dispatch_interval_seconds:
        return
    target = time.time() + max(0.0, delay)  # APScheduler runs on the real clock
    existing: tuple[Job, ...] = job_queue.get_jobs_by_name(WAKE_JOB)  # type: ignore[type-arg]
    for job in existing:
        if job.next_t is not None and job.next_t.timestamp() <= target + 0.05:
            return
        job.schedule_removal()
    job_queue.run_once(dispatch, when=max(0.0, delay) + 0.01, name=WAKE_JOB, job_kwargs=JOB_KWARGS)


async def hourly_chores(context: Ctx) -> None:
    """Weekly summaries (Sunday evening, local time), the retention purge, the safety check."""
    rt = context.rt
    now = rt.clock.now()
    try:
        if await weekly_summaries(rt, now):
            await dispatch(context)
        if now.hour == 3:
            await purge_old_logs(rt, now)
    except Exception:
        log.exception("hourly chores failed; they run again in an hour")
    try:  # on its own: a failing summary must not hold back the safety check
        if await send_safety_checks(rt, now):
            await dispatch(context)
    except Exception:
        log.exception("safety checks failed; they run again in an hour")


def start_scheduling(application: Application, rt: Runtime) -> None:  # type: ignore[type-arg]
    """Run the dispatcher now, then at least every `dispatch_interval` seconds; daily chores."""
    job_queue = application.job_queue
    assert job_queue is not None, "python-telegram-bot[job-queue] is required"
    assert rt.dispatcher is not None
    interval = rt.settings.dispatch_interval_seconds
    # A backlog (reminders that fell due while the process was down) goes out at once. The
    # repeating job cannot do that: APScheduler's interval trigger, given a start that has just
    # passed, first fires one whole interval later.
    job_queue.run_once(dispatch, when=0, name=WAKE_JOB, job_kwargs=JOB_KWARGS)
    job_queue.run_repeating(
        dispatch, interval=timedelta(seconds=interval), first=interval, name="dispatch",
        job_kwargs=JOB_KWARGS,
    )  # fmt: skip
    job_queue.run_repeating(
        hourly_chores, interval=timedelta(hours=1), first=60.0, name="chores", job_kwargs=JOB_KWARGS
    )
    rt.dispatcher.on_schedule_change = lambda due: plan_wake(application, rt, due)
    on_move = getattr(rt.clock, "on_move", None)
    if on_move is not None:  # a test clock: run the dispatcher whenever time is moved
        on_move(lambda: job_queue.run_once(dispatch, when=0, job_kwargs=JOB_KWARGS))
