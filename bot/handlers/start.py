"""Onboarding (/start), /help, /stop, /timezone and /language."""

from __future__ import annotations

import asyncio
from datetime import time

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from bot.context import Ctx
from bot.conversation import PLACE_AFTER_ONBOARDING, Ask, Step, step_of
from bot.handlers import contact
from bot.handlers.common import Turn, person_handler
from bot.handlers.format import fmt_next, fmt_time, schedule_summary
from bot.handlers.safety import SCREEN_FLAGS, deps, reach
from bot.parsing import ParseError, parse_meals, parse_minutes, parse_walk_times
from bot.safety import episodes
from bot.services import onboarding, people, schedules
from bot.services.onboarding import EFFECTS
from bot.services.schedules import DEFAULT_EVENING, DEFAULT_MORNING
from bot.tzresolve import (
    ZoneMatch,
    is_valid_zone,
    resolve_timezone,
    timezone_for_location,
)
from jobs.outgoing import Buttons

MINUTES = (5, 10, 15, 20, 30)
NOT_MY_ZONE = "-"


def yes_no(turn: Turn, prefix: str) -> Buttons:
    return (((turn.t("ui.btn.yes"), f"{prefix}:y"), (turn.t("ui.btn.no"), f"{prefix}:n")),)


def ask_step(turn: Turn, step: str | None) -> None:
    """(Re-)ask the question for an onboarding step; older buttons stop counting."""
    assert turn.person is not None
    turn.person.onboarding_step = step
    turn.answered()
    if step == Step.CONSENT or step is None:
        turn.say(
            "ui.start.welcome",
            buttons=(
                ((turn.t("ui.btn.consent_yes"), "ob:consent:y"),),
                ((turn.t("ui.btn.consent_no"), "ob:consent:n"),),
            ),
        )
    elif step.startswith("screen"):
        index = int(step[-1])
        if index == 1:
            turn.say("ui.screen.intro")
        turn.say(f"redflags.screen.q{index}", buttons=yes_no(turn, f"ob:scr:{index}"))
    elif step == Step.TZ:
        turn.ask(Ask.PLACE, "ob:place")
        turn.say("ui.tz.ask", markup=location_keyboard(turn))
    elif step == Step.EFFECT:
        prefix = turn.ask(Ask.EFFECT, "ob:eff")
        turn.say(
            "ui.profile.walk_effect",
            buttons=tuple(((turn.t(f"ui.btn.effect_{e}"), f"{prefix}:{e}"),) for e in EFFECTS),
        )
    elif step == Step.MINUTES:
        prefix = turn.ask(Ask.START_MINUTES, "ob:min")
        turn.say("ui.profile.minutes", buttons=(tuple((str(m), f"{prefix}:{m}") for m in MINUTES),))
    elif step == Step.PLAN:
        prefix = turn.ask(Ask.PLAN, "ob:plan")
        turn.say(
            "ui.plan.propose", morning=fmt_time(DEFAULT_MORNING), evening=fmt_time(DEFAULT_EVENING),
            buttons=(((turn.t("ui.btn.accept"), f"{prefix}:accept"),), ((turn.t("ui.btn.add_meals"), f"{prefix}:meals"),),
                     ((turn.t("ui.btn.edit"), f"{prefix}:edit"),)),
        )  # fmt: skip
    elif step == Step.TIMES:
        turn.ask(Ask.TIMES, "ob:times")
        turn.say("ui.plan.times_ask")
    elif step == Step.MEALS:
        prefix = turn.ask(Ask.MEAL_TIMES, "ob:meals")
        turn.say("ui.plan.meals_ask", buttons=(((turn.t("ui.btn.no_meals"), f"{prefix}:none"),),))


@person_handler(consent=False, create=True)
async def start(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/start: welcome and consent; later, resume onboarding or show the current setup."""
    person = turn.person
    assert person is not None
    argument = (ctx.args or [""])[0]
    if argument.startswith(contact.CODE_PREFIX):
        await contact.invitation(turn, argument[len(contact.CODE_PREFIX) :])
        return
    if person.consent_at is None:
        ask_step(turn, Step.CONSENT)
        return
    await people.come_back(turn.db, person, turn.now)
    if person.onboarding_step is not None:
        turn.say("ui.start.resume")
        ask_step(turn, person.onboarding_step)
        return
    summary = await schedule_summary(turn)
    turn.say("ui.start.already", summary=summary)


# Which pending question each onboarding button answers, and the step it belongs to
# (None: also valid after onboarding, as /timezone uses the same buttons).
ACTIONS: dict[str, tuple[Ask, Step | None]] = {
    "tz": (Ask.ZONE, None),
    "eff": (Ask.EFFECT, Step.EFFECT),
    "min": (Ask.START_MINUTES, Step.MINUTES),
    "plan": (Ask.PLAN, Step.PLAN),
    "meals": (Ask.MEAL_TIMES, Step.MEALS),
}


@person_handler(consent=False, create=True, button=True)
async def on_onboarding_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """ob:* buttons, each valid only while its own question is pending (old taps change nothing)."""
    assert update.callback_query is not None and turn.person is not None
    person = turn.person
    data = update.callback_query.data or ""
    parts = data.split(":")
    action, arg = (parts[1], ":".join(parts[2:])) if len(parts) >= 3 else ("", "")
    step = person.onboarding_step
    if action == "consent" and person.consent_at is None and arg in ("y", "n"):
        if arg == "y":
            user = update.effective_user
            onboarding.give_consent(person, user.first_name if user else None, turn.lang, turn.now)
            ask_step(turn, Step.SCREEN1)
        else:
            turn.say("ui.start.declined")
        return
    if person.consent_at is None:
        turn.stale("ui.err.need_start")
        return
    if (
        action == "scr"
        and step
        and step.startswith("screen")
        and arg[:1] == step[-1]
        and arg[-1:] in ("y", "n", "w", "k")
    ):
        index = int(step[-1])
        flag = SCREEN_FLAGS[index - 1]
        if arg.endswith("y"):  # new, or something a doctor has already checked?
            turn.say(
                "safety.known.ask",
                buttons=(
                    ((turn.t("safety.btn.new_or_worse"), f"ob:scr:{index}w"),),
                    ((turn.t("safety.btn.checked_before"), f"ob:scr:{index}k"),),
                ),
            )
            return
        if arg.endswith("w"):
            question = ctx.rt.catalog.text(
                ctx.rt.settings.clinic_language, f"redflags.screen.q{index}"
            )
            answers = ctx.rt.catalog.text(
                ctx.rt.settings.clinic_language, "safety.clinic.answered_yes", question=question
            )
            turn.send_priority(
                await episodes.raise_flag(
                    turn.db, deps(ctx), person, reach(turn), flags=(flag,), text=None,
                    source="screen", now=turn.now, answers=answers,
                )
            )  # fmt: skip
            return  # onboarding holds here; /start resumes at this question later
        if arg.endswith("k"):  # recorded; the programme will be held at its gentle level
            await episodes.record_known(turn.db, person, flag, turn.now)
            turn.say("safety.known.noted")
        if index < len(SCREEN_FLAGS):
            ask_step(turn, f"screen{index + 1}")
        else:
            turn.say("ui.screen.all_clear")
            ask_step(turn, "tz")
        return
    expected = ACTIONS.get(action)
    pending = turn.pending
    value = pending.value_of(data, turn.now) if pending is not None else None
    if (
        expected is None
        or value is None
        or pending is None
        or pending.ask != expected[0]
        or (expected[1] is not None and step != expected[1])
    ):
        turn.stale()
        return
    await onboarding_answer(turn, ctx, pending.ask, value)


async def onboarding_answer(turn: Turn, ctx: Ctx, ask: Ask, value: str) -> None:
    """An answer to an onboarding (or zone) question, tapped or typed; the question is open."""
    person = turn.person
    assert person is not None
    if ask == Ask.ZONE:
        if value == NOT_MY_ZONE:
            if person.onboarding_step == Step.TZ:
                ask_step(turn, Step.TZ)
            else:
                ask_place(turn)
        elif is_valid_zone(value):
            await set_zone(turn, value)
        else:
            turn.stale()
    elif ask == Ask.EFFECT and value in EFFECTS:
        onboarding.set_effect(person, value)
        ask_step(turn, Step.MINUTES)
    elif ask == Ask.START_MINUTES and value.isdigit() and 1 <= int(value) <= 300:
        turn.chose(turn.t("ui.chosen.minutes", minutes=int(value)))
        held = bool(await episodes.known_flags(turn.db, person))  # no longer walks until asked
        onboarding.set_start_minutes(person, int(value), held=held)
        if person.stenosis:
            turn.say("ui.profile.stenosis_note")
        ask_step(turn, Step.PLAN)
    elif ask == Ask.PLAN and value == "accept":
        await finish_onboarding(turn, ctx, DEFAULT_MORNING, DEFAULT_EVENING)
    elif ask == Ask.PLAN and value == "meals":
        ask_step(turn, Step.MEALS)
    elif ask == Ask.PLAN and value == "edit":
        ask_step(turn, Step.TIMES)
    elif ask == Ask.MEAL_TIMES and value == "none":
        await finish_onboarding(turn, ctx, DEFAULT_MORNING, DEFAULT_EVENING)
    else:
        turn.stale()


async def typed_onboarding_answer(turn: Turn, ctx: Ctx, ask: Ask, text: str) -> None:
    """A typed answer to the onboarding question that takes one: a number or times."""
    try:
        if ask == Ask.START_MINUTES:
            await onboarding_answer(turn, ctx, ask, str(parse_minutes(text)))
        elif ask == Ask.TIMES:
            morning, evening = parse_walk_times(text)
            await finish_onboarding(turn, ctx, morning, evening)
        elif ask == Ask.MEAL_TIMES:
            meals = parse_meals(text.split())
            if meals is None:  # "none", "keine": no meal reminders after all
                await finish_onboarding(turn, ctx, DEFAULT_MORNING, DEFAULT_EVENING)
            else:
                await finish_onboarding(turn, ctx, DEFAULT_MORNING, DEFAULT_EVENING, meals)
    except ParseError as exc:
        turn.say(exc.key, text=exc.text)


async def finish_onboarding(
    turn: Turn,
    ctx: Ctx,
    morning: time,
    evening: time,
    meals: tuple[tuple[str, time], ...] = (),
) -> None:
    assert turn.person is not None
    turn.answered()
    nxt = await onboarding.finish(
        turn.db, turn.person, turn.now, morning=morning, evening=evening, meals=meals
    )
    if meals:
        turn.say(
            "ui.meals.set",
            times=", ".join(fmt_time(at) for _, at in meals),
            delay=turn.person.meal_delay_minutes,
        )
        for view in await schedules.views(turn.db, turn.person):
            if view.held:
                turn.say(
                    "ui.schedule.held", label=turn.t(f"ui.kind.{view.kind}"),
                    count=schedules.budget_of(turn.person),
                )  # fmt: skip
            elif view.merged_into is not None:
                turn.say(
                    "ui.schedule.merged", label=turn.t(f"ui.kind.{view.kind}"),
                    other=turn.t(f"ui.kind.{view.merged_into}"),
                )  # fmt: skip
    turn.say("ui.plan.done", next=fmt_next(turn, nxt))
    if ctx.rt.dispatcher is not None:
        ctx.rt.dispatcher.schedule_changed(nxt)


def ask_place(turn: Turn) -> None:
    """Outside onboarding: "where are you?", answerable for a short while."""
    turn.ask(Ask.PLACE, "ob:place", lifetime=PLACE_AFTER_ONBOARDING)
    turn.say("ui.tz.ask", markup=location_keyboard(turn))


def location_keyboard(turn: Turn) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(turn.t("ui.btn.share_location"), request_location=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )  # fmt: skip


def offer_zones(turn: Turn, matches: list[ZoneMatch], text: str) -> None:
    if not matches:
        turn.say("ui.tz.not_found", text=text[:100])
        return
    best = matches[0]
    if (
        len(matches) == 1
        or best.score >= 0.9
        and (len(matches) < 2 or matches[1].score < best.score - 0.05)
    ):
        prefix = turn.ask(Ask.ZONE, "ob:tz", yes=best.zone, no=NOT_MY_ZONE)
        local = schedules.local_now_in(best.zone, turn.now)
        turn.say("ui.tz.confirm", zone=best.label, local_time=local.strftime("%H:%M"),
                 buttons=(((turn.t("ui.btn.yes"), f"{prefix}:{best.zone}"), (turn.t("ui.btn.no"), f"{prefix}:{NOT_MY_ZONE}")),))  # fmt: skip
        return
    prefix = turn.ask(Ask.ZONE, "ob:tz")
    rows = tuple(
        ((m.label[:40], f"{prefix}:{m.zone}"),)
        for m in matches[:5]
        if len(f"{prefix}:{m.zone}".encode()) <= 64
    )
    turn.say(
        "ui.tz.choose", buttons=rows + (((turn.t("ui.btn.other"), f"{prefix}:{NOT_MY_ZONE}"),),)
    )


async def set_zone(turn: Turn, zone: str) -> None:
    """Store the zone; continue onboarding or just confirm (after /timezone)."""
    person = turn.person
    assert person is not None
    turn.answered()
    await onboarding.set_zone(turn.db, person, zone, turn.now)
    local = schedules.local_now_in(zone, turn.now)
    turn.say(
        "ui.tz.set", zone=zone, local_time=local.strftime("%H:%M"), markup=ReplyKeyboardRemove()
    )
    if person.onboarding_step == Step.TZ:
        ask_step(turn, Step.EFFECT)


async def answer_zone(turn: Turn, text: str) -> None:
    # The first look-up builds the city index (about 2 s): keep the event loop free meanwhile.
    offer_zones(turn, await asyncio.to_thread(resolve_timezone, text), text)


@person_handler()
async def on_location(update: Update, ctx: Ctx, turn: Turn) -> None:
    """A shared location: the zone offline, from coordinates (nothing else is kept)."""
    message = update.effective_message
    assert message is not None and message.location is not None and turn.person is not None
    zone = timezone_for_location(message.location.latitude, message.location.longitude)
    if zone is None:
        turn.say("ui.tz.not_found", text="📍")
        return
    offer_zones(turn, [ZoneMatch(zone, zone, 1.0)], zone)


@person_handler()
async def timezone_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/timezone [place]: change the zone; reminders keep their local times."""
    assert turn.person is not None
    if turn.arg_text:
        await answer_zone(turn, turn.arg_text)
    else:
        ask_place(turn)


@person_handler(consent=False)
async def help_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/help: every command, one line each."""
    turn.say("ui.help.text")


@person_handler()
async def stop_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/stop: no more messages until /start."""
    assert turn.person is not None
    await people.stop(turn.db, turn.person)
    turn.say("ui.stop.done")


@person_handler(consent=False, create=True)
async def language_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/language: buttons for every language the catalogue has."""
    catalog = ctx.rt.catalog
    prefix = turn.ask(Ask.LANGUAGE, "lang")
    rows = tuple(
        ((catalog.text(lang, "ui.language.name"), f"{prefix}:{lang}"),)
        for lang in catalog.languages
    )
    turn.say("ui.language.choose", buttons=rows)


@person_handler(consent=False, create=True, button=True)
async def on_language_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """lang:<token>:<code>, valid while its /language question is the open one."""
    assert update.callback_query is not None and turn.person is not None
    pending = turn.pending
    lang = (
        pending.value_of(update.callback_query.data or "", turn.now)
        if pending is not None and pending.ask == Ask.LANGUAGE
        else None
    )
    if lang not in ctx.rt.catalog.languages:
        turn.stale()
        return
    turn.answered()
    people.set_language(turn.person, lang)
    turn.lang = lang
    turn.say("ui.language.set")
    step = step_of(turn.person.onboarding_step)
    if turn.person.consent_at is not None and step is not None:
        ask_step(turn, step)  # carry on with onboarding, in the new language


async def on_membership(update: Update, ctx: Ctx) -> None:
    """The person blocked (or unblocked) the bot: stop (or allow) messages at once."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    blocked = change.new_chat_member.status in ("kicked", "left")
    async with ctx.rt.sessions() as db, db.begin():
        person = await people.find(db, change.from_user.id)
        if person is None:
            return
        if blocked and person.status != "blocked":
            await people.stop(db, person, blocked=True)
