"""Schedules by command: /morning /evening /meals /aftermeal /ate /schedule /pause /resume /quiet."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update

from bot.context import Ctx
from bot.conversation import Ask
from bot.handlers.common import Turn, person_handler
from bot.handlers.format import fmt_days, fmt_next, fmt_time, schedule_summary
from bot.parsing import (
    ParseError,
    parse_delay,
    parse_meals,
    parse_pause,
    parse_quiet,
    parse_reminder_args,
)
from bot.services import schedules
from jobs.outgoing import Buttons
from jobs.recurrence import in_quiet_hours
from jobs.rules import MEAL_KINDS, RECURRING_KINDS, fire_time


def _args(ctx: Ctx) -> list[str]:
    return list(ctx.args or [])


def _error(turn: Turn, exc: ParseError) -> None:
    turn.say(exc.key, text=exc.text)


def _changed(ctx: Ctx, due: datetime | None) -> None:
    if ctx.rt.dispatcher is not None:
        ctx.rt.dispatcher.schedule_changed(due)


MAX_ARGUMENT = 64  # longer than any time and days a person would write


async def _daily(update: Update, ctx: Ctx, turn: Turn, kind: str) -> None:
    person = turn.person
    assert person is not None
    command = f"/{kind}"
    if not turn.arg_text.strip():
        current = next(
            (v for v in await schedules.views(turn.db, person) if v.kind == kind and v.local_time),
            None,
        )
        label = turn.t(f"ui.kind.{kind}")
        if current is None or current.local_time is None:
            turn.say("ui.schedule.unset", label=label, command=command)
        else:
            turn.say(
                "ui.schedule.current", label=label, time=fmt_time(current.local_time),
                days=fmt_days(turn, current.weekdays), command=command,
            )  # fmt: skip
        return
    if len(turn.arg_text) > MAX_ARGUMENT:
        turn.say("ui.err.arg_too_long", command=command)
        return
    try:
        parsed = parse_reminder_args(_args(ctx), turn.lang)
    except ParseError as exc:
        _error(turn, exc)
        return
    label = turn.t(f"ui.kind.{kind}")
    if parsed is None:
        await schedules.clear_rules(turn.db, person, (kind,), turn.now)
        turn.say("ui.schedule.off", label=label)
        return
    at, days = parsed
    rule = await schedules.set_rule(turn.db, person, kind, at, days, turn.now)
    turn.say(
        "ui.schedule.set",
        label=label,
        time=fmt_time(at),
        days=fmt_days(turn, days),
        next=fmt_next(turn, rule.next_due_at),
    )
    if (
        person.quiet_start
        and person.quiet_end
        and in_quiet_hours(at, person.quiet_start, person.quiet_end)
    ):
        turn.say("ui.schedule.in_quiet", time=fmt_time(at))
    await _merged_notes(turn, (kind,))
    _changed(ctx, rule.next_due_at)


async def _merged_notes(turn: Turn, kinds: tuple[str, ...] | None) -> None:
    """Say which of these reminders (None: all) now share one message with another, or are held
    back by the daily limit."""
    assert turn.person is not None
    for view in await schedules.views(turn.db, turn.person):
        if kinds is not None and view.kind not in kinds and view.merged_into not in kinds:
            continue
        label = turn.t(f"ui.kind.{view.kind}")
        if view.merged_into is not None:
            turn.say("ui.schedule.merged", label=label, other=turn.t(f"ui.kind.{view.merged_into}"))
        elif view.held:
            turn.say("ui.schedule.held", label=label, count=schedules.budget_of(turn.person))


@person_handler()
async def limit(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/limit [N]: at most N routine reminders a day (1-10; safety messages are never limited)."""
    person = turn.person
    assert person is not None
    argument = turn.arg_text.strip()
    if not argument:
        turn.say("ui.limit.current", count=schedules.budget_of(person))
        return
    if not argument.isdigit() or not 1 <= int(argument) <= schedules.MAX_BUDGET:
        turn.say("ui.err.limit", text=argument[:20])
        return
    await schedules.set_budget(turn.db, person, int(argument), turn.now)
    turn.say("ui.limit.set", count=int(argument))
    await _merged_notes(turn, None)
    _changed(ctx, await schedules.next_due_of(turn.db, person))


@person_handler()
async def morning(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/morning HH:MM [days] | off"""
    await _daily(update, ctx, turn, "morning")


@person_handler()
async def evening(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/evening HH:MM [days] | off"""
    await _daily(update, ctx, turn, "evening")


@person_handler()
async def meals(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/meals 08:00 13:00 19:00 | off"""
    person = turn.person
    assert person is not None
    try:
        parsed = parse_meals(_args(ctx))
    except ParseError as exc:
        _error(turn, exc)
        return
    if parsed is None:
        await schedules.clear_rules(turn.db, person, MEAL_KINDS, turn.now)
        turn.say("ui.meals.off")
        return
    rules = await schedules.set_meals(turn.db, person, parsed, turn.now)
    turn.say(
        "ui.meals.set",
        times=", ".join(fmt_time(at) for _, at in parsed),
        delay=person.meal_delay_minutes,
    )
    await _merged_notes(turn, MEAL_KINDS)
    _changed(ctx, min((r.next_due_at for r in rules if r.next_due_at), default=None))


@person_handler()
async def aftermeal(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/aftermeal MINUTES: the delay between a meal and its walk reminder."""
    person = turn.person
    assert person is not None
    args = _args(ctx)
    try:
        delay = parse_delay(" ".join(args))
    except ParseError as exc:
        _error(turn, exc)
        return
    await schedules.set_meal_delay(turn.db, person, delay, turn.now)
    turn.say("ui.aftermeal.set", delay=delay)
    await _merged_notes(turn, MEAL_KINDS)


@person_handler()
async def ate(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/ate: I just ate; a walk reminder after the meal delay."""
    await ate_now(turn, ctx)


async def ate_now(turn: Turn, ctx: Ctx) -> None:
    """A walk reminder after the meal delay, promised only if it will really be sent."""
    person = turn.person
    assert person is not None
    due, held = await schedules.after_meal(turn.db, person, turn.now)
    if due is None:
        wanted = turn.now + timedelta(minutes=person.meal_delay_minutes)
        local = schedules.local_now_in(person.timezone, wanted)
        key = "ui.ate.quiet" if held == "quiet" else "ui.ate.held"
        turn.say(key, time=local.strftime("%H:%M"))
        return
    local = schedules.local_now_in(person.timezone, due)
    turn.say("ui.ate.set", time=local.strftime("%H:%M"))
    _changed(ctx, due)


def schedule_buttons(turn: Turn, prefix: str, kinds: list[str]) -> Buttons:
    """One "<kind> off" button per reminder; pause today, or resume while paused."""
    assert turn.person is not None
    rows: list[tuple[tuple[str, str], ...]] = [
        ((turn.t("ui.schedule.btn_off", label=turn.t(f"ui.kind.{kind}")), f"{prefix}:off:{kind}"),)
        for kind in kinds
    ]
    if turn.person.status in ("stopped", "blocked"):
        return tuple(rows)
    if schedules.is_paused(turn.person, turn.now):
        rows.append(((turn.t("ui.schedule.btn_resume"), f"{prefix}:resume"),))
    elif kinds:
        rows.append(((turn.t("ui.schedule.btn_pause"), f"{prefix}:pause"),))
    return tuple(rows)


@person_handler()
async def schedule(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/schedule: everything set, in local time, with buttons to change it (one message)."""
    assert turn.person is not None
    kinds = [
        v.kind for v in await schedules.views(turn.db, turn.person) if v.local_time is not None
    ]
    prefix = turn.ask(Ask.SCHEDULE, "sch")
    text = "\n\n".join(
        (turn.t("ui.schedule.header"), await schedule_summary(turn), turn.t("ui.plan.edit_help"))
    )
    turn.say_text(text, buttons=schedule_buttons(turn, prefix, kinds))


@person_handler(button=True)
async def on_schedule_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """sch:<token>:off:<kind>, sch:<token>:pause (today), sch:<token>:resume."""
    assert update.callback_query is not None and turn.person is not None
    person = turn.person
    pending = turn.pending
    value = (
        pending.value_of(update.callback_query.data or "", turn.now)
        if pending is not None and pending.ask == Ask.SCHEDULE
        else None
    )
    parts = (value or "").split(":")
    if parts[0] == "off" and len(parts) == 2 and parts[1] in RECURRING_KINDS:
        turn.answered()
        await schedules.clear_rules(turn.db, person, (parts[1],), turn.now)
        turn.say("ui.schedule.off", label=turn.t(f"ui.kind.{parts[1]}"))
    elif parts == ["pause"]:
        turn.answered()
        today = schedules.local_today(person, turn.now)
        schedules.pause(person, today)
        turn.say("ui.pause.set", date=today.strftime("%d.%m.%Y"))
    elif parts == ["resume"]:
        turn.answered()
        schedules.resume(person, turn.now)
        turn.say("ui.resume.done")
    else:
        turn.stale()


@person_handler()
async def pause(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/pause [N days | until DATE]"""
    person = turn.person
    assert person is not None
    try:
        until = parse_pause(_args(ctx), schedules.local_today(person, turn.now))
    except ParseError as exc:
        _error(turn, exc)
        return
    schedules.pause(person, until)
    turn.say("ui.pause.set", date=until.strftime("%d.%m.%Y"))


@person_handler()
async def resume(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/resume: reminders back on."""
    person = turn.person
    assert person is not None
    turn.say("ui.resume.done" if schedules.resume(person, turn.now) else "ui.resume.not_paused")


@person_handler()
async def quiet(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/quiet 22:00-07:00 | off"""
    person = turn.person
    assert person is not None
    try:
        parsed = parse_quiet(" ".join(_args(ctx)))
    except ParseError as exc:
        _error(turn, exc)
        return
    schedules.set_quiet(person, parsed)
    if parsed is None:
        turn.say("ui.quiet.off")
        return
    turn.say("ui.quiet.set", start=fmt_time(parsed[0]), end=fmt_time(parsed[1]))
    for view in await schedules.views(turn.db, person):
        if view.local_time is not None and in_quiet_hours(
            fire_time(view.local_time, view.delay_minutes), *parsed
        ):
            turn.say(
                "ui.schedule.in_quiet",
                time=fmt_time(fire_time(view.local_time, view.delay_minutes)),
            )
