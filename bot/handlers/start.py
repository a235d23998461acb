"""Onboarding (/start), /help, /stop, /timezone and /language."""

from __future__ import annotations

import asyncio
from datetime import time

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update

from bot.context import Ctx
from bot.handlers import contact
from bot.handlers.common import Turn, person_handler
from bot.handlers.format import fmt_next, schedule_summary
from bot.handlers.safety import SCREEN_FLAGS, deps, reach
from bot.progression import start_programme
from bot.safety import episodes
from bot.services import people, schedules
from bot.services.programme import save_programme
from bot.tzresolve import (
    ZoneMatch,
    country_for_zone,
    is_valid_zone,
    resolve_timezone,
    timezone_for_location,
)
from jobs.outgoing import Buttons

EFFECTS = ("during", "after", "legs", "none")
MINUTES = (5, 10, 15, 20, 30)


def yes_no(turn: Turn, prefix: str) -> Buttons:
    return (((turn.t("ui.btn.yes"), f"{prefix}:y"), (turn.t("ui.btn.no"), f"{prefix}:n")),)


def ask_step(turn: Turn, step: str | None) -> None:
    """(Re-)ask the question for an onboarding step."""
    assert turn.person is not None
    turn.person.onboarding_step = step
    if step == "consent" or step is None:
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
    elif step == "tz":
        turn.person.pending = {"ask": "tz"}
        markup = ReplyKeyboardMarkup(
            [[KeyboardButton(turn.t("ui.btn.share_location"), request_location=True)]],
            resize_keyboard=True, one_time_keyboard=True,
        )  # fmt: skip
        turn.say("ui.tz.ask", markup=markup)
    elif step == "effect":
        turn.say(
            "ui.profile.walk_effect",
            buttons=tuple(((turn.t(f"ui.btn.effect_{e}"), f"ob:eff:{e}"),) for e in EFFECTS),
        )
    elif step == "minutes":
        turn.say("ui.profile.minutes", buttons=(tuple((str(m), f"ob:min:{m}") for m in MINUTES),))
    elif step == "plan":
        turn.say(
            "ui.plan.propose", morning="08:00", evening="19:00",
            buttons=(((turn.t("ui.btn.accept"), "ob:plan:accept"),), ((turn.t("ui.btn.add_meals"), "ob:plan:meals"),),
                     ((turn.t("ui.btn.edit"), "ob:plan:edit"),)),
        )  # fmt: skip


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
        ask_step(turn, "consent")
        return
    if person.status in ("stopped", "blocked"):
        person.status = "active" if person.onboarding_step is None else "new"
        await schedules.reschedule_all(turn.db, person, turn.now)
    if person.onboarding_step is not None:
        turn.say("ui.start.resume")
        ask_step(turn, person.onboarding_step)
        return
    summary = await schedule_summary(turn)
    turn.say("ui.start.already", summary=summary)


@person_handler(consent=False, create=True)
async def on_onboarding_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    """ob:* buttons, each valid only at its own step (old taps are refused without effect)."""
    assert update.callback_query is not None and turn.person is not None
    person = turn.person
    parts = (update.callback_query.data or "").split(":")
    action, arg = (parts[1], ":".join(parts[2:])) if len(parts) >= 3 else ("", "")
    step = person.onboarding_step
    if action == "consent" and person.consent_at is None:
        if arg == "y":
            user = update.effective_user
            person.consent_at = turn.now
            person.first_name = (user.first_name or "")[:64] if user else None
            person.language = turn.lang
            ask_step(turn, "screen1")
        else:
            turn.say("ui.start.declined")
        return
    if person.consent_at is None:
        turn.say("ui.err.need_start")
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
    if action in ("tz", "tzok") and is_valid_zone(arg) and (step in ("tz", None)):
        await set_zone(turn, arg)
        return
    if action == "tzno" and step in ("tz", None):
        ask_step(turn, "tz") if step == "tz" else turn.say("ui.tz.ask")
        person.pending = {"ask": "tz"}
        return
    if action == "eff" and step == "effect" and arg in EFFECTS:
        person.walk_effect = arg
        person.stenosis = arg == "legs"
        ask_step(turn, "minutes")
        return
    if action == "min" and step == "minutes" and arg.isdigit() and int(arg) in MINUTES:
        held = bool(await episodes.known_flags(turn.db, person))  # no longer walks until asked
        save_programme(person, start_programme(int(arg), person.stenosis), held=held)
        if person.stenosis:
            turn.say("ui.profile.stenosis_note")
        ask_step(turn, "plan")
        return
    if action == "plan" and step == "plan" and arg in ("accept", "meals", "edit"):
        await schedules.set_rule(turn.db, person, "morning", time(8, 0), None, turn.now)
        await schedules.set_rule(turn.db, person, "evening", time(19, 0), None, turn.now)
        if arg == "meals":
            await schedules.set_meals(turn.db, person, schedules.DEFAULT_MEALS, turn.now)
        person.onboarding_step = None
        person.status = "active"
        if arg == "edit":
            turn.say("ui.plan.edit_help")
        nxt = await schedules.next_due_of(turn.db, person)
        turn.say("ui.plan.done", next=fmt_next(turn, nxt))
        if ctx.rt.dispatcher is not None:
            ctx.rt.dispatcher.schedule_changed(nxt)
        return
    turn.say("ui.err.stale_button")


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
        local = schedules.local_now_in(best.zone, turn.now)
        turn.say("ui.tz.confirm", zone=best.label, local_time=local.strftime("%H:%M"),
                 buttons=(((turn.t("ui.btn.yes"), f"ob:tzok:{best.zone}"), (turn.t("ui.btn.no"), "ob:tzno:x")),))  # fmt: skip
        return
    rows = tuple(
        ((m.label[:40], f"ob:tz:{m.zone}"),)
        for m in matches[:5]
        if len(f"ob:tz:{m.zone}".encode()) <= 64
    )
    turn.say("ui.tz.choose", buttons=rows + (((turn.t("ui.btn.other"), "ob:tzno:x"),),))


async def set_zone(turn: Turn, zone: str) -> None:
    """Store the zone; continue onboarding or just confirm (after /timezone)."""
    person = turn.person
    assert person is not None
    person.timezone = zone
    person.country = country_for_zone(zone)
    person.pending = None
    local = schedules.local_now_in(zone, turn.now)
    turn.say(
        "ui.tz.set", zone=zone, local_time=local.strftime("%H:%M"), markup=ReplyKeyboardRemove()
    )
    await schedules.reschedule_all(turn.db, person, turn.now)
    if person.onboarding_step == "tz":
        ask_step(turn, "effect")


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
        turn.person.pending = {"ask": "tz"}
        turn.say("ui.tz.ask")


@person_handler(consent=False)
async def help_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/help: every command, one line each."""
    turn.say("ui.help.text")


@person_handler()
async def stop_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/stop: no more messages until /start."""
    assert turn.person is not None
    turn.person.status = "stopped"
    await schedules.suspend_all(turn.db, turn.person)
    turn.say("ui.stop.done")


@person_handler(consent=False, create=True)
async def language_cmd(update: Update, ctx: Ctx, turn: Turn) -> None:
    """/language: buttons for every language the catalogue has."""
    catalog = ctx.rt.catalog
    rows = tuple(
        ((catalog.text(lang, "ui.language.name"), f"lang:{lang}"),) for lang in catalog.languages
    )
    turn.say("ui.language.choose", buttons=rows)


@person_handler(consent=False, create=True)
async def on_language_button(update: Update, ctx: Ctx, turn: Turn) -> None:
    assert update.callback_query is not None and turn.person is not None
    lang = (update.callback_query.data or "").partition(":")[2]
    if lang not in ctx.rt.catalog.languages:
        turn.say("ui.err.stale_button")
        return
    turn.person.language = lang
    turn.lang = lang
    turn.say("ui.language.set")


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
            person.status = "blocked"
            await schedules.suspend_all(db, person)
