"""Reminder buttons, walk and pain logging, /progress."""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from telegram import Update

from bot import progression
from bot.charts import progress_png
from bot.context import Ctx
from bot.handlers.common import Turn, person_handler
from bot.handlers.safety import deps, reach, spike_screen
from bot.models import Delivery, WalkLog
from bot.parsing import ParseError, parse_log, parse_minutes, parse_pain
from bot.safety import episodes
from bot.services import schedules, walks
from bot.services.programme import load_programme
from bot.services.schedules import SNOOZE
from jobs.outgoing import Buttons

MINUTE_CHOICES = (5, 10, 15, 20, 30)


def minutes_buttons(turn: Turn, delivery_id: int) -> Buttons:
    row = tuple((str(m), f"w:min:{delivery_id}:{m}") for m in MINUTE_CHOICES)
    return (row, ((turn.t("ui.btn.other"), f"w:min:{delivery_id}:o"),))


def pain_buttons(walk_id: int) -> Buttons:
    return (
        tuple((str(p), f"w:pain:{walk_id}:{p}") for p in range(0, 6)),
        tuple((str(p), f"w:pain:{walk_id}:{p}") for p in range(6, 11)),
    )


def compare_buttons(turn: Turn, walk_id: int) -> Buttons:
    return (
        tuple((turn.t(f"ui.btn.{c}"), f"w:cmp:{walk_id}:{c}") for c in ("better", "same", "worse")),
    )


def gentle_buttons(turn: Turn, screened: bool) -> Buttons:
    """The answers to "shall I switch you to gentle mode?" (w:flare:s: the screen was just done)."""
    yes = "w:flare:s" if screened else "w:flare"
    return (((turn.t("ui.btn.gentle_yes"), yes), (turn.t("ui.btn.gentle_no"), "w:noflare")),)


async def _see_soon(turn: Turn, ctx: Ctx) -> None:
    """The log-derived trigger (spec §5.5): pain getting worse -> see a clinician soon (S4)."""
    assert turn.person is not None
    if turn.person.open_tier is None:
        flag = await episodes.raise_flag(
            turn.db, deps(ctx), turn.person, reach(turn), flags=("S4",), text=None, source="log",
            now=turn.now,
        )  # fmt: skip
        turn.send_priority(flag)


async def _saved(turn: Turn, ctx: Ctx, walk: WalkLog) -> None:
    assert turn.person is not None
    saved = await walks.finish_walk(turn.db, turn.person, walk, turn.now)
    turn.say(
        "ui.walk.saved", minutes=saved.minutes, today_total=saved.today_total, target=saved.target
    )
    if saved.light == "red":
        turn.say("ui.walk.step_back", target=saved.target)
    elif saved.light == "amber":
        turn.say("ui.walk.hold")
    else:
        variants = ctx.rt.catalog.variants(turn.lang, "ui.walk.encourage")
        turn.say_text(ctx.rt.catalog.render(variants[walk.id % len(variants)]))
    ask = turn.t("ui.morning_check.ask")
    buttons: Buttons = (
        ((turn.t("ui.btn.yes"), f"mc:{walk.id}:y"), (turn.t("ui.btn.no"), f"mc:{walk.id}:n")),
    )
    await walks.plan_morning_check(turn.db, turn.person, walk, ask, buttons, turn.now)
    if saved.see_soon:
        await _see_soon(turn, ctx)


async def _pain_given(turn: Turn, ctx: Ctx, walk: WalkLog, pain: int) -> None:
    walk.pain = pain
    ask = turn.t("ui.walk.ask_compare")
    if progression.needs_spike_screen(pain):  # the screen first and alone; the question waits
        await spike_screen(turn, ctx, [(ask, compare_buttons(turn, walk.id))])
        return
    turn.say_text(ask, buttons=compare_buttons(turn, walk.id))


@person_handler()
async def on_walk_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """w:* buttons: Done -> minutes -> pain -> better/same/worse; Snooze; Skip; Flare."""
    assert update.callback_query is not None and turn.person is not None
    person = turn.person
    parts = (update.callback_query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "flare":
        await walks.start_flare(turn.db, person, turn.now)
        if parts[2:] == ["s"]:  # the person has just answered the spike screen
            turn.say("ui.flare.started")
        else:
            await spike_screen(turn, ctx, [(turn.t("ui.flare.started"), ())])
        return
    if action == "noflare":
        turn.say("ui.flare.declined")
        return
    if len(parts) < 3 or not parts[2].isdigit():
        turn.say("ui.err.stale_button")
        return
    ref = int(parts[2])
    if action in ("done", "snz", "skip", "min"):
        delivery = await turn.db.get(Delivery, ref)
        if delivery is None or delivery.person_id != person.id or delivery.kind != "reminder":
            turn.say("ui.err.not_yours")
            return
        logged = await turn.db.scalar(select(WalkLog.id).where(WalkLog.delivery_id == ref))
        if logged is not None:
            turn.say("ui.walk.already_logged")
            return
        if action == "done":
            delivery.answered = True
            turn.say("ui.walk.ask_minutes", buttons=minutes_buttons(turn, ref))
        elif action == "min" and len(parts) == 4:
            if parts[3] == "o":
                person.pending = {"ask": "minutes", "delivery": ref}
                turn.say("ui.walk.ask_minutes_other")
            elif parts[3].isdigit() and int(parts[3]) in MINUTE_CHOICES:
                started = await walks.start_walk(turn.db, person, int(parts[3]), turn.now, ref)
                turn.say("ui.walk.ask_pain", buttons=pain_buttons(started.id))
            else:
                turn.say("ui.err.stale_button")
        elif delivery.answered:
            turn.say("ui.reminder.stale")
        elif action == "snz":
            delivery.answered = True
            due = turn.now + SNOOZE
            await schedules.one_off(turn.db, person, "snooze", due)
            turn.say(
                "ui.reminder.snoozed",
                time=schedules.local_now_in(person.timezone, due).strftime("%H:%M"),
            )
            if ctx.rt.dispatcher is not None:
                ctx.rt.dispatcher.schedule_changed(due)
        else:
            delivery.answered = True
            turn.say("ui.reminder.skipped")
        return
    walk = await turn.db.get(WalkLog, ref)
    if walk is None or walk.person_id != person.id:
        turn.say("ui.err.not_yours")
        return
    if (
        action == "pain"
        and len(parts) == 4
        and parts[3].isdigit()
        and 0 <= int(parts[3]) <= 10
        and walk.pain is None
    ):
        await _pain_given(turn, ctx, walk, int(parts[3]))
    elif (
        action == "cmp"
        and len(parts) == 4
        and parts[3] in ("better", "same", "worse")
        and walk.compare is None
        and walk.pain is not None
    ):
        walk.compare = parts[3]
        await _saved(turn, ctx, walk)
    else:
        turn.say("ui.walk.already_logged")


async def answer_minutes(turn: Turn, ctx: Ctx, text: str, delivery_id: int | None) -> None:
    """A typed walk length after "other"."""
    assert turn.person is not None
    try:
        minutes = parse_minutes(text)
    except ParseError as exc:
        turn.say(exc.key, text=exc.text)
        return
    turn.person.pending = None
    if delivery_id is not None and await turn.db.scalar(
        select(WalkLog.id).where(WalkLog.delivery_id == delivery_id)
    ):
        turn.say("ui.walk.already_logged")
        return
    walk = await walks.start_walk(turn.db, turn.person, minutes, turn.now, delivery_id)
    turn.say("ui.walk.ask_pain", buttons=pain_buttons(walk.id))


@person_handler()
async def log_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/log MINUTES [PAIN]: a walk in one line."""
    assert turn.person is not None
    try:
        minutes, pain = parse_log(list(ctx.args or []))
    except ParseError as exc:
        turn.say(exc.key, text=exc.text)
        return
    walk = await walks.start_walk(turn.db, turn.person, minutes, turn.now, None)
    if pain is None:
        turn.say("ui.walk.ask_pain", buttons=pain_buttons(walk.id))
        return
    await _pain_given(turn, ctx, walk, pain)


@person_handler()
async def pain_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/pain 0-10: how the back feels now."""
    assert turn.person is not None
    try:
        score = parse_pain(" ".join(ctx.args or []))
    except ParseError as exc:
        turn.say(exc.key, text=exc.text)
        return
    await walks.log_pain(turn.db, turn.person, score, turn.now)
    spike = progression.needs_spike_screen(score)
    then = [
        (turn.t("ui.pain.saved", score=score), ()),
        (turn.t("ui.pain.flare_offer"), gentle_buttons(turn, screened=spike)),
    ]
    if spike:
        # The screen first and alone; the confirmation and the gentle-mode offer wait for it.
        await spike_screen(turn, ctx, then)
        return
    for text, buttons in then:
        turn.say_text(text, buttons=buttons)


@person_handler()
async def progress_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/progress: a picture of the last 4 weeks and the figures in words."""
    assert turn.person is not None
    data = await walks.progress(turn.db, turn.person, turn.now)
    if not any(data.minutes):
        turn.say("ui.progress.empty", target=data.target)
        return
    labels = {k: turn.t(f"ui.progress.chart_{k}") for k in ("minutes", "pain", "target")}
    chart = partial(progress_png, data.days, data.minutes, data.pain, data.target, labels)
    turn.photo(chart, turn.t("ui.progress.caption"))  # drawn after the commit, off the loop
    turn.say(
        "ui.progress.text", streak=data.streak, week_minutes=data.week_minutes,
        week_walks=data.week_walks, target=data.target,
    )  # fmt: skip


@person_handler()
async def on_morning_check(update: Update, ctx: Ctx, turn: Turn) -> None:
    """mc:<walk>:y|n, the next-morning answer: worse than usual turns that walk red."""
    assert update.callback_query is not None and turn.person is not None
    parts = (update.callback_query.data or "").split(":")
    walk = (
        await turn.db.get(WalkLog, int(parts[1]))
        if len(parts) == 3 and parts[1].isdigit()
        else None
    )
    if walk is None or walk.person_id != turn.person.id or parts[2] not in ("y", "n"):
        turn.say("ui.err.not_yours")
        return
    if walk.next_morning_worse is not None:
        turn.say("ui.err.stale_button")
        return
    see_soon = await walks.answer_morning_check(
        turn.db, turn.person, walk, parts[2] == "y", turn.now
    )
    turn.say("ui.morning_check.thanks")
    if parts[2] == "y":
        turn.say("ui.walk.step_back", target=load_programme(turn.person).target_minutes)
    if see_soon:
        await _see_soon(turn, ctx)
