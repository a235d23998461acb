"""Reminder buttons, walk and pain logging, /progress."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from telegram import Update

from bot import progression
from bot.charts import progress_png
from bot.context import Ctx
from bot.conversation import Ask
from bot.handlers.common import Turn, person_handler
from bot.handlers.format import fmt_next
from bot.handlers.safety import deps, reach, spike_screen
from bot.parsing import ParseError, parse_log, parse_minutes, parse_pain
from bot.safety import episodes
from bot.services import schedules, walks
from bot.services.programme import load_programme
from bot.services.schedules import SNOOZE
from jobs.outgoing import Buttons

if TYPE_CHECKING:
    from bot.models import WalkLog

MINUTE_CHOICES = (5, 10, 15, 20, 30)
OTHER = "o"
COMPARE = ("better", "same", "worse")


def minutes_buttons(turn: Turn, prefix: str) -> Buttons:
    row = tuple((str(m), f"{prefix}:{m}") for m in MINUTE_CHOICES)
    return (row, ((turn.t("ui.btn.other"), f"{prefix}:{OTHER}"),))


def pain_buttons(prefix: str) -> Buttons:
    return (
        tuple((str(p), f"{prefix}:{p}") for p in range(0, 6)),
        tuple((str(p), f"{prefix}:{p}") for p in range(6, 11)),
    )


def compare_buttons(turn: Turn, walk_id: int) -> Buttons:
    """Tied to the walk (answered once), not to a pending question: after a pain spike they
    come only once the safety screen is answered."""
    return (tuple((turn.t(f"ui.btn.{c}"), f"w:cmp:{walk_id}:{c}") for c in COMPARE),)


def ask_minutes(turn: Turn, delivery_id: int | None) -> None:
    """How long was the walk? Buttons, or a typed number."""
    prefix = turn.ask(Ask.WALK_MINUTES, f"w:min:{delivery_id or 0}", ref=delivery_id)
    turn.say("ui.walk.ask_minutes", buttons=minutes_buttons(turn, prefix))


def ask_pain(turn: Turn, walk: WalkLog) -> None:
    prefix = turn.ask(Ask.PAIN, f"w:pain:{walk.id}", ref=walk.id)
    turn.say("ui.walk.ask_pain", buttons=pain_buttons(prefix))


def offer_pain_score(turn: Turn) -> None:
    """ "My back hurts": sympathy, and a pain score to log if the person wants."""
    prefix = turn.ask(Ask.PAIN_SCORE, "w:pscore")
    turn.say("ui.reply.pain_offer", buttons=pain_buttons(prefix))


async def walked(turn: Turn, ctx: Ctx, minutes: int | None) -> None:
    """ "done" / "walked 20 minutes": log it (answering today's open reminder, if any)."""
    assert turn.person is not None
    reminder = await walks.open_reminder(turn.db, turn.person, turn.now)
    ref = reminder.id if reminder is not None else None
    if reminder is not None:
        walks.mark_answered(reminder)
    if minutes is None:
        ask_minutes(turn, ref)
    else:
        await record_minutes(turn, ctx, minutes, ref)


async def later(turn: Turn, ctx: Ctx) -> None:
    """ "later": the open reminder again in 15 minutes."""
    assert turn.person is not None
    reminder = await walks.open_reminder(turn.db, turn.person, turn.now)
    if reminder is None:
        turn.say("ui.reply.later_nothing")
        return
    walks.mark_answered(reminder)
    await _snooze(turn, ctx)


async def _snooze(turn: Turn, ctx: Ctx) -> None:
    person = turn.person
    assert person is not None
    due = turn.now + SNOOZE
    await schedules.one_off(turn.db, person, "snooze", due)
    turn.say(
        "ui.reminder.snoozed", time=schedules.local_now_in(person.timezone, due).strftime("%H:%M")
    )
    if ctx.rt.dispatcher is not None:
        ctx.rt.dispatcher.schedule_changed(due)


def gentle_buttons(turn: Turn, screened: bool) -> Buttons:
    """The answers to "shall I switch you to gentle mode?" (w:flare:s: the screen was just done).

    Tied to the programme, not to a pending question: they may arrive after the spike screen.
    A typed yes / no answers them too while they are the open question."""
    yes = "w:flare:s" if screened else "w:flare"
    turn.ask(Ask.FLARE, "w:flare", yes="y", no="n")
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
    turn.answered()
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
    walks.set_pain(walk, pain)
    ask = turn.t("ui.walk.ask_compare")
    if progression.needs_spike_screen(pain):  # the screen first and alone; the question waits
        await spike_screen(turn, ctx, [(ask, compare_buttons(turn, walk.id))])
        return
    turn.say_text(ask, buttons=compare_buttons(turn, walk.id))


async def record_minutes(turn: Turn, ctx: Ctx, minutes: int, delivery_id: int | None) -> None:
    """The walk's length is known: store the walk and ask about pain."""
    assert turn.person is not None
    if delivery_id is not None and await walks.is_logged(turn.db, delivery_id):
        turn.answered()
        turn.stale("ui.walk.already_logged")
        return
    walk = await walks.start_walk(turn.db, turn.person, minutes, turn.now, delivery_id)
    ask_pain(turn, walk)


async def _reminder_button(turn: Turn, ctx: Ctx, action: str, ref: int) -> None:
    """Done / snooze / skip on a reminder: each reminder is answered once."""
    person = turn.person
    assert person is not None
    delivery = await walks.reminder_of(turn.db, person, ref)
    if delivery is None:
        turn.stale("ui.err.not_yours")
        return
    if await walks.is_logged(turn.db, ref):
        turn.stale("ui.walk.already_logged")
        return
    if delivery.answered:
        turn.stale("ui.reminder.answered")
        return
    walks.mark_answered(delivery)
    if action == "done":
        ask_minutes(turn, ref)
    elif action == "snz":
        await _snooze(turn, ctx)
    else:
        await skip_rest_of_today(turn, ctx)


async def skip_rest_of_today(turn: Turn, ctx: Ctx) -> None:
    """No more walk reminders today; say when the next one comes."""
    assert turn.person is not None
    nxt = await schedules.skip_today(turn.db, turn.person, turn.now)
    turn.say("ui.reminder.skipped", next=fmt_next(turn, nxt))


async def walk_answer(turn: Turn, ctx: Ctx, ask: Ask, value: str) -> None:
    """An answer to the open walk question (minutes, pain, pain score, gentle mode), tapped or
    typed."""
    person = turn.person
    pending = turn.pending
    assert person is not None and pending is not None
    if ask == Ask.WALK_MINUTES:
        if value == OTHER:  # a typed number answers it now (its buttons are done)
            turn.ask(Ask.WALK_MINUTES, f"w:min:{pending.ref or 0}", ref=pending.ref)
            turn.say("ui.walk.ask_minutes_other")
            return
        turn.chose(turn.t("ui.chosen.minutes", minutes=int(value)))
        await record_minutes(turn, ctx, int(value), pending.ref)
        return
    if ask == Ask.FLARE:
        await _gentle(turn, ctx, value == "y", screened=False)
        return
    turn.chose(turn.t("ui.chosen.pain", score=int(value)))
    if ask == Ask.PAIN_SCORE:
        turn.answered()
        await _pain_logged(turn, ctx, int(value))
        return
    walk = await walks.walk_of(turn.db, person, pending.ref) if pending.ref is not None else None
    if walk is None or walk.pain is not None:
        turn.stale("ui.walk.already_logged")
        return
    await _pain_given(turn, ctx, walk, int(value))


async def _compare(turn: Turn, ctx: Ctx, walk_ref: str, value: str) -> None:
    """w:cmp:<walk>:<better|same|worse>, once per walk (it may come after the spike screen)."""
    assert turn.person is not None
    walk = await walks.walk_of(turn.db, turn.person, int(walk_ref)) if walk_ref.isdigit() else None
    if walk is None or value not in COMPARE:
        turn.stale("ui.err.not_yours")
    elif walk.pain is None or walk.compare is not None:
        turn.stale("ui.walk.already_logged")
    else:
        walks.set_compare(walk, value)
        await _saved(turn, ctx, walk)


async def _gentle(turn: Turn, ctx: Ctx, yes: bool, *, screened: bool) -> None:
    """Gentle mode for a week, or not: once (a second yes while it is on changes nothing)."""
    assert turn.person is not None
    turn.answered()
    if not yes:
        turn.callback_note = turn.t("ui.flare.declined")
        if turn.update.callback_query is None:
            turn.say("ui.flare.declined")
        return
    if walks.in_gentle_mode(turn.person, turn.now):
        turn.stale("ui.flare.already")
        return
    await walks.start_flare(turn.db, turn.person, turn.now)
    if screened:  # the person has just answered the spike screen
        turn.say("ui.flare.started")
    else:
        await spike_screen(turn, ctx, [(turn.t("ui.flare.started"), ())])


VALID: dict[Ask, tuple[str, ...]] = {
    Ask.WALK_MINUTES: (*map(str, MINUTE_CHOICES), OTHER),
    Ask.PAIN: tuple(map(str, range(11))),
    Ask.PAIN_SCORE: tuple(map(str, range(11))),
}
ACTIONS = {"min": Ask.WALK_MINUTES, "pain": Ask.PAIN, "pscore": Ask.PAIN_SCORE}


@person_handler(button=True)
async def on_walk_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """w:* buttons: Done -> minutes -> pain -> better/same/worse; Snooze; Skip; gentle mode."""
    assert update.callback_query is not None and turn.person is not None
    data = update.callback_query.data or ""
    parts = data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action in ("done", "snz", "skip"):
        if len(parts) == 3 and parts[2].isdigit():
            await _reminder_button(turn, ctx, action, int(parts[2]))
        else:
            turn.stale()
        return
    if action == "cmp" and len(parts) == 4:
        await _compare(turn, ctx, parts[2], parts[3])
        return
    if action in ("flare", "noflare"):
        await _gentle(turn, ctx, action == "flare", screened=parts[2:] == ["s"])
        return
    pending = turn.pending
    ask = ACTIONS.get(action)
    value = pending.value_of(data, turn.now) if pending is not None else None
    if ask is None or pending is None or pending.ask != ask or value not in VALID[ask]:
        turn.stale()
        return
    await walk_answer(turn, ctx, ask, value)


async def typed_walk_answer(turn: Turn, ctx: Ctx, ask: Ask, text: str) -> None:
    """A typed number for the open walk question (minutes or pain)."""
    try:
        value = parse_minutes(text) if ask == Ask.WALK_MINUTES else parse_pain(text.strip())
    except ParseError as exc:
        turn.say(exc.key, text=exc.text)
        return
    await walk_answer(turn, ctx, ask, str(value))


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
        ask_pain(turn, walk)
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
    await _pain_logged(turn, ctx, score)


async def _pain_logged(turn: Turn, ctx: Ctx, score: int) -> None:
    assert turn.person is not None
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


@person_handler(button=True)
async def on_morning_check(update: Update, ctx: Ctx, turn: Turn) -> None:
    """mc:<walk>:y|n, the next-morning answer (once): worse than usual turns that walk red."""
    assert update.callback_query is not None and turn.person is not None
    parts = (update.callback_query.data or "").split(":")
    walk = (
        await walks.walk_of(turn.db, turn.person, int(parts[1]))
        if len(parts) == 3 and parts[1].isdigit()
        else None
    )
    if walk is None or parts[2] not in ("y", "n"):
        turn.stale("ui.err.not_yours")
        return
    if walk.next_morning_worse is not None:
        turn.stale()
        return
    await _morning_answer(turn, ctx, walk, parts[2] == "y")


async def _morning_answer(turn: Turn, ctx: Ctx, walk: WalkLog, worse: bool) -> None:
    assert turn.person is not None
    see_soon = await walks.answer_morning_check(turn.db, turn.person, walk, worse, turn.now)
    turn.say("ui.morning_check.thanks")
    if worse:
        turn.say("ui.walk.step_back", target=load_programme(turn.person).target_minutes)
    if see_soon:
        await _see_soon(turn, ctx)


async def typed_morning_answer(turn: Turn, ctx: Ctx, worse: bool) -> bool:
    """A typed yes / no to this morning's "is your back worse?" (False: none is open)."""
    assert turn.person is not None
    walk = await walks.open_morning_check(turn.db, turn.person, turn.now)
    if walk is None:
        return False
    await _morning_answer(turn, ctx, walk, worse)
    return True
